"""The base of every absolute URL Baobab writes, and which Host a request may name.

Every ``@id``, ``Location``, batching link and pushed frame is ``request.base_url`` plus a
path, and ``request.base_url`` is made here only, once per request (HTTP or WebSocket):

- ``server.public_url`` when it is set (``https://example.org/cms``: a proxy's address and
  the prefix it serves the API under; the proxy forwards paths without the prefix);
- else the scheme and host the request came with: ``X-Forwarded-Proto`` and
  ``X-Forwarded-Host`` when the peer is a proxy listed in ``server.forwarded_allow_ips``
  (the last value of each: the one that proxy set), else the connection's scheme and the
  ``Host`` header; then the ASGI ``root_path``.

Whatever the base, the host the request names (``Host``, or the forwarded one from a trusted
proxy) must be well formed and one of ``server.trusted_hosts``, else the request is refused
with 400 before its body is read or its credentials checked — as Django's ``ALLOWED_HOSTS``
and Starlette's ``TrustedHostMiddleware`` do: a forged Host never reaches a URL, a cache key
or a password-reset link built by an add-on.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

from baobab.config.settings import ServerSettings
from baobab.errors import BadRequest
from baobab.types import Scope

__all__ = ["PublicUrls"]

_HTTP_SCHEMES = {"ws": "http", "wss": "https"}  # a WebSocket's URLs are the API's
# a DNS name (underscores allowed, as container names have them) or a bracketed IPv6
# address, with an optional port: Django's host validation
_HOST = re.compile(r"^(?P<name>[a-z0-9._-]+|\[[a-f0-9]*:[a-f0-9.:]+\])(?::[0-9]{1,5})?$", re.I)


def _last(value: str) -> str:
    return value.rsplit(",", 1)[-1].strip()


class PublicUrls:
    """``base_url(scope, headers)``: the base of the request's absolute URLs, or 400."""

    def __init__(self, settings: ServerSettings) -> None:
        public = settings.public_url
        self.public_url = public.rstrip("/") if public else None
        hosts = [h.lower() for h in settings.trusted_hosts]
        self._any_host = "*" in hosts
        self._hosts = frozenset(h for h in hosts if not h.startswith("*."))
        self._domains = tuple(h[1:] for h in hosts if h.startswith("*."))  # ".example.com"
        proxies = settings.forwarded_allow_ips
        self._any_proxy = "*" in proxies
        self._proxies = tuple(ipaddress.ip_network(p, strict=False) for p in proxies if p != "*")

    def _from_proxy(self, scope: Scope) -> bool:
        if self._any_proxy:
            return True
        client = scope.get("client")
        if not self._proxies or not client:
            return False
        try:
            address = ipaddress.ip_address(client[0])
        except ValueError:  # a Unix socket's peer
            return False
        return any(address in network for network in self._proxies)

    def trusted(self, host: str) -> bool:
        """Whether ``host`` (a Host header value) is well formed and one this server answers."""
        match = _HOST.match(host)
        if match is None:
            return False
        if self._any_host:
            return True
        name = match["name"].lower().rstrip(".")
        return name in self._hosts or name.endswith(self._domains)

    def base_url(self, scope: Scope, headers: dict[str, str]) -> str:
        proxied = self._from_proxy(scope)
        host = headers.get("host")
        if proxied and headers.get("x-forwarded-host"):
            host = _last(headers["x-forwarded-host"])
        if host is None and self._any_host:
            server = scope.get("server")  # HTTP/1.0 without Host
            host = f"{server[0]}:{server[1]}" if server else "localhost"
        elif host is None or not self.trusted(host):
            raise BadRequest("The Host header names no host this server answers for")
        if self.public_url is not None:
            return self.public_url
        scheme = scope.get("scheme", "http")
        if proxied and headers.get("x-forwarded-proto"):
            scheme = _last(headers["x-forwarded-proto"]).lower()
        scheme = _HTTP_SCHEMES.get(scheme, scheme)
        if scheme not in ("http", "https"):
            raise BadRequest("X-Forwarded-Proto names no scheme this server answers for")
        return f"{scheme}://{host}{scope.get('root_path', '')}"

    def same_origin(self, origin: str, base_url: str) -> bool:
        """Whether a browser ``Origin`` is this site's own: the host of the base of its URLs
        (the public one, when set)."""
        return urlsplit(origin).netloc.lower() == urlsplit(base_url).netloc.lower()

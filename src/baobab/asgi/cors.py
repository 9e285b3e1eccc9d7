"""CORS: answer preflights and mark responses for allowed browser origins.

Kept by hand (~50 lines) rather than wrapping the app in a middleware library: the pipeline
must answer a preflight before authentication (browsers send no credentials on it) and must
decorate the error envelopes the pipeline itself builds.
"""

from __future__ import annotations

from baobab.config.settings import CorsSettings
from baobab.request import Response

__all__ = ["Cors"]


class Cors:
    def __init__(self, settings: CorsSettings) -> None:
        self.settings = settings
        self._any = "*" in settings.allow_origins
        self._origins = frozenset(settings.allow_origins)
        self._methods = ", ".join(settings.allow_methods).encode()
        self._headers = ", ".join(settings.allow_headers).encode()
        self._expose = ", ".join(settings.expose_headers).encode()

    @property
    def enabled(self) -> bool:
        return bool(self._origins)

    def allowed(self, origin: str | None) -> bool:
        return origin is not None and (self._any or origin in self._origins)

    def _common(self, origin: str) -> list[tuple[bytes, bytes]]:
        headers = [(b"access-control-allow-origin", b"*" if self._any else origin.encode())]
        if not self._any:
            headers.append((b"vary", b"Origin"))
        if self.settings.allow_credentials:
            headers.append((b"access-control-allow-credentials", b"true"))
        return headers

    def preflight(self, origin: str) -> Response:
        headers = self._common(origin)
        headers += [
            (b"access-control-allow-methods", self._methods),
            (b"access-control-allow-headers", self._headers),
            (b"access-control-max-age", str(self.settings.max_age).encode()),
        ]
        return Response(status=204, headers=headers, content_type=None)

    def decorate(self, response: Response, origin: str) -> None:
        response.headers += self._common(origin)
        if self._expose:
            response.headers.append((b"access-control-expose-headers", self._expose))

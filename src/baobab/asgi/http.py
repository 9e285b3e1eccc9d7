"""One HTTP request: read the body, authenticate, publish through the bridge, send.

Everything here runs on the event loop. The body is read fully into memory but capped at
``request.max_body_size`` (checked against Content-Length before reading, and while reading).
"""

from __future__ import annotations

import asyncio
import functools
from urllib.parse import parse_qsl

from baobab.asgi.errors import error_response, internal_error_response
from baobab.asgi.publish import SAFE_METHODS
from baobab.asgi.state import AppState
from baobab.errors import BaobabError, ClientDisconnected, PayloadTooLarge
from baobab.request import Request, Response
from baobab.serialization.etags import etag_for, etag_matches
from baobab.types import Receive, Scope, Send

__all__ = ["handle_http"]

_MAX_OFFLOADS = 4
_BODYLESS = frozenset({"GET", "HEAD", "DELETE", "OPTIONS"})


async def read_body(receive: Receive, headers: dict[str, str], limit: int) -> bytes:
    declared = headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(
            f"The body is {declared} bytes; at most {limit} are accepted",
            details={"limit": limit},
        )
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnected
        chunk = message.get("body", b"")
        if chunk:
            size += len(chunk)
            if size > limit:
                raise PayloadTooLarge(
                    f"The body is larger than {limit} bytes", details={"limit": limit}
                )
            chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _base_url(scope: Scope, headers: dict[str, str]) -> str:
    host = headers.get("host")
    if not host:
        server = scope.get("server")
        host = f"{server[0]}:{server[1]}" if server else "localhost"
    return f"{scope.get('scheme', 'http')}://{host}{scope.get('root_path', '')}"


async def _respond(state: AppState, scope: Scope, receive: Receive) -> Response:
    method: str = scope["method"]
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
    settings = state.settings
    body = b""
    if method not in _BODYLESS or "content-length" in headers:
        body = await read_body(receive, headers, settings.request.max_body_size)
    credentials = await state.authenticator.authenticate(headers.get("authorization"))
    request = Request(
        method=method,
        path=scope["path"],
        query=dict(parse_qsl(scope.get("query_string", b"").decode("latin-1"))),
        headers=headers,
        body=body,
        base_url=_base_url(scope, headers),
        credentials=credentials,
        registry=state.registry,
        policy=state.policy,
        settings=settings,
        auth=state.authenticator,
    )
    response = await _publish(state, request)
    if method in ("GET", "HEAD") and response.status == 200:
        return _conditional(headers, response)
    return response


async def _publish(state: AppState, request: Request) -> Response:
    """Publish through the bridge; compute what the publish step offloaded and publish again.

    A request needs at most a few offloaded computations (a password check, a new hash), each
    found on one pass; the bound stops a handler that would ask for a new one every time.
    """
    publish = functools.partial(state.publisher.publish, request)
    write = request.method not in SAFE_METHODS
    loop = asyncio.get_running_loop()
    for _ in range(_MAX_OFFLOADS + 1):
        response = await state.bridge.run(publish, write=write)
        needed = response.offload
        if needed is None:
            return response
        request.offloaded[needed.key] = await loop.run_in_executor(None, needed.fn)
    raise RuntimeError(f"{request.path}: more than {_MAX_OFFLOADS} offloaded computations")


def _conditional(headers: dict[str, str], response: Response) -> Response:
    """Every successful GET carries an ETag; ``If-None-Match`` naming it gives 304."""
    etag = next((v for k, v in response.headers if k == b"etag"), None)
    if etag is None:
        etag = etag_for(response.body).encode()
        response.headers.append((b"etag", etag))
    inm = headers.get("if-none-match")
    if inm is not None and etag_matches(inm, etag.decode()):
        return Response(status=304, headers=[(b"etag", etag)], content_type=None)
    return response


async def send_response(send: Send, response: Response, *, head: bool) -> None:
    headers = list(response.headers)
    if response.content_type is not None:
        headers.append((b"content-type", response.content_type))
    if response.status != 304:
        headers.append((b"content-length", str(len(response.body)).encode()))
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    body = b"" if head or response.status == 304 else response.body
    await send({"type": "http.response.body", "body": body})


def _origin(state: AppState, scope: Scope) -> str | None:
    if not state.cors.enabled:
        return None
    for name, value in scope["headers"]:
        if name == b"origin":
            origin = value.decode("latin-1")
            return origin if state.cors.allowed(origin) else None
    return None


async def handle_http(state: AppState, scope: Scope, receive: Receive, send: Send) -> None:
    origin = _origin(state, scope)
    if origin is not None and scope["method"] == "OPTIONS":
        await send_response(send, state.cors.preflight(origin), head=True)
        return
    try:
        response = await _respond(state, scope, receive)
    except ClientDisconnected:
        return  # nothing to answer, nothing was written
    except BaobabError as exc:
        response = error_response(exc)
    except Exception as exc:  # the ASGI error boundary: log, answer 500 with the envelope
        response = internal_error_response(exc, debug=state.settings.debug)
    if origin is not None:
        state.cors.decorate(response, origin)
    await send_response(send, response, head=scope["method"] == "HEAD")

"""Answering: conditional GETs (ETag, ``If-None-Match`` → 304) and sending a response."""

from __future__ import annotations

from baobab.asgi.sendfile import send_file
from baobab.request import Response
from baobab.serialization.etags import etag_for, etag_matches
from baobab.types import Receive, Scope, Send

__all__ = ["conditional", "send_response"]

_KEPT_ON_304 = frozenset({b"vary", b"cache-control", b"expires", b"content-location"})


def conditional(headers: dict[str, str], response: Response) -> Response:
    """Every successful GET carries an ETag; ``If-None-Match`` naming it gives 304."""
    etag = next((v for k, v in response.headers if k == b"etag"), None)
    if etag is None:
        etag = etag_for(response.body).encode()
        response.headers.append((b"etag", etag))
    inm = headers.get("if-none-match")
    if inm is not None and etag_matches(inm, etag.decode()):
        # a 304 says what the 200 would have said about caching (RFC 9110 15.4.5)
        kept = [(k, v) for k, v in response.headers if k.lower() in _KEPT_ON_304]
        return Response(status=304, headers=[(b"etag", etag), *kept], content_type=None)
    return response


async def send_response(
    send: Send,
    response: Response,
    *,
    head: bool,
    scope: Scope | None = None,
    chunk: int = 0,
    receive: Receive | None = None,
) -> None:
    headers = list(response.headers)
    if response.content_type is not None:
        headers.append((b"content-type", response.content_type))
    file = response.file
    if response.status != 304:
        length = file.length if file is not None else len(response.body)
        headers.append((b"content-length", str(length).encode()))
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    if file is not None and not head and response.status != 304:
        await send_file(send, file, scope or {}, chunk or 1 << 18, receive)
        return
    body = b"" if head or response.status == 304 else response.body
    await send({"type": "http.response.body", "body": body})

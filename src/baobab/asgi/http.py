"""One HTTP request: read the body, authenticate, publish through the bridge, send.

Everything here runs on the event loop. A JSON body is read into memory, capped at
``request.max_body_size`` (checked against Content-Length before reading, and while reading).
An upload's body (a path through ``@upload`` or ``@tus``, a multipart form, or a non-JSON
body named by ``Content-Disposition``) is left
unread until its service, permissions checked, asks for it: then it streams into a spool file
(:mod:`baobab.blobs.spool`) and the request is published again. A file response is sent after
the publish step has released the database: with ``http.response.pathsend`` when the server
offers it, else read in chunks off the loop.
"""

from __future__ import annotations

import asyncio
import functools
import os
from urllib.parse import parse_qsl

from baobab.asgi.errors import error_response, internal_error_response
from baobab.asgi.publish import SAFE_METHODS
from baobab.asgi.state import AppState
from baobab.blobs.multipart import boundary_of, spool_form
from baobab.blobs.spool import Spooled, spool_body
from baobab.errors import BadRequest, BaobabError, ClientDisconnected, PayloadTooLarge
from baobab.request import (
    FileBody,
    OffloadNeeded,
    Request,
    Response,
    UploadNeeded,
    media_of,
)
from baobab.security.authentication import Credentials
from baobab.serialization.etags import etag_for, etag_matches
from baobab.types import Receive, Scope, Send

__all__ = ["base_url", "handle_http", "new_request", "publish_request", "scope_headers"]

_MAX_OFFLOADS = 4
_BODYLESS = frozenset({"GET", "HEAD", "DELETE", "OPTIONS"})
_UPLOAD_VIEWS = ("/@upload", "/@tus")
_PATHSEND = "http.response.pathsend"


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


_HTTP_SCHEMES = {"ws": "http", "wss": "https"}  # a WebSocket's URLs are the API's


def base_url(scope: Scope, headers: dict[str, str]) -> str:
    host = headers.get("host")
    if not host:
        server = scope.get("server")
        host = f"{server[0]}:{server[1]}" if server else "localhost"
    scheme = scope.get("scheme", "http")
    return f"{_HTTP_SCHEMES.get(scheme, scheme)}://{host}{scope.get('root_path', '')}"


def scope_headers(scope: Scope) -> dict[str, str]:
    """The request headers, names in lower case."""
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}


def new_request(
    state: AppState,
    scope: Scope,
    headers: dict[str, str],
    credentials: Credentials,
    *,
    method: str,
    body: bytes = b"",
    streamed: bool = False,
    websocket: bool = False,
) -> Request:
    """The :class:`Request` for an HTTP request or a WebSocket handshake."""
    query = scope.get("query_string", b"").decode("latin-1")
    return Request(
        method=method,
        path=scope["path"],
        query=dict(parse_qsl(query, keep_blank_values=True)),
        headers=headers,
        body=body,
        base_url=base_url(scope, headers),
        credentials=credentials,
        registry=state.registry,
        policy=state.policy,
        settings=state.settings,
        auth=state.authenticator,
        streamed=streamed,
        websocket=websocket,
    )


def _streams(method: str, path: str, headers: dict[str, str]) -> bool:
    """Whether the body is an upload, left unread for its service to stream to disk: under
    ``@upload`` or ``@tus``, a multipart form, or a non-JSON body named by
    Content-Disposition. Every other body is read into memory, under the JSON limit."""
    if method in _BODYLESS:
        return False
    if any(f"{view}/" in f"{path}/" for view in _UPLOAD_VIEWS):
        return True
    media = media_of(headers.get("content-type"))
    if media == "multipart/form-data":
        return True
    json = media == "application/json" or media.endswith("+json")
    return "content-disposition" in headers and not json


async def _respond(state: AppState, scope: Scope, receive: Receive, request: Request) -> Response:
    response = await publish_request(state, request, receive)
    if request.committed:
        if request.outbox:
            state.live.publish(request.tid, request.outbox)
        if request.after_commit:
            state.after_commit.dispatch(request.after_commit)
    if request.method in ("GET", "HEAD") and response.status == 200 and response.content_type:
        return _conditional(request.headers, response)  # a representation, not bare headers
    return response


async def _request(state: AppState, scope: Scope, receive: Receive) -> Request:
    method: str = scope["method"]
    headers = scope_headers(scope)
    body = b""
    streamed = _streams(method, scope["path"], headers)
    if not streamed and (method not in _BODYLESS or "content-length" in headers):
        body = await read_body(receive, headers, state.settings.request.max_body_size)
    credentials = await state.authenticator.authenticate(headers.get("authorization"))
    return new_request(
        state, scope, headers, credentials, method=method, body=body, streamed=streamed
    )


async def publish_request(state: AppState, request: Request, receive: Receive) -> Response:
    """Publish through the bridge; provide what the publish step asked for and publish again.

    A request needs at most a few offloaded computations (a password check, a new hash) or one
    body streamed to disk, each found on one pass; the bound stops a handler that would ask
    for a new one every time.
    """
    publish = functools.partial(state.publisher.publish, request)
    write = request.method not in SAFE_METHODS
    loop = asyncio.get_running_loop()
    for _ in range(_MAX_OFFLOADS + 1):
        response = await state.bridge.run(publish, write=write)
        needed = response.offload
        if needed is None:
            return response
        if isinstance(needed, OffloadNeeded):
            request.offloaded[needed.key] = await loop.run_in_executor(None, needed.fn)
        elif isinstance(needed, UploadNeeded):
            await _spool(state, request, receive, needed)
    raise RuntimeError(f"{request.path}: more than {_MAX_OFFLOADS} offloaded computations")


def _declared_length(headers: dict[str, str]) -> int | None:
    raw = headers.get("content-length")
    if raw is None:
        return None
    if not raw.isdigit():
        raise BadRequest("Content-Length must be a non-negative integer")
    return int(raw)


async def _spool(state: AppState, request: Request, receive: Receive, needed: UploadNeeded) -> None:
    """Stream the body to disk for the service that asked (once: a second ask is a bug)."""
    if request.spooled is not None or request.form_data is not None:
        raise RuntimeError(f"{request.path}: the body was asked for twice")
    files = state.settings.files
    limit = (
        files.max_upload_size if needed.limit is None else min(needed.limit, files.max_upload_size)
    )
    directory = state.settings.spool_path
    if not request.streamed:
        raise RuntimeError(f"{request.path}: a body read into memory was asked for as a file")
    declared = _declared_length(request.headers)
    if needed.form:
        boundary = boundary_of(request.headers.get("content-type", ""))
        if boundary is None:
            raise BadRequest("Send the form as multipart/form-data")
        request.form_data = await spool_form(
            receive,
            directory,
            boundary=boundary,
            limit=limit,
            form_limit=files.max_form_size,
            declared=declared,
            checksum=needed.checksum,
        )
        return
    request.spooled = await spool_body(
        receive,
        directory,
        limit=limit,
        declared=declared,
        checksum=needed.checksum,
        keep_partial=needed.keep_partial,
    )


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
        await _send_file(send, file, scope or {}, chunk or 1 << 18, receive)
        return
    body = b"" if head or response.status == 304 else response.body
    await send({"type": "http.response.body", "body": body})


async def _send_file(
    send: Send, file: FileBody, scope: Scope, chunk: int, receive: Receive | None
) -> None:
    """The whole file by pathsend if offered (the server reads it, no Python in the loop);
    else ``chunk`` bytes at a time, each read in the default executor so a cold disk never
    stalls the loop and no thread is held between reads; stopped when the client leaves
    (some servers' ``send`` keeps accepting bytes for a closed connection)."""
    if file.whole and _PATHSEND in (scope.get("extensions") or {}):
        await send({"type": _PATHSEND, "path": file.path})
        return
    if file.length == 0:
        await send({"type": "http.response.body", "body": b""})
        return
    gone = asyncio.ensure_future(_disconnect(receive)) if receive is not None else None
    loop = asyncio.get_running_loop()
    fd = await loop.run_in_executor(None, os.open, file.path, os.O_RDONLY)
    try:
        offset, left = file.start, file.length
        while left > 0 and not (gone is not None and gone.done()):
            data = await loop.run_in_executor(None, os.pread, fd, min(chunk, left), offset)
            if not data:  # the file shrank under us: never send less than announced silently
                raise OSError(f"{file.path}: ends before the announced length")
            offset += len(data)
            left -= len(data)
            await send({"type": "http.response.body", "body": data, "more_body": left > 0})
    finally:
        os.close(fd)
        if gone is not None:
            gone.cancel()


async def _disconnect(receive: Receive) -> None:
    """Return once the client has gone away."""
    while (await receive())["type"] != "http.disconnect":
        pass


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
    request: Request | None = None
    try:
        request = await _request(state, scope, receive)
        response = await _respond(state, scope, receive, request)
    except ClientDisconnected:
        return  # nothing to answer, nothing was written
    except BaobabError as exc:
        response = error_response(exc)
    except Exception as exc:  # the ASGI error boundary: log, answer 500 with the envelope
        response = internal_error_response(exc, debug=state.settings.debug)
    finally:
        if request is not None:
            _release(request)
    if origin is not None:
        state.cors.decorate(response, origin)
    if "/@tus" in scope["path"]:  # TUS: every answer names the protocol version
        response.headers.append((b"tus-resumable", b"1.0.0"))
        if response.status == 412:
            response.headers.append((b"tus-version", b"1.0.0"))
    await send_response(
        send,
        response,
        head=scope["method"] == "HEAD",
        scope=scope,
        chunk=state.settings.files.download_chunk_size,
        receive=receive,
    )


def _release(request: Request) -> None:
    """Remove what the request spooled and no commit consumed."""
    if request.spooled is not None:
        request.spooled.release()
    if request.form_data is not None:
        request.form_data.release()
    for value in request.offloaded.values():  # files joined off the loop (TUS)
        if isinstance(value, Spooled):
            value.release()

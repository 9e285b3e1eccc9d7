"""One HTTP request: read or leave its body, authenticate, publish, answer.

Everything here runs on the event loop. How the body is taken is the service's declaration
(:mod:`baobab.asgi.body`); publishing, with what the publish step stops for, is
:mod:`baobab.asgi.pipeline`; the answer is sent by :mod:`baobab.asgi.responses` (a file body
after the database is released, by pathsend where the server offers it).
"""

from __future__ import annotations

from baobab.asgi.body import BODYLESS, read_body, read_later, release
from baobab.asgi.errors import error_response, internal_error_response
from baobab.asgi.pipeline import publish
from baobab.asgi.responses import conditional, send_response
from baobab.asgi.scope import client_of, new_request, scope_headers, view_of
from baobab.asgi.state import AppState
from baobab.errors import BaobabError, ClientDisconnected
from baobab.request import Request, Response
from baobab.types import Receive, Scope, Send

__all__ = ["handle_http"]


async def _request(state: AppState, scope: Scope, receive: Receive, view: str) -> Request:
    method: str = scope["method"]
    headers = scope_headers(scope)
    body = b""
    streamed = read_later(state.registry, method, view, headers)
    if not streamed and (method not in BODYLESS or "content-length" in headers):
        body = await read_body(receive, headers, state.settings.request.max_body_size)
    client = client_of(state, scope, headers)
    credentials = await state.authenticator.authenticate(headers.get("authorization"), client)
    return new_request(
        state,
        scope,
        headers,
        credentials,
        method=method,
        body=body,
        streamed=streamed,
        client=client,
    )


async def _respond(state: AppState, request: Request, receive: Receive) -> Response:
    response = await publish(state, request, receive)
    if request.method in ("GET", "HEAD") and response.status == 200 and response.content_type:
        return conditional(request.headers, response)  # a representation, not bare headers
    return response


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
    _, view = view_of(scope["method"], scope["path"])
    request: Request | None = None
    try:
        request = await _request(state, scope, receive, view)
        response = await _respond(state, request, receive)
    except ClientDisconnected:
        return  # nothing to answer, nothing was written
    except BaobabError as exc:
        response = error_response(exc)
    except Exception as exc:  # the ASGI error boundary: log, answer 500 with the envelope
        response = internal_error_response(exc, debug=state.settings.debug)
    finally:
        if request is not None:
            release(request)
    if origin is not None:
        state.cors.decorate(response, origin)
    response.headers.extend(state.registry.view_headers(view))
    await send_response(
        send,
        response,
        head=scope["method"] == "HEAD",
        scope=scope,
        chunk=state.settings.files.download_chunk_size,
        receive=receive,
    )

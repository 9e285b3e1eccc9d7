"""One HTTP request: read or leave its body, authenticate, publish, answer.

Everything here runs on the event loop. How the body is taken is the service's declaration
(:mod:`baobab.asgi.body`); publishing, with what the publish step stops for, is
:mod:`baobab.asgi.pipeline`; the answer is sent by :mod:`baobab.asgi.responses` (a file body
after the database is released, by pathsend where the server offers it).
"""

from __future__ import annotations

import logging
from time import perf_counter

from baobab.asgi.body import BODYLESS, read_body, read_later, release, timed
from baobab.asgi.caching import cache_headers
from baobab.asgi.errors import error_response, internal_error_response
from baobab.asgi.health import FAST_VIEWS, fast_answer, is_fast
from baobab.asgi.pipeline import publish
from baobab.asgi.responses import conditional, send_response
from baobab.asgi.scope import client_of, new_request, scope_headers, view_of
from baobab.asgi.state import AppState
from baobab.errors import BaobabError, IncompleteBody
from baobab.request import Request, Response
from baobab.telemetry.requestid import REQUEST_ID, request_id_of
from baobab.types import Receive, Scope, Send

__all__ = ["handle_http"]

logger = logging.getLogger(__name__)


async def _request(
    state: AppState, scope: Scope, receive: Receive, view: str, headers: dict[str, str]
) -> Request:
    method: str = scope["method"]
    base_url = state.urls.base_url(scope, headers)  # 400 for a Host not trusted, first
    body = b""
    streamed = read_later(state.registry, method, view, headers)
    if not streamed and (method not in BODYLESS or "content-length" in headers):
        body = await read_body(receive, headers, state.settings.request)
    client = client_of(state, scope, headers)
    credentials = await state.authenticator.authenticate(headers.get("authorization"), client)
    return new_request(
        state,
        scope,
        headers,
        credentials,
        base_url=base_url,
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


def _origin(state: AppState, headers: dict[str, str]) -> str | None:
    if not state.cors.enabled:
        return None
    origin = headers.get("origin")
    return origin if origin is not None and state.cors.allowed(origin) else None


async def handle_http(state: AppState, scope: Scope, receive: Receive, send: Send) -> None:
    """One request, timed, counted and logged (when asked) whatever becomes of it.

    One coroutine for the common path: every coroutine between the server and a suspension
    point is resumed on every ``await`` that suspends (reading the body, sending), and a
    layer more for the accounting cost a measurable share of a GET (py-spy)."""
    start = perf_counter()
    headers = scope_headers(scope)  # once: the request id, CORS and the request read them
    request_id = request_id_of(headers.get("x-request-id"))
    token = REQUEST_ID.set(request_id)
    if state.instruments is not None:
        state.instruments.in_flight += 1
    method: str = scope["method"]
    _, view = view_of(method, scope["path"])
    response: Response | None = None  # None: no answer could be made (counted as a 500)
    request: Request | None = None
    ended = False  # the body ended early: the client may be gone, or its body was malformed
    try:
        origin = _origin(state, headers)
        if (origin is not None and method == "OPTIONS") or view in FAST_VIEWS:
            response = await _short(
                state, scope, send, origin=origin, view=view, request_id=request_id
            )
            if response is not None:
                return
        try:
            request = await _request(state, scope, receive, view, headers)  # times its body
            response = await _respond(
                state, request, timed(receive, state.settings.request.body_timeout)
            )
        except BaobabError as exc:
            ended = isinstance(exc, IncompleteBody)
            response = error_response(exc)
        except Exception as exc:  # the ASGI error boundary: log, answer 500 with the envelope
            response = internal_error_response(exc, debug=state.settings.debug)
        finally:
            if request is not None:
                release(request)
        _decorate(state, scope, response, origin=origin, view=view, request_id=request_id)
        try:
            await send_response(
                send,
                response,
                head=method == "HEAD",
                scope=scope,
                chunk=state.settings.files.download_chunk_size,
                receive=receive,
            )
        except Exception:
            # Answering a body that ended early: a server that gave up on a malformed body
            # takes the 400 (rather than writing its own bare 500); one whose client is gone
            # may refuse it, each server with its own exception. Nothing was committed.
            if not ended:
                raise
            logger.debug("the 400 for an incomplete body could not be sent", exc_info=True)
    finally:
        REQUEST_ID.reset(token)
        _account(
            state,
            scope,
            view=view,
            seconds=perf_counter() - start,
            response=response,
            request=request,
            request_id=request_id,
        )


async def _short(
    state: AppState, scope: Scope, send: Send, *, origin: str | None, view: str, request_id: str
) -> Response | None:
    """The answers made before the body and authentication, sent: a CORS preflight,
    ``/@health`` and ``/@ready``; None for every other request."""
    method = scope["method"]
    if origin is not None and method == "OPTIONS":
        response = state.cors.preflight(origin)
    elif is_fast(method, view, scope["path"]):
        response = await fast_answer(view, state.readiness)
    else:
        return None
    response.headers.append((b"x-request-id", request_id.encode()))
    await send_response(send, response, head=method in ("HEAD", "OPTIONS"))
    return response


def _decorate(
    state: AppState,
    scope: Scope,
    response: Response,
    *,
    origin: str | None,
    view: str,
    request_id: str,
) -> None:
    """The headers every answer of the pipeline gets: CORS, the view's own, the request id,
    caching."""
    if origin is not None:
        state.cors.decorate(response, origin)
    response.headers.extend(state.registry.view_headers(view))
    response.headers.append((b"x-request-id", request_id.encode()))
    cache_headers(scope, response)


def _account(
    state: AppState,
    scope: Scope,
    *,
    view: str,
    seconds: float,
    response: Response | None,
    request: Request | None,
    request_id: str,
) -> None:
    """Count, time and log one request (metrics and JSON lines, when configured)."""
    status = 500 if response is None else response.status
    metrics = state.instruments
    if metrics is not None:
        metrics.in_flight -= 1
        metrics.request(view, scope["method"], status, seconds)
    if state.access_log is not None:
        state.access_log.write(
            method=scope["method"],
            path=scope["path"],
            status=status,
            seconds=seconds,
            principal=None if request is None else request.principal.id,
            request_id=request_id,
            replays=0 if request is None else request.replays,
            view=view,
        )

"""One WebSocket on ``@ws``: authenticate, publish the handshake, accept, then relay frames.

Credentials, in this order: the ``Authorization`` header; a ``ws_token`` query parameter (a
single-use ticket from ``@wstoken``, used up in the system database so it works once across
every instance); the login cookie (``live.cookie``, the token a front end keeps), accepted
only from the server's own origin or an allowed CORS origin (a page elsewhere must not ride
the browser's cookie). The handshake is then published as a GET of ``@ws`` through the usual
pipeline: traversal, the container's users, revocation, ``baobab.UseWebSockets``. A refusal
is answered as HTTP (status and error envelope) where the server offers
``websocket.http.response`` (Granian does), else by closing before accepting.

Once accepted, the socket belongs to the hub (:mod:`baobab.live.hub`), which writes to it;
this coroutine reads client frames into its :class:`~baobab.live.protocol.Session` until the
client leaves. A socket authenticated by a token closes (4001) when the token expires.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any
from urllib.parse import parse_qsl

import orjson

from baobab.asgi.errors import error_response, internal_error, internal_error_response
from baobab.asgi.pipeline import publish
from baobab.asgi.scope import client_of, new_request, scope_headers, view_of
from baobab.asgi.state import AppState
from baobab.errors import BadRequest, BaobabError, Forbidden, Unauthorized
from baobab.live.hub import CLOSE_AUTH, CLOSE_TOO_BIG, Connection
from baobab.live.protocol import Session
from baobab.request import Request, Response
from baobab.security.authentication import Credentials
from baobab.security.principals import Principal
from baobab.security.tokens import is_revoked, revoke
from baobab.telemetry.metrics import instruments
from baobab.telemetry.requestid import REQUEST_ID, request_id_of
from baobab.types import Receive, Scope, Send

__all__ = ["handle_websocket"]

_DENIAL = "websocket.http.response"
_VIEW = "@ws"


def _cookie(headers: dict[str, str], name: str) -> str | None:
    for part in headers.get("cookie", "").split(";"):
        key, sep, value = part.strip().partition("=")
        if sep and key == name and value:
            return value
    return None


def _same_origin(state: AppState, headers: dict[str, str], base_url: str) -> bool:
    origin = headers.get("origin")
    if origin is None:
        return True  # not a browser page
    try:
        if state.urls.same_origin(origin, base_url):
            return True
    except ValueError:  # "http://[": not an origin a browser sends, so not this site's
        return False
    return state.cors.enabled and state.cors.allowed(origin)


async def _credentials(
    state: AppState,
    query: dict[str, str],
    headers: dict[str, str],
    base_url: str,
    client: str,
) -> Credentials:
    auth = state.authenticator
    if headers.get("authorization"):
        return await auth.authenticate(headers["authorization"], client)
    ticket = query.get("ws_token")
    if ticket:
        credentials, jti, expiry = auth.from_ticket(ticket)
        await _use_ticket(state, jti, expiry)
        return credentials
    token = _cookie(headers, state.settings.live.cookie)
    if token:
        if not _same_origin(state, headers, base_url):
            raise Forbidden("The login cookie is accepted only from this site's own pages")
        return auth.from_token(token)
    return await auth.authenticate(None)


async def _use_ticket(state: AppState, jti: str, expiry: int) -> None:
    """Revoke the ticket in the system database: a second use finds it revoked."""

    def work(conn: Any) -> None:
        if is_revoked(conn, jti):
            raise Unauthorized("This ticket was already used; ask @wstoken for another")
        revoke(conn, jti, expiry)

    await state.databases.write(work)


async def _handshake(state: AppState, scope: Scope, receive: Receive) -> tuple[Request, Response]:
    headers = scope_headers(scope)
    base_url = state.urls.base_url(scope, headers)  # 400 for a Host not trusted, first
    query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
    client = client_of(state, scope, headers)
    credentials = await _credentials(state, query, headers, base_url, client)
    request = new_request(
        state,
        scope,
        headers,
        credentials,
        base_url=base_url,
        method="GET",
        websocket=True,
        client=client,
    )
    return request, await publish(state, request, receive)


async def _deny(send: Send, scope: Scope, response: Response) -> None:
    if _DENIAL in (scope.get("extensions") or {}):
        headers = [*response.headers, (b"content-type", b"application/json")]
        request_id = REQUEST_ID.get()
        if request_id is not None:
            headers.append((b"x-request-id", request_id.encode()))
        await send({"type": f"{_DENIAL}.start", "status": response.status, "headers": headers})
        await send({"type": f"{_DENIAL}.body", "body": response.body})
    else:
        await send({"type": "websocket.close", "code": 1008})


async def handle_websocket(state: AppState, scope: Scope, receive: Receive, send: Send) -> None:
    header = next((v for k, v in scope["headers"] if k.lower() == b"x-request-id"), None)
    # this task's: the socket's log lines carry it
    REQUEST_ID.set(request_id_of(None if header is None else header.decode("latin-1")))
    if (await receive())["type"] != "websocket.connect":
        return
    if view_of("GET", scope["path"])[1] != _VIEW:
        # Only @ws speaks WebSocket: refused before traversal, so the answer is the same for
        # every other path, existing, hidden or missing.
        refusal = BadRequest("Only a folder's .../@ws speaks WebSocket", details={"view": _VIEW})
        await _deny(send, scope, error_response(refusal))
        return
    # before the principal is read: account changes delivered from here on reach the socket
    mark = state.live.hub.mark()
    try:
        request, response = await _handshake(state, scope, receive)
    except BaobabError as exc:
        await _deny(send, scope, error_response(exc))
        return
    except Exception as exc:  # the error boundary, as for HTTP
        await _deny(send, scope, internal_error_response(exc, debug=state.settings.debug))
        return
    if response.status != 200:
        await _deny(send, scope, response)
        return
    path: str = orjson.loads(response.body)["path"]
    principal, url = request.principal, request.base_url
    del request, response  # a socket lives long: keep only what it needs (fewer GC objects)
    await send({"type": "websocket.accept"})
    await _serve(state, receive, send, principal=principal, url=url, path=path, mark=mark)


async def _serve(
    state: AppState,
    receive: Receive,
    send: Send,
    *,
    principal: Principal,
    url: str,
    path: str,
    mark: int,
) -> None:
    settings = state.settings.live

    async def send_frame(frame: bytes) -> None:
        await send({"type": "websocket.send", "text": frame.decode()})

    async def close(code: int, reason: str) -> None:
        await send({"type": "websocket.close", "code": code, "reason": reason})

    conn = Connection(
        principal=principal,
        scope=path,
        base_url=url,
        send=send_frame,
        close_socket=close,
        max_queued=settings.max_queued_bytes,
        max_subscriptions=settings.max_subscriptions,
    )
    hub = state.live.hub
    hub.add(conn, mark)
    open_sockets = instruments().websockets
    open_sockets.inc()
    session = Session(hub, conn, path.split("/")[1])
    expiry = principal.token_expiry
    timer = None
    if expiry is not None:
        timer = asyncio.get_running_loop().call_later(
            max(0.0, expiry - time.time()), conn.close, CLOSE_AUTH, "the token expired"
        )
    try:
        while True:
            message = await receive()
            if message["type"] != "websocket.receive":
                break  # websocket.disconnect
            data = message.get("text")
            if data is None:
                data = message.get("bytes") or b""
            if len(data) > settings.max_frame_size:
                conn.close(CLOSE_TOO_BIG, f"frames are limited to {settings.max_frame_size} bytes")
                continue
            if not conn.closed:
                _handle(session, data, debug=state.settings.debug)
    finally:
        open_sockets.dec()
        if timer is not None:
            timer.cancel()
        hub.remove(conn)
        await conn.drain()


def _handle(session: Session, data: bytes | str, *, debug: bool) -> None:
    """One client frame; a fault is answered with an error frame and the socket kept (a
    socket's error boundary, as the 500 envelope is for HTTP)."""
    try:
        session.handle(data)
    except Exception as exc:
        error = internal_error(exc, debug=debug)
        session.conn.push_json({"type": "error", "id": None, "error": error})

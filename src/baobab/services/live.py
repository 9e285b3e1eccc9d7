"""``@ws`` (a WebSocket of live events) and ``@wstoken`` (a ticket to open one).

Browsers cannot set headers on a WebSocket, so a front end asks ``GET @wstoken`` with its
token and opens ``@ws?ws_token=<ticket>``: the ticket is valid for ``live.ticket_expiry``
seconds and once. ``@ws`` itself is published like any GET, so the socket's principal,
container and permission (``baobab.UseWebSockets``) are settled by the usual pipeline before
the asgi layer accepts it (:mod:`baobab.asgi.websocket`; protocol in docs/live.md).
"""

from __future__ import annotations

import time
from typing import Any

from baobab.config.declarations import service
from baobab.content.interfaces import IContainer, IDatabaseRoot, IFolderish
from baobab.errors import UpgradeRequired
from baobab.location import resource_path
from baobab.request import Request, Response, json_response
from baobab.security.vocabulary import USE_WEBSOCKETS
from baobab.services import shapes

__all__ = ["websocket", "wstoken"]


@service(
    method="GET",
    context=IFolderish,
    name="@ws",
    permission=USE_WEBSOCKETS.id,
    summary="A WebSocket of live events (subscribe to paths below here)",
    description="Answers only a WebSocket upgrade (with a ticket from `@wstoken`); a plain "
    "request is answered 426.",
    params=({"name": "ws_token", "in": "query", "schema": {"type": "string"}},),
    errors=(426,),
)
def websocket(request: Request) -> Response:
    if not request.websocket:
        raise UpgradeRequired()
    return json_response({"path": resource_path(request.context)})


_TICKET: dict[str, Any] = {
    "summary": "A short-lived ticket to open a WebSocket (`@ws?ws_token=`)",
    "responses": {200: shapes.WsTicket},
}


@service(method="GET", context=IContainer, name="@wstoken", permission=USE_WEBSOCKETS.id, **_TICKET)
@service(
    method="GET", context=IDatabaseRoot, name="@wstoken", permission=USE_WEBSOCKETS.id, **_TICKET
)
def wstoken(request: Request) -> Response:
    principal = request.principal
    expiry = request.settings.live.ticket_expiry
    session_expiry = principal.token_expiry
    if session_expiry is None:  # Basic credentials: the socket lives as long as a token would
        session_expiry = int(time.time()) + request.settings.auth.token_expiry
    ticket, exp = request.auth.tokens.issue_ticket(
        principal.id, principal.container, expiry, principal.token_id, session_expiry
    )
    return json_response({"token": ticket, "expires": exp}, headers={"Cache-Control": "no-store"})

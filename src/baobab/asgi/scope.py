"""From an ASGI scope to a :class:`~baobab.request.Request`: headers, the view."""

from __future__ import annotations

from urllib.parse import parse_qsl

from baobab.asgi.state import AppState
from baobab.request import Request
from baobab.security.authentication import Credentials
from baobab.types import Scope

__all__ = ["client_of", "new_request", "scope_headers", "view_of"]


def client_of(state: AppState, scope: Scope, headers: dict[str, str]) -> str:
    """The client's address: the peer, or what a trusted proxy says (``auth.throttle``)."""
    return state.authenticator.throttle.client(scope.get("client"), headers.get("x-forwarded-for"))


def scope_headers(scope: Scope) -> dict[str, str]:
    """The request headers, names in lower case."""
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}


def view_of(method: str, path: str) -> tuple[str, str]:
    """The (method, view name) a request names, known before traversal: the first ``@``
    segment of the path (traversal stops there too), and HEAD as GET."""
    start = path.find("/@")
    if start < 0:
        view = ""
    else:
        end = path.find("/", start + 1)
        view = path[start + 1 : end] if end >= 0 else path[start + 1 :]
    return ("GET" if method == "HEAD" else method), view


def new_request(
    state: AppState,
    scope: Scope,
    headers: dict[str, str],
    credentials: Credentials,
    *,
    base_url: str,
    method: str,
    body: bytes = b"",
    streamed: bool = False,
    websocket: bool = False,
    client: str | None = None,
) -> Request:
    """The :class:`Request` for an HTTP request or a WebSocket handshake; ``base_url`` from
    ``state.urls`` (:mod:`baobab.asgi.urls`), checked before anything else."""
    items = tuple(
        parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
    )
    return Request(
        method=method,
        path=scope["path"],
        query=dict(items),
        query_items=items,
        headers=headers,
        body=body,
        base_url=base_url,
        credentials=credentials,
        registry=state.registry,
        policy=state.policy,
        settings=state.settings,
        auth=state.authenticator,
        streamed=streamed,
        websocket=websocket,
        client=client_of(state, scope, headers) if client is None else client,
    )

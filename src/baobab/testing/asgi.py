"""One request straight into an ASGI app, without a client library: a body in chunks, a
client that goes away mid-body, and a count of how often the app read (``receive``) — what a
test of "refused before a byte was read" or a benchmark of the app alone needs."""

from __future__ import annotations

import base64
from collections.abc import Iterable, MutableMapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from baobab.asgi.app import BaobabApp
from baobab.testing.kit import ROOT_PASSWORD, TEST_USERS

__all__ = ["Exchange", "basic", "call_app"]


def basic(login: str | None) -> list[tuple[bytes, bytes]]:
    """The Basic ``authorization`` header of root or a test user (none for None)."""
    if login is None:
        return []
    password = ROOT_PASSWORD if login == "root" else TEST_USERS[login][0]
    token = base64.b64encode(f"{login}:{password}".encode()).decode("ascii")
    return [(b"authorization", f"Basic {token}".encode())]


@dataclass
class Exchange:
    """What the app sent back for one direct ASGI call, and how much of the body it read."""

    status: int | None = None  # None: nothing was answered
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    reads: int = 0  # receive() calls


async def call_app(
    app: BaobabApp,
    method: str,
    path: str,
    *,
    chunks: Sequence[bytes] = (),
    disconnect: bool = False,
    headers: Iterable[tuple[str, str]] = (),
    query: str = "",
    login: str | None = "root",
) -> Exchange:
    """Call the ASGI app with the body in ``chunks``; with ``disconnect``, the client goes
    away after the last chunk (each sent with ``more_body``) instead of ending the body."""
    exchange = Exchange()
    messages: list[dict[str, Any]] = [
        {"type": "http.request", "body": chunk, "more_body": disconnect or i < len(chunks) - 1}
        for i, chunk in enumerate(chunks)
    ]
    if not chunks and not disconnect:
        messages.append({"type": "http.request", "body": b"", "more_body": False})

    async def receive() -> dict[str, Any]:
        exchange.reads += 1
        if messages:
            return messages.pop(0)
        return {"type": "http.disconnect"}

    async def send(message: MutableMapping[str, Any]) -> None:
        if message["type"] == "http.response.start":
            exchange.status = message["status"]
            exchange.headers = {k.decode(): v.decode("latin-1") for k, v in message["headers"]}
        elif message["type"] == "http.response.body":
            exchange.body += message.get("body", b"")

    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": query.encode(),
        "headers": [
            (b"host", b"baobab.test"),
            *basic(login),
            *((k.lower().encode(), v.encode("latin-1")) for k, v in headers),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("baobab.test", 80),
    }
    await app(scope, receive, send)
    return exchange

"""An in-process WebSocket client for an ASGI app (httpx speaks only HTTP to ASGI apps).

It drives the app's ``websocket`` scope directly: what the app sends is read from a queue,
what the test sends is fed to the app's ``receive``. ``ws_connect`` raises
:class:`Rejected` (with the HTTP status and body) when the app refuses the handshake.

    async with ws_connect(app, "/db/site/@ws", headers={"authorization": "Basic …"}) as ws:
        await ws.send_json({"type": "subscribe", "id": 1})
        ack = await ws.receive_json()
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import orjson

from baobab.types import ASGIApp, Message

__all__ = ["Closed", "Rejected", "WebSocket", "basic", "ws_connect"]

TIMEOUT = 10.0  # seconds a receive waits before the test fails (never a timing assertion)


class Rejected(Exception):
    """The handshake was refused: ``status`` and the JSON ``body`` (the error envelope)."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"handshake refused with {status}: {body}")
        self.status = status
        self.body = body


class Closed(Exception):
    """The app closed the socket with ``code``."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(f"closed with {code}: {reason}")
        self.code = code
        self.reason = reason


def basic(login: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{login}:{password}".encode()).decode()
    return {"authorization": f"Basic {token}"}


class WebSocket:
    def __init__(self) -> None:
        self.to_app: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.from_app: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.close_code: int | None = None

    async def send_json(self, data: Any) -> None:
        await self.send_text(orjson.dumps(data).decode())

    async def send_text(self, text: str) -> None:
        await self.to_app.put({"type": "websocket.receive", "text": text})

    async def receive_json(self, timeout: float = TIMEOUT) -> Any:
        message = await asyncio.wait_for(self.from_app.get(), timeout)
        if message["type"] == "websocket.close":
            self.close_code = message.get("code", 1000)
            raise Closed(self.close_code, message.get("reason", ""))
        return orjson.loads(message.get("text") or message.get("bytes") or b"")

    async def subscribe(self, **frame: Any) -> dict[str, Any]:
        """Send a ``subscribe`` frame (id ``"sub"``) and return its ``ack``."""
        await self.send_json({"type": "subscribe", "id": "sub", **frame})
        ack: dict[str, Any] = await self.receive_json()
        assert ack["type"] == "ack" and ack["id"] == "sub", ack
        return ack

    async def event(self) -> dict[str, Any]:
        """The next pushed frame, which must be an event, a notification or a gap."""
        frame: dict[str, Any] = await self.receive_json()
        assert frame["type"] in ("event", "notification", "gap"), frame
        return frame

    async def frames(self, count: int, timeout: float = TIMEOUT) -> list[Any]:
        return [await self.receive_json(timeout) for _ in range(count)]

    def pending(self) -> int:
        """Frames sent by the app and not read yet."""
        return self.from_app.qsize()


@asynccontextmanager
async def ws_connect(
    app: ASGIApp,
    path: str,
    *,
    headers: dict[str, str] | None = None,
    query: str = "",
    host: str = "baobab.test",
) -> AsyncIterator[WebSocket]:
    ws = WebSocket()
    raw_headers = [(b"host", host.encode())]
    raw_headers += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    scope = {
        "type": "websocket",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "scheme": "ws",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": raw_headers,
        "server": ("127.0.0.1", 80),
        "client": ("127.0.0.1", 50000),
        "subprotocols": [],
        "extensions": {"websocket.http.response": {}},
    }
    await ws.to_app.put({"type": "websocket.connect"})

    async def receive() -> Message:
        return await ws.to_app.get()

    async def send(message: Message) -> None:
        await ws.from_app.put(dict(message))

    async def run() -> None:
        await app(scope, receive, send)

    task = asyncio.get_running_loop().create_task(run())
    try:
        first = await asyncio.wait_for(ws.from_app.get(), TIMEOUT)
        if first["type"] == "websocket.http.response.start":
            body = await asyncio.wait_for(ws.from_app.get(), TIMEOUT)
            raise Rejected(first["status"], orjson.loads(body["body"]))
        if first["type"] == "websocket.close":
            raise Rejected(403, None)
        assert first["type"] == "websocket.accept", first
        yield ws
    finally:
        await ws.to_app.put({"type": "websocket.disconnect", "code": 1000})
        try:
            await asyncio.wait_for(task, TIMEOUT)
        except TimeoutError:
            task.cancel()

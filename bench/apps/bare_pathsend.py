"""The floor for ``bench/files.py``: a bare ASGI app that sends one file with ``pathsend``.

``GET /file`` answers the file named by ``BENCH_FILE`` through the ASGI ``http.response.pathsend``
extension (Granian streams it from Rust, no Python per chunk); ``GET /json`` answers a tiny
JSON body. Served by ``granian --interface asgi --workers 1 --loop uvloop bare_pathsend:app``.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from typing import Any

PATH = os.environ["BENCH_FILE"]
SIZE = os.path.getsize(PATH)
JSON = b'{"ok": true}'

Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


async def app(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    if scope["type"] != "http":
        return
    if scope["path"] == "/file":
        if "http.response.pathsend" not in scope.get("extensions", {}):
            raise RuntimeError("the server does not offer the ASGI pathsend extension")
        headers = [
            (b"content-type", b"application/octet-stream"),
            (b"content-length", b"%d" % SIZE),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.pathsend", "path": PATH})
        return
    status, body = (200, JSON) if scope["path"] == "/json" else (404, b'{"error": "not found"}')
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})

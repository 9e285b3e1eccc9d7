"""Helpers shared by the file and TUS suites (``test_files.py``, ``test_tus.py``).

- :func:`file_settings`: test settings with small upload limits, so an oversize body is a few
  KiB, not gigabytes, and the ``baobab_files_addon`` types (``tests/fixtures``);
- :func:`leftovers`: what a failed upload could leave behind — spool files, and uncommitted
  blob files in each storage's temporary directory;
- :func:`call_app`: one request straight into the ASGI callable, with a hand-made ``receive``
  (a body in chunks, a client that goes away mid-body) that counts what the app read.
"""

from __future__ import annotations

import base64
import hashlib
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from baobab.asgi import BaobabApp
from baobab.config.settings import Settings
from baobab.testing import ROOT_PASSWORD, TEST_USERS, make_settings, require_postgres, zap_postgres

BASE = "http://baobab.test"
LIMIT = 64 << 10  # files.max_upload_size in these suites
FORM_LIMIT = 1 << 10  # files.max_form_size in these suites
ADDONS = ["baobab_files_addon"]  # Secret (a guarded file field), Shelf (takes no files)


def file_settings(storage: str, var_dir: Path) -> Settings:
    if storage == "postgresql":
        zap_postgres(require_postgres())
    return make_settings(
        var_dir,
        storage,
        addons=ADDONS,
        files={"max_upload_size": LIMIT, "max_form_size": FORM_LIMIT},
    )


def payload(size: int, seed: int = 0) -> bytes:
    """``size`` deterministic, incompressible bytes."""
    return random.Random(seed).randbytes(size)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def b64(data: bytes | str) -> str:
    raw = data.encode() if isinstance(data, str) else data
    return base64.b64encode(raw).decode("ascii")


def path_of(url: str) -> str:
    """The path of one of the app's absolute URLs."""
    assert url.startswith(BASE + "/"), url
    return url.removeprefix(BASE)


def leftovers(app: BaobabApp) -> list[Path]:
    """Spool files, and files in each storage's temporary (uncommitted blob) directory."""
    state = app.state
    assert state is not None
    found: list[Path] = []
    spool = state.settings.spool_path
    if spool.is_dir():
        found.extend(spool.iterdir())
    for db in state.databases.values():
        tmp = Path(db.storage.temporaryDirectory())
        if tmp.is_dir():
            found.extend(tmp.iterdir())
    return sorted(found)


def basic(login: str | None) -> list[tuple[bytes, bytes]]:
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

    async def send(message: dict[str, Any]) -> None:
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

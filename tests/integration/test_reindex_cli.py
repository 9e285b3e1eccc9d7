"""``baobab reindex-security``: content stored before the security model becomes visible
through the workflow and the token indexes, exactly as if it had been created now."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import httpx
import msgspec

from baobab.asgi.app import BaobabApp
from baobab.asgi.state import start, stop
from baobab.blobs.spool import SPOOL_SUFFIX
from baobab.cli.main import main
from baobab.config.settings import Settings
from baobab.content import operations
from baobab.database.transactions import ROOT_KEY, run_in_transaction
from baobab.testing import TEST_USERS, make_settings


def _old_style_content(settings: Settings) -> None:
    """A container, a folder and a document made without the security lifecycle (no owner,
    no workflow state, no allowed tokens): what a database from before it holds."""
    state = start(settings)
    try:

        def work(conn: Any) -> tuple[None, bool]:
            root = conn.root()[ROOT_KEY]
            registry = state.registry
            site = operations.create(registry, root, {"@type": "Container", "id": "site"}, "root")
            folder = operations.create(registry, site, {"@type": "Folder", "id": "f"}, "root")
            operations.create(registry, folder, {"@type": "Document", "id": "d"}, "root")
            return None, True

        run_in_transaction(state.databases["db"], work, retries=0)
    finally:
        stop(state)


async def _reader_view(settings: Settings) -> tuple[int, list[str]]:
    app = BaobabApp(settings)
    await app.startup()
    try:
        auth = ("reader", TEST_USERS["reader"][0])
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t", auth=auth) as c:
            doc = await c.get("/db/site/f/d")
            listing = await c.get("/db/site/f")
            items = [i["id"] for i in listing.json().get("items", [])]
            return doc.status_code, items
    finally:
        await app.shutdown()


async def test_reindex_security(tmp_path: Path, capsys: Any) -> None:
    settings = make_settings(tmp_path / "var", "filestorage")
    config = tmp_path / "config.json"
    config.write_bytes(msgspec.json.encode(settings))
    _old_style_content(settings)
    # the reader may View the document (global Reader), but the folder's index lacks it
    assert await _reader_view(settings) == (200, [])

    # a spool file no request holds, as a live server's between two TUS chunks: only a
    # server's own start clears the spool, never a maintenance command run beside it
    settings.spool_path.mkdir(parents=True, exist_ok=True)
    parked = settings.spool_path / f"parked{SPOOL_SUFFIX}"
    parked.write_bytes(b"partial upload")
    os.utime(parked, (0, 0))
    # the CLI runs from a thread, as from a shell
    assert await asyncio.to_thread(main, ["reindex-security", "--config", str(config)]) == 0
    assert parked.exists()
    assert "db: 1 containers reindexed, 3 objects entered a state" in capsys.readouterr().out

    assert await _reader_view(settings) == (200, ["d"])
    state = start(settings)
    try:
        conn = state.databases["db"].open()
        doc = conn.root()[ROOT_KEY]["site"]["f"]["d"]
        assert doc.review_state == "private"
        assert "baobab.Reader" in doc._allowed
        assert [h["comments"] for h in doc.workflow_history] == ["entered the workflow"]
        conn.close()
    finally:
        stop(state)
    # a second run changes nothing more
    assert await asyncio.to_thread(main, ["reindex-security", "--config", str(config)]) == 0
    assert "0 objects entered a state" in capsys.readouterr().out

"""Packing against real servers: ``POST /db/@pack`` while the server takes writes, and
``baobab pack`` — refused with one line while a server holds a FileStorage, run while servers
hold a PostgreSQL database. The file of a deleted object is gone after the pack, a live one's
stays byte for byte."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from ops_support import SITE, Writer, missing_or_wrong, upload_file, wait_for

from baobab.database.footprint import postgresql_footprint
from baobab.testing import content_call, require_postgres, send_sync, zap_postgres
from baobab.testing.server import JWT_SECRET, ROOT_PASSWORD, Servers, run_cli

pytestmark = pytest.mark.server

REVISIONS = 200


def blob_files(var: Path) -> set[Path]:
    return set((var / "blobs" / "db").rglob("*.blob"))


def test_filestorage_pack_live_and_offline(servers: Servers) -> None:
    config = servers.config()
    server = servers.serve(config)
    client = server.root_client()
    send_sync(client, content_call("/db", "Container", "site"))
    kept_data = os.urandom(300_000)
    kept = upload_file(client, "kept.bin", kept_data).json()["id"]
    before_gone = blob_files(servers.var)
    gone = upload_file(client, "gone.bin", os.urandom(200_000)).json()["id"]
    (gone_blob,) = blob_files(servers.var) - before_gone
    assert client.delete(f"{SITE}/{gone}").status_code == 204
    # old revisions, so that each pack has a file's worth of copying to do
    send_sync(client, content_call(SITE, "Document", "busy"))
    for n in range(REVISIONS):
        assert client.patch(f"{SITE}/busy", json={"text": "x" * 2000 + str(n)}).status_code == 204

    # the CLI cannot open a FileStorage a server holds: one line, pointing to @pack
    refused = run_cli(["pack", "--config", str(config)], servers.cwd)
    assert refused.returncode == 2
    assert refused.stderr.count("\n") == 1 and "Traceback" not in refused.stderr
    assert "POST" in refused.stderr and "/db/@pack" in refused.stderr

    # packs through the server while two clients keep writing
    writers = [Writer(server.root_client(), "doc").start()]
    writers.append(Writer(server.root_client(), "file", files=True).start())
    try:
        wait_for(writers, 5)
        for _ in range(3):
            resp = client.post("/db/@pack", json={"days": 0})
            assert resp.status_code == 200, resp.text
            wait_for(writers, 3)
    finally:
        for writer in writers:
            writer.finish()
    figures = resp.json()
    assert figures["database"] == "db" and figures["storage"] == "filestorage"
    assert not gone_blob.exists()
    download = client.get(f"{SITE}/{kept}/@download/file")
    assert hashlib.sha256(download.content).digest() == hashlib.sha256(kept_data).digest()
    acks = [ack for writer in writers for ack in writer.acks]
    assert not [w.bad for w in writers if w.bad]
    assert missing_or_wrong(client, acks) == []
    client.close()

    # stopped: the CLI packs, and says what it reclaimed
    assert server.terminate() == 0
    done = run_cli(["pack", "--config", str(config), "--days", "0"], servers.cwd)
    assert done.returncode == 0, done.stderr
    assert "reclaimed" in done.stdout and "file" in done.stdout
    assert "packing" in done.stderr
    again = servers.serve(config)
    with again.root_client() as client:
        assert missing_or_wrong(client, acks) == []


@pytest.mark.postgresql
def test_postgresql_pack_while_serving(servers: Servers) -> None:
    dsn = require_postgres()
    zap_postgres(dsn)
    config = servers.config(
        {
            "var_dir": str(servers.var),
            "databases": {"db": {"storage": "postgresql", "dsn": dsn}},
            "auth": {"root_password": ROOT_PASSWORD, "jwt_secret": JWT_SECRET},
            "server": {"access_log": False},
        }
    )
    server = servers.serve(config)
    with server.root_client() as client:
        send_sync(client, content_call("/db", "Container", "site"))
        kept_data = os.urandom(300_000)
        kept = upload_file(client, "kept.bin", kept_data).json()["id"]
        gone = upload_file(client, "gone.bin", os.urandom(200_000)).json()["id"]
        assert client.delete(f"{SITE}/{gone}").status_code == 204
        before = postgresql_footprint(dsn)

        done = run_cli(["pack", "--config", str(config)], servers.cwd)
        assert done.returncode == 0, done.stderr
        assert "VACUUM" in done.stdout and "reclaimed" in done.stdout

        after = postgresql_footprint(dsn)
        assert after.parts["blob_chunk_rows"] == (before.parts["blob_chunk_rows"] or 0) - 1
        assert after.bytes <= before.bytes - 200_000
        download = client.get(f"{SITE}/{kept}/@download/file")
        assert download.content == kept_data

        resp = client.post("/db/@pack")
        assert resp.status_code == 200, resp.text
        assert resp.json()["storage"] == "postgresql"
        assert client.get(f"{SITE}/{kept}").status_code == 200

"""Backup and restore against real servers, on FileStorage and PostgreSQL.

Two clients keep writing (documents, and files with a description set after the upload)
while ``baobab backup`` runs as its own process. The backup is restored into a fresh place (a
new var directory, a new PostgreSQL database), a server started on it, and every write the
first server acknowledged before the backup started is there, field by field, every file's
bytes matching their SHA-256. A second backup after more writes (an incremental one on
FileStorage: a ``.deltafsz`` and hard-linked blobs) restored as well has the later writes too;
the first one is still restorable by its date.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ops_support import Writer, missing_or_wrong, wait_for

from baobab.testing import content_call, require_postgres, send_sync, zap_postgres
from baobab.testing.server import JWT_SECRET, ROOT_PASSWORD, Servers, run_cli

pytestmark = pytest.mark.server

STAMP = re.compile(r"(\d{4}(?:-\d\d){5})\.(?:fsz|deltafsz|dump)")


def _config(servers: Servers, name: str, dsn: str | None) -> Path:
    data: dict[str, Any] = {
        "var_dir": str(servers.tmp_path / name),
        "auth": {"root_password": ROOT_PASSWORD, "jwt_secret": JWT_SECRET},
        "server": {"access_log": False},
    }
    if dsn is not None:
        data["databases"] = {"db": {"storage": "postgresql", "dsn": dsn}}
    return servers.config(data, name=f"{name}.json")


@pytest.fixture
def fresh_databases() -> Iterator[list[str]]:
    """Names of PostgreSQL databases to create for restores; dropped afterwards."""
    names: list[str] = []
    yield names
    if names:
        import psycopg2

        conn = psycopg2.connect(require_postgres())
        conn.autocommit = True
        with conn.cursor() as cursor:
            for name in names:
                cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.close()


def _new_database(dsn: str, name: str, made: list[str]) -> str:
    import psycopg2

    conn = psycopg2.connect(dsn)
    conn.autocommit = True
    with conn.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{name}"')
    conn.close()
    made.append(name)
    return re.sub(r"dbname=\S+", f"dbname={name}", dsn)


def _backup(servers: Servers, config: Path, dest: Path, *extra: str) -> str:
    """Run ``baobab backup``; the stamp of the file it wrote."""
    done = run_cli(["backup", "--config", str(config), *extra, str(dest)], servers.cwd)
    assert done.returncode == 0, done.stderr
    found = STAMP.search(done.stdout)
    assert found, done.stdout
    return found.group(1)


@pytest.mark.parametrize(
    "storage", ["filestorage", pytest.param("postgresql", marks=pytest.mark.postgresql)]
)
def test_backup_under_writes_restores_every_acknowledged_write(  # noqa: PLR0915 - one story
    servers: Servers, storage: str, fresh_databases: list[str]
) -> None:
    dsn = None
    if storage == "postgresql":
        dsn = require_postgres()
        zap_postgres(dsn)
    config = _config(servers, "live", dsn)
    server = servers.serve(config)
    with server.root_client() as client:
        send_sync(client, content_call("/db", "Container", "site"))
    writers = [Writer(server.root_client(), "doc").start()]
    writers.append(Writer(server.root_client(), "file", files=True).start())
    dest = servers.tmp_path / "backups"
    try:
        wait_for(writers, 10)
        started = time.monotonic()
        first = _backup(servers, config, dest)
        wait_for(writers, 10)  # more writes, then a second backup (incremental on FileStorage)
        started_again = time.monotonic()
        second = _backup(servers, config, dest)
        wait_for(writers, 3)
    finally:
        for writer in writers:
            writer.finish()
    assert not [w.bad for w in writers if w.bad]
    early = [a for w in writers for a in w.acked_before(started)]
    later = [a for w in writers for a in w.acked_before(started_again)]
    assert len(later) > len(early) >= 20

    if storage == "filestorage":
        names = sorted(p.name for p in (dest / "db").iterdir())
        assert f"{first}.fsz" in names and f"{second}.deltafsz" in names
        # the incremental's blobs: the earlier ones hard-linked, not copied again
        linked = [p for p in (dest / "db" / "blobs" / second).rglob("*.blob")]
        assert any(p.stat().st_nlink > 1 for p in linked)

    for name, date, acks in (("as-of-first", first, early), ("latest", None, later)):
        target_dsn = None
        if dsn is not None:
            target_dsn = _new_database(dsn, f"i14ops_{name.replace('-', '_')}", fresh_databases)
        restored = _config(servers, name, target_dsn)
        argv = ["restore", "--config", str(restored), str(dest)]
        done = run_cli([*argv, "--date", date] if date else argv, servers.cwd)
        assert done.returncode == 0, done.stderr
        # restoring again over it is refused: one line, saying what to do
        again = run_cli(argv, servers.cwd)
        assert again.returncode == 2 and "--force" in again.stderr
        assert again.stderr.count("\n") == 1
        copy = servers.serve(restored)
        with copy.root_client() as client:
            assert missing_or_wrong(client, acks) == []
        copy.stop()
    if dsn is not None:  # --force drops the restored tables and restores over them
        cache = servers.tmp_path / "latest" / "blobs" / "db-cache"
        assert list(cache.rglob("*.blob"))  # the copy's server read the files through it
        forced = run_cli([*argv, "--force"], servers.cwd)
        assert forced.returncode == 0, forced.stderr
        assert list(cache.iterdir()) == []  # the blob cache rule
        copy = servers.serve(restored)
        with copy.root_client() as client:
            assert missing_or_wrong(client, later) == []


def test_restore_refusals_and_force(servers: Servers) -> None:
    config = _config(servers, "live", None)
    server = servers.serve(config)
    with server.root_client() as client:
        send_sync(client, content_call("/db", "Container", "site"))
        send_sync(client, content_call("/db/site", "Document", "before"))
    dest = servers.tmp_path / "backups"
    _backup(servers, config, dest, "--full")
    missing = run_cli(["restore", "--config", str(config), str(servers.tmp_path)], servers.cwd)
    assert missing.returncode == 2 and "no backup" in missing.stderr
    held = run_cli(["restore", "--config", str(config), "--force", str(dest)], servers.cwd)
    assert held.returncode == 2 and "running server" in held.stderr
    bad_date = run_cli(["restore", "--config", str(config), "--date", "yesterday", str(dest)],
                       servers.cwd)  # fmt: skip
    assert bad_date.returncode == 2 and "yyyy-mm-dd" in bad_date.stderr
    with server.root_client() as client:
        send_sync(client, content_call("/db/site", "Document", "after"))
    server.terminate()
    forced = run_cli(["restore", "--config", str(config), "--force", str(dest)], servers.cwd)
    assert forced.returncode == 0, forced.stderr
    server = servers.serve(config)
    with server.root_client() as client:
        assert client.get("/db/site/before").status_code == 200
        assert client.get("/db/site/after").status_code == 404


def test_backup_without_pg_dump_says_so(servers: Servers, tmp_path: Path) -> None:
    """The PostgreSQL path needs the client tools; without them, one line."""
    config = _config(servers, "pg", "host=127.0.0.1 dbname=nowhere")
    bare = tmp_path / "bin"
    bare.mkdir()
    done = run_cli(["backup", "--config", str(config), str(tmp_path / "out")], servers.cwd,
                   env={"PATH": str(bare)})  # fmt: skip
    assert done.returncode == 2
    assert "pg_dump is not installed" in done.stderr and done.stderr.count("\n") == 1

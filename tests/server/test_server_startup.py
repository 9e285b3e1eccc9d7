"""Many workers and many hosts starting at once on an EMPTY PostgreSQL database all come up.

Each round drops every object RelStorage made (tables, sequences, functions), then starts
``baobab serve --workers 3``, or two ``baobab serve`` processes at once (two hosts): every
worker must finish its start-up (it logs ``application started (pid N)``), the server must
answer, and no output may hold a traceback. Before the start-up lock the workers raced to
create the schema (``UniqueViolation``) and the roots (``ConflictError``), and the server
exited most of the time.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import psycopg2
import pytest

from baobab.testing import require_postgres
from baobab.testing.server import JWT_SECRET, ROOT_PASSWORD, ServerProcess, Servers

pytestmark = [pytest.mark.server, pytest.mark.postgresql]

ROUNDS = 5
WORKERS = 3
STARTED = re.compile(r"application started \(pid (\d+)\)")


def empty_database(dsn: str) -> None:
    """Drop every table, view, sequence and function of the current schema."""
    conn = psycopg2.connect(dsn)
    conn.autocommit = True
    try:
        with conn.cursor() as cursor:
            cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
            for (table,) in cursor.fetchall():
                cursor.execute(f'DROP TABLE IF EXISTS "{table}" CASCADE')
            cursor.execute(
                "SELECT c.relname, c.relkind FROM pg_class c "
                "WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('S', 'v')"
            )
            for name, kind in cursor.fetchall():
                what = "SEQUENCE" if kind == "S" else "VIEW"
                cursor.execute(f'DROP {what} IF EXISTS "{name}" CASCADE')
            cursor.execute(
                "SELECT p.oid::regprocedure::text FROM pg_proc p "
                "WHERE p.pronamespace = current_schema()::regnamespace"
            )
            for (function,) in cursor.fetchall():
                cursor.execute(f"DROP FUNCTION IF EXISTS {function} CASCADE")
            cursor.execute(
                "SELECT count(*) FROM pg_class WHERE relnamespace = current_schema()::regnamespace"
            )
            assert cursor.fetchone() == (0,)
    finally:
        conn.close()


def config(servers: Servers, dsn: str) -> Path:
    return servers.config(
        {
            "var_dir": str(servers.var),
            "databases": {"db": {"storage": "postgresql", "dsn": dsn}},
            "auth": {"root_password": ROOT_PASSWORD, "jwt_secret": JWT_SECRET},
            "server": {"access_log": False},
        }
    )


def started_workers(server: ServerProcess, count: int, timeout: float = 60.0) -> set[str]:
    """Wait until ``count`` workers of ``server`` logged their start (or it exited)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pids = set(STARTED.findall(server.stderr()))
        if len(pids) >= count or not server.running():
            return pids
        time.sleep(0.1)
    return set(STARTED.findall(server.stderr()))


def assert_up(server: ServerProcess, workers: int) -> None:
    assert server.wait_ready(), server.output()
    assert len(started_workers(server, workers)) == workers, server.output()
    assert server.running(), server.output()
    with server.root_client() as client:
        for _ in range(2 * workers):
            response = client.get("/db")
            assert response.status_code == 200, response.text
            assert response.json()["@type"] == "Database"


def assert_clean(server: ServerProcess) -> None:
    assert "Traceback" not in server.output(), server.output()
    assert "start-up failed" not in server.output(), server.output()


@pytest.fixture
def dsn() -> str:
    return require_postgres()


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_workers_starting_at_once_on_an_empty_database_all_come_up(
    round_: int, servers: Servers, dsn: str
) -> None:
    empty_database(dsn)
    server = servers.launch(config(servers, dsn), extra=["--workers", str(WORKERS)])
    assert_up(server, WORKERS)
    server.stop()
    assert_clean(server)


def test_two_hosts_starting_at_once_on_an_empty_database_both_come_up(
    servers: Servers, dsn: str
) -> None:
    empty_database(dsn)
    path = config(servers, dsn)
    first = servers.launch(path, extra=["--workers", "2"])
    second = servers.launch(path, extra=["--workers", "2"])
    for server in (first, second):
        assert_up(server, 2)
    # one database: what one host writes, the other reads
    with first.root_client() as client:
        created = client.post("/db", json={"@type": "Container", "id": "shared", "title": "S"})
        assert created.status_code == 201, created.text
    with second.root_client() as client:
        assert client.get("/db/shared").json()["title"] == "S"
    for server in (first, second):
        server.stop()
        assert_clean(server)


def test_a_second_server_on_an_open_filestorage_refuses_in_one_line(
    server: ServerProcess, servers: Servers, cli
) -> None:
    """FileStorage is single-process (``workers > 1`` is refused by the configuration check);
    a second ``baobab serve`` on the same ``var`` exits 2 naming the file, no traceback, and
    the first keeps serving."""
    done = cli("serve", "--config", str(servers.config()), "--host", "127.0.0.1", "--port", "0")
    assert done.returncode == 2, done
    assert done.stderr.startswith("baobab: Cannot open database 'db': "), done.stderr
    assert "in use by another process" in done.stderr
    assert "Traceback" not in done.stderr
    assert server.running()
    with server.root_client() as client:
        assert client.get("/db").status_code == 200

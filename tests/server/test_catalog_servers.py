"""The catalog across real servers on one PostgreSQL database.

Two ``baobab serve`` processes share the database: what one writes, the other's ``@search``
finds on the very next request (each request's transaction polls the invalidations first; no
sleep, no retry). Then ``baobab reindex-catalog`` runs as its own process against the live
database, its catalog wiped beforehand, while a writer keeps creating and deleting documents
through a server: afterwards ``@search`` on both servers finds exactly the documents that
exist, no more (no entry of a deleted one brought back), no less.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import httpx
import pytest

from baobab.catalog.store import CATALOG_ATTR
from baobab.config.settings import load_settings
from baobab.database.databases import Databases
from baobab.database.transactions import ROOT_KEY, run_in_transaction
from baobab.testing import require_postgres, zap_postgres
from baobab.testing.server import JWT_SECRET, ROOT_PASSWORD, ServerProcess, Servers, run_cli

pytestmark = [pytest.mark.server, pytest.mark.postgresql]

FOLDERS = 4
PER_FOLDER = 40


def config(servers: Servers, dsn: str, name: str) -> Path:
    """A configuration with a var dir of its own: another host on the same database."""
    return servers.config(
        {
            "var_dir": str(servers.tmp_path / name),
            "databases": {"db": {"storage": "postgresql", "dsn": dsn}},
            "auth": {"root_password": ROOT_PASSWORD, "jwt_secret": JWT_SECRET},
            "server": {"access_log": False},
        },
        name=f"{name}.json",
    )


@pytest.fixture
def pair(servers: Servers) -> tuple[ServerProcess, ServerProcess, Path]:
    dsn = require_postgres()
    zap_postgres(dsn)
    first = servers.serve(config(servers, dsn, "one"))
    second = servers.serve(config(servers, dsn, "two"))
    return first, second, servers.tmp_path / "one.json"


def search(client: httpx.Client, **params: Any) -> list[str]:
    """Every id ``@search`` finds in ``/db/site`` (all pages)."""
    found: list[str] = []
    while True:
        query = {**params, "b_start": len(found), "b_size": 1000}
        resp = client.get("/db/site/@search", params=query)
        assert resp.status_code == 200, resp.text
        body = resp.json()
        found += [item["@id"].rsplit("/", 1)[1] for item in body["items"]]
        if len(found) >= body["items_total"] or not body["items"]:
            return sorted(found)


def create(client: httpx.Client, parent: str, id_: str, **fields: Any) -> int:
    resp = client.post(parent, json={"@type": "Document", "id": id_, **fields})
    assert resp.status_code in (201, 409), resp.text
    return resp.status_code


def test_a_write_on_one_server_is_found_by_the_other_at_once(
    pair: tuple[ServerProcess, ServerProcess, Path],
) -> None:
    first, second = pair[0], pair[1]
    with first.root_client() as one, second.root_client() as two:
        assert one.post("/db", json={"@type": "Container", "id": "site"}).status_code == 201
        assert search(two) == []
        for i in range(8):
            writer, reader = (one, two) if i % 2 == 0 else (two, one)
            assert create(writer, "/db/site", f"d{i}", title=f"Mango{i} baobab") == 201
            assert search(reader, SearchableText=f"mango{i}") == [f"d{i}"]
        assert len(search(one, SearchableText="baobab")) == 8
        resp = two.patch("/db/site/d3", json={"title": "Renamed tamarind"})
        assert resp.status_code == 204, resp.text
        assert search(one, SearchableText="tamarind") == ["d3"]
        assert search(one, SearchableText="mango3") == []
        assert one.delete("/db/site/d4").status_code == 204
        assert search(two, SearchableText="mango4") == []
        resp = one.post("/db/site/d5/@workflow/publish")
        assert resp.status_code == 200, resp.text
        assert search(two, review_state="published") == ["d5"]


def wipe_catalog(config_path: Path) -> None:
    """Empty the site's catalog, through a connection of our own to the live database."""
    databases = Databases.open(load_settings(str(config_path)))
    try:

        def work(conn: Any) -> tuple[None, bool]:
            getattr(conn.root()[ROOT_KEY]["site"], CATALOG_ATTR).clear()
            return None, True

        run_in_transaction(databases["db"], work, retries=5)
    finally:
        databases.close()


class Writer(threading.Thread):
    """Creates documents (and deletes every third one it made, and some of the original
    ones) through one server until stopped; keeps what exists."""

    def __init__(self, server: ServerProcess, existing: set[str]) -> None:
        super().__init__(daemon=True)
        self.server = server
        self.existing = existing
        self.stop = threading.Event()
        self.writes = 0
        self.conflicts = 0  # 409s: a request that conflicted after its replays
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self._run()
        except BaseException as exc:  # surfaced by the test
            self.error = exc

    def _run(self) -> None:
        with self.server.root_client() as client:
            i = 0
            while not self.stop.is_set():
                name = f"w{i}"
                if create(client, where(name), name, title="Written live") == 201:
                    self.existing.add(name)
                    self.writes += 1
                else:
                    self.conflicts += 1
                if i % 3 == 2:
                    for victim in (f"w{i - 1}", f"d{i}"):
                        if victim in self.existing:
                            resp = client.delete(f"{where(victim)}/{victim}")
                            assert resp.status_code in (204, 409), resp.text
                            if resp.status_code == 204:
                                self.existing.discard(victim)
                                self.writes += 1
                            else:
                                self.conflicts += 1
                i += 1


def where(name: str) -> str:
    """The folder of document ``d<n>`` or ``w<n>``: ``f<n % FOLDERS>``."""
    return f"/db/site/f{int(name[1:]) % FOLDERS}"


def test_reindex_catalog_on_a_live_database(
    pair: tuple[ServerProcess, ServerProcess, Path], servers: Servers
) -> None:
    first, second, config_path = pair
    existing: set[str] = set()
    with first.root_client() as one, second.root_client() as two:
        assert one.post("/db", json={"@type": "Container", "id": "site"}).status_code == 201
        for f in range(FOLDERS):
            resp = one.post("/db/site", json={"@type": "Folder", "id": f"f{f}"})
            assert resp.status_code == 201, resp.text
            existing.add(f"f{f}")
        for n in range(FOLDERS * PER_FOLDER):
            assert create(two, where(f"d{n}"), f"d{n}", title="Original") == 201
            existing.add(f"d{n}")
        assert search(one) == sorted(existing)

        wipe_catalog(config_path)
        assert search(two) == []  # the next request sees the wipe, too
        writer = Writer(first, existing)
        writer.start()
        try:
            result = run_cli(
                ["reindex-catalog", "--config", str(config_path), "--batch-size", "10"],
                servers.cwd,
                timeout=120,
            )
        finally:
            writer.stop.set()
            writer.join(60)
        print(result.stderr)  # shown when the test fails: conflicts, batch sizes, progress
        print(f"writer: {writer.writes} writes, {writer.conflicts} answered 409")
        assert writer.error is None, repr(writer.error)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "/db/site: " in result.stdout and " objects indexed" in result.stdout
        assert "/db/site: " in result.stderr and "objects to index" in result.stderr
        assert "\r" not in result.stderr  # not a terminal: plain lines
        assert writer.writes > 0, "the writer wrote nothing while the rebuild ran"
        for client in (one, two):
            found = set(search(client))
            assert (found - existing, existing - found) == (set(), set())
        assert search(two, SearchableText="written") == sorted(
            name for name in existing if name.startswith("w")
        )

"""Rebuilding catalogs: ``baobab reindex-catalog``, the rebuild it runs, the start-up build
of missing catalogs, and ``reindex-security`` reaching the catalog.

The rebuild itself runs on both backends against the in-process app (it opens connections of
its own, as the command does next to live servers); the command runs with the app stopped,
as FileStorage requires.
"""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest

from baobab.asgi.app import BaobabApp
from baobab.catalog import rebuild as rebuild_module
from baobab.catalog.rebuild import rebuild
from baobab.catalog.store import CATALOG_ATTR, Catalog
from baobab.cli import progress as progress_module
from baobab.cli.main import main
from baobab.config.settings import Settings
from baobab.database.transactions import ROOT_KEY, run_in_transaction
from baobab.testing import ROOT_PASSWORD, TEST_USERS, BaobabClient, add, make_settings

from .test_search_basics import ids


def change(db: Any, fn: Callable[[Any], Any]) -> Any:
    """``fn(content root)`` in a transaction of its own, behind the catalog's back."""

    def work(conn: Any) -> tuple[Any, bool]:
        return fn(conn.root()[ROOT_KEY]), True

    return run_in_transaction(db, work, retries=0)


def catalog(root: Any, name: str = "site") -> Catalog:
    found: Catalog = getattr(root[name], CATALOG_ATTR)
    return found


async def tree(client: BaobabClient, site: str) -> None:
    news = await add(client, site, "Folder", "news", title="News")
    await add(client, news, "Document", "one", title="First baobab", text="savanna")
    await add(client, news, "Document", "two", title="Second", subjects=["trees"])
    deep = await add(client, news, "Folder", "deep", title="Deep")
    await add(client, deep, "Document", "three", title="Third baobab")
    await add(client, site, "Document", "about", title="About")
    await client.post(f"{site}/about/@workflow/publish")


QUERIES: list[dict[str, Any]] = [
    {},
    {"portal_type": "Document"},
    {"SearchableText": "baobab"},
    {"Subject": "trees"},
    {"review_state": "published"},
    {"path.query": "/db/site/news", "path.depth": 1},
    {"is_folderish": "true"},
]


async def answers(client: BaobabClient, site: str) -> list[list[str]]:
    return [await ids(client, site, **query) for query in QUERIES]


async def test_a_wiped_catalog_is_rebuilt(
    client: BaobabClient, site: str, db: Any, baobab_app: BaobabApp
) -> None:
    await tree(client, site)
    before = await answers(client, site)
    assert before[0] == ["about", "deep", "news", "one", "three", "two"]
    change(db, lambda root: catalog(root).clear())
    assert await ids(client, site) == []
    assert baobab_app.state is not None
    seen: list[tuple[str, int, int]] = []
    done = rebuild(
        db,
        "db",
        "site",
        baobab_app.state.registry,
        batch=2,
        report=lambda p: seen.append((p.phase, p.done, p.total)),
    )
    assert (done.path, done.indexed, done.removed) == ("/db/site", 6, 0)
    assert await answers(client, site) == before
    assert ("index", 0, 6) in seen and ("done", 6, 6) in seen
    assert [done for phase, done, _ in seen if phase == "index"] == [0, 2, 4, 6, 6]
    assert not change(db, lambda root: catalog(root).incomplete)
    assert change(db, lambda root: len(catalog(root))) == 6


async def test_entries_of_deleted_objects_go_and_stale_paths_are_fixed(
    client: BaobabClient, site: str, db: Any, baobab_app: BaobabApp
) -> None:
    await tree(client, site)
    before = await answers(client, site)

    def corrupt(root: Any) -> None:
        site = root["site"]
        site["news"]._del_child("two")  # gone from the tree, not from the catalog
        one = site["news"]["one"]
        cat = catalog(root)
        cat.paths.index_doc(cat.docid_of(one.uid), "/db/site/elsewhere/one")

    change(db, corrupt)
    assert "two" in await ids(client, site)
    assert "one" not in await ids(client, site, **{"path.query": "/db/site/news"})
    assert baobab_app.state is not None
    done = rebuild(db, "db", "site", baobab_app.state.registry)
    assert (done.indexed, done.removed) == (5, 1)
    assert await answers(client, site) == [[i for i in ids if i != "two"] for ids in before]
    assert await ids(client, site, **{"path.query": "/db/site/news"}) == [
        "deep",
        "news",
        "one",
        "three",
    ]
    assert await ids(client, site, **{"path.query": "/db/site/elsewhere"}) == []
    assert change(db, lambda root: len(catalog(root))) == 5


# -- the command, the start-up build and reindex-security (FileStorage, app stopped) --------


@asynccontextmanager
async def running(settings: Settings, login: str = "root") -> AsyncIterator[httpx.AsyncClient]:
    app = BaobabApp(settings)
    await app.startup()
    password = ROOT_PASSWORD if login == "root" else TEST_USERS[login][0]
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://t", auth=(login, password)
        ) as c:
            yield c
    finally:
        await app.shutdown()


async def plain_ids(client: httpx.AsyncClient, path: str, **params: Any) -> list[str]:
    resp = await client.get(f"{path}/@search", params=params)
    assert resp.status_code == 200, resp.text
    return sorted(item["@id"].rsplit("/", 1)[1] for item in resp.json()["items"])


def offline(settings: Settings, fn: Callable[[Any], Any]) -> Any:
    """``fn(content root)`` in a transaction, the app stopped (no start-up work either)."""
    from baobab.database.databases import Databases

    databases = Databases.open(settings)
    try:
        return change(databases["db"], fn)
    finally:
        databases.close()


@pytest.fixture
def stored(tmp_path: Path) -> tuple[Settings, Path]:
    """Settings on FileStorage, their file, and two containers ``a`` (3 objects) and ``b``
    (1), made through the API."""
    settings = make_settings(tmp_path / "var", "filestorage")
    config = tmp_path / "config.json"
    config.write_bytes(msgspec.json.encode(settings))

    async def make() -> None:
        async with running(settings) as c:
            for site in ("a", "b"):
                resp = await c.post("/db", json={"@type": "Container", "id": site})
                assert resp.status_code == 201, resp.text
            await add(c, "/db/a", "Folder", "f")
            await add(c, "/db/a/f", "Document", "d", title="Hello")
            await add(c, "/db/a", "Document", "e")
            await add(c, "/db/b", "Document", "x", title="Hello")

    asyncio.run(make())
    offline(settings, lambda root: [catalog(root, n).clear() for n in ("a", "b")])
    return settings, config


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def run(*argv: str) -> int:
    return main(list(argv))


def test_command_plain_lines_when_not_a_terminal(
    stored: tuple[Settings, Path], capsys: Any, monkeypatch: Any
) -> None:
    settings, config = stored
    monkeypatch.setattr(progress_module, "LINE_EVERY", 0.0)
    assert run("reindex-catalog", "--config", str(config), "--batch-size", "1") == 0
    out, err = capsys.readouterr()
    assert "/db/a: 3 objects indexed, 0 removed" in out
    assert "/db/b: 1 objects indexed, 0 removed" in out
    lines = err.splitlines()
    assert "/db/a: 3 objects to index" in lines
    assert any(line.startswith("/db/a: 1/3 objects, ") and "/s" in line for line in lines)
    assert any(line.startswith("/db/a: 3/3 objects, ") for line in lines)
    assert "\r" not in err
    found = asyncio.run(_search_all(settings))
    assert found == {"a": ["d", "e", "f"], "b": ["x"]}


async def _search_all(settings: Settings) -> dict[str, list[str]]:
    async with running(settings) as c:
        return {site: await plain_ids(c, f"/db/{site}") for site in ("a", "b")}


def test_command_bar_on_a_terminal_and_container_filter(
    stored: tuple[Settings, Path], capsys: Any, monkeypatch: Any
) -> None:
    settings, config = stored
    terminal = Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    monkeypatch.setattr(progress_module, "REDRAW", 0.0)
    assert run("reindex-catalog", "-c", str(config), "--container", "a", "--batch-size", "1") == 0
    out = capsys.readouterr().out
    assert "/db/a: 3 objects indexed" in out and "/db/b" not in out
    err = terminal.getvalue()
    assert "\r/db/a [------------------------] 0/3 objects" in err
    assert "\r/db/a [################--------] 2/3 objects, " in err
    assert "/s, ETA " in err
    assert "\r/db/a [########################] 3/3 objects" in err
    assert err.endswith("/db/a: 3 objects indexed, 0 stale entries removed in 0 s\n")
    assert asyncio.run(_search_all(settings)) == {"a": ["d", "e", "f"], "b": []}


def test_unknown_container_or_database_is_exit_2(
    stored: tuple[Settings, Path], capsys: Any
) -> None:
    _, config = stored
    assert run("reindex-catalog", "-c", str(config), "--container", "nope") == 2
    assert "baobab: no container named 'nope' in any database" in capsys.readouterr().err
    assert run("reindex-catalog", "-c", str(config), "--database", "nodb") == 2
    assert "baobab: no database named 'nodb' (configured: db)" in capsys.readouterr().err
    assert run("reindex-catalog", "-c", str(config), "--batch-size", "0") == 2
    assert "--batch-size must be at least 1" in capsys.readouterr().err


def test_start_up_builds_missing_catalogs(stored: tuple[Settings, Path], caplog: Any) -> None:
    settings, _ = stored

    def forget(root: Any) -> None:
        delattr(root["a"], CATALOG_ATTR)  # stored before catalogs existed
        catalog(root, "b").incomplete = True  # a first build that was interrupted

    offline(settings, forget)
    caplog.set_level(logging.INFO, logger="baobab.catalog.rebuild")
    assert asyncio.run(_search_all(settings)) == {"a": ["d", "e", "f"], "b": ["x"]}
    messages = [r.getMessage() for r in caplog.records]
    assert "building the catalog of /db/a: 3 objects" in messages
    assert "building the catalog of /db/b: 1 objects" in messages
    caplog.clear()
    asyncio.run(_search_all(settings))  # built: nothing to do the next time
    assert not [r for r in caplog.records if r.name == "baobab.catalog.rebuild"]


def test_start_up_fills_a_new_index_or_names_the_command(
    stored: tuple[Settings, Path], caplog: Any, monkeypatch: Any
) -> None:
    settings, config = stored
    assert run("reindex-catalog", "-c", str(config)) == 0

    def drop_index(root: Any) -> None:  # as if an add-on declared it after the build
        for name in ("a", "b"):
            del catalog(root, name).indexes["Subject"]

    offline(settings, drop_index)
    monkeypatch.setattr(rebuild_module, "STARTUP_FILL_LIMIT", 1)
    caplog.set_level(logging.INFO, logger="baobab.catalog.rebuild")
    asyncio.run(_search_all(settings))
    messages = [r.getMessage() for r in caplog.records]
    assert "filling the index(es) Subject of /db/b: 1 objects" in messages
    [warning] = [
        r.getMessage()
        for r in caplog.records
        if r.levelno == logging.WARNING and r.name == "baobab.catalog.rebuild"
    ]
    assert "the catalog of /db/a lacks the index(es) Subject" in warning
    assert "`baobab reindex-catalog --database db --container a`" in warning
    assert offline(settings, lambda root: "Subject" in catalog(root, "b").indexes)

    async def write_then_search() -> list[str]:
        async with running(settings) as c:
            await add(c, "/db/a", "Document", "tagged", subjects=["new"])
            return await plain_ids(c, "/db/a", Subject="new")

    caplog.clear()
    # a write adds the index, empty but for what is written since: still named at start-up
    assert asyncio.run(write_then_search()) == ["tagged"]
    assert offline(settings, lambda root: catalog(root, "a").unfilled) == {"Subject"}
    caplog.clear()
    asyncio.run(_search_all(settings))
    assert any("lacks the index(es) Subject" in r.getMessage() for r in caplog.records)
    assert run("reindex-catalog", "-c", str(config), "--container", "a") == 0
    assert offline(settings, lambda root: catalog(root, "a").unfilled) == frozenset()
    caplog.clear()
    asyncio.run(_search_all(settings))
    assert not [r for r in caplog.records if r.name == "baobab.catalog.rebuild"]


def test_reindex_security_updates_the_catalog(stored: tuple[Settings, Path], capsys: Any) -> None:
    settings, config = stored
    assert run("reindex-catalog", "-c", str(config)) == 0

    def grant(root: Any) -> None:  # a local role stored without recomputing the tokens
        root["a"]._local_roles = {"member": ("baobab.Reader",)}

    offline(settings, grant)

    async def member_sees() -> list[str]:
        async with running(settings, "member") as c:
            return await plain_ids(c, "/db/a")

    assert asyncio.run(member_sees()) == []
    assert run("reindex-security", "-c", str(config)) == 0
    assert asyncio.run(member_sees()) == ["d", "e", "f"]


def test_a_filestorage_in_use_is_refused(stored: tuple[Settings, Path], capsys: Any) -> None:
    """FileStorage is single-process: with a server running, the command says so (exit 2)."""
    settings, config = stored

    async def while_serving() -> int:
        async with running(settings):
            return await asyncio.to_thread(run, "reindex-catalog", "-c", str(config))

    assert asyncio.run(while_serving()) == 2
    assert "is in use by another process" in capsys.readouterr().err

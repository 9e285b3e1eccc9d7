"""Async utilities: configured coroutines that start with the app, use the database through
the bridge, and stop at shutdown."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from baobab_utility_addon import Broken, Silent, Stamper, Stubborn
from transaction.interfaces import NoTransaction

from baobab.asgi import BaobabApp
from baobab.config.settings import Settings
from baobab.errors import ConfigError, NotFound
from baobab.testing import BaobabClient, make_settings
from baobab.testing.kit import require_postgres, zap_postgres
from baobab.utilities import Utilities, UtilityContext

ADDON = "baobab_utility_addon"
STAMP = "stamped by a utility"


def settings_for(storage: str, tmp_path: Path, utilities: dict[str, Any]) -> Settings:
    if storage == "postgresql":
        zap_postgres(require_postgres())
    return make_settings(tmp_path / "var", storage, utilities=utilities)


@pytest.fixture
def baobab_settings(baobab_storage: str, tmp_path: Path) -> Settings:
    return settings_for(
        baobab_storage,
        tmp_path,
        {
            "stamper": {
                "factory": f"{ADDON}:Stamper",
                "settings": {"site": "site", "stamp": STAMP},
            },
            "broken": {"factory": f"{ADDON}:Broken"},
        },
    )


@pytest.fixture
def utilities(baobab_app: BaobabApp) -> Utilities:
    assert baobab_app.state is not None
    return baobab_app.state.utilities


@pytest.fixture
def stamper(utilities: Utilities) -> Stamper:
    found = utilities.get("stamper")
    assert isinstance(found, Stamper)
    return found


async def eventually(condition: Callable[[], bool]) -> None:
    """Wait (a bounded number of loop turns) until ``condition()`` holds."""
    for _ in range(1000):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the condition never held")


async def test_a_utility_starts_with_the_app_and_writes_through_the_bridge(
    baobab_app: BaobabApp, client: BaobabClient, stamper: Stamper, utilities: Utilities
) -> None:
    assert "stamper" in utilities.running
    assert stamper.ctx.name == "stamper"
    assert stamper.ctx.database_names == ("db",)
    assert baobab_app.state is not None
    assert stamper.ctx.settings is baobab_app.state.settings
    assert stamper.ctx.registry is baobab_app.state.registry
    await eventually(lambda: stamper.reads > 0)  # it reads, and finds no site yet
    assert stamper.stamped is None
    resp = await client.post("/db", json={"@type": "Container", "id": "site", "title": "Site"})
    assert resp.status_code == 201, resp.text
    await eventually(lambda: stamper.stamped is not None)
    assert stamper.stamped == STAMP
    resp = await client.get("/db/site")
    assert resp.status_code == 200
    assert resp.json()["description"] == STAMP  # committed, seen by a request


async def test_close_is_called_at_shutdown_and_run_ends(
    baobab_app: BaobabApp, stamper: Stamper, utilities: Utilities
) -> None:
    assert "stamper" in utilities.running
    await baobab_app.shutdown()
    assert stamper.close_called
    assert stamper.finished and not stamper.cancelled  # it returned on its own
    assert utilities.running == []
    assert utilities.get("stamper") is None


async def test_a_failing_run_is_logged_and_the_app_still_serves(
    client: BaobabClient, utilities: Utilities, caplog: pytest.LogCaptureFixture
) -> None:
    broken = utilities.get("broken")
    assert isinstance(broken, Broken)
    await eventually(lambda: "broken" not in utilities.running)
    assert broken.started
    records = [*caplog.get_records("setup"), *caplog.records]
    failures = [r for r in records if r.getMessage() == "utility broken failed"]
    assert failures and failures[0].levelno == logging.ERROR
    assert failures[0].exc_info is not None
    assert "always fails" in str(failures[0].exc_info[1])
    assert (await client.get("/db")).status_code == 200
    assert "stamper" in utilities.running  # the others keep running


async def test_read_and_write_units(client: BaobabClient, stamper: Stamper) -> None:
    ctx = stamper.ctx
    resp = await client.post("/db", json={"@type": "Container", "id": "other", "title": "Old"})
    assert resp.status_code == 201, resp.text
    assert await ctx.read(lambda root: root["other"].title) == "Old"
    assert await ctx.read(lambda root: root["other"].title, db="db") == "Old"

    # a write commits and returns what fn returned
    def rename(root: Any) -> str:
        root["other"].title = "New"
        return "renamed"

    assert await ctx.write(rename) == "renamed"
    assert (await client.get("/db/other")).json()["title"] == "New"
    assert await ctx.read(lambda root: root["other"].title) == "New"

    # a write whose fn raises commits nothing
    def half(root: Any) -> None:
        root["other"].title = "Half"
        raise RuntimeError("changed my mind")

    with pytest.raises(RuntimeError, match="changed my mind"):
        await ctx.write(half)
    assert (await client.get("/db/other")).json()["title"] == "New"

    # a read cannot write
    def sneak(root: Any) -> None:
        root["other"].title = "Sneaked"

    with pytest.raises(NoTransaction):
        await ctx.read(sneak)
    assert await ctx.read(lambda root: root["other"].title) == "New"
    assert (await client.get("/db/other")).json()["title"] == "New"

    with pytest.raises(NotFound, match="nope"):
        await ctx.read(lambda root: None, db="nope")


async def test_a_utility_ignoring_close_is_cancelled_after_the_grace(
    baobab_storage: str, tmp_path: Path
) -> None:
    settings = settings_for(
        baobab_storage,
        tmp_path,
        {"stubborn": {"factory": f"{ADDON}:Stubborn"}, "silent": {"factory": f"{ADDON}:Silent"}},
    )
    app = BaobabApp(settings)
    state = await app.startup()
    try:
        stubborn, silent = state.utilities.get("stubborn"), state.utilities.get("silent")
        assert isinstance(stubborn, Stubborn) and isinstance(silent, Silent)
        await eventually(lambda: sorted(state.utilities.running) == ["silent", "stubborn"])
        await state.utilities.stop(grace=0.05)
        assert stubborn.close_called and stubborn.cancelled
        assert silent.cancelled  # no close(): cancelled
        assert state.utilities.running == []
    finally:
        await app.shutdown()  # stopping again does nothing


@pytest.mark.parametrize(
    ("factory", "key", "message"),
    [
        ("no_such_module_for_baobab:Thing", "$.utilities.bad.factory", "cannot import"),
        (f"{ADDON}:Missing", "$.utilities.bad.factory", "no attribute 'Missing'"),
        (f"{ADDON}:NOT_CALLABLE", "$.utilities.bad.factory", "is not callable"),
        (f"{ADDON}.Stamper", "$.utilities.bad.factory", "package.module:callable"),
        (f"{ADDON}:NoRun", "$.utilities.bad.factory", "async def run"),
        (f"{ADDON}:failing", "$.utilities.bad:", "bad settings: ['x']"),
    ],
)
async def test_a_bad_factory_stops_start_up(
    baobab_storage: str, tmp_path: Path, factory: str, key: str, message: str
) -> None:
    good = {"factory": f"{ADDON}:Stamper", "settings": {"site": "s", "stamp": "x"}}
    utilities = {"good": good, "bad": {"factory": factory, "settings": {"x": 1}}}
    app = BaobabApp(settings_for(baobab_storage, tmp_path, utilities))
    with pytest.raises(ConfigError) as info:
        await app.startup()
    assert key in str(info.value) and message in str(info.value)
    assert app.state is None
    # the failed start-up closed its databases: the same storage opens again
    again = BaobabApp(make_settings(tmp_path / "var", baobab_storage))
    await again.startup()
    await again.shutdown()


async def test_utility_context_defaults_to_the_first_database(
    baobab_app: BaobabApp, client: BaobabClient
) -> None:
    assert baobab_app.state is not None
    state = baobab_app.state
    ctx = UtilityContext(
        "probe",
        settings=state.settings,
        registry=state.registry,
        policy=state.policy,
        databases=state.databases,
    )
    assert ctx.database_names[0] == "db"
    assert await ctx.read(lambda root: root.__name__) == "db"

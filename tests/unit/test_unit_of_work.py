"""One attempt's unit of work (``baobab.database.unit``), its outbox (``baobab.events.outbox``)
and delivery after the commit (``baobab.events.delivery``)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import ZODB
from ZODB.FileStorage import FileStorage

from baobab.config.declarations import SubscriberInfo
from baobab.config.registry import Registry
from baobab.database.transactions import run_in_transaction
from baobab.database.unit import UnitOfWork
from baobab.events import Delivery, Event, Outbox, TokenRevoked, UserLoggedIn

SEEN: list[tuple[str, Event]] = []


def plain(event: Event) -> None:
    SEEN.append(("plain", event))


async def later(event: Event) -> None:
    SEEN.append(("later", event))


async def broken(event: Event) -> None:
    raise RuntimeError("subscriber bug")


def veto(event: Event) -> None:
    raise PermissionError("vetoed")


def registry_with(*handlers: Any, event: type[Event] = UserLoggedIn) -> Registry:
    registry = Registry()
    for handler in handlers:
        info = SubscriberInfo(
            handler=handler,
            event=event,
            context=None,
            is_async=asyncio.iscoroutinefunction(handler),
        )
        registry.add_subscriber(info, f"{handler.__name__}.py:1")
    return registry


@pytest.fixture(autouse=True)
def seen() -> Iterator[list[tuple[str, Event]]]:
    SEEN.clear()
    yield SEEN


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Any]:
    database = ZODB.DB(FileStorage(str(tmp_path / "data.fs")), database_name="db")
    yield database
    database.close()


def test_plain_subscribers_run_at_once_coroutines_wait(seen: list[Any]) -> None:
    outbox = Outbox(registry_with(plain, later))
    event = UserLoggedIn(actor="alice")
    outbox.notify(event)
    outbox.notify(TokenRevoked(actor="alice", token_id="t"))  # nobody subscribes to it
    assert seen == [("plain", event)]
    assert outbox.pending == [(later, event)]
    assert outbox.events == [event, TokenRevoked(actor="alice", token_id="t")]


def test_a_unit_learns_its_tid_only_when_it_commits_with_events(db: Any) -> None:
    registry = registry_with(plain)
    units: list[UnitOfWork] = []

    def work(raise_event: bool, commit: bool) -> Any:
        def unit(conn: Any) -> tuple[None, bool]:
            units.append(UnitOfWork(conn, registry, "db"))
            assert units[-1].system_conn is conn  # one database: it is the system one
            conn.root()["x"] = len(units)
            if raise_event:
                units[-1].notify(UserLoggedIn(actor="a"))
            return None, commit

        return unit

    run_in_transaction(db, work(raise_event=True, commit=True), retries=0)
    assert units[-1].committed
    assert units[-1].tid == int.from_bytes(db.lastTransaction(), "big")
    run_in_transaction(db, work(raise_event=True, commit=False), retries=0)
    assert not units[-1].committed and units[-1].tid == 0
    run_in_transaction(db, work(raise_event=False, commit=True), retries=0)
    assert not units[-1].committed  # nothing to deliver, nothing learnt


def test_a_vetoing_subscriber_aborts_the_transaction(db: Any) -> None:
    registry = registry_with(veto)

    def unit(conn: Any) -> tuple[None, bool]:
        conn.root()["x"] = "written"
        UnitOfWork(conn, registry, "db").notify(UserLoggedIn(actor="a"))
        return None, True

    before = db.lastTransaction()
    with pytest.raises(PermissionError):
        run_in_transaction(db, unit, retries=0)
    assert db.lastTransaction() == before


async def test_delivery_runs_coroutines_as_tasks_and_feeds_the_sinks(
    seen: list[Any], caplog: pytest.LogCaptureFixture
) -> None:
    sunk: list[tuple[int, Sequence[Event]]] = []
    delivery = Delivery([lambda tid, events: sunk.append((tid, list(events)))])
    outbox = Outbox(registry_with(later, broken))
    event = UserLoggedIn(actor="bob")
    outbox.notify(event)
    with caplog.at_level(logging.ERROR, logger="baobab.events.delivery"):
        delivery.deliver(7, outbox)
        assert sunk == [(7, [event])]  # the sinks at once, in order
        assert delivery.running == 2
        await delivery.close()
    assert seen == [("later", event)]
    assert "subscriber bug" in caplog.text  # logged; the other subscriber ran all the same
    assert delivery.running == 0


async def test_delivery_close_cancels_what_overruns_its_grace() -> None:
    started = asyncio.Event()

    async def slow(event: Event) -> None:
        started.set()
        await asyncio.sleep(60)

    delivery = Delivery()
    outbox = Outbox(registry_with(slow))
    outbox.notify(UserLoggedIn(actor="c"))
    delivery.deliver(1, outbox)
    await started.wait()
    await delivery.close(grace=0.05)
    assert delivery.running == 0

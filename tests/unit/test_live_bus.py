"""One contract for every bus: the memory bus and the Redis bus (a real Redis) pass it alike.

A bus hands each message to the backlog of its database and then to ``deliver``, in one
order; ``since`` replays from that backlog; one failing message does not stop the next; after
``close`` nothing is delivered, and ``close`` returns (bounded here: a bus that does not close
fails its test instead of hanging the run). Redis runs at ``BAOBAB_TEST_REDIS`` with a prefix
of its own per test (skipped with a message if it is down, failed under CI).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from live_support import batch, cursor, event

from baobab.live.bus import Bus, MemoryBus, Message, RedisBus, make_bus
from baobab.live.wire import Batch, PrincipalsMessage, RevokedMessage
from baobab.testing import delete_redis_keys, require_redis

LIMIT = 3  # events each backlog keeps
START_TID = 100  # the database's last transaction when the bus starts
TIMEOUT = 10.0  # seconds to wait for a delivery (a bound, not an expectation)
CLOSE_TIMEOUT = 20.0  # seconds ``close()`` may take (a bound: it gives up on Redis well before)


@dataclass
class Received:
    """The ``deliver`` callback: records every message; raises for those it is told to."""

    messages: list[Message] = field(default_factory=list)
    fail_on: set[int] = field(default_factory=set)  # tids whose delivery raises

    def __call__(self, message: Message) -> None:
        self.messages.append(message)
        if isinstance(message, Batch) and message.tid in self.fail_on:
            raise RuntimeError(f"deliver failed on {message.tid}")

    def tids(self) -> list[int]:
        return [m.tid for m in self.messages if isinstance(m, Batch)]

    async def until(self, done: Callable[[], bool], what: str) -> None:
        deadline = asyncio.get_running_loop().time() + TIMEOUT
        while not done():
            if asyncio.get_running_loop().time() > deadline:
                pytest.fail(f"not delivered within {TIMEOUT} s: {what}; got {self.messages}")
            await asyncio.sleep(0.01)

    async def count(self, n: int) -> None:
        await self.until(lambda: len(self.messages) >= n, f"{n} messages")


async def close(bus: Bus) -> None:
    """``bus.close()``, failing the test if it does not return."""
    try:
        async with asyncio.timeout(CLOSE_TIMEOUT):
            await bus.close()
    except TimeoutError:
        pytest.fail(f"bus.close() did not return within {CLOSE_TIMEOUT} s")


@pytest.fixture(params=["memory", "redis"])
def new_bus(request: pytest.FixtureRequest) -> Callable[[], Bus]:
    """Buses of one kind sharing one place (a Redis prefix of this test's own)."""
    if request.param == "memory":
        return lambda: make_bus(None, "unused", LIMIT)
    url = require_redis()
    prefix = f"baobab-test-{uuid.uuid4().hex}"
    request.addfinalizer(lambda: delete_redis_keys(url, prefix))
    return lambda: make_bus(url, prefix, LIMIT)


@pytest.fixture
async def started(new_bus: Callable[[], Bus]) -> AsyncIterator[tuple[Bus, Received]]:
    bus, received = new_bus(), Received()
    await bus.start(received, {"db": START_TID, "other": START_TID})
    try:
        yield bus, received
    finally:
        await close(bus)


def test_make_bus_picks_the_backend() -> None:
    assert isinstance(make_bus(None, "p", 10), MemoryBus)
    assert isinstance(make_bus("", "p", 10), MemoryBus)
    bus = make_bus("redis://127.0.0.1:1/0", "p", 10)  # not connected until started
    assert isinstance(bus, RedisBus) and bus.stream("db") == "p:events:db"
    asyncio.run(bus._close_clients())


async def test_messages_are_delivered_in_publication_order(
    started: tuple[Bus, Received],
) -> None:
    bus, received = started
    for tid in range(101, 106):
        bus.publish(batch(tid))
    await received.count(5)
    assert received.tids() == [101, 102, 103, 104, 105]
    assert received.messages[0] == batch(101)


async def test_every_kind_of_message_is_delivered_and_only_batches_are_kept(
    started: tuple[Bus, Received],
) -> None:
    bus, received = started
    principals = PrincipalsMessage(db="db", container="/db/site", ids=("alice",))
    revoked = RevokedMessage(db="db", token_id="jti")
    for message in (principals, batch(101), revoked):
        bus.publish(message)
    await received.count(3)
    assert received.messages == [principals, batch(101), revoked]
    assert bus.backlogs["db"].newest == cursor(101)


async def test_each_database_has_its_backlog_and_unknown_ones_are_not_delivered(
    started: tuple[Bus, Received],
) -> None:
    bus, received = started
    bus.publish(batch(101, db="other"))
    bus.publish(batch(102, db="unknown"))
    bus.publish(batch(103))
    await received.until(lambda: {101, 103} <= set(received.tids()), "both known databases")
    await asyncio.sleep(0.1)
    assert sorted(received.tids()) == [101, 103]  # ordered per database, not across them
    assert bus.backlogs["other"].newest == cursor(101)
    assert bus.backlogs["db"].newest == cursor(103)
    assert "unknown" not in bus.backlogs


async def test_since_replays_from_the_backlog_in_the_delivered_order(
    started: tuple[Bus, Received],
) -> None:
    bus, received = started
    bus.publish(batch(101, event("/db/site/a"), event("/db/site/b")))
    bus.publish(batch(102))
    await received.count(2)
    backlog = bus.backlogs["db"]
    assert backlog.newest == cursor(102)
    replay = backlog.since(cursor(101, 0))
    assert [(b.tid, i) for b, i in replay.events] == [(101, 1), (102, 0)]
    assert not replay.gap
    assert backlog.since(cursor(102)).events == []
    # the transaction the bus started at: what came before is not known
    assert backlog.since(cursor(START_TID)).gap


async def test_a_cursor_the_backlog_no_longer_reaches_is_a_gap(
    started: tuple[Bus, Received],
) -> None:
    bus, received = started
    for tid in range(101, 106):  # five events, LIMIT three
        bus.publish(batch(tid))
    await received.count(5)
    replay = bus.backlogs["db"].since(cursor(101))
    assert replay.gap
    assert [b.tid for b, _ in replay.events] == [103, 104, 105]
    assert not bus.backlogs["db"].since(cursor(102)).gap  # the last one evicted


async def test_a_failing_message_does_not_stop_the_others(
    started: tuple[Bus, Received], caplog: pytest.LogCaptureFixture
) -> None:
    bus, received = started
    received.fail_on = {102}
    for tid in (101, 102, 103):
        bus.publish(batch(tid))
    await received.count(3)
    assert received.tids() == [101, 102, 103]
    assert bus.backlogs["db"].newest == cursor(103)  # kept before it was delivered
    assert "delivering a message failed" in caplog.text
    bus.publish(batch(104))
    await received.until(lambda: 104 in received.tids(), "a message after the failure")


async def test_nothing_is_delivered_after_close(new_bus: Callable[[], Bus]) -> None:
    bus, received = new_bus(), Received()
    await bus.start(received, {"db": START_TID})
    bus.publish(batch(101))
    await received.count(1)
    await close(bus)
    bus.publish(batch(102))
    await asyncio.sleep(0.3)
    assert received.tids() == [101]


async def test_a_bus_started_later_holds_what_is_shared(new_bus: Callable[[], Bus]) -> None:
    """Memory: each process its own backlog, empty at start. Redis: the stream's tail, so
    ``since`` works on a process the client never talked to, and every process reads every
    process's messages."""
    first, first_got = new_bus(), Received()
    await first.start(first_got, {"db": START_TID})
    try:
        first.publish(batch(101))
        await first_got.count(1)
        second, second_got = new_bus(), Received()
        await second.start(second_got, {"db": START_TID + 50})
        try:
            if isinstance(second, RedisBus):
                assert second.backlogs["db"].newest == cursor(101)
                replay = second.backlogs["db"].since(cursor(START_TID))
                assert [b.tid for b, _ in replay.events] == [101]
                second.publish(batch(102))
                await first_got.until(lambda: 102 in first_got.tids(), "the other's message")
                await second_got.until(lambda: 102 in second_got.tids(), "its own message")
            else:
                assert second.backlogs["db"].newest is None
                second.publish(batch(102))
                await second_got.count(1)
                assert first_got.tids() == [101]
        finally:
            await close(second)
    finally:
        await close(first)


@pytest.mark.parametrize("new_bus", ["redis"], indirect=True)
async def test_close_stops_tasks_that_swallowed_a_cancellation(
    new_bus: Callable[[], Bus], monkeypatch: pytest.MonkeyPatch
) -> None:
    """On Python 3.11, ``asyncio.wait_for`` (redis-py sends every command through it) swallows
    a cancellation that lands as the send completes, and the command goes on: ``close()``
    must stop the reader and the writer all the same (it hung forever when it cancelled
    them once and waited)."""
    bus, received = new_bus(), Received()
    assert isinstance(bus, RedisBus)
    await bus.start(received, {"db": START_TID})
    entered: set[str] = set()
    swallowed: set[str] = set()

    def swallowing(name: str, command: Callable[..., Any]) -> Callable[..., Any]:
        async def swallow_once(*args: Any, **kwargs: Any) -> Any:
            if name not in entered:  # the first call; the next ones are the real command
                entered.add(name)
                try:
                    await asyncio.sleep(TIMEOUT)
                except asyncio.CancelledError:
                    swallowed.add(name)  # and on, as if the send had completed
            return await command(*args, **kwargs)

        return swallow_once

    monkeypatch.setattr(bus._reader_redis, "xread", swallowing("XREAD", bus._reader_redis.xread))
    monkeypatch.setattr(bus._redis, "xadd", swallowing("XADD", bus._redis.xadd))
    bus.publish(batch(101))
    both = {"XREAD", "XADD"}
    await received.until(lambda: entered == both, f"both tasks in a command; got {entered}")
    tasks = list(bus._tasks)
    await close(bus)
    assert swallowed == both
    assert all(task.done() for task in tasks)


async def test_written_waits_until_the_shared_order_holds_what_was_published(
    new_bus: Callable[[], Bus],
) -> None:
    """What a process published before ``written`` returned comes before anything another
    process publishes afterwards (a request that changed accounts answers only then)."""
    first, first_got = new_bus(), Received()
    await first.start(first_got, {"db": START_TID})
    try:
        first.publish(batch(101))
        assert await first.written(TIMEOUT)
        if isinstance(first, RedisBus):  # in the stream already: a process starting now has it
            second = new_bus()
            await second.start(Received(), {"db": START_TID})
            try:
                assert second.backlogs["db"].newest == cursor(101)
            finally:
                await close(second)
    finally:
        await close(first)


async def test_written_gives_up_after_its_timeout() -> None:
    bus = make_bus(require_redis(), f"baobab-test-{uuid.uuid4().hex}", LIMIT)
    try:
        bus.publish(batch(101))  # never written: the bus is not started
        assert not await bus.written(0.05)
    finally:
        assert isinstance(bus, RedisBus)
        await bus._close_clients()

"""The backlog behind ``since``: what it holds, what a cursor replays, and when it is a gap."""

from __future__ import annotations

import pytest
from live_support import batch, cursor, event

from baobab.live.backlog import Backlog
from baobab.live.wire import Batch

START = (100, 1 << 62)  # the database's last transaction when the process started


def ids(replay_events: list[tuple[object, int]]) -> list[str]:
    return [b.events[i]["cursor"] for b, i in replay_events]  # type: ignore[attr-defined]


def filled(limit: int, *sizes: int) -> Backlog:
    """Transactions 101, 102, … with ``sizes`` events each."""
    backlog = Backlog(limit, START)
    for n, size in enumerate(sizes):
        tid = 101 + n
        backlog.append(batch(tid, *(event(f"/db/site/d{tid}-{i}") for i in range(size))))
    return backlog


def test_an_empty_backlog() -> None:
    backlog = Backlog(10, START)
    backlog.append(Batch(db="db", tid=101, events=()))  # no events: nothing to hold
    assert backlog.newest is None
    replay = backlog.since(cursor(101, 0))  # after the horizon: nothing was missed
    assert replay.events == [] and not replay.gap
    # a cursor of the transaction the process started at: its later events are unknown
    assert backlog.since(cursor(100, 0)).gap


def test_since_a_held_cursor_replays_the_rest_in_order() -> None:
    backlog = filled(100, 2, 3, 1)
    assert backlog.newest == cursor(103, 0)
    assert ids(backlog.since(cursor(101, 0)).events) == [
        cursor(101, 1),
        cursor(102, 0),
        cursor(102, 1),
        cursor(102, 2),
        cursor(103, 0),
    ]
    # a client cut off half-way through a transaction resumes exactly there
    assert ids(backlog.since(cursor(102, 1)).events) == [cursor(102, 2), cursor(103, 0)]
    replay = backlog.since(cursor(103, 0))
    assert replay.events == [] and not replay.gap


def test_since_a_cursor_not_held_after_the_horizon_is_complete() -> None:
    backlog = filled(100, 1, 1)
    replay = backlog.since(cursor(101, 7))  # between held cursors: those with greater keys
    assert ids(replay.events) == [cursor(102, 0)] and not replay.gap
    replay = backlog.since(cursor(100, 5))  # before the horizon: all held, and a gap
    assert ids(replay.events) == [cursor(101, 0), cursor(102, 0)] and replay.gap


def test_evicting_moves_the_horizon_and_older_cursors_are_a_gap() -> None:
    backlog = filled(3, 2, 1, 2)  # 5 events over a limit of 3: the first batch goes
    assert backlog.horizon == (101, 1)
    replay = backlog.since(cursor(101, 0))
    assert replay.gap
    assert ids(replay.events) == [cursor(102, 0), cursor(103, 0), cursor(103, 1)]
    replay = backlog.since(cursor(101, 1))  # the last evicted cursor: nothing lost after it
    assert not replay.gap and ids(replay.events)[0] == cursor(102, 0)
    replay = backlog.since(cursor(50, 0))  # from before the process started
    assert replay.gap


def test_a_batch_bigger_than_the_limit_is_kept_whole() -> None:
    backlog = filled(2, 1, 5)
    assert backlog.horizon == (101, 0)
    replay = backlog.since(cursor(101, 0))
    assert len(replay.events) == 5 and not replay.gap
    assert ids(backlog.since(cursor(102, 2)).events) == [cursor(102, 3), cursor(102, 4)]


def test_replayed_batches_are_decoded_copies() -> None:
    backlog = filled(10, 1)
    first = backlog.since(cursor(100, 0)).events[0][0]
    again = backlog.since(cursor(100, 0)).events[0][0]
    assert first == again and first is not again
    assert first.events[0]["path"] == "/db/site/d101-0"


def test_since_something_that_is_not_a_cursor() -> None:
    with pytest.raises(ValueError):
        filled(10, 1).since("yesterday")

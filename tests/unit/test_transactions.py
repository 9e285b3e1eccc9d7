"""The transaction runner (``baobab.database.transactions``): commit, abort, conflict replay,
the stop signal, error handling and the per-thread connections, on a real FileStorage."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import transaction
import ZODB
from persistent.mapping import PersistentMapping
from ZODB.FileStorage import FileStorage
from ZODB.POSException import ConflictError

from baobab.database.transactions import (
    Connections,
    NeedsMore,
    committed_tid,
    run_in_transaction,
    run_read,
)
from baobab.errors import Conflict


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Any]:
    database = ZODB.DB(FileStorage(str(tmp_path / "data.fs")))
    tm = transaction.TransactionManager(explicit=True)
    tm.begin()
    conn = database.open(transaction_manager=tm)
    conn.root()["data"] = PersistentMapping({"n": 0})
    tm.commit()
    conn.close()
    yield database
    database.close()


@pytest.fixture
def connections() -> Iterator[Connections]:
    pool = Connections()
    yield pool
    pool.close_all()


def value(db: Any) -> int:
    tm = transaction.TransactionManager(explicit=True)
    tm.begin()
    conn = db.open(transaction_manager=tm)
    try:
        return int(conn.root()["data"]["n"])
    finally:
        tm.abort()
        conn.close()


def test_a_unit_commits_or_aborts_as_it_says(db: Any, connections: Connections) -> None:
    def bump(commit: bool) -> Any:
        def work(conn: Any) -> tuple[str, bool]:
            conn.root()["data"]["n"] += 1
            return "done", commit

        return work

    assert run_in_transaction(db, bump(True), retries=0, connections=connections) == "done"
    assert value(db) == 1
    assert run_in_transaction(db, bump(False), retries=0, connections=connections) == "done"
    assert value(db) == 1


def _conflicting(db: Any, fail: int) -> tuple[Any, list[int]]:
    """A unit whose first ``fail`` attempts lose a write race to another connection."""
    attempts: list[int] = []

    def work(conn: Any) -> tuple[int, bool]:
        attempts.append(len(attempts) + 1)
        conn.root()["data"]["n"] += 10
        if len(attempts) <= fail:
            other_tm = transaction.TransactionManager(explicit=True)
            other_tm.begin()
            other = db.open(transaction_manager=other_tm)
            other.root()["data"]["n"] += 1
            other_tm.commit()
            other.close()
        return len(attempts), True

    return work, attempts


def test_a_conflict_replays_the_whole_unit_on_fresh_state(
    db: Any, connections: Connections
) -> None:
    work, attempts = _conflicting(db, fail=2)
    assert run_in_transaction(db, work, retries=3, connections=connections) == 3
    assert attempts == [1, 2, 3]
    # the two concurrent writes and this unit's one: nothing lost, nothing doubled
    assert value(db) == 2 + 10


def test_a_conflict_past_the_retries_is_a_conflict_error(db: Any, connections: Connections) -> None:
    work, attempts = _conflicting(db, fail=5)
    with pytest.raises(Conflict) as info:
        run_in_transaction(db, work, retries=2, on_error=lambda exc: -1, connections=connections)
    assert info.value.details == {"retries": 2}
    assert attempts == [1, 2, 3]
    assert value(db) == 3  # only the other connection's writes


def test_needs_more_aborts_keeps_the_connection_and_propagates(
    db: Any, connections: Connections
) -> None:
    _, before = connections.get(db)

    def work(conn: Any) -> tuple[None, bool]:
        conn.root()["data"]["n"] = 99
        raise NeedsMore("a body")

    with pytest.raises(NeedsMore) as info:
        # on_error turns errors into results, but not this: it is not an error
        run_in_transaction(db, work, retries=3, on_error=lambda exc: None, connections=connections)
    assert info.value.need == "a body"
    assert value(db) == 0
    assert connections.get(db)[1] is before
    with pytest.raises(NeedsMore):
        run_read(db, lambda conn: (_ for _ in ()).throw(NeedsMore(1)), connections=connections)
    assert connections.get(db)[1] is before


def test_an_unexpected_error_aborts_and_drops_the_connection(
    db: Any, connections: Connections
) -> None:
    before, _ = connections.get(db)

    def work(conn: Any) -> tuple[None, bool]:
        conn.root()["data"]["n"] = 42
        raise ValueError("boom")

    result = run_in_transaction(
        db, work, retries=3, on_error=lambda exc: f"handled {exc}", connections=connections
    )
    assert result == "handled boom"
    assert value(db) == 0
    # the connection went back to ZODB's pool (its cache emptied): the next unit gets one
    # anew, with a transaction manager of its own
    assert connections.get(db)[0] is not before
    with pytest.raises(ValueError):
        run_in_transaction(db, work, retries=3, connections=connections)


def test_a_read_unit_sees_fresh_state_and_cannot_write(db: Any, connections: Connections) -> None:
    assert run_read(db, lambda conn: conn.root()["data"]["n"], connections=connections) == 0
    run_in_transaction(
        db,
        lambda conn: (conn.root()["data"].update(n=5), True),
        retries=0,  # another connection
    )
    # the pooled connection was synced at the start of the read
    assert run_read(db, lambda conn: conn.root()["data"]["n"], connections=connections) == 5

    def write(conn: Any) -> None:
        conn.root()["data"]["n"] = 6
        conn.root()["data"]._p_jar.transaction_manager.get()  # no transaction: refused

    with pytest.raises(transaction.interfaces.NoTransaction):
        run_read(db, write, connections=connections)
    assert value(db) == 5


def test_a_read_unit_turns_a_conflict_into_a_conflict_error(
    db: Any, connections: Connections
) -> None:
    def work(conn: Any) -> None:
        raise ConflictError("stale")

    with pytest.raises(Conflict):
        run_read(db, work, connections=connections)


def test_connections_are_one_per_thread_and_database(db: Any, connections: Connections) -> None:
    mine = connections.get(db)
    assert connections.get(db) is mine
    theirs: list[Any] = []
    thread = threading.Thread(target=lambda: theirs.append(connections.get(db)))
    thread.start()
    thread.join()
    assert theirs[0][1] is not mine[1]
    assert theirs[0][0] is not mine[0]  # each its own explicit transaction manager
    connections.close_all()
    assert mine[1].opened is None and theirs[0][1].opened is None


def test_committed_tid_names_the_transaction_just_committed(db: Any) -> None:
    seen: list[int] = []

    def work(conn: Any) -> tuple[None, bool]:
        conn.root()["data"]["n"] = 1
        conn.transaction_manager.get().addAfterCommitHook(
            lambda ok: seen.append(committed_tid(conn))
        )
        return None, True

    run_in_transaction(db, work, retries=0)
    assert seen == [int.from_bytes(db.lastTransaction(), "big")]

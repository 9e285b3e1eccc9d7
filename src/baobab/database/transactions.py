"""One transaction per unit of work, owned here: begin, run, commit or abort, replay on conflict.

Each unit runs under an explicit ``TransactionManager`` (never the thread-local default).
Request units reuse one open connection per thread and database (:class:`Connections`):
opening and closing a ZODB connection per request costs more than a whole warm read, and a
connection kept open stays correct because ``begin()`` on an explicit manager syncs it
(polls invalidations) before every unit. ``ConflictError`` (and ZODB's other transient
errors) replays the whole unit up to ``retries`` times, then raises
:class:`baobab.errors.Conflict`.

A unit may also stop because it needs something only its caller can provide (a request body
streamed to disk, an argon2 hash computed off the loop): it raises :class:`NeedsMore`. The
runner treats it like a conflict it cannot resolve by itself: the attempt is aborted, the
connection kept, and the exception travels out to the caller, which provides what is needed
and runs the unit again. Whatever the unit did before it stopped therefore runs twice; it
must have no effect outside the transaction (those go through events, after the commit).
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import transaction
import ZODB
from ZODB.Connection import Connection
from ZODB.POSException import ConflictError

from baobab.errors import Conflict

__all__ = [
    "ROOT_KEY",
    "Connections",
    "NeedsMore",
    "committed_tid",
    "run_in_transaction",
    "run_read",
]

logger = logging.getLogger(__name__)

T = TypeVar("T")

ROOT_KEY = "baobab"  # the ZODB root mapping key holding a database's content root


class NeedsMore(Exception):
    """The unit stops: it needs ``need``, which its caller provides before running it again.

    ``need`` is a typed value the caller understands (the request pipeline's are in
    :mod:`baobab.request`). Raised inside a unit, it aborts the attempt and propagates
    unchanged: no replay here, no error response, and the connection stays open.
    """

    def __init__(self, need: object) -> None:
        super().__init__(need)
        self.need = need


class Connections:
    """One open connection, with its own explicit transaction manager, per thread and db.

    The event loop thread runs inline units one at a time and each pool thread one unit at
    a time, so a connection is never used by two units at once.
    """

    def __init__(self) -> None:
        self._local = threading.local()
        self._lock = threading.Lock()
        self._open: set[Any] = set()

    def get(self, db: ZODB.DB) -> tuple[transaction.TransactionManager, Any]:
        cache: dict[int, tuple[transaction.TransactionManager, Any]] = (
            self._local.__dict__.setdefault("cache", {})
        )
        pair = cache.get(id(db))
        if pair is None:
            tm = transaction.TransactionManager(explicit=True)
            pair = cache[id(db)] = (tm, db.open(transaction_manager=tm))
            with self._lock:
                self._open.add(pair[1])
        return pair

    def discard(self, db: ZODB.DB) -> None:
        """Close this thread's connection to ``db`` (after an unexpected error)."""
        pair = self._local.__dict__.get("cache", {}).pop(id(db), None)
        if pair is not None:
            self._close(pair[1])

    def _close(self, conn: Any) -> None:
        with self._lock:
            self._open.discard(conn)
        with contextlib.suppress(Exception):  # closing is best effort after a failure
            conn.transaction_manager.abort()
        with contextlib.suppress(Exception):
            # The connection goes back to ZODB's pool: abort (above) reverted what the unit
            # changed; also drop every loaded state so its next user starts from the storage.
            conn.cacheMinimize()
            conn.close()

    def close_all(self) -> None:
        """Close every connection (at shutdown, once no unit runs any more)."""
        with self._lock:
            conns = list(self._open)
        for conn in conns:
            self._close(conn)


def run_read(
    db: ZODB.DB,
    work: Callable[[Connection], T],
    *,
    on_error: Callable[[Exception], T] | None = None,
    connections: Connections,
) -> T:
    """Run a read-only unit on a freshly synced snapshot, without a transaction object.

    A read needs the connection's view of the database brought up to date and released
    afterwards, not a transaction: the two ``ISynchronizer`` calls below do exactly that at
    a third of the cost of ``begin()``/``abort()``. With no transaction begun, an explicit
    manager refuses any write (``NoTransaction``), so a read unit cannot change data.
    """
    _tm, conn = connections.get(db)
    for each in conn.connections.values():
        each.newTransaction(None, True)
    try:
        return work(conn)
    except ConflictError:
        raise Conflict(details={"retries": 0}) from None  # MVCC makes this all but impossible
    except NeedsMore:
        raise
    except Exception as exc:
        connections.discard(db)
        if on_error is None:
            raise
        return on_error(exc)
    finally:
        for each in conn.connections.values():
            if each.opened is not None:
                each.afterCompletion(None)


def run_in_transaction(
    db: ZODB.DB,
    work: Callable[[Connection], tuple[T, bool]],
    *,
    retries: int,
    on_error: Callable[[Exception], T] | None = None,
    connections: Connections | None = None,
) -> T:
    """Run ``work(conn) -> (result, commit)`` in a fresh transaction.

    ``commit`` false aborts (reads). An exception aborts; if ``on_error`` is given it turns a
    non-conflict exception into a result. :class:`NeedsMore` aborts and propagates. Without
    ``connections`` a connection is opened for this unit and closed after it; with it, the
    thread's connection is reused, and dropped after an unexpected error so the next unit
    starts afresh.
    """
    if connections is None:
        tm = transaction.TransactionManager(explicit=True)
        conn: Any = db.open(transaction_manager=tm)
    else:
        tm, conn = connections.get(db)
    try:
        return _attempts(tm, conn, work, retries)
    except (Conflict, NeedsMore):
        raise
    except Exception as exc:
        if connections is not None:
            connections.discard(db)
        if on_error is None:
            raise
        return on_error(exc)
    finally:
        if connections is None:
            conn.close()


def _attempts(
    tm: transaction.TransactionManager,
    conn: Any,
    work: Callable[[Connection], tuple[T, bool]],
    retries: int,
) -> T:
    attempt = 0
    while True:
        tm.begin()
        try:
            result, commit = work(conn)
            if commit:
                tm.commit()
            else:
                tm.abort()
            return result
        except ConflictError as exc:
            tm.abort()
            attempt += 1
            if attempt > retries:
                logger.warning("conflict persisted after %d retries: %s", retries, exc)
                raise Conflict(details={"retries": retries}) from None
            logger.info("conflict, replaying (attempt %d of %d)", attempt, retries)
        except BaseException:
            tm.abort()
            raise


def committed_tid(conn: Any) -> int:
    """The id of the transaction ``conn`` just committed (call it from an after-commit hook).

    ZODB publishes no accessor for it, so this reads it where each storage keeps it: a
    FileStorage or memory connection's MVCC adapter instance notes the tid it finished
    (``_ltid``, set under the storage's commit lock); a RelStorage instance is the
    connection's own storage, whose ``lastTransaction()`` is the tid it committed last.
    """
    storage = conn._storage
    tid = getattr(storage, "_ltid", None)
    if not isinstance(tid, bytes) or not tid:
        tid = storage.lastTransaction()
    return int.from_bytes(tid, "big")

"""One transaction per unit of work, owned here: open, run, commit or abort, replay on conflict.

Each unit gets its own explicit ``TransactionManager`` (never the thread-local default), so a
unit can run on the loop thread or a pool thread alike. ``ConflictError`` (and the other
transient errors ZODB marks retryable) replays the whole unit up to ``retries`` times, then
raises :class:`baobab.errors.Conflict`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

import transaction
import ZODB
from ZODB.Connection import Connection
from ZODB.POSException import ConflictError

from baobab.errors import Conflict

__all__ = ["ROOT_KEY", "run_in_transaction"]

logger = logging.getLogger(__name__)

T = TypeVar("T")

ROOT_KEY = "baobab"  # the ZODB root mapping key holding a database's content root


def run_in_transaction(
    db: ZODB.DB,
    work: Callable[[Connection], tuple[T, bool]],
    *,
    retries: int,
    on_error: Callable[[BaseException], T] | None = None,
) -> T:
    """Run ``work(conn) -> (result, commit)`` in a fresh transaction.

    ``commit`` false aborts (reads). An exception aborts; if ``on_error`` is given it turns a
    non-conflict exception into a result (the transaction still aborts).
    """
    attempt = 0
    while True:
        tm = transaction.TransactionManager(explicit=True)
        tm.begin()
        conn: Any = db.open(transaction_manager=tm)
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
        except BaseException as exc:
            tm.abort()
            if on_error is None or not isinstance(exc, Exception):
                raise
            return on_error(exc)
        finally:
            conn.close()

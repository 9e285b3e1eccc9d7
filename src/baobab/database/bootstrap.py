"""One process at a time bootstraps a shared database: the start-up lock.

Every worker of ``baobab serve --workers N``, and every host of a cluster, opens the same
PostgreSQL database when it starts. On an empty database each would create RelStorage's
schema (``CREATE TABLE`` racing into ``UniqueViolation``), ZODB's root object and Baobab's
content root (racing into ``ConflictError``), and the losers would stop the server.

So a process opens a network database, and runs the first transaction that makes its roots,
holding a PostgreSQL session advisory lock taken on a connection of its own: the others
wait, then find the schema and the roots made and only check them. The lock is released when
the database is ready, or by the server when the holder's connection ends (a crash cannot
leave it taken). Local storages need no lock: FileStorage is opened by one process only
(its own ``.lock`` file refuses a second one).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

from baobab.config.settings import DatabaseSettings
from baobab.errors import ConfigError

__all__ = ["BOOTSTRAP_LOCK", "bootstrap_lock"]

logger = logging.getLogger(__name__)

# pg_advisory_lock's two-int key space does not overlap the one-bigint space that RelStorage
# uses (object ids, and -1/-2 for its commit and pack locks): ("baob", 1) is ours alone.
BOOTSTRAP_LOCK = (0x62616F62, 1)


@contextlib.contextmanager
def bootstrap_lock(name: str, db: DatabaseSettings) -> Iterator[None]:
    """Hold the start-up lock of database ``name`` while the block runs (a no-op for a local
    storage). Waits for any other process that holds it."""
    if db.storage != "postgresql":
        yield
        return
    import psycopg2

    try:
        conn = psycopg2.connect(db.dsn, application_name="baobab: start-up lock")
    except psycopg2.Error as exc:
        raise ConfigError(f"Cannot open database {name!r} on PostgreSQL: {exc}") from exc
    try:
        conn.autocommit = True  # a session lock, outside any transaction
        with conn.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s, %s)", BOOTSTRAP_LOCK)
        logger.debug("start-up lock of database %s taken", name)
        try:
            yield
        finally:
            with contextlib.suppress(psycopg2.Error), conn.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", BOOTSTRAP_LOCK)
    finally:
        conn.close()  # ends the session: the lock goes with it whatever happened

"""The one database handle: the open databases, the system database, pooled connections, and
units of work run through the bridge with conflict replay.

Every caller that reaches ZODB — the request publisher, the WebSocket handshake, async
utilities, start-up and the CLI — goes through a :class:`Databases`, so "which database keeps
the tokens", "which connection does this thread use" and "on which thread does a unit run"
are each decided here, once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar

import ZODB

from baobab.config.settings import Settings
from baobab.database.bootstrap import bootstrap_lock
from baobab.database.bridge import Bridge
from baobab.database.storage import open_database
from baobab.database.transactions import Connections, run_in_transaction, run_read
from baobab.errors import NotFound

__all__ = ["Databases"]

T = TypeVar("T")


class Databases(Mapping[str, ZODB.DB]):
    """The configured databases by name (a read-only mapping), and how to work in them.

    Attributes:
        run: ``await run(unit, write=…)`` runs a prepared unit of blocking database work
            through the bridge (``write`` if it may commit): the publisher's units.
        system: the name of the database that keeps what belongs to no site (revoked
            tokens, used WebSocket tickets): the first one configured.
        connections: one open connection per thread and database, reused by every unit.
        bridge: the sync↔async bridge (inline on the loop, or a thread pool).
        retries: how often a unit is replayed after a ``ConflictError``.
    """

    def __init__(self, settings: Settings, databases: dict[str, ZODB.DB]) -> None:
        self._databases = databases
        self.system = settings.system_database
        self.connections = Connections()
        self.bridge = Bridge(settings)
        self.retries = settings.request.conflict_retries
        # ``await databases.run(unit, write=…)``: the bridge's own method, no extra frame
        self.run = self.bridge.run

    @classmethod
    def open(
        cls,
        settings: Settings,
        setup: Callable[[str, Any], bool] | None = None,
        upgrade: Callable[[str, ZODB.DB], None] | None = None,
    ) -> Databases:
        """Open every configured database (blocking: a network storage connects), and run
        ``setup(name, conn)`` in a transaction in each (it returns whether it wrote, to
        commit), then ``upgrade(name, db)``, which runs its own transactions (work too big
        for one). If anything fails, what was opened is closed again.

        Each database is opened and set up under its start-up lock (``bootstrap_lock``):
        workers and hosts starting at once on an empty PostgreSQL database take turns to
        create its schema and roots instead of racing (the later ones find them made)."""
        opened: dict[str, ZODB.DB] = {}
        try:
            for name, options in settings.databases.items():
                with bootstrap_lock(name, options):
                    db = open_database(settings, name, opened)
                    if setup is not None:

                        def work(conn: Any, name: str = name) -> tuple[None, bool]:
                            return None, setup(name, conn)

                        run_in_transaction(db, work, retries=settings.request.conflict_retries)
                    if upgrade is not None:
                        upgrade(name, db)
        except BaseException:
            for database in opened.values():
                database.close()
            raise
        return cls(settings, opened)

    # the mapping --------------------------------------------------------------------------
    def __getitem__(self, name: str) -> ZODB.DB:
        return self._databases[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._databases)

    def __len__(self) -> int:
        return len(self._databases)

    def get(self, name: str, default: ZODB.DB | None = None) -> ZODB.DB | None:
        # a dict hit (the publisher's, per request), not Mapping's try/except
        return self._databases.get(name, default)

    def named(self, name: str | None) -> ZODB.DB:
        """Database ``name`` (the system database for None); 404 if there is none."""
        name = self.system if name is None else name
        try:
            return self._databases[name]
        except KeyError:
            raise NotFound(f"No database named {name!r}", details={"database": name}) from None

    def last_tids(self) -> dict[str, int]:
        """Each database's last committed transaction id."""
        return {
            name: int.from_bytes(db.lastTransaction(), "big")
            for name, db in self._databases.items()
        }

    # units of work --------------------------------------------------------------------------
    async def read(self, fn: Callable[[Any], T], *, db: str | None = None) -> T:
        """``fn(connection)`` on a fresh read-only snapshot of database ``db`` (default:
        the system database). Any write inside ``fn`` is refused; ``fn`` must return plain
        values, never persistent objects (the connection serves other units afterwards)."""
        database = self.named(db)

        def unit() -> T:
            return run_read(database, fn, connections=self.connections)

        return await self.bridge.run(unit, write=False)

    async def write(self, fn: Callable[[Any], T], *, db: str | None = None) -> T:
        """``fn(connection)`` in a transaction on database ``db`` (default: the system
        database) that commits when ``fn`` returns; its result.

        ``fn`` raising aborts and propagates. A ``ConflictError`` replays ``fn`` on fresh
        state up to ``retries`` times, then raises :class:`~baobab.errors.Conflict`: ``fn``
        may run more than once.
        """
        database = self.named(db)

        def work(conn: Any) -> tuple[T, bool]:
            return fn(conn), True

        def unit() -> T:
            return run_in_transaction(
                database, work, retries=self.retries, connections=self.connections
            )

        return await self.bridge.run(unit, write=True)

    def close(self) -> None:
        """Stop the bridge's threads, close every pooled connection, then the databases."""
        self.bridge.close()
        self.connections.close_all()
        for db in self._databases.values():
            db.close()

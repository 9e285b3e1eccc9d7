"""The unit of work of one publish attempt: its connection, the events it raised, and once
it has committed, the transaction id.

The publisher makes a new one for every attempt (a conflict replay or a stop for more input
starts afresh) and throws it away with the attempt; only the unit of the attempt that
committed reaches delivery. Nothing in it outlives the request: services reach the database
through ``unit.conn`` and raise events through ``unit.notify``.
"""

from __future__ import annotations

from typing import Any

from baobab.config.registry import Registry
from baobab.database.transactions import committed_tid
from baobab.events.classes import Event
from baobab.events.outbox import Outbox

__all__ = ["UnitOfWork"]


class UnitOfWork:
    """One attempt's database work.

    Attributes:
        conn: the attempt's ZODB connection (its transaction manager is the attempt's).
        system: the name of the system database (``conn.get_connection(system)``).
        outbox: the events raised, kept for after the commit (None until the first: a unit
            that raises nothing, every read, allocates nothing for them).
        tid: the committed transaction's id, learnt when the unit raised events (the only
            case where anybody needs it); 0 before the commit, for reads, and for a unit
            that raised nothing.
    """

    __slots__ = ("conn", "outbox", "registry", "system", "tid")

    def __init__(self, conn: Any, registry: Registry, system: str) -> None:
        self.conn = conn
        self.registry = registry
        self.system = system
        self.outbox: Outbox | None = None
        self.tid = 0

    @property
    def committed(self) -> bool:
        """Whether the unit committed with events to deliver."""
        return self.tid != 0

    @property
    def system_conn(self) -> Any:
        """The connection to the system database, in the same transaction."""
        return self.conn.get_connection(self.system)

    def notify(self, event: Event) -> None:
        """Raise ``event`` (see :class:`~baobab.events.outbox.Outbox`); the first one also
        asks to be told of the commit. (The outbox holds no reference back to the unit: a
        cycle would leave every request's unit to the garbage collector.)"""
        outbox = self.outbox
        if outbox is None:
            outbox = self.outbox = Outbox(self.registry)
            self.conn.transaction_manager.get().addAfterCommitHook(self._committed)
        outbox.notify(event)

    def _committed(self, status: bool) -> None:
        if status:
            self.tid = committed_tid(self.conn)

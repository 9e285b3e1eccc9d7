"""Opening ZODB from settings, per-unit transactions with conflict replay, the bridge, and
the one handle over them (:class:`Databases`); the unit of work of one publish attempt."""

from __future__ import annotations

from baobab.database.bridge import Bridge
from baobab.database.databases import Databases
from baobab.database.storage import is_network_storage, open_databases
from baobab.database.transactions import (
    ROOT_KEY,
    Connections,
    NeedsMore,
    run_in_transaction,
    run_read,
)
from baobab.database.unit import UnitOfWork

__all__ = [
    "ROOT_KEY",
    "Bridge",
    "Connections",
    "Databases",
    "NeedsMore",
    "UnitOfWork",
    "is_network_storage",
    "open_databases",
    "run_in_transaction",
    "run_read",
]

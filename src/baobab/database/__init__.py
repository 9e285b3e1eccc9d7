"""Opening ZODB from settings, per-unit transactions with conflict replay, the bridge."""

from __future__ import annotations

from baobab.database.bridge import Bridge
from baobab.database.storage import is_network_storage, open_databases
from baobab.database.transactions import ROOT_KEY, Connections, run_in_transaction

__all__ = [
    "ROOT_KEY",
    "Bridge",
    "Connections",
    "is_network_storage",
    "open_databases",
    "run_in_transaction",
]

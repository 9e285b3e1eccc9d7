"""Opening ZODB databases from settings: FileStorage + blobs, RelStorage/PostgreSQL, memory.

All configured databases are opened as one ZODB multi-database, so a connection to one
reaches the others (``conn.get_connection(name)``) inside the same transaction.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import ZODB
from ZODB.DemoStorage import DemoStorage
from ZODB.FileStorage import FileStorage
from ZODB.MappingStorage import MappingStorage

from baobab.config.settings import DatabaseSettings, Settings
from baobab.errors import ConfigError

__all__ = ["is_network_storage", "open_databases"]

logger = logging.getLogger(__name__)


def is_network_storage(db: DatabaseSettings) -> bool:
    return db.storage == "postgresql"


def _filestorage(name: str, db: DatabaseSettings, var: Path) -> Any:
    path = Path(db.path) if db.path else var / f"{name}.fs"
    blobs = Path(db.blob_dir) if db.blob_dir else var / "blobs" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    blobs.mkdir(parents=True, exist_ok=True)
    return FileStorage(str(path), blob_dir=str(blobs))


def _postgresql(name: str, db: DatabaseSettings, var: Path) -> Any:
    from relstorage.adapters.postgresql import PostgreSQLAdapter
    from relstorage.options import Options
    from relstorage.storage import RelStorage

    blobs = Path(db.blob_dir) if db.blob_dir else var / "blobs" / f"{name}-cache"
    blobs.mkdir(parents=True, exist_ok=True)
    options = Options(
        keep_history=False,
        blob_dir=str(blobs),
        shared_blob_dir=False,
        blob_cache_size=db.blob_cache_size,
    )
    try:
        adapter = PostgreSQLAdapter(dsn=db.dsn, options=options)
        return RelStorage(adapter, options=options)
    except Exception as exc:  # driver errors vary; report which database and why
        raise ConfigError(f"Cannot open database {name!r} on PostgreSQL: {exc}") from exc


def _memory(name: str, db: DatabaseSettings, var: Path) -> Any:
    # DemoStorage over MappingStorage supports blobs in a temporary directory.
    return DemoStorage(name=name, base=MappingStorage(name))


_FACTORIES = {"filestorage": _filestorage, "postgresql": _postgresql, "memory": _memory}


def open_databases(settings: Settings) -> dict[str, ZODB.DB]:
    """Open every configured database; close what was opened if one fails."""
    var = settings.var_path
    databases: dict[str, ZODB.DB] = {}
    try:
        for name, db in settings.databases.items():
            storage = _FACTORIES[db.storage](name, db, var)
            ZODB.DB(
                storage,
                database_name=name,
                databases=databases,
                cache_size=db.cache_size,
                pool_size=db.pool_size,
            )
            logger.info("opened database %s (%s)", name, db.storage)
    except BaseException:
        for opened in databases.values():
            opened.close()
        raise
    return databases

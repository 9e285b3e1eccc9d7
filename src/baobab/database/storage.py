"""Opening ZODB databases from settings: FileStorage + blobs, RelStorage/PostgreSQL, memory.

All configured databases are opened as one ZODB multi-database, so a connection to one
reaches the others (``conn.get_connection(name)``) inside the same transaction.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import ZODB
from zc.lockfile import LockError, SimpleLockFile
from ZODB.DemoStorage import DemoStorage
from ZODB.FileStorage import FileStorage
from ZODB.MappingStorage import MappingStorage

from baobab.config.settings import DatabaseSettings, Settings
from baobab.database.holder import locked_message
from baobab.errors import ConfigError

__all__ = [
    "blob_cache_path",
    "check_not_in_use",
    "filestorage_blob_path",
    "filestorage_in_use",
    "filestorage_path",
    "is_network_storage",
    "open_database",
    "open_databases",
]

logger = logging.getLogger(__name__)


def is_network_storage(db: DatabaseSettings) -> bool:
    return db.storage == "postgresql"


def filestorage_path(name: str, db: DatabaseSettings, var: Path) -> Path:
    """The ``.fs`` file of FileStorage database ``name``."""
    return Path(db.path) if db.path else var / f"{name}.fs"


def filestorage_blob_path(name: str, db: DatabaseSettings, var: Path) -> Path:
    """The blob directory beside FileStorage database ``name``."""
    return Path(db.blob_dir) if db.blob_dir else var / "blobs" / name


def blob_cache_path(name: str, db: DatabaseSettings, var: Path) -> Path:
    """The local blob cache of PostgreSQL database ``name`` (the blobs live in the database)."""
    return Path(db.blob_dir) if db.blob_dir else var / "blobs" / f"{name}-cache"


def filestorage_in_use(path: Path) -> bool:
    """Whether another process (a server) holds the FileStorage at ``path`` open."""
    if not path.parent.is_dir():
        return False  # a first start: nothing there yet, nobody has it open
    try:
        SimpleLockFile(f"{path}.lock").close()
    except LockError:
        return True
    return False


def _in_use(name: str, path: Path) -> ConfigError:
    return ConfigError(locked_message(name, path))


def _filestorage(name: str, db: DatabaseSettings, var: Path, read_only: bool = False) -> Any:
    path = filestorage_path(name, db, var)
    blobs = filestorage_blob_path(name, db, var)
    if read_only:
        # A read-only FileStorage takes no lock (ZODB.FileStorage only locks to write), so it
        # opens beside a running server: it reads the file as it was when opened (an
        # unfinished transaction at the end is left out, never truncated), a snapshot.
        if not path.is_file():
            raise ConfigError(f"Cannot open database {name!r}: no file {path}")
        return FileStorage(str(path), blob_dir=str(blobs), read_only=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    blobs.mkdir(parents=True, exist_ok=True)
    try:
        # pack_keep_old=False: a pack removes the superseded file and blobs instead of keeping
        # them as ``.fs.old`` and ``<blobs>.old`` (hard links to every blob), which would hold
        # the space a pack is run to reclaim; backups are the safety net (docs/backup.md)
        return FileStorage(str(path), blob_dir=str(blobs), pack_keep_old=False)
    except LockError:
        raise _in_use(name, path) from None


def check_not_in_use(settings: Settings) -> None:
    """Refuse, with one clear line, to serve a FileStorage another process has open (a second
    ``baobab serve`` on the same ``var``): checked before any worker starts."""
    for name, db in settings.databases.items():
        if db.storage != "filestorage":
            continue
        path = filestorage_path(name, db, settings.var_path)
        if filestorage_in_use(path):
            raise _in_use(name, path)


def _postgresql(name: str, db: DatabaseSettings, var: Path, read_only: bool = False) -> Any:
    from relstorage.adapters.postgresql import PostgreSQLAdapter
    from relstorage.options import Options
    from relstorage.storage import RelStorage

    blobs = blob_cache_path(name, db, var)
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


def _memory(name: str, db: DatabaseSettings, var: Path, read_only: bool = False) -> Any:
    # DemoStorage over MappingStorage supports blobs in a temporary directory.
    return DemoStorage(name=name, base=MappingStorage(name))


_FACTORIES = {"filestorage": _filestorage, "postgresql": _postgresql, "memory": _memory}


def open_database(
    settings: Settings, name: str, databases: dict[str, ZODB.DB], *, read_only: bool = False
) -> ZODB.DB:
    """Open database ``name`` into the multi-database ``databases`` (blocking).
    ``read_only``: a FileStorage is opened without its lock, beside a server that holds it
    (``baobab export``); other storages open as usual (PostgreSQL serves many processes)."""
    db = settings.databases[name]
    storage = _FACTORIES[db.storage](name, db, settings.var_path, read_only)
    opened = ZODB.DB(
        storage,
        database_name=name,
        databases=databases,
        cache_size=db.cache_size,
        pool_size=db.pool_size,
    )
    logger.info("opened database %s (%s)", name, db.storage)
    return opened


def open_databases(settings: Settings) -> dict[str, ZODB.DB]:
    """Open every configured database; close what was opened if one fails."""
    databases: dict[str, ZODB.DB] = {}
    try:
        for name in settings.databases:
            open_database(settings, name, databases)
    except BaseException:
        for opened in databases.values():
            opened.close()
        raise
    return databases

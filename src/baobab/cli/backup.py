"""``baobab backup`` and ``baobab restore`` (the work is :mod:`baobab.database.backup` for
FileStorage and :mod:`baobab.database.pgdump` for PostgreSQL).

DEST and SRC hold one directory per database, named like it: ``DEST/db/`` is a repozo
repository with its blob snapshots (FileStorage) or a directory of ``pg_dump`` files
(PostgreSQL). Backups run while servers write; a restore needs the target's server stopped.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from baobab.cli.pack import targets
from baobab.cli.progress import duration
from baobab.cli.steps import StepPrinter
from baobab.config.settings import Settings, load_settings
from baobab.database.backup import (
    BackupResult,
    RestoreResult,
    backup_filestorage,
    repozo_date,
    restore_filestorage,
)
from baobab.database.footprint import human_bytes
from baobab.database.pgdump import backup_postgresql, restore_postgresql
from baobab.database.storage import blob_cache_path, filestorage_blob_path, filestorage_path
from baobab.errors import BackupError, ConfigError, MaintenanceRunning

__all__ = ["add_parser", "backup_command", "restore_command"]


def add_parser(sub: Any) -> None:
    backup = sub.add_parser(
        "backup",
        help="back up the databases into DEST while servers run (FileStorage: repozo, "
        "incremental unless --full, and the blobs; PostgreSQL: pg_dump)",
    )
    backup.add_argument("--config", "-c", help="JSON configuration file")
    backup.add_argument("--database", "-d", help="only this database")
    backup.add_argument(
        "--full", action="store_true", help="a full backup even if an incremental one would do"
    )
    backup.add_argument("dest", help="the backup directory (one subdirectory per database)")
    backup.set_defaults(run=backup_command)
    restore = sub.add_parser(
        "restore",
        help="restore the databases from SRC (a `baobab backup` directory) into the "
        "configured paths or DSN; stop the server first",
    )
    restore.add_argument("--config", "-c", help="JSON configuration file")
    restore.add_argument("--database", "-d", help="only this database")
    restore.add_argument(
        "--date", help="as of this UTC date: yyyy-mm-dd[-hh[-mm[-ss]]] (default: the latest)"
    )
    restore.add_argument(
        "--force", action="store_true", help="replace an existing database (server stopped)"
    )
    restore.add_argument("src", help="the backup directory")
    restore.set_defaults(run=restore_command)


def _backup_line(result: BackupResult) -> str:
    line = (
        f"{result.database}: {result.kind} backup {result.path} "
        f"({human_bytes(result.bytes_written)}) in {duration(result.seconds)}"
    )
    if result.kind != "dump":
        line += (
            f"; blobs: {result.blob_files} files, {result.blobs_copied} copied "
            f"({human_bytes(result.blob_bytes_copied)}), {result.blobs_linked} linked"
        )
    return line


def _restore_line(result: RestoreResult) -> str:
    line = (
        f"{result.database}: restored from {result.source} "
        f"({human_bytes(result.bytes_restored)}) in {duration(result.seconds)}"
    )
    if result.blob_files:
        line += f", {result.blob_files} blob files"
    return line


def _backup_one(settings: Settings, name: str, dest: Path, full: bool, say: Any) -> str:
    db = settings.databases[name]
    var = settings.var_path
    if db.storage == "filestorage":
        result = backup_filestorage(
            name,
            filestorage_path(name, db, var),
            filestorage_blob_path(name, db, var),
            dest / name,
            full=full,
            report=say,
        )
    elif db.storage == "postgresql" and db.dsn:
        result = backup_postgresql(name, db.dsn, dest / name, report=say)
    else:
        return f"{name}: a memory storage, nothing to back up"
    return _backup_line(result)


def _restore_one(
    settings: Settings, name: str, src: Path, *, date: str | None, force: bool, say: Any
) -> str:
    db = settings.databases[name]
    var = settings.var_path
    if db.storage == "filestorage":
        result = restore_filestorage(
            name,
            src / name,
            filestorage_path(name, db, var),
            filestorage_blob_path(name, db, var),
            date=date,
            force=force,
            report=say,
        )
    elif db.storage == "postgresql" and db.dsn:
        result = restore_postgresql(
            name, src / name, db.dsn, blob_cache_path(name, db, var), date=date, force=force,
            report=say,
        )  # fmt: skip
    else:
        return f"{name}: a memory storage, nothing to restore"
    return _restore_line(result)


def backup_command(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)
    names = targets(settings, args.database)
    dest = Path(args.dest)
    try:
        with StepPrinter(sys.stderr) as say:
            for name in names:
                print(_backup_one(settings, name, dest, args.full, say), flush=True)
    except (BackupError, MaintenanceRunning) as exc:
        raise ConfigError(exc.message) from None
    return 0


def restore_command(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)
    names = targets(settings, args.database)
    src = Path(args.src)
    try:
        date = repozo_date(args.date) if args.date else None
        if not all((src / name).is_dir() for name in names):
            missing = [n for n in names if not (src / n).is_dir()]
            raise BackupError(f"{src} holds no backup of {', '.join(missing)}")
        with StepPrinter(sys.stderr) as say:
            for name in names:
                print(
                    _restore_one(settings, name, src, date=date, force=args.force, say=say),
                    flush=True,
                )
    except BackupError as exc:
        raise ConfigError(exc.message) from None
    return 0

"""``baobab pack``: pack the configured databases (the work is :mod:`baobab.maintenance.pack`).

PostgreSQL is packed while servers run (RelStorage takes its own pack lock). A FileStorage is
single-process: while a server holds it, the CLI cannot open it and says to pack through
the server (``POST /{db}/@pack``) instead.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from baobab.cli.progress import duration
from baobab.cli.steps import StepPrinter
from baobab.config.settings import Settings, load_settings
from baobab.database.footprint import human_bytes
from baobab.database.storage import filestorage_in_use, filestorage_path, open_database
from baobab.errors import ConfigError
from baobab.maintenance.pack import PackResult, pack

__all__ = ["add_parser", "pack_command", "targets"]


def add_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "pack",
        help="pack the databases: old revisions, unreachable objects and their files, "
        "expired uploads (PostgreSQL while servers run; FileStorage when no server holds it, "
        "else POST /{db}/@pack)",
    )
    parser.add_argument("--config", "-c", help="JSON configuration file")
    parser.add_argument("--database", "-d", help="only this database")
    parser.add_argument(
        "--days",
        type=float,
        default=0.0,
        help="keep the revisions of the last N days (FileStorage; default 0)",
    )
    parser.set_defaults(run=pack_command)


def targets(settings: Settings, only: str | None) -> list[str]:
    """The databases to work on: ``only``, or all; ConfigError for an unknown name."""
    if only is None:
        return list(settings.databases)
    if only not in settings.databases:
        known = ", ".join(settings.databases)
        raise ConfigError(f"no database named {only!r} (configured: {known})")
    return [only]


def _live_hint(settings: Settings, name: str) -> str:
    server = settings.server
    base = server.public_url
    if not base:
        host = "127.0.0.1" if server.host in ("0.0.0.0", "::") else server.host
        base = f"http://{host}:{server.port}"
    return f"curl -u root -X POST {base.rstrip('/')}/{name}/@pack"


def _check_free(settings: Settings, names: list[str]) -> None:
    for name in names:
        db = settings.databases[name]
        if db.storage != "filestorage":
            continue
        path = filestorage_path(name, db, settings.var_path)
        if filestorage_in_use(path):
            raise ConfigError(
                f"{path} is held by a running server; pack it through the server: "
                f"{_live_hint(settings, name)}"
            )


def _summary(result: PackResult) -> str:
    parts = result.after.parts
    line = (
        f"{result.database}: {human_bytes(result.before.bytes)} -> "
        f"{human_bytes(result.after.bytes)}, {human_bytes(result.reclaimed)} reclaimed "
        f"in {duration(result.seconds)}"
    )
    if result.storage == "filestorage":
        before = result.before.parts
        line += (
            f" (file {human_bytes(before['file_bytes'] or 0)} -> "
            f"{human_bytes(parts['file_bytes'] or 0)}, blobs "
            f"{human_bytes(before['blob_bytes'] or 0)} -> {human_bytes(parts['blob_bytes'] or 0)})"
        )
    elif result.storage == "postgresql":
        before = result.before.parts
        line += (
            f" (object_state {before['object_state_rows']} -> {parts['object_state_rows']} "
            f"rows, blob_chunk {before['blob_chunk_rows']} -> {parts['blob_chunk_rows']} rows; "
            "PostgreSQL returns the disk space only after VACUUM)"
        )
    return line


def pack_command(args: argparse.Namespace) -> int:
    """Exit 0 when every database is packed; 2 (ConfigError) for bad options or a
    FileStorage a server holds."""
    if args.days < 0:
        raise ConfigError(f"--days must be 0 or more, not {args.days:g}")
    settings = load_settings(args.config)
    names = targets(settings, args.database)
    _check_free(settings, names)
    with StepPrinter(sys.stderr) as say:
        for name in names:
            if settings.databases[name].storage == "memory":
                say(f"{name}: a memory storage, nothing to pack")
                continue
            db = open_database(settings, name, {})
            try:
                result = pack(settings, name, db, days=args.days, report=say)
            finally:
                db.close()
            say(f"{name}: done")
            print(_summary(result), flush=True)
    return 0

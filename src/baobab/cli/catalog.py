"""``baobab reindex-catalog``: rebuild containers' catalogs from their trees.

The work is :func:`baobab.catalog.rebuild.rebuild` (batches of write transactions, safe
while PostgreSQL servers keep writing); this module picks the containers, opens the
databases (nothing else of a server's start: no secrets, no spool clean-up, which would
remove the live servers' uploads in progress) and shows the progress on stderr.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from baobab.asgi.state import build_registry
from baobab.catalog.rebuild import BATCH, container_names, rebuild
from baobab.cli.progress import ProgressPrinter
from baobab.config.settings import load_settings
from baobab.database.databases import Databases
from baobab.database.transactions import run_in_transaction
from baobab.errors import ConfigError

__all__ = ["add_parser", "reindex_catalog"]


def add_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "reindex-catalog",
        help="rebuild the catalogs of the containers from their trees (all containers of all "
        "databases by default); safe while servers run on PostgreSQL, stop the server first "
        "for FileStorage",
    )
    parser.add_argument("--config", "-c", help="JSON configuration file")
    parser.add_argument("--database", "-d", help="only this database")
    parser.add_argument("--container", help="only the container with this id")
    parser.add_argument(
        "--batch-size",
        type=int,
        default=BATCH,
        help=f"objects indexed per transaction (default {BATCH})",
    )
    parser.set_defaults(run=reindex_catalog)


def reindex_catalog(args: argparse.Namespace) -> int:
    """Exit 0 when done; a :class:`ConfigError` (exit 2) for an unknown database or
    container, or a FileStorage a server holds."""
    if args.batch_size < 1:
        raise ConfigError(f"--batch-size must be at least 1, not {args.batch_size}")
    settings = load_settings(args.config)
    if args.database is not None and args.database not in settings.databases:
        known = ", ".join(settings.databases)
        raise ConfigError(f"no database named {args.database!r} (configured: {known})")
    registry = build_registry(settings)
    databases = Databases.open(settings)
    try:
        targets = _targets(databases, args.database, args.container)
        printer = ProgressPrinter(sys.stderr)
        for database, name in targets:
            try:
                done = rebuild(
                    databases[database],
                    database,
                    name,
                    registry,
                    batch=args.batch_size,
                    report=printer,
                )
            except LookupError as exc:  # deleted while the others were rebuilt
                print(f"baobab: {exc}", file=sys.stderr)
                continue
            print(f"{done.path}: {done.indexed} objects indexed, {done.removed} removed")
    finally:
        databases.close()
    return 0


def _targets(
    databases: Databases, only_db: str | None, container: str | None
) -> list[tuple[str, str]]:
    """(database, container id) pairs to rebuild; ConfigError if ``container`` is nowhere."""
    targets: list[tuple[str, str]] = []
    for database in databases:
        if only_db is not None and database != only_db:
            continue

        def read(conn: Any) -> tuple[list[str], bool]:
            return container_names(conn), False

        names = run_in_transaction(databases[database], read, retries=0)
        targets.extend((database, n) for n in names if container is None or n == container)
    if container is not None and not targets:
        where = f"database {only_db!r}" if only_db else "any database"
        raise ConfigError(f"no container named {container!r} in {where}")
    return targets

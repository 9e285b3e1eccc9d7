"""``baobab export`` and ``baobab import``: a container to a portable archive and back.

The work is :mod:`baobab.transfer`; this module opens the one database concerned (export:
read only, so a FileStorage opens beside the server that holds it; import: as a server
would, so a held FileStorage is refused with one line), picks the file (``-``: standard
output or input) and shows the progress on stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import ZODB
from ZODB.POSException import ConflictError

from baobab.asgi.state import build_registry
from baobab.catalog.rebuild import Progress
from baobab.cli.progress import ProgressPrinter, duration
from baobab.config.settings import Settings, load_settings
from baobab.database.bootstrap import bootstrap_lock
from baobab.database.storage import open_database
from baobab.errors import AlreadyExists, ArchiveError, ConfigError
from baobab.security.policy import SecurityPolicy
from baobab.security.workflows import Workflows
from baobab.transfer import export_container, import_container
from baobab.transfer.exporting import BATCH as EXPORT_BATCH
from baobab.transfer.importing import BATCH as IMPORT_BATCH

__all__ = ["add_parser", "export", "import_"]


def add_parser(sub: Any) -> None:
    out = sub.add_parser(
        "export",
        help="write a container (or a subtree of it) to a portable archive (.tar or .tar.gz): "
        "content, blobs, security, workflow, users and groups; works while the server runs",
    )
    _common(out, EXPORT_BATCH)
    out.add_argument("--container", required=True, help="the id of the container to export")
    out.add_argument(
        "--path", default="", help="only this subtree (a path below the container, e.g. news/2024)"
    )
    out.add_argument("file", help="the archive to write (.tar.gz: compressed; -: stdout)")
    out.set_defaults(run=export)
    into = sub.add_parser(
        "import",
        help="recreate a container from an archive of `baobab export` (stop the server first "
        "for FileStorage; PostgreSQL imports while servers run)",
    )
    _common(into, IMPORT_BATCH)
    into.add_argument("--container", help="the new container's id (default: the exported one)")
    into.add_argument(
        "--replace",
        action="store_true",
        help="replace a container of that id (at the end, in one transaction)",
    )
    into.add_argument("file", help="the archive to read (-: stdin)")
    into.set_defaults(run=import_)


def _common(parser: argparse.ArgumentParser, batch: int) -> None:
    parser.add_argument("--config", "-c", help="JSON configuration file")
    parser.add_argument("--database", "-d", help="the database (default: the first configured)")
    parser.add_argument(
        "--batch-size", type=int, default=batch, help=f"objects per batch (default {batch})"
    )


def _database(settings: Settings, name: str | None) -> str:
    if name is None:
        return settings.system_database
    if name not in settings.databases:
        known = ", ".join(settings.databases)
        raise ConfigError(f"no database named {name!r} (configured: {known})")
    return name


def _open(settings: Settings, name: str, *, read_only: bool) -> ZODB.DB:
    with bootstrap_lock(name, settings.databases[name]):
        return open_database(settings, name, {}, read_only=read_only)


class _Printer:
    """The progress bar, then one summary line of our own at the end."""

    def __init__(self) -> None:
        self.printer = ProgressPrinter(sys.stderr)

    def __call__(self, progress: Progress) -> None:
        if progress.phase == "index":
            self.printer(progress)
        elif progress.phase == "done" and self.printer.tty:
            self.printer(_copy(progress, "index"))
            sys.stderr.write("\n")


def _copy(progress: Progress, phase: str) -> Progress:
    clone = Progress(progress.path, progress.total, progress.done, phase=phase)
    clone.started = progress.started
    return clone


@contextlib.contextmanager
def _output(file: str) -> Iterator[IO[bytes]]:
    """The archive's file, written as ``FILE.part`` and renamed when complete (a failed
    export leaves no file that looks whole), readable by its owner only (it holds password
    hashes); ``-``: standard output."""
    if file == "-":
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
        return
    path = Path(file)
    part = path.with_name(path.name + ".part")
    try:
        fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with open(fd, "wb") as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        part.replace(path)
    finally:
        part.unlink(missing_ok=True)


def export(args: argparse.Namespace) -> int:
    """Exit 0 with the archive written; ConfigError (exit 2) for an unknown database,
    container or path."""
    if args.batch_size < 1:
        raise ConfigError(f"--batch-size must be at least 1, not {args.batch_size}")
    settings = load_settings(args.config)
    name = _database(settings, args.database)
    registry = build_registry(settings)
    db = _open(settings, name, read_only=True)
    try:
        with _output(args.file) as out:
            counts = export_container(
                db,
                database=name,
                storage=settings.databases[name].storage,
                container=args.container,
                path=args.path,
                registry=registry,
                out=out,
                out_name=args.file,
                batch=args.batch_size,
                report=_Printer(),
            )
    except ConflictError as exc:  # RelStorage refuses to mix a newer state into the snapshot
        raise ConfigError(f"the export met a read conflict, run it again: {exc}") from None
    finally:
        db.close()
    print(
        f"/{name}/{args.container}: {counts.objects} objects, {counts.blobs} files "
        f"({counts.blob_bytes} bytes), {counts.users} users, {counts.groups} groups "
        f"exported to {args.file}",
        file=sys.stderr if args.file == "-" else sys.stdout,
    )
    return 0


def import_(args: argparse.Namespace) -> int:
    """Exit 0 with the container in place; ConfigError (exit 2) for a bad archive, a taken
    id or a held FileStorage, the database unchanged."""
    if args.batch_size < 1:
        raise ConfigError(f"--batch-size must be at least 1, not {args.batch_size}")
    settings = load_settings(args.config)
    name = _database(settings, args.database)
    registry = build_registry(settings)
    policy = SecurityPolicy(registry, Workflows.build(settings.workflows, registry))
    db = _open(settings, name, read_only=False)
    try:
        with contextlib.ExitStack() as stack:
            source: IO[bytes] = (
                sys.stdin.buffer if args.file == "-" else stack.enter_context(open(args.file, "rb"))
            )
            done = import_container(
                db,
                target=args.container,
                source=source,
                registry=registry,
                policy=policy,
                replace=args.replace,
                batch=args.batch_size,
                report=_Printer(),
            )
    except FileNotFoundError:
        raise ConfigError(f"no such file: {args.file}") from None
    except (ArchiveError, AlreadyExists) as exc:
        raise ConfigError(f"{args.file}: {exc.message}; nothing was imported") from None
    finally:
        db.close()
    counts = done.counts
    print(
        f"{done.path}: {counts.objects} objects, {counts.blobs} files ({counts.blob_bytes} "
        f"bytes), {counts.users} users, {counts.groups} groups imported in "
        f"{duration(done.seconds)}"
    )
    return 0

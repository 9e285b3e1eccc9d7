"""Online backups of a FileStorage and its blobs, and their restore.

The ``.fs`` file goes through ZODB's repozo (``ZODB.scripts.repozo``, called in-process): a
full backup copies the file up to the end of its last complete transaction, an incremental
one copies what was appended since the previous backup (a FileStorage only appends, until a
pack rewrites it: repozo then notices and makes a full one), gzipped. Incrementals use
repozo's quick check (``-Q``): the last piece's checksum against the same bytes of the file,
not a re-read of every backup and of the whole file (which made an hourly incremental of a
200 MB file as slow as a full backup). It reads the file
while the server keeps writing: the position it stops at is the end of the last committed
transaction when it looked, so the copy is a consistent database as of that transaction.

The blobs are not in the file. A blob file is written (renamed into the blob directory)
before the transaction that references it is written to the ``.fs``, and never changed
afterwards. So the blob directory is copied *after* repozo has finished: every blob a backed
up transaction references is there by then. Each backup's blobs are a snapshot directory
``blobs/<stamp>`` named like the repozo file it goes with; a file the previous snapshot
already has is hard-linked to it rather than copied (blobs are immutable), so an incremental
backup costs the new blobs only, and every snapshot is still complete on its own. A full
backup copies everything, so it shares no inode with older backups.

A repository (the DEST of ``baobab backup``, per database)::

    2026-12-03-01-00-00.fsz  .dat  .index       repozo's full backup
    2026-12-03-02-00-00.deltafsz  .index        repozo's incrementals
    blobs/2026-12-03-01-00-00/…                 the blob snapshot of each
    blobs/2026-12-03-02-00-00/…

A restore asks repozo for the file as of a date (the last backup at or before it), then
copies that backup's blob snapshot; both are written beside the target under temporary names
and renamed into place once complete.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ZODB.scripts import repozo

from baobab.database.footprint import directory_bytes
from baobab.database.maintenance import maintenance_lock
from baobab.database.storage import filestorage_in_use
from baobab.errors import BackupError

__all__ = [
    "BackupResult",
    "RestoreResult",
    "backup_filestorage",
    "repozo_date",
    "restore_filestorage",
]

Report = Callable[[str], None]

BLOBS = "blobs"
_PART = ".part"
_STAMP = re.compile(r"^\d{4}(-\d\d){5}$")
_REPOZO_DATE = re.compile(r"^\d{4}-\d\d-\d\d(-\d\d){0,3}$")


@dataclass(frozen=True, slots=True)
class BackupResult:
    database: str
    kind: str  # "full", "incremental", "unchanged" (FileStorage); "dump" (PostgreSQL)
    path: Path  # the file this backup wrote (or the newest one, when unchanged)
    bytes_written: int
    blob_files: int = 0
    blobs_copied: int = 0
    blobs_linked: int = 0
    blob_bytes_copied: int = 0
    seconds: float = 0.0


@dataclass(frozen=True, slots=True)
class RestoreResult:
    database: str
    source: Path  # the last backup file used
    bytes_restored: int
    blob_files: int
    seconds: float


def repozo_date(value: str) -> str:
    """A restore date as repozo takes it (UTC ``yyyy-mm-dd[-hh[-mm[-ss]]]``), from that form
    or an ISO 8601 date-time (with an offset, or taken as UTC)."""
    if _REPOZO_DATE.match(value):
        return value
    try:
        when = dt.datetime.fromisoformat(value)
    except ValueError:
        raise BackupError(
            f"--date {value!r}: write a UTC date as yyyy-mm-dd[-hh[-mm[-ss]]] or ISO 8601"
        ) from None
    if when.tzinfo is not None:
        when = when.astimezone(dt.UTC)
    return when.strftime("%Y-%m-%d-%H-%M-%S")


def _data_files(repository: Path) -> list[str]:
    if not repository.is_dir():
        return []
    return sorted(n for n in os.listdir(repository) if repozo.is_data_file(n))


def _stem(name: str) -> str:
    return name.split(".", 1)[0]


def _options(argv: list[str]) -> Any:
    try:
        return repozo.parseargs(argv)
    except SystemExit as exc:  # repozo's usage(): our own arguments, so a bug if it happens
        raise BackupError(f"repozo refused its arguments {argv}: {exc}") from None


def _wait_for_new_second(repository: Path) -> None:
    """repozo names files by the second; two backups in one second would collide."""
    now = time.strftime("%Y-%m-%d-%H-%M-%S", time.gmtime())
    if any(_stem(n) == now for n in _data_files(repository)):
        time.sleep(1.05 - (time.time() % 1))


def backup_filestorage(
    name: str,
    fs_path: Path,
    blob_dir: Path,
    repository: Path,
    *,
    full: bool = False,
    report: Report | None = None,
) -> BackupResult:
    """Back up database ``name`` (``fs_path`` and ``blob_dir``) into ``repository``, while a
    server may be writing to it."""
    say = report or (lambda _line: None)
    if not fs_path.exists():
        raise BackupError(f"{fs_path} does not exist: nothing to back up for {name!r}")
    start = time.monotonic()
    repository.mkdir(parents=True, exist_ok=True)
    with maintenance_lock(fs_path, "a backup"):
        _wait_for_new_second(repository)
        before = set(_data_files(repository))
        # -Q: an incremental checks only the last backed-up piece against the file (its
        # checksum in the .dat) instead of re-reading every backup and the whole file
        argv = ["-B", "-z", "-Q", "-r", str(repository), "-f", str(fs_path)]
        argv += ["-F"] if full else []
        say(f"{name}: repozo {'full ' if full else ''}backup of {fs_path}")
        try:
            repozo.do_backup(_options(argv))
        except (repozo.RepozoError, OSError) as exc:
            raise BackupError(f"{name}: repozo could not back up {fs_path}: {exc}") from None
        files = _data_files(repository)
        new = [n for n in files if n not in before]
        newest = files[-1]
        kind = "unchanged"
        if new:
            kind = "incremental" if ".delta" in newest else "full"
        written = (repository / newest).stat().st_size if new else 0
        if kind == "unchanged":
            say(f"{name}: no transaction since {newest}")
        else:
            say(f"{name}: {kind} backup {newest} ({written} bytes); copying the blobs")
        snapshot = repository / BLOBS / _stem(newest)
        copied = linked = copied_bytes = 0
        if not snapshot.is_dir():
            copied, linked, copied_bytes = _snapshot_blobs(blob_dir, snapshot, link=kind != "full")
        blob_files, _ = directory_bytes(snapshot)
    return BackupResult(
        database=name,
        kind=kind,
        path=repository / newest,
        bytes_written=written,
        blob_files=blob_files,
        blobs_copied=copied,
        blobs_linked=linked,
        blob_bytes_copied=copied_bytes,
        seconds=time.monotonic() - start,
    )


def _previous_snapshot(blobs: Path, stamp: str) -> Path | None:
    if not blobs.is_dir():
        return None
    older = sorted(p.name for p in blobs.iterdir() if _STAMP.match(p.name) and p.name < stamp)
    return blobs / older[-1] if older else None


def _snapshot_blobs(blob_dir: Path, snapshot: Path, *, link: bool) -> tuple[int, int, int]:
    """Copy the committed blob files of ``blob_dir`` into ``snapshot`` (made under a
    temporary name, renamed when complete); ``link``: hard-link what the previous snapshot
    has. (files copied, files linked, bytes copied)."""
    previous = _previous_snapshot(snapshot.parent, snapshot.name) if link else None
    part = snapshot.with_name(snapshot.name + _PART)
    if part.exists():
        shutil.rmtree(part)  # a backup that died half way
    part.mkdir(parents=True)
    copied = linked = copied_bytes = 0
    for top, dirs, found in os.walk(blob_dir):
        rel = os.path.relpath(top, blob_dir)
        names = found
        if rel == ".":
            dirs[:] = [d for d in dirs if d != "tmp"]  # blobs of transactions not committed
            names = [n for n in found if n == ".layout" or not n.startswith(".")]
        target_dir = part / rel
        target_dir.mkdir(parents=True, exist_ok=True)
        for file_name in names:
            source = Path(top, file_name)
            target = target_dir / file_name
            old = previous / rel / file_name if previous is not None else None
            try:
                if _linked(old, source, target):
                    linked += not file_name.startswith(".")
                else:
                    shutil.copy2(source, target)
                    if not file_name.startswith("."):  # counted like directory_bytes
                        copied += 1
                        copied_bytes += target.stat().st_size
            except FileNotFoundError:
                continue  # an aborted upload's file, gone since the walk listed it
    os.rename(part, snapshot)
    return copied, linked, copied_bytes


def _linked(old: Path | None, source: Path, target: Path) -> bool:
    """Hard-link ``target`` to the previous snapshot's copy of the same blob, if there is
    one (a blob's path names its object and transaction: same path, same bytes; the size is
    checked all the same). False when it must be copied: no previous copy, or a link refused
    (another file system, the file system's limit of links per file)."""
    if old is None or not old.exists() or old.stat().st_size != source.stat().st_size:
        return False
    try:
        os.link(old, target)
    except OSError as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        return False
    return True


def restore_filestorage(
    name: str,
    repository: Path,
    fs_path: Path,
    blob_dir: Path,
    *,
    date: str | None = None,
    force: bool = False,
    report: Report | None = None,
) -> RestoreResult:
    """Write database ``name``'s ``fs_path`` and ``blob_dir`` afresh from ``repository`` as
    of ``date`` (UTC, repozo's form; default: the latest backup). An existing database is
    replaced only with ``force``, and never while a server holds it."""
    say = report or (lambda _line: None)
    start = time.monotonic()
    if not _data_files(repository):
        raise BackupError(f"{repository} holds no repozo backup of database {name!r}")
    if filestorage_in_use(fs_path):
        raise BackupError(f"{fs_path} is held by a running server: stop it before restoring")
    if (fs_path.exists() or _has_blobs(blob_dir)) and not force:
        raise BackupError(
            f"{fs_path} (or its blobs in {blob_dir}) exists: restore into a fresh var_dir, or "
            "stop the server and pass --force to replace it"
        )
    fs_path.parent.mkdir(parents=True, exist_ok=True)
    argv = ["-R", "-w", "-r", str(repository), "-o", str(fs_path) + ".restoring"]
    options = _options(argv + (["-D", date] if date else []))
    found = repozo.find_files(options)
    if not found:
        raise BackupError(f"{repository} holds no backup of {name!r} at or before {date}")
    last = Path(found[-1])
    snapshot = repository / BLOBS / _stem(last.name)
    if not snapshot.is_dir():
        raise BackupError(
            f"{snapshot} is missing: the backup {last.name} did not finish copying its blobs; "
            "restore an earlier one with --date"
        )
    say(f"{name}: restoring {last.name} ({len(found)} file(s)) into {fs_path}")
    try:
        repozo.do_recover(options)
    except (repozo.RepozoError, OSError) as exc:
        raise BackupError(f"{name}: repozo could not restore from {repository}: {exc}") from None
    say(f"{name}: copying the blobs of {snapshot.name} into {blob_dir}")
    staged_blobs = blob_dir.with_name(blob_dir.name + ".restoring")
    if staged_blobs.exists():
        shutil.rmtree(staged_blobs)
    shutil.copytree(snapshot, staged_blobs)
    _replace(fs_path, blob_dir, staged_blobs)
    blob_files, _ = directory_bytes(blob_dir)
    return RestoreResult(
        database=name,
        source=last,
        bytes_restored=fs_path.stat().st_size,
        blob_files=blob_files,
        seconds=time.monotonic() - start,
    )


def _has_blobs(blob_dir: Path) -> bool:
    return blob_dir.is_dir() and any(p.name not in (".layout", "tmp") for p in blob_dir.iterdir())


def _replace(fs_path: Path, blob_dir: Path, staged_blobs: Path) -> None:
    """Put the restored file, its index and blobs in place of whatever was there."""
    for suffix in (".index", ".tmp", ".lock"):
        Path(f"{fs_path}{suffix}").unlink(missing_ok=True)
    os.replace(f"{fs_path}.restoring", fs_path)
    index = Path(f"{fs_path}.restoring.index")
    if index.exists():
        os.replace(index, f"{fs_path}.index")
    if blob_dir.exists():
        shutil.rmtree(blob_dir)
    blob_dir.parent.mkdir(parents=True, exist_ok=True)
    os.rename(staged_blobs, blob_dir)

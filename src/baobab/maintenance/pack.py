"""Packing a database: what a pack reclaims, done the same way from the CLI and ``@pack``.

One pack is four steps:

1. Expired TUS uploads are dropped from the database's upload tree (``baobab.uploads``):
   the parts of an upload nobody finished are blobs only their record references, so once
   the record is gone the pack's garbage collection takes them. (Uploads drop a few expired
   records on each creation; this sweeps the whole tree.)
2. Spool files no request holds (what a crashed process left in the spool directory) and
   older than :data:`SPOOL_AGE` are removed; a live upload's file is locked and kept.
3. ``DB.pack(days=N)``. FileStorage copies the revisions still needed to a new file (the
   current revision of every reachable object, and every revision younger than N days)
   while the server keeps committing, then swaps it in under the commit lock; with a blob
   directory it removes the blob files of the revisions and objects it dropped — the files
   of deleted objects and of expired uploads. RelStorage on a history-free database keeps
   no old revisions: its pack is the garbage collection of unreachable objects
   (``pack_gc``), their rows and blob chunks deleted in batches while servers run.
4. The footprint is measured before and after (:mod:`baobab.database.footprint`).

A process packs one database at a time: a second pack while one runs raises
:class:`~baobab.errors.MaintenanceRunning` (409 over HTTP).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import ZODB

from baobab.blobs.spool import clean_spool
from baobab.config.settings import Settings
from baobab.content.uploads import UPLOADS_KEY
from baobab.database.footprint import (
    Footprint,
    filestorage_footprint,
    human_bytes,
    postgresql_footprint,
)
from baobab.database.maintenance import maintenance_lock
from baobab.database.storage import filestorage_blob_path, filestorage_path
from baobab.database.transactions import run_in_transaction
from baobab.errors import MaintenanceRunning

__all__ = ["SPOOL_AGE", "PackResult", "exclusive", "expire_uploads", "footprint", "pack"]

SPOOL_AGE = 3600.0  # seconds: an unlocked spool file older than this is a crash's leftover
_BATCH = 500  # expired upload records dropped per transaction

Report = Callable[[str], None]

_running: set[str] = set()
_running_lock = threading.Lock()


@contextlib.contextmanager
def exclusive(name: str) -> Iterator[None]:
    """Hold database ``name``'s pack slot in this process; 409 if a pack holds it."""
    with _running_lock:
        if name in _running:
            raise MaintenanceRunning(
                f"A pack of database {name!r} is already running; try again when it is done",
                details={"database": name},
            )
        _running.add(name)
    try:
        yield
    finally:
        with _running_lock:
            _running.discard(name)


@dataclass(frozen=True, slots=True)
class PackResult:
    database: str
    storage: str
    days: float
    before: Footprint
    after: Footprint
    uploads_expired: int
    spool_files_removed: int
    seconds: float

    @property
    def reclaimed(self) -> int:
        return self.before.bytes - self.after.bytes

    def as_json(self) -> dict[str, Any]:
        return {
            "database": self.database,
            "storage": self.storage,
            "days": self.days,
            "bytes_before": self.before.bytes,
            "bytes_after": self.after.bytes,
            "reclaimed": self.reclaimed,
            "before": self.before.parts,
            "after": self.after.parts,
            "uploads_expired": self.uploads_expired,
            "spool_files_removed": self.spool_files_removed,
            "seconds": round(self.seconds, 3),
        }


def footprint(settings: Settings, name: str) -> Footprint:
    """Database ``name``'s footprint (an empty one for a memory storage)."""
    db = settings.databases[name]
    if db.storage == "filestorage":
        var = settings.var_path
        return filestorage_footprint(
            filestorage_path(name, db, var), filestorage_blob_path(name, db, var)
        )
    if db.storage == "postgresql" and db.dsn:
        return postgresql_footprint(db.dsn)
    return Footprint(0, {})


def expire_uploads(db: ZODB.DB, *, retries: int, now: dt.datetime | None = None) -> int:
    """Drop every expired upload record (in batches of :data:`_BATCH`); how many."""
    now = now or dt.datetime.now(dt.UTC)
    dropped = 0
    while True:

        def work(conn: Any) -> tuple[int, bool]:
            tree = conn.root().get(UPLOADS_KEY)
            if tree is None:
                return 0, False
            gone = []
            for key, upload in tree.items():
                if upload.expired(now):
                    gone.append(key)
                    if len(gone) >= _BATCH:
                        break
            for key in gone:
                del tree[key]
            return len(gone), bool(gone)

        batch = run_in_transaction(db, work, retries=retries)
        dropped += batch
        if batch < _BATCH:
            return dropped


def pack(
    settings: Settings,
    name: str,
    db: ZODB.DB,
    *,
    days: float = 0,
    report: Report | None = None,
) -> PackResult:
    """Pack database ``name`` (open as ``db``) to ``days`` days ago; the figures.

    ``report`` hears one line per step (the CLI shows them, the server logs them). Blocking
    for as long as the pack takes: run it off the event loop."""
    say = report or (lambda _line: None)
    options = settings.databases[name]
    storage = options.storage
    with contextlib.ExitStack() as held:
        held.enter_context(exclusive(name))
        if storage == "filestorage":
            path = filestorage_path(name, options, settings.var_path)
            held.enter_context(maintenance_lock(path, "a pack"))
        start = time.monotonic()
        before = footprint(settings, name)
        say(f"{name}: {storage}, {human_bytes(before.bytes)} before the pack")
        expired = expire_uploads(db, retries=settings.request.conflict_retries)
        say(f"{name}: {expired} expired upload(s) dropped")
        spooled = clean_spool(settings.spool_path, older_than=SPOOL_AGE)
        if spooled:
            say(f"{name}: {spooled} abandoned spool file(s) removed")
        say(f"{name}: packing (revisions older than {days:g} day(s), unreachable objects)")
        db.pack(days=days)
        after = footprint(settings, name)
        return PackResult(
            database=name,
            storage=storage,
            days=days,
            before=before,
            after=after,
            uploads_expired=expired,
            spool_files_removed=spooled,
            seconds=time.monotonic() - start,
        )

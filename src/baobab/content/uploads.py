"""Resumable (TUS 1.0) uploads in the database: one :class:`TusUpload` record per upload.

An unfinished upload is a persistent record in the database's ``baobab.uploads`` tree, and
each PATCH's bytes but the last are a committed blob part of their own: nothing lives in one
process's memory or local files, so a PATCH may reach any instance sharing the database. The
PATCH that completes the upload joins the parts with its own body (a single-PATCH upload makes
no part at all: its spool file becomes the file). A completed record stays until it expires,
so a client whose last answer was lost learns from HEAD that it is done.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from typing import Any

from BTrees.OOBTree import OOBTree
from persistent import Persistent
from ZODB.blob import Blob

__all__ = ["UPLOADS_KEY", "TusUpload", "purge_expired", "uploads"]

UPLOADS_KEY = "baobab.uploads"  # the ZODB root mapping key of a database's upload tree
_PURGE_SCAN = 200  # records looked at per creation, from a random point


def uploads(conn: Any) -> OOBTree:
    """The database's tree of upload records (made at start-up, see asgi.state)."""
    tree: OOBTree = conn.root()[UPLOADS_KEY]
    return tree


class TusUpload(Persistent):
    """One upload: where it goes, who sends it, the parts received so far, and once complete
    the URL of the object holding the file."""

    def __init__(
        self,
        *,
        length: int,
        metadata: dict[str, str],
        raw_metadata: str,
        owner: str,
        context_uid: str,
        field: str | None,
        expiry: int,
    ) -> None:
        self.id = uuid.uuid4().hex
        self.length = length
        self.offset = 0
        self.metadata = metadata
        self.raw_metadata = raw_metadata
        self.owner = owner
        self.context_uid = context_uid
        self.field = field  # the file field to replace; None: a new child is created
        self.created = dt.datetime.now(dt.UTC)
        self.expires = self.created + dt.timedelta(seconds=expiry)
        self.parts: tuple[Blob, ...] = ()
        self.location: str | None = None  # set when complete

    @property
    def complete(self) -> bool:
        return self.location is not None

    def finish(self, location: str) -> None:
        """Complete: the parts are in the file now (they go at the next pack)."""
        self.offset = self.length
        self.parts = ()
        self.location = location

    def expired(self, now: dt.datetime | None = None) -> bool:
        return (now or dt.datetime.now(dt.UTC)) >= self.expires

    def append(self, blob: Blob, size: int) -> None:
        """A new part of ``size`` bytes (replaced, never mutated: persistence sees it)."""
        self.parts = (*self.parts, blob)
        self.offset += size


def purge_expired(tree: OOBTree, now: dt.datetime | None = None) -> int:
    """Drop the expired uploads among a few records from a random point (each creation
    sweeps a little, so the tree never grows with dead records and no creation walks it
    all); their blobs go at the next pack. How many were dropped."""
    now = now or dt.datetime.now(dt.UTC)
    start = uuid.UUID(int=random.getrandbits(128)).hex
    seen = 0
    gone = []
    for keys in (tree.keys(min=start), tree.keys(max=start, excludemax=True)):
        for key in keys:
            if seen >= _PURGE_SCAN:
                break
            seen += 1
            if tree[key].expired(now):
                gone.append(key)
    for key in gone:
        del tree[key]
    return len(gone)

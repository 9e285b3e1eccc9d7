"""The state of resumable (TUS 1.0) uploads, kept in the database.

An unfinished upload is a persistent :class:`TusUpload` in the database's ``baobab.uploads``
tree, and each PATCH's bytes are a committed blob of their own: nothing lives in one
process's memory or local files, so a PATCH may reach any instance sharing the database.
Completing an upload joins the parts into one file (no join when there is one part, the
usual case: its blob simply becomes the file's).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import os
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from BTrees.OOBTree import OOBTree
from persistent import Persistent
from ZODB.blob import Blob

from baobab.blobs.spool import Spooled, new_spool_file
from baobab.errors import BadRequest

__all__ = [
    "UPLOADS_KEY",
    "TusUpload",
    "join_files",
    "parse_metadata",
    "purge_expired",
    "uploads",
]

UPLOADS_KEY = "baobab.uploads"  # the ZODB root mapping key of a database's upload tree
_PURGE_BATCH = 50


def parse_metadata(header: str | None) -> dict[str, str]:
    """``Upload-Metadata: key base64,key2 base64``: the decoded pairs (400 when malformed)."""
    out: dict[str, str] = {}
    for item in (header or "").split(","):
        pair = item.strip()
        if not pair:
            continue
        key, _, value = pair.partition(" ")
        if not key or " " in value.strip() or key in out:
            raise BadRequest("Upload-Metadata: write each pair as `key base64value`, once")
        try:
            out[key] = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, ValueError):
            raise BadRequest(f"Upload-Metadata: the value of {key!r} is not base64 UTF-8") from None
    return out


def uploads(conn: Any) -> OOBTree:
    """The database's tree of unfinished uploads (made at start-up, see asgi.state)."""
    tree: OOBTree = conn.root()[UPLOADS_KEY]
    return tree


class TusUpload(Persistent):
    """One unfinished upload: where it goes, who sends it, and the parts received so far."""

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

    def expired(self, now: dt.datetime | None = None) -> bool:
        return (now or dt.datetime.now(dt.UTC)) >= self.expires

    def append(self, blob: Blob, size: int) -> None:
        """A new part of ``size`` bytes (replaced, never mutated: persistence sees it)."""
        self.parts = (*self.parts, blob)
        self.offset += size


def purge_expired(tree: OOBTree, now: dt.datetime | None = None) -> int:
    """Drop up to a batch of expired uploads (their blobs go at the next pack); how many."""
    now = now or dt.datetime.now(dt.UTC)
    gone = [key for key, upload in tree.items() if upload.expired(now)][:_PURGE_BATCH]
    for key in gone:
        del tree[key]
    return len(gone)


def join_files(paths: Sequence[str], directory: Path) -> Spooled:
    """One new spool file holding ``paths`` end to end, and its SHA-256 (run off the loop)."""
    fd, target = new_spool_file(directory)
    digest = hashlib.sha256()
    size = 0
    try:
        with os.fdopen(os.dup(fd), "wb") as out:
            for path in paths:
                with open(path, "rb") as part:
                    while chunk := part.read(1 << 20):
                        digest.update(chunk)
                        out.write(chunk)
                        size += len(chunk)
    except BaseException:
        target.unlink(missing_ok=True)
        os.close(fd)
        raise
    return Spooled(target, size, digest.digest(), fd=fd)

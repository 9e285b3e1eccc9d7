"""Streaming a request body into a spool file, on the event loop, with limits and checks.

An upload is read chunk by chunk as the server hands it over and appended to a file in the
spool directory (beside the blob directory, so committing it is ``Blob.consumeFile``: a
rename, not a copy). Memory holds one chunk at a time. Whatever goes wrong — the client
disconnects, the body grows past the limit or is shorter than announced, the checksum does not
match, the disk is full — the spool file is removed before the error leaves, so a failed upload
leaves nothing behind. Files a crash left behind are removed at start-up (:func:`clean_spool`).

Writes go to the page cache and are not synced here (the commit that consumes the file does);
a chunk costs microseconds, so they run on the loop rather than paying a thread hop each.
"""

from __future__ import annotations

import errno
import hashlib
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

from baobab.errors import (
    BadRequest,
    ChecksumMismatch,
    ClientDisconnected,
    InsufficientStorage,
    PayloadTooLarge,
)
from baobab.types import Receive

__all__ = ["SPOOL_SUFFIX", "Spooled", "clean_spool", "spool_body"]

SPOOL_SUFFIX = ".spool"
_NO_SPACE = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


@dataclass(frozen=True)
class Spooled:
    """A complete body on disk: its path (the caller consumes or removes it), size, SHA-256."""

    path: Path
    size: int
    sha256: bytes


def _too_large(limit: int, size: int | None = None) -> PayloadTooLarge:
    said = f"The body is {size} bytes" if size is not None else "The body is too large"
    return PayloadTooLarge(f"{said}; at most {limit} are accepted", details={"limit": limit})


class _Digest(Protocol):
    def update(self, data: bytes, /) -> None: ...


async def _copy(receive: Receive, out: BinaryIO, limit: int, digest: _Digest) -> int:
    size = 0
    write, update = out.write, digest.update
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnected
        chunk = message.get("body", b"")
        if chunk:
            size += len(chunk)
            if size > limit:
                raise _too_large(limit)
            update(chunk)
            write(chunk)
        if not message.get("more_body", False):
            return size


async def spool_body(
    receive: Receive,
    directory: Path,
    *,
    limit: int,
    declared: int | None = None,
    sha256: bytes | None = None,
) -> Spooled:
    """Stream the request body into a new file in ``directory``.

    ``declared`` (Content-Length) beyond ``limit`` is refused before reading (413); so is a
    body that grows past it while reading. A body shorter or longer than ``declared`` is a
    400, one that does not hash to ``sha256`` a 460, a full disk a 507 — and in every case,
    disconnects included, the file is gone when the error is raised.
    """
    if declared is not None and declared > limit:
        raise _too_large(limit, declared)
    directory.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix="upload-", suffix=SPOOL_SUFFIX, dir=directory)
    path = Path(name)
    digest = hashlib.sha256()
    try:
        with os.fdopen(fd, "wb") as out:
            size = await _copy(receive, out, limit, digest)
        if declared is not None and size != declared:
            raise BadRequest(
                f"The body has {size} bytes, Content-Length said {declared}",
                details={"received": size, "declared": declared},
            )
        if sha256 is not None and digest.digest() != sha256:
            raise ChecksumMismatch(details={"sha256": digest.hexdigest()})
    except OSError as exc:
        path.unlink(missing_ok=True)
        if exc.errno in _NO_SPACE:
            raise InsufficientStorage(
                "Not enough storage to keep the upload", details={"error": exc.strerror}
            ) from None
        raise
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return Spooled(path, size, digest.digest())


def clean_spool(directory: Path, older_than: float = 0.0) -> int:
    """Remove spool files at least ``older_than`` seconds old (a crash's leftovers); how many."""
    if not directory.is_dir():
        return 0
    cutoff = time.time() - older_than
    removed = 0
    for entry in directory.glob(f"*{SPOOL_SUFFIX}"):
        try:
            if entry.stat().st_mtime <= cutoff:
                entry.unlink()
                removed += 1
        except FileNotFoundError:  # removed meanwhile by its own request
            continue
    return removed

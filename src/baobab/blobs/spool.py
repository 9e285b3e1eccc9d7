"""Streaming a request body into a spool file, on the event loop, with limits and checks.

An upload is read chunk by chunk as the server hands it over and appended to a file in the
spool directory (beside the blob directory, so committing it is ``Blob.consumeFile``: a
rename, not a copy). Memory holds one chunk at a time. Whatever goes wrong — the client
disconnects, the body grows past the limit or is shorter than announced, the checksum does not
match, the disk is full — the spool file is removed before the error leaves, so a failed upload
leaves nothing behind. The one exception is asked for: ``keep_partial`` (TUS) keeps what
arrived before a disconnect, so the client resumes from there.

Each spool file is held under an exclusive ``flock`` for as long as its request lives; files
a crash left behind hold no lock, and :func:`clean_spool` (run at start-up) removes exactly
those, so a worker starting beside busy ones never takes their uploads away.

Writes go to the page cache and are not synced here (the commit that consumes the file does);
a chunk costs microseconds, so they run on the loop rather than paying a thread hop each.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import os
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from baobab.blobs.checksums import Checksum
from baobab.errors import (
    BadRequest,
    ChecksumMismatch,
    IncompleteBody,
    InsufficientStorage,
    PayloadTooLarge,
)
from baobab.types import Receive

__all__ = [
    "SPOOL_SUFFIX",
    "Spooled",
    "check_body",
    "clean_spool",
    "discarding",
    "hashers",
    "new_spool_file",
    "spool_body",
    "spool_bytes",
    "stream_body",
    "too_large",
]

SPOOL_SUFFIX = ".spool"
_NEW_SUFFIX = ".spool-new"  # made, not locked yet: left behind only by a crash in between
_NO_SPACE = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


@dataclass
class Spooled:
    """A body on disk: its path (consumed by a commit, or removed by :meth:`release`), size
    and SHA-256; ``partial`` when the client went away first (kept only if asked)."""

    path: Path
    size: int
    sha256: bytes
    partial: bool = False
    fd: int | None = field(default=None, repr=False, compare=False)

    def release(self) -> None:
        """End the request's hold: unlock, and remove the file unless a commit consumed it."""
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
        self.path.unlink(missing_ok=True)


def too_large(limit: int, size: int | None = None) -> PayloadTooLarge:
    said = f"The body is {size} bytes" if size is not None else "The body is too large"
    return PayloadTooLarge(f"{said}; at most {limit} are accepted", details={"limit": limit})


def new_spool_file(directory: Path) -> tuple[int, Path]:
    """A new, empty spool file held under an exclusive lock: ``(fd, path)``.

    It is made under another suffix and renamed once locked, so :func:`clean_spool` never
    sees a live spool file without its lock.
    """
    directory.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix="upload-", suffix=_NEW_SUFFIX, dir=directory)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a new file: nobody else holds it
    path = Path(name[: -len(_NEW_SUFFIX)] + SPOOL_SUFFIX)
    os.rename(name, path)
    return fd, path


async def stream_body(
    receive: Receive,
    sink: Callable[[bytes], object],
    limit: int,
    digests: Sequence[hashlib._Hash] = (),
) -> int:
    """Feed the request body to ``sink`` and ``digests`` chunk by chunk; its size. 413 past
    ``limit``."""
    size = 0
    updates = [digest.update for digest in digests]
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise IncompleteBody(details={"received": size})
        chunk = message.get("body", b"")
        if chunk:
            size += len(chunk)
            if size > limit:
                raise too_large(limit)
            for update in updates:
                update(chunk)
            sink(chunk)
        if not message.get("more_body", False):
            return size


def no_space(exc: OSError) -> InsufficientStorage | None:
    """The 507 for a full disk (or a file too large for it), else None."""
    if exc.errno in _NO_SPACE:
        return InsufficientStorage(
            "Not enough storage to keep the upload", details={"error": exc.strerror}
        )
    return None


def check_body(
    size: int, declared: int | None, checksum: Checksum | None, computed: hashlib._Hash | None
) -> None:
    """400 if the body is not ``declared`` bytes long, 460 if it does not match ``checksum``
    (``computed`` is the hash of the same algorithm)."""
    if declared is not None and size != declared:
        raise BadRequest(
            f"The body has {size} bytes, Content-Length said {declared}",
            details={"received": size, "declared": declared},
        )
    if checksum is not None and computed is not None and computed.digest() != checksum.digest:
        raise ChecksumMismatch(details={checksum.algorithm: computed.hexdigest()})


def hashers(checksum: Checksum | None, own: hashlib._Hash | None) -> list[hashlib._Hash]:
    """The hashes to run over a body: ``own`` (the file's SHA-256), and the checksum's
    algorithm when it is another one; the one to compare is last."""
    out = [own] if own is not None else []
    if checksum is not None and (own is None or checksum.algorithm != own.name):
        out.append(checksum.hasher())
    return out


async def spool_body(
    receive: Receive,
    directory: Path,
    *,
    limit: int,
    declared: int | None = None,
    checksum: Checksum | None = None,
    keep_partial: bool = False,
) -> Spooled:
    """Stream the request body into a new, locked file in ``directory``.

    ``declared`` (Content-Length) beyond ``limit`` is refused before reading (413); so is a
    body that grows past it while reading. A body shorter or longer than ``declared`` is a
    400, one that does not match ``checksum`` a 460, a full disk a 507 — and in every case,
    disconnects included, the file is gone when the error is raised. With ``keep_partial``
    (and no checksum to verify), a disconnect returns what arrived, marked ``partial``.
    """
    if declared is not None and declared > limit:
        raise too_large(limit, declared)
    fd, path = new_spool_file(directory)
    digest = hashlib.sha256()
    digests = hashers(checksum, digest)
    with discarding(lambda: _discard(fd, path)):
        with os.fdopen(os.dup(fd), "wb") as out:
            try:
                size = await stream_body(receive, out.write, limit, digests)
            except IncompleteBody as gone:
                if not keep_partial or checksum is not None:
                    raise
                out.flush()
                return Spooled(path, gone.details["received"], digest.digest(), True, fd)
        check_body(size, declared, checksum, digests[-1])
    return Spooled(path, size, digest.digest(), False, fd)


@contextlib.contextmanager
def discarding(discard: Callable[[], None]) -> Iterator[None]:
    """Run ``discard`` (remove what was spooled) if the block fails, whatever the failure;
    a full disk leaves as the 507."""
    try:
        yield
    except OSError as exc:
        discard()
        full = no_space(exc)
        if full is not None:
            raise full from None
        raise
    except BaseException:
        discard()
        raise


def spool_bytes(body: bytes, directory: Path) -> Spooled:
    """A body already in memory (small: under the JSON limit), as a spool file."""
    fd, path = new_spool_file(directory)
    with discarding(lambda: _discard(fd, path)):
        os.write(fd, body)
    return Spooled(path, len(body), hashlib.sha256(body).digest(), fd=fd)


def _discard(fd: int, path: Path) -> None:
    path.unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        os.close(fd)


def clean_spool(directory: Path, older_than: float = 0.0) -> int:
    """Remove the spool files no request holds (a crash's leftovers) that are at least
    ``older_than`` seconds old; how many."""
    if not directory.is_dir():
        return 0
    cutoff = time.time() - older_than
    removed = 0
    for entry in directory.glob(f"*{_NEW_SUFFIX}"):  # a crash between create and lock
        with contextlib.suppress(FileNotFoundError):
            if entry.stat().st_mtime <= time.time() - 60:
                entry.unlink()
                removed += 1
    for entry in directory.glob(f"*{SPOOL_SUFFIX}"):
        try:
            fd = os.open(entry, os.O_RDONLY)
        except FileNotFoundError:  # removed meanwhile by its own request
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # held: a live request's upload
            if os.fstat(fd).st_mtime <= cutoff:
                entry.unlink(missing_ok=True)
                removed += 1
        except BlockingIOError:
            continue
        finally:
            os.close(fd)
    return removed

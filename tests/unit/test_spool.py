"""Streaming bodies to spool files: limits, checks, disconnects, full disks, leftovers."""

from __future__ import annotations

import fcntl
import hashlib
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterable
from pathlib import Path

import pytest

from baobab.blobs import SPOOL_SUFFIX, clean_spool, spool_body
from baobab.blobs.checksums import Checksum
from baobab.blobs.spool import new_spool_file
from baobab.errors import (
    BadRequest,
    ChecksumMismatch,
    IncompleteBody,
    PayloadTooLarge,
)
from baobab.types import Message, Receive

CHUNK = b"x" * 65536


def body(chunks: Iterable[bytes], disconnect: bool = False) -> Receive:
    """An ASGI receive() handing over ``chunks`` (then a disconnect, if asked)."""
    items = list(chunks)

    async def receive() -> Message:
        if items:
            chunk = items.pop(0)
            return {"type": "http.request", "body": chunk, "more_body": bool(items) or disconnect}
        return {"type": "http.disconnect"}

    return receive


def spooled_files(directory: Path) -> list[Path]:
    return sorted(directory.glob(f"*{SPOOL_SUFFIX}")) if directory.exists() else []


async def test_streams_to_a_file_with_size_and_sha256(tmp_path: Path) -> None:
    chunks = [CHUNK] * 20 + [b"tail"]
    data = b"".join(chunks)
    done = await spool_body(body(chunks), tmp_path, limit=10 << 20, declared=len(data))
    assert done.path.parent == tmp_path and done.path.name.endswith(SPOOL_SUFFIX)
    assert done.path.read_bytes() == data
    assert done.size == len(data)
    assert done.sha256 == hashlib.sha256(data).digest()


async def test_checksum_verified(tmp_path: Path) -> None:
    data = b"hello world"
    good = hashlib.sha256(data).digest()
    done = await spool_body(body([data]), tmp_path, limit=100, checksum=Checksum("sha256", good))
    assert done.path.read_bytes() == data
    done.path.unlink()
    with pytest.raises(ChecksumMismatch) as info:
        await spool_body(
            body([data]),
            tmp_path,
            limit=100,
            checksum=Checksum("sha256", hashlib.sha256(b"x").digest()),
        )
    assert info.value.details == {"sha256": good.hex()}
    assert spooled_files(tmp_path) == []


async def test_declared_length_over_the_limit_reads_nothing(tmp_path: Path) -> None:
    read = []

    async def receive() -> Message:
        read.append(1)
        return {"type": "http.request", "body": b"x", "more_body": False}

    with pytest.raises(PayloadTooLarge) as info:
        await spool_body(receive, tmp_path, limit=1000, declared=1001)
    assert info.value.details == {"limit": 1000}
    assert read == []
    assert spooled_files(tmp_path) == []


async def test_growing_past_the_limit_mid_stream(tmp_path: Path) -> None:
    with pytest.raises(PayloadTooLarge):
        await spool_body(body([CHUNK] * 4), tmp_path, limit=3 * len(CHUNK) - 1)
    assert spooled_files(tmp_path) == []


@pytest.mark.parametrize("declared", [10, 12])
async def test_body_length_differs_from_content_length(tmp_path: Path, declared: int) -> None:
    with pytest.raises(BadRequest) as info:
        await spool_body(body([b"hello", b" world"]), tmp_path, limit=100, declared=declared)
    assert info.value.details == {"received": 11, "declared": declared}
    assert spooled_files(tmp_path) == []


async def test_disconnect_mid_upload_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(IncompleteBody):
        await spool_body(body([CHUNK] * 3, disconnect=True), tmp_path, limit=1 << 30)
    assert spooled_files(tmp_path) == []


def test_full_disk_is_507_and_leaves_nothing(tmp_path: Path) -> None:
    """A real write failure: the process may not write files over 64 KiB (RLIMIT_FSIZE), so
    the kernel refuses the write with EFBIG, as a full disk refuses with ENOSPC."""
    script = textwrap.dedent(
        f"""
        import asyncio, resource, signal
        from pathlib import Path
        from baobab.blobs import spool_body
        from baobab.errors import InsufficientStorage

        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (65536, 65536))
        chunks = [b"x" * 65536] * 3

        async def receive():
            chunk = chunks.pop(0)
            return {{"type": "http.request", "body": chunk, "more_body": bool(chunks)}}

        async def main():
            try:
                await spool_body(receive, Path({str(tmp_path)!r}), limit=1 << 30)
            except InsufficientStorage as exc:
                print("507", exc.message)

        asyncio.run(main())
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("507 Not enough storage"), done.stdout
    assert spooled_files(tmp_path) == []


def test_clean_spool_removes_old_leftovers_only(tmp_path: Path) -> None:
    old = tmp_path / f"upload-old{SPOOL_SUFFIX}"
    fresh = tmp_path / f"upload-fresh{SPOOL_SUFFIX}"
    other = tmp_path / "keep.txt"
    for path in (old, fresh, other):
        path.write_bytes(b"x")
    an_hour_ago = time.time() - 3600
    os.utime(old, (an_hour_ago, an_hour_ago))
    assert clean_spool(tmp_path, older_than=600) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([fresh.name, other.name])
    assert clean_spool(tmp_path) == 1  # everything spooled, as at start-up
    assert clean_spool(tmp_path / "missing") == 0


def test_a_new_spool_file_is_held_before_clean_spool_can_see_it(tmp_path: Path) -> None:
    """``new_spool_file`` locks the file before it gets its ``.spool`` name: a clean-up
    running meanwhile (another instance starting) never removes a live upload, however old."""
    fd, path = new_spool_file(tmp_path)
    try:
        assert path.name.endswith(SPOOL_SUFFIX)
        assert sorted(tmp_path.iterdir()) == [path]  # no ``.spool-new`` name left
        an_hour_ago = time.time() - 3600
        os.utime(path, (an_hour_ago, an_hour_ago))
        assert clean_spool(tmp_path, older_than=0) == 0
        assert path.exists()
    finally:
        os.close(fd)
    assert clean_spool(tmp_path) == 1  # released: a leftover now
    assert not path.exists()


def test_clean_spool_racing_new_spool_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A start-up clean-up that runs between a spool file's creation and its lock (here, made
    to run right then) leaves it alone: until locked it does not carry the ``.spool`` name."""
    real = fcntl.flock
    found: list[list[str]] = []

    def flock(fd: int, operation: int) -> None:
        if not found:  # the first lock: new_spool_file's own
            found.append(sorted(p.name for p in tmp_path.iterdir()))
            assert clean_spool(tmp_path, older_than=0) == 0
        real(fd, operation)

    monkeypatch.setattr(fcntl, "flock", flock)
    fd, path = new_spool_file(tmp_path)
    try:
        assert found[0][0].endswith(".spool-new")
        assert path.exists()
        assert sorted(tmp_path.iterdir()) == [path]
    finally:
        os.close(fd)


def test_clean_spool_removes_old_unlocked_new_files_only(tmp_path: Path) -> None:
    """A ``.spool-new`` file is left only by a crash between its creation and its lock: one
    older than a minute goes, a fresh one (being locked right now) stays."""
    old = tmp_path / "upload-old.spool-new"
    fresh = tmp_path / "upload-fresh.spool-new"
    for path in (old, fresh):
        path.write_bytes(b"x")
    two_minutes_ago = time.time() - 120
    os.utime(old, (two_minutes_ago, two_minutes_ago))
    assert clean_spool(tmp_path, older_than=0) == 1
    assert sorted(tmp_path.iterdir()) == [fresh]

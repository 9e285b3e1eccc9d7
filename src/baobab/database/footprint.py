"""How much room a database takes, measured the same way before and after a pack.

FileStorage: the bytes of the ``.fs`` file and of the blob files beside it; both shrink on
disk as soon as the pack has run. PostgreSQL (RelStorage, history-free): the rows and bytes of
``object_state`` (the pickles) and ``blob_chunk`` (the blobs, kept as large objects), which
shrink when the pack deletes them; the disk space PostgreSQL holds (``pg_database_size``)
comes back only after ``VACUUM`` (a plain one lets PostgreSQL reuse it, ``VACUUM FULL`` gives
it back to the system), so it is reported apart and not counted as reclaimed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "Footprint",
    "directory_bytes",
    "filestorage_footprint",
    "human_bytes",
    "postgresql_footprint",
]


@dataclass(frozen=True, slots=True)
class Footprint:
    """What a database holds: ``bytes`` is the figure a pack reclaims from; ``parts`` the
    breakdown (JSON-ready, per backend)."""

    bytes: int
    parts: dict[str, int | None]


def human_bytes(count: int) -> str:
    """``812 bytes``, ``3.4 MiB``."""
    if abs(count) < 1024:
        return f"{count} bytes"
    value = float(count)
    for unit in ("KiB", "MiB", "GiB", "TiB"):
        value /= 1024
        if abs(value) < 1024 or unit == "TiB":
            break
    return f"{value:.1f} {unit}"


def directory_bytes(directory: Path, *, skip: tuple[str, ...] = ("tmp",)) -> tuple[int, int]:
    """(files, bytes) under ``directory``, leaving out the top-level names in ``skip``
    (ZODB's ``tmp``: blobs not committed yet) and dot files (ZODB's ``.layout``)."""
    files = size = 0
    if not directory.is_dir():
        return 0, 0
    for top, dirs, names in os.walk(directory):
        if top == str(directory):
            dirs[:] = [d for d in dirs if d not in skip]
        for name in names:
            if name.startswith("."):
                continue
            try:
                size += os.lstat(os.path.join(top, name)).st_size
            except FileNotFoundError:  # removed meanwhile (a pack, an aborted commit)
                continue
            files += 1
    return files, size


def filestorage_footprint(path: Path, blob_dir: Path) -> Footprint:
    file_bytes = path.stat().st_size if path.exists() else 0
    blob_files, blob_bytes = directory_bytes(blob_dir)
    parts: dict[str, int | None] = {
        "file_bytes": file_bytes,
        "blob_bytes": blob_bytes,
        "blob_files": blob_files,
    }
    return Footprint(file_bytes + blob_bytes, parts)


def _one(cursor: Any, sql: str) -> tuple[int, ...]:
    cursor.execute(sql)
    row = cursor.fetchone()
    return tuple(int(v or 0) for v in row)


def postgresql_footprint(dsn: str) -> Footprint:
    """Rows and bytes of RelStorage's tables in the database ``dsn`` names. The bytes of the
    blobs are read from ``pg_largeobject``, which only a superuser (or a role granted it)
    may read: without that right they are ``None`` and only the pickles are counted."""
    import psycopg2

    conn = psycopg2.connect(dsn)
    try:
        conn.autocommit = True
        with conn.cursor() as cursor:
            states, state_bytes = _one(
                cursor, "SELECT count(*), sum(coalesce(state_size, 0)) FROM object_state"
            )
            (chunks,) = _one(cursor, "SELECT count(*) FROM blob_chunk")
            (on_disk,) = _one(cursor, "SELECT pg_database_size(current_database())")
            blob_bytes: int | None
            try:
                (blob_bytes,) = _one(
                    cursor,
                    "SELECT sum(octet_length(data)) FROM pg_largeobject "
                    "WHERE loid IN (SELECT chunk FROM blob_chunk)",
                )
            except psycopg2.errors.InsufficientPrivilege:
                blob_bytes = None
    finally:
        conn.close()
    parts: dict[str, int | None] = {
        "object_state_rows": states,
        "object_state_bytes": state_bytes,
        "blob_chunk_rows": chunks,
        "blob_bytes": blob_bytes,
        "database_disk_bytes": on_disk,
    }
    return Footprint(state_bytes + (blob_bytes or 0), parts)

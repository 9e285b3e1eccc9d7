"""One pack or backup of a FileStorage at a time, across processes.

A pack rewrites the ``.fs`` file and removes blob files; a backup copies that file and then
the blob files. Run together, the backup could miss the blob of a revision it copied (the pack
removed it in between), and repozo would find the file changed under it. So both take
``<name>.fs.maintenance.lock`` beside the file (``zc.lockfile``, the lock FileStorage itself
uses: released by the kernel if the process dies). PostgreSQL needs none: ``pg_dump`` reads
one snapshot, and RelStorage's pack takes its own lock in the database.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from zc.lockfile import LockError, LockFile

from baobab.errors import MaintenanceRunning

__all__ = ["maintenance_lock"]


@contextlib.contextmanager
def maintenance_lock(fs_path: Path, what: str) -> Iterator[None]:
    """Hold the FileStorage's maintenance lock while ``what`` (a pack, a backup) runs;
    :class:`MaintenanceRunning` if another process holds it."""
    fs_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        lock = LockFile(f"{fs_path}.maintenance.lock")
    except LockError:
        raise MaintenanceRunning(
            f"Cannot start {what} of {fs_path}: a pack or backup of it is running in another "
            "process; try again when it is done",
            details={"path": str(fs_path)},
        ) from None
    try:
        yield
    finally:
        lock.close()

"""Backups of a PostgreSQL database (RelStorage) with ``pg_dump``, and their restore.

Baobab runs RelStorage with ``shared_blob_dir=False``: the blobs are stored in the database
(``blob_chunk`` rows pointing at large objects), so one ``pg_dump`` of the database the DSN
names holds everything, taken in one snapshot while servers keep writing. The custom format
(``-Fc``) is compressed and is what ``pg_restore`` reads. A restore goes into a database with
no RelStorage tables (a fresh one, or, with ``force``, one whose tables are dropped first), in
a single transaction: it either completes or leaves nothing.

**The blob cache rule.** Each host keeps a local cache of the blobs it has read
(``databases.<name>.blob_dir``, default ``var/blobs/<name>-cache``), files named by object
id and transaction id. After a restore the database may give a pair of ids another meaning
(an older dump restored: object ids are handed out again from the dump's counter), and a
cached file would then be served instead of the stored bytes. So after a restore the cache
of every host that will serve the restored database is emptied before its server starts
(:func:`empty_blob_cache`; ``baobab restore`` does it for the host it runs on), or the hosts
point ``blob_dir`` at a new directory. It costs only re-reading the blobs from the database.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from baobab.database.backup import BackupResult, RestoreResult
from baobab.errors import BackupError

__all__ = ["backup_postgresql", "empty_blob_cache", "restore_postgresql"]

Report = Callable[[str], None]

SUFFIX = ".dump"


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(
            f"{name} is not installed: install the PostgreSQL client tools of the server's "
            "major version (Debian: apt install postgresql-client)"
        )
    return path


def _run(argv: list[str], what: str) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines()
        errors = [line for line in lines if "error" in line.lower()] or lines
        raise BackupError(f"{what} failed: {errors[0] if errors else done.returncode}")


def backup_postgresql(
    name: str, dsn: str, repository: Path, *, report: Report | None = None
) -> BackupResult:
    """``pg_dump -Fc`` of the database ``dsn`` names into ``repository/<stamp>.dump``."""
    say = report or (lambda _line: None)
    pg_dump = _tool("pg_dump")
    start = time.monotonic()
    repository.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y-%m-%d-%H-%M-%S", time.gmtime())
    target = repository / f"{stamp}{SUFFIX}"
    if target.exists():
        time.sleep(1.05 - (time.time() % 1))
        stamp = time.strftime("%Y-%m-%d-%H-%M-%S", time.gmtime())
        target = repository / f"{stamp}{SUFFIX}"
    part = target.with_name(target.name + ".part")
    say(f"{name}: pg_dump (custom format) into {target}")
    try:
        _run([pg_dump, "--format=custom", f"--file={part}", f"--dbname={dsn}"], "pg_dump")
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    os.rename(part, target)
    return BackupResult(
        database=name,
        kind="dump",
        path=target,
        bytes_written=target.stat().st_size,
        seconds=time.monotonic() - start,
    )


def _dump_for(repository: Path, date: str | None) -> Path:
    dumps = sorted(p.name for p in repository.glob(f"*{SUFFIX}")) if repository.is_dir() else []
    if date:
        dumps = [d for d in dumps if d[: -len(SUFFIX)] <= date]
    if not dumps:
        at = f" at or before {date}" if date else ""
        raise BackupError(f"{repository} holds no pg_dump backup{at}")
    return repository / dumps[-1]


def _has_relstorage_tables(dsn: str) -> bool:
    import psycopg2

    conn = psycopg2.connect(dsn)
    try:
        with conn.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_tables WHERE tablename = 'object_state'")
            row = cursor.fetchone()
            return bool(row and row[0])
    finally:
        conn.close()


def _drop_relstorage(dsn: str) -> None:
    """Drop RelStorage's tables, unlinking the blobs' large objects (its own ``drop_all``)."""
    from relstorage.adapters.postgresql import PostgreSQLAdapter
    from relstorage.options import Options

    adapter = PostgreSQLAdapter(dsn=dsn, options=Options(keep_history=False))
    adapter.schema.drop_all()


def empty_blob_cache(cache_dir: Path) -> int:
    """The blob cache rule: remove everything in ``cache_dir``; how many entries."""
    if not cache_dir.is_dir():
        return 0
    removed = 0
    for entry in cache_dir.iterdir():
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()
        removed += 1
    return removed


def restore_postgresql(
    name: str,
    repository: Path,
    dsn: str,
    cache_dir: Path,
    *,
    date: str | None = None,
    force: bool = False,
    report: Report | None = None,
) -> RestoreResult:
    """``pg_restore`` the last dump at or before ``date`` into the database ``dsn`` names,
    then empty this host's blob cache (the blob cache rule)."""
    say = report or (lambda _line: None)
    pg_restore = _tool("pg_restore")
    start = time.monotonic()
    dump = _dump_for(repository, date)
    if _has_relstorage_tables(dsn):
        if not force:
            raise BackupError(
                f"the database of {name!r} already holds RelStorage tables: restore into a "
                "fresh database (createdb, then point the DSN at it), or stop every server "
                "and pass --force to drop them first"
            )
        say(f"{name}: dropping the existing RelStorage tables (--force)")
        _drop_relstorage(dsn)
    say(f"{name}: pg_restore {dump.name}")
    # after a drop, RelStorage's functions and sequence are still there: --clean drops what
    # the dump is about to create (--if-exists: whatever is missing is no error)
    clean = ["--clean", "--if-exists"] if force else []
    argv = [pg_restore, "--no-owner", "--no-privileges", "--exit-on-error"]
    argv += ["--single-transaction", *clean, f"--dbname={dsn}", str(dump)]
    _run(argv, "pg_restore")
    emptied = empty_blob_cache(cache_dir)
    say(f"{name}: blob cache {cache_dir} emptied ({emptied} entries): the blob cache rule")
    return RestoreResult(
        database=name,
        source=dump,
        bytes_restored=dump.stat().st_size,
        blob_files=0,
        seconds=time.monotonic() - start,
    )

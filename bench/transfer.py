"""Benchmark ``baobab export`` and ``baobab import`` (issue 14): objects/s and peak RSS.

For each size in ``--docs`` (default 100,000):

1. ``baobab serve`` on a fresh FileStorage creates ``/db/site`` and alice, then stops;
2. the catalog benchmark's corpus (``bench/catalog_corpus.py``: 200 folders, Documents and
   Files with words, workflow states and local roles) is loaded **in-process** through the
   server's own create / share / transition code (``bench/catalog.py``'s ``Loader``), plus a
   folder of ``File`` objects whose blobs total ``--files-mb`` (default 1,024 MB, in files of
   ``--file-mb``), written in chunks;
3. ``baobab export`` runs as a process of its own; its wall time and peak RSS (the child's
   ``ru_maxrss`` from ``os.wait4``) are measured;
4. ``baobab import`` reads the archive into a fresh FileStorage (``--target postgresql``:
   the PostgreSQL database of ``BAOBAB_BENCH_PG_DSN``, zapped first), measured the same way.

Memory is flat when the peak RSS does not grow with the number of objects: run two sizes,
``--docs 10000,100000``. ``.venv/bin/python bench/transfer.py --docs 10000,100000
--files-mb 1024``; see bench/README.md ("Export and import (issue 14)").
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import catalog as catalog_bench  # bench/catalog.py, found through the path above
import run as base  # bench/run.py
from baobab.testing.server import BAOBAB

CHUNK = 1 << 20


def add_files(loader: Any, total_mb: int, file_mb: int) -> int:
    """A folder ``files`` of File objects holding ``total_mb`` MB of blobs, written a chunk at
    a time (pseudo-random bytes: gzip would not shrink real files much either)."""
    from ZODB.blob import Blob

    from baobab.content import operations
    from baobab.content.files import NamedFile
    from baobab.security import lifecycle

    registry, policy = loader.state.registry, loader.state.policy
    folder = operations.create(registry, loader.site, {"@type": "Folder", "id": "files"}, "admin")
    lifecycle.created(policy, folder, "admin")
    loader.tm.commit()
    seed = os.urandom(CHUNK)
    count, left = 0, total_mb
    while left > 0:
        size_mb = min(file_mb, left)
        blob = Blob()
        loader.conn.add(blob)
        digest = hashlib.sha256()
        with blob.open("w") as out:
            for i in range(size_mb):
                chunk = i.to_bytes(8, "little") + count.to_bytes(8, "little") + seed[16:]
                digest.update(chunk)
                out.write(chunk)
        value = NamedFile(
            blob,
            filename=f"f{count}.bin",
            content_type="application/octet-stream",
            size=size_mb * CHUNK,
            sha256=digest.hexdigest(),
        )
        obj = operations.create(
            registry, folder, {"@type": "File", "id": f"f{count}"}, "admin", files={"file": value}
        )
        lifecycle.created(policy, obj, "admin")
        loader.tm.commit()
        loader.conn.cacheGC()
        count += 1
        left -= size_mb
    return count


def run_child(argv: list[str]) -> tuple[float, float, int, str]:
    """``argv`` as a child of its own; (wall seconds, CPU seconds, its peak RSS in MB, its
    stdout). CPU time is the steadier figure on a shared machine."""
    start = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        # posix_spawn + wait4, not subprocess: wait4 gives this child's own rusage
        pid = os.posix_spawn(argv[0], argv, os.environ, file_actions=[
            (os.POSIX_SPAWN_DUP2, out.fileno(), 1), (os.POSIX_SPAWN_DUP2, err.fileno(), 2),
        ])  # fmt: skip
        _, status, usage = os.wait4(pid, 0)
        seconds = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        if os.waitstatus_to_exitcode(status):
            raise SystemExit(f"{argv[1]} failed:\n{err.read().decode()}")
        cpu = usage.ru_utime + usage.ru_stime
        return seconds, cpu, usage.ru_maxrss // 1024, out.read().decode()


def one_size(docs: int, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    src_var, dst_var = workdir / f"src-{docs}", workdir / f"dst-{docs}"
    for var in (src_var, dst_var):
        shutil.rmtree(var, ignore_errors=True)
        var.mkdir(parents=True)
    source = base.write_config(src_var, "filestorage", "auto", 4)
    target = base.write_config(dst_var, args.target, "auto", 4)
    if args.target == "postgresql":
        base.zap_postgres()
    catalog_bench.make_site(source, workdir)
    print(f"loading {docs} items and {args.files_mb} MB of files in-process …", flush=True)
    loader = catalog_bench.Loader(source)
    try:
        loader.load(docs, 13)
        files = add_files(loader, args.files_mb, args.file_mb)
    finally:
        loader.close()
    archive = workdir / f"site-{docs}.tar{'.gz' if args.gzip else ''}"
    export_s, export_cpu, export_rss, out = run_child(
        [str(BAOBAB), "export", "-c", str(source), "--container", "site", str(archive)]
    )
    objects = int(re.search(r"(\d+) objects", out)[1])  # type: ignore[index]
    import_s, import_cpu, import_rss, _ = run_child(
        [str(BAOBAB), "import", "-c", str(target), str(archive)]
    )
    # what opening each database costs (the registry, the storage, and FileStorage's index of
    # every object id, which grows with the database, not with the export): the peak RSS of
    # an export of one small file, from the source and from the imported copy
    one = workdir / "one.tar"
    small = ["export", "--container", "site", "--path", "files/f0", str(one), "-c"]
    source_base = run_child([str(BAOBAB), *small, str(source)])[2]
    target_base = run_child([str(BAOBAB), *small, str(target)])[2]
    one.unlink()
    row = {
        "docs": docs,
        "objects": objects,
        "files": files,
        "archive_mb": archive.stat().st_size / 1e6,
        "export_s": export_s,
        "export_rate": objects / export_s,
        "export_cpu": export_cpu,
        "export_rss_mb": export_rss,
        "import_s": import_s,
        "import_rate": objects / import_s,
        "import_cpu": import_cpu,
        "import_rss_mb": import_rss,
        "source_base_mb": source_base,
        "target_base_mb": target_base,
    }
    if not args.keep:
        archive.unlink()
        shutil.rmtree(src_var, ignore_errors=True)
        shutil.rmtree(dst_var, ignore_errors=True)
    return row


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", default="100000", help="sizes, comma-separated (10000,100000)")
    parser.add_argument("--files-mb", type=int, default=1024, help="MB of files (default 1024)")
    parser.add_argument("--file-mb", type=int, default=16, help="MB a file (default 16)")
    parser.add_argument("--target", choices=("filestorage", "postgresql"), default="filestorage")
    parser.add_argument("--gzip", action="store_true", help="a .tar.gz archive")
    parser.add_argument("--workdir", type=Path, help="default: a temporary directory")
    parser.add_argument("--keep", action="store_true", help="keep the databases and archives")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="baobab-transfer-"))
    rows = [one_size(int(n), args, workdir) for n in args.docs.split(",")]
    print(f"\nexport and import, {args.files_mb} MB of files, target {args.target}")
    print("| docs | objects | archive MB | export s (CPU s) | export obj/s | export peak RSS MB "
          "(opening the db) | import s (CPU s) | import obj/s | import peak RSS MB "
          "(opening the db) |")  # fmt: skip
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        print(f"| {r['docs']:,} | {r['objects']:,} | {r['archive_mb']:,.0f} "
              f"| {r['export_s']:.1f} ({r['export_cpu']:.1f}) | {r['export_rate']:,.0f} "
              f"| {r['export_rss_mb']} ({r['source_base_mb']}) "
              f"| {r['import_s']:.1f} ({r['import_cpu']:.1f}) | {r['import_rate']:,.0f} "
              f"| {r['import_rss_mb']} ({r['target_base_mb']}) |", flush=True)  # fmt: skip
    if not args.keep and args.workdir is None:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Pack, backup and restore of a FileStorage behind a real ``baobab serve``: how long each
takes, how much it writes or reclaims, and what a pack does to the latency of reads.

A fresh server (the test kit's harness, ``baobab.testing.server``) is seeded with ``--docs``
documents, each changed ``--revisions`` times (old revisions for the pack to drop), and
``--files`` random files of ``--file-size`` bytes, half of which are then deleted. Then, in
order: ``baobab backup`` (full, while a writer keeps POSTing documents), more writes, a second
``baobab backup`` (incremental: a ``.deltafsz`` and hard-linked blobs), ``POST /db/@pack``
with ``{"days": 0}`` while a probe GETs a document every 10 ms (p50/p99 against the same probe
before the pack), and ``baobab restore`` of the latest backup into a fresh var directory.

Run: ``.venv/bin/python bench/maintenance.py [--docs 5000 --files 100 --file-size 1048576]``.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import httpx

from baobab.database.footprint import directory_bytes, human_bytes
from baobab.testing import content_call, send_sync
from baobab.testing.server import Servers, run_cli

SITE = "/db/site"


def upload(client: httpx.Client, name: str, data: bytes) -> str:
    resp = client.post(
        SITE,
        content=data,
        headers={
            "content-type": "application/octet-stream",
            "content-disposition": f'attachment; filename="{name}"',
        },
    )
    resp.raise_for_status()
    return str(resp.json()["id"])


def probe(client: httpx.Client, stop: threading.Event, out: list[float]) -> None:
    while not stop.is_set():
        start = time.perf_counter()
        client.get(f"{SITE}/d0").raise_for_status()
        out.append((time.perf_counter() - start) * 1000)
        time.sleep(0.01)


def percentiles(samples: list[float]) -> str:
    if len(samples) < 2:
        return f"{len(samples)} samples"
    cuts = statistics.quantiles(samples, n=100)
    return f"p50 {cuts[49]:.1f} ms, p99 {cuts[98]:.1f} ms ({len(samples)} GETs)"


def timed(argv: list[str], cwd: Path) -> tuple[float, subprocess.CompletedProcess[str]]:
    start = time.monotonic()
    done = run_cli(argv, cwd, timeout=3600)
    if done.returncode != 0:
        raise SystemExit(f"{argv}: {done.stderr}")
    return time.monotonic() - start, done


def writer(client: httpx.Client, stop: threading.Event, prefix: str) -> None:
    n = 0
    while not stop.is_set():
        n += 1
        client.post(SITE, json={"@type": "Document", "id": f"{prefix}{n}", "title": "w"})


def main() -> None:  # noqa: PLR0915 - one scenario told in order
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=5000)
    parser.add_argument("--revisions", type=int, default=2)
    parser.add_argument("--files", type=int, default=100)
    parser.add_argument("--file-size", type=int, default=1 << 20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="baobab-maint-") as tmp, Servers(Path(tmp)) as servers:
        config = servers.config()
        server = servers.serve(config)
        client = server.root_client()
        send_sync(client, content_call("/db", "Container", "site"))
        t0 = time.monotonic()
        for n in range(args.docs):
            send_sync(client, content_call(SITE, "Document", f"d{n}", title=f"d{n}"))
        for r in range(args.revisions):
            for n in range(args.docs):
                client.patch(f"{SITE}/d{n}", json={"description": f"rev {r}"}).raise_for_status()
        files = [upload(client, f"f{n}.bin", os.urandom(args.file_size)) for n in range(args.files)]
        for file_id in files[::2]:
            client.delete(f"{SITE}/{file_id}").raise_for_status()
        fs = servers.var / "db.fs"
        blobs = servers.var / "blobs" / "db"
        print(
            f"seeded in {time.monotonic() - t0:.0f} s: {args.docs} documents x "
            f"{args.revisions + 1} revisions, {args.files} files of {human_bytes(args.file_size)}"
            f" (half deleted); db.fs {human_bytes(fs.stat().st_size)}, blobs "
            f"{human_bytes(directory_bytes(blobs)[1])}"
        )
        dest = Path(tmp) / "backups"
        stop = threading.Event()
        busy = threading.Thread(target=writer, args=(server.root_client(), stop, "a"))
        busy.start()
        took, done = timed(["backup", "--config", str(config), str(dest)], servers.cwd)
        print(f"full backup under writes: {took:.2f} s — {done.stdout.strip()}")
        for n in range(args.docs // 10):
            client.patch(f"{SITE}/d{n}", json={"description": "after"}).raise_for_status()
        for n in range(4):
            upload(client, f"late{n}.bin", os.urandom(args.file_size))
        took, done = timed(["backup", "--config", str(config), str(dest)], servers.cwd)
        print(f"incremental backup under writes: {took:.2f} s — {done.stdout.strip()}")
        stop.set()
        busy.join()

        idle: list[float] = []
        halt = threading.Event()
        prober = threading.Thread(target=probe, args=(server.root_client(), halt, idle))
        prober.start()
        time.sleep(3)
        halt.set()
        prober.join()
        during: list[float] = []
        halt = threading.Event()
        prober = threading.Thread(target=probe, args=(server.root_client(), halt, during))
        prober.start()
        start = time.monotonic()
        resp = client.post("/db/@pack", json={"days": 0}, timeout=3600)
        took = time.monotonic() - start
        halt.set()
        prober.join()
        resp.raise_for_status()
        figures = resp.json()
        print(
            f"POST /db/@pack: {took:.2f} s, {human_bytes(figures['bytes_before'])} -> "
            f"{human_bytes(figures['bytes_after'])} ({human_bytes(figures['reclaimed'])} "
            f"reclaimed; file {human_bytes(figures['before']['file_bytes'])} -> "
            f"{human_bytes(figures['after']['file_bytes'])})"
        )
        print(f"  GET latency before the pack: {percentiles(idle)}")
        print(f"  GET latency during the pack: {percentiles(during)}")
        restored = servers.config({"var_dir": str(Path(tmp) / "restored")}, name="restored.json")
        took, done = timed(["restore", "--config", str(restored), str(dest)], servers.cwd)
        print(f"restore: {took:.2f} s — {done.stdout.strip()}")
        sizes = {p.name: p.stat().st_size for p in (dest / "db").iterdir() if p.is_file()}
        files_line = ", ".join(
            f"{k} {human_bytes(v)}" for k, v in sorted(sizes.items()) if re.search(r"fsz$", k)
        )
        du = subprocess.run(
            ["du", "-sb", str(dest / "db")], capture_output=True, text=True, check=True
        )
        total = int(du.stdout.split()[0])  # du counts a hard-linked blob once
        print(f"repository: {files_line}; {human_bytes(total)} on disk in all")


if __name__ == "__main__":
    main()

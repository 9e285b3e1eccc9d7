"""What metrics and JSON logs cost: GET throughput of a Document with them off and on.

Two ``baobab serve`` (FileStorage, one worker, Granian's access log off), started side by
side and seeded alike (``bench/run.py``'s seed: ``/db/site/folder/doc``, 18 keys, 2.2 kB):
``off`` with the defaults, ``on`` with ``metrics.enabled`` (its own port, scraped once at
the end) and ``server.log_format: "json"`` (one JSON line per request on standard output,
to a file, as a process manager collects it). wrk (``-t1 -c16``, a Bearer token) runs
``--rounds`` rounds on each, alternating off, on, off, on… so that a noisy neighbour on a
shared machine weighs on both alike; an idle server costs nothing while the other is
measured. Reported: the median round's req/s and its p50/p99 for each, and the overhead,
``1 - on/off`` of the median req/s (and of the mean of the pairs' ratios).

    .venv/bin/python bench/observability.py --rounds 8 --duration 5
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import httpx

from baobab.testing.server import HOST, Servers, free_port

sys.path.insert(0, str(Path(__file__).resolve().parent))

import run as base  # bench/run.py, found through the path above


def config(work: Path, name: str, on: bool, metrics_port: int) -> Path:
    var = work / name
    var.mkdir(parents=True)
    data: dict[str, Any] = {
        "var_dir": str(var),
        "auth": {"root_password": base.ROOT_PASSWORD, "jwt_secret": base.JWT_SECRET},
        "server": {"access_log": False},
    }
    if on:
        data["server"]["log_format"] = "json"
        data["metrics"] = {"enabled": True, "port": metrics_port}
    path = work / f"{name}.json"
    path.write_text(json.dumps(data))
    return path


def wrk(port: int, token: str, args: argparse.Namespace, seconds: int) -> dict[str, Any]:
    command = [
        "wrk", "-t1", f"-c{args.connections}", "--latency", f"-d{seconds}s",
        "-H", f"Authorization: Bearer {token}", f"http://{HOST}:{port}{base.DOC_PATH}",
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    result = base.parse_wrk(done.stdout)
    if result.get("non_2xx") or result.get("errors"):
        raise SystemExit(f"wrk saw errors:\n{done.stdout}")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rounds", type=int, default=8, help="rounds per configuration")
    parser.add_argument("--duration", type=int, default=5, help="seconds per round")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing (apt-get install wrk)")
    work = Path(tempfile.mkdtemp(prefix="baobab-bench-obs-"))
    metrics_port = free_port()
    try:
        with Servers(work, startup_timeout=60) as servers:
            started = {}
            for name, on in (("off", False), ("on", True)):
                server = servers.serve(config(work, name, on, metrics_port))
                token = base.seed(server.port, 0)
                started[name] = (server, token)
                wrk(server.port, token, args, 2)  # warm-up, not measured
            runs: dict[str, list[dict[str, Any]]] = {"off": [], "on": []}
            for n in range(args.rounds):
                for name in ("off", "on") if n % 2 == 0 else ("on", "off"):
                    server, token = started[name]
                    result = wrk(server.port, token, args, args.duration)
                    runs[name].append(result)
                    print(
                        f"round {n + 1} {name:>3}: {result['rps']:8.0f} req/s  "
                        f"p50 {result['p50_ms']:.2f} ms  p99 {result['p99_ms']:.2f} ms",
                        flush=True,
                    )
            scraped = httpx.get(f"http://{HOST}:{metrics_port}/metrics", timeout=10).text
            lines = sum(
                1 for line in started["on"][0].stdout().splitlines() if '"type":"access"' in line
            )
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    counted = sum(
        float(line.rsplit(" ", 1)[1])
        for line in scraped.splitlines()
        if line.startswith("baobab_http_requests_total{")
    )
    print(f"\n'on' counted {counted:.0f} requests in its metrics and wrote {lines} JSON lines")
    print(f"{'':>4} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7}  (median round of {args.rounds})")
    medians = {}
    for name in ("off", "on"):
        ordered = sorted(runs[name], key=lambda r: r["rps"])
        median = ordered[len(ordered) // 2]
        medians[name] = median["rps"]
        print(f"{name:>4} {median['rps']:8.0f} {median['p50_ms']:7.2f} {median['p99_ms']:7.2f}")
    ratios = [on["rps"] / off["rps"] for off, on in zip(runs["off"], runs["on"], strict=True)]
    print(
        f"overhead: {100 * (1 - medians['on'] / medians['off']):.1f} % of the median req/s, "
        f"{100 * (1 - statistics.mean(ratios)):.1f} % of the mean of the rounds' ratios"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

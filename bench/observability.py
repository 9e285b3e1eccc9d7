"""What metrics and JSON logs cost: GET throughput of a Document with them off and on.

Each round starts a fresh ``baobab serve`` (FileStorage, one worker, Granian's access log
off) per configuration, seeds it (``bench/run.py``'s seed: ``/db/site/folder/doc``, 18 keys,
2.2 kB), warms it up for 2 s and measures it once with wrk (``-t1 -c16``, a Bearer token),
then stops it: ``off`` has the defaults, ``on`` ``metrics.enabled`` (its own port, scraped
after the round) and ``server.log_format: "json"`` (one JSON line per request on standard
output, to a file, as a process manager collects it). Rounds alternate off, on / on, off so
that a noisy neighbour on a shared machine weighs on both alike. (Two servers kept side by
side differed by 20 % with one configuration, the one started first always ahead: so a server
per round.) ``--on none`` makes both alike: the noise floor.

Reported: the median round's req/s and its p50/p99 for each, the server's CPU time per
request (its process and worker, every thread, from ``/proc/<pid>/task/*/schedstat``: what
a loaded machine disturbs least), and the overhead: ``1 - on/off`` of the median req/s, of
the mean of the pairs' ratios, and ``on/off - 1`` of the median CPU per request.

    .venv/bin/python bench/observability.py --rounds 8 --duration 5
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from baobab.testing.server import HOST, Servers, free_port

sys.path.insert(0, str(Path(__file__).resolve().parent))

import run as base  # bench/run.py, found through the path above


def config(work: Path, name: str, on: str, metrics_port: int) -> Path:
    var = work / name
    var.mkdir(parents=True)
    data: dict[str, Any] = {
        "var_dir": str(var),
        "auth": {"root_password": base.ROOT_PASSWORD, "jwt_secret": base.JWT_SECRET},
        "server": {"access_log": False},
    }
    if on in ("both", "logs"):
        data["server"]["log_format"] = "json"
    if on in ("both", "metrics"):
        data["metrics"] = {"enabled": True, "port": metrics_port}
    path = work / f"{name}.json"
    path.write_text(json.dumps(data))
    return path


def cpu_ns(pid: int) -> int:
    """CPU time of the server (its process and Granian's worker, every thread), in
    nanoseconds (``/proc/<pid>/task/*/schedstat``: finer than the clock ticks of ``stat``)."""
    total = 0
    for proc in (pid, *base.descendants(pid)):
        for task in Path(f"/proc/{proc}/task").glob("*"):
            with contextlib.suppress(OSError):
                total += int((task / "schedstat").read_text().split()[0])
    return total


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


def measure_one(work: Path, name: str, args: argparse.Namespace) -> tuple[dict[str, Any], str, int]:
    """A fresh server of configuration ``name``, seeded, warmed up, measured once, stopped
    (a server per round: two servers kept side by side differed by 20 % with the same
    configuration, the one started first always ahead); with what it scraped and logged."""
    work.mkdir(parents=True)
    metrics_port = free_port()
    on = args.on if name == "on" else ""
    with Servers(work, startup_timeout=60) as servers:
        server = servers.serve(config(work, name, on, metrics_port))
        token = base.seed(server.port, 0)
        wrk(server.port, token, args, 2)  # warm-up, not measured
        cpu0 = cpu_ns(server.pid)
        result = wrk(server.port, token, args, args.duration)
        result["cpu_us"] = (cpu_ns(server.pid) - cpu0) / result["requests"] / 1000
        scraped = ""
        if on in ("both", "metrics"):
            time.sleep(1.5)  # the worker hands its tallies over once a second
            scraped = httpx.get(f"http://{HOST}:{metrics_port}/metrics", timeout=10).text
        time.sleep(0.2)  # JSON lines go out within 0.1 s
        lines = sum(1 for line in server.stdout().splitlines() if '"type":"access"' in line)
    return result, scraped, lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rounds", type=int, default=8, help="rounds per configuration")
    parser.add_argument("--duration", type=int, default=5, help="seconds per round")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument(
        "--on",
        choices=["both", "metrics", "logs", "none"],
        default="both",
        help="what the 'on' server turns on (default: metrics and JSON logs)",
    )
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing (apt-get install wrk)")
    work = Path(tempfile.mkdtemp(prefix="baobab-bench-obs-"))
    runs: dict[str, list[dict[str, Any]]] = {"off": [], "on": []}
    scraped, lines = "", 0
    try:
        for n in range(args.rounds):
            for name in ("off", "on") if n % 2 == 0 else ("on", "off"):
                result, text, written = measure_one(work / f"{n}-{name}", name, args)
                runs[name].append(result)
                if name == "on":
                    scraped, lines = text, written
                print(
                    f"round {n + 1} {name:>3}: {result['rps']:8.0f} req/s  "
                    f"p50 {result['p50_ms']:.2f} ms  p99 {result['p99_ms']:.2f} ms  "
                    f"server CPU {result['cpu_us']:.0f} µs/request",
                    flush=True,
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
    print(
        f"{'':>4} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'CPU µs/req':>11}  "
        f"(median round of {args.rounds} by req/s; median CPU)"
    )
    medians = {}
    cpu = {}
    for name in ("off", "on"):
        ordered = sorted(runs[name], key=lambda r: r["rps"])
        median = ordered[len(ordered) // 2]
        medians[name] = median["rps"]
        cpu[name] = statistics.median(r["cpu_us"] for r in runs[name])
        print(
            f"{name:>4} {median['rps']:8.0f} {median['p50_ms']:7.2f} {median['p99_ms']:7.2f} "
            f"{cpu[name]:11.1f}"
        )
    ratios = [on["rps"] / off["rps"] for off, on in zip(runs["off"], runs["on"], strict=True)]
    print(
        f"overhead: {100 * (1 - medians['on'] / medians['off']):.1f} % of the median req/s, "
        f"{100 * (1 - statistics.mean(ratios)):.1f} % of the mean of the rounds' ratios, "
        f"{100 * (cpu['on'] / cpu['off'] - 1):.1f} % of server CPU per request"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

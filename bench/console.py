"""HTTP latency of a real ``baobab serve`` with and without the SSH console busy, in one run.

Starts ``baobab serve`` (FileStorage, ``threads.mode`` auto = inline, the console enabled on a
free port, a fresh ed25519 key), seeds ``/db/site/doc``, then measures GET of that Document
(Basic auth as root, cached after the first check) from ``--connections`` keep-alive
HTTP/1.1 connections, each sending its next request as soon as the last is answered, in
three phases run ``--repeat`` times, interleaved:

* ``idle``: no console session;
* ``sleep``: one session (the OpenSSH client) runs ``time.sleep(2)`` again and again;
* ``spin``: one session runs a 2-second busy Python loop again and again (``while
  time.monotonic() - t < 2: pass``): the worst case, a statement that never sleeps and so
  competes with the event loop for the GIL.

Each phase reports requests per second, p50, p99 and max latency; the table shows the median
of each over the repeats. The load generator is Python (asyncio, raw HTTP/1.1): absolute
figures are lower than wrk's, the comparison between phases is the point.

    .venv/bin/python bench/console.py [--duration 10] [--repeat 3] [--connections 8]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from baobab.testing.console import make_key, public_line, ssh_argv
from baobab.testing.server import HOST, JWT_SECRET, ROOT_PASSWORD, Servers, free_port

PATH = "/db/site/doc"

LOOPS = {
    "sleep": "import time\nwhile not exists(STOP):\n    time.sleep(2)\n\n",
    "spin": (
        "import time\nwhile not exists(STOP):\n    t = time.monotonic()\n"
        "    while time.monotonic() - t < 2:\n        pass\n\n"
    ),
}


async def _client(port: int, request: bytes, until: float, latencies: list[float]) -> None:
    reader, writer = await asyncio.open_connection(HOST, port)
    try:
        while time.monotonic() < until:
            start = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - start)
            if not head.startswith(b"HTTP/1.1 200"):
                raise RuntimeError(head.decode(errors="replace"))
    finally:
        writer.close()


async def _load(port: int, connections: int, duration: float) -> list[float]:
    auth = base64.b64encode(f"root:{ROOT_PASSWORD}".encode()).decode()
    request = (
        f"GET {PATH} HTTP/1.1\r\nHost: {HOST}:{port}\r\nAuthorization: Basic {auth}\r\n\r\n"
    ).encode()
    latencies: list[float] = []
    until = time.monotonic() + duration
    await asyncio.gather(*(_client(port, request, until, latencies) for _ in range(connections)))
    return latencies


def _phase(port: int, args: argparse.Namespace) -> dict[str, float]:
    latencies = sorted(asyncio.run(_load(port, args.connections, args.duration)))
    n = len(latencies)
    return {
        "req/s": n / args.duration,
        "p50": latencies[n // 2] * 1000,
        "p99": latencies[min(n - 1, int(n * 0.99))] * 1000,
        "max": latencies[-1] * 1000,
    }


def _measure(phase: str, console: tuple[int, Path], port: int, args: argparse.Namespace,
             work: Path) -> dict[str, float]:  # fmt: skip
    if phase == "idle":
        return _phase(port, args)
    console_port, key = console
    stop = work / f"stop-{phase}"
    stop.unlink(missing_ok=True)
    script = f"from os.path import exists\nSTOP = {str(stop)!r}\n{LOOPS[phase]}"
    with subprocess.Popen(
        ssh_argv(console_port, key), stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, text=True,
    ) as ssh:  # fmt: skip
        assert ssh.stdin is not None
        ssh.stdin.write(script)
        ssh.stdin.close()
        time.sleep(1.0)  # the session is open and the loop runs
        try:
            return _phase(port, args)
        finally:
            stop.touch()
            ssh.wait(30)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per phase")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--connections", type=int, default=8)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="baobab-bench-console-") as tmp:
        work = Path(tmp)
        key = make_key(work, "bench", "bench@console")
        console_port = free_port()
        with Servers(work) as servers:
            config = servers.config(
                {
                    "var_dir": str(servers.var),
                    "auth": {"root_password": ROOT_PASSWORD, "jwt_secret": JWT_SECRET},
                    "server": {"access_log": False},
                    "console": {
                        "enabled": True,
                        "port": console_port,
                        "authorized_keys": [public_line(key)],
                    },
                }
            )
            server = servers.serve(config)
            with server.root_client() as client:
                assert client.post("/db", json={"@type": "Container", "id": "site"}).is_success
                doc = {"@type": "Document", "id": "doc", "title": "Bench", "text": "x" * 1000}
                assert client.post("/db/site", json=doc).is_success
            _phase(server.port, argparse.Namespace(connections=args.connections, duration=2.0))
            results: dict[str, list[dict[str, float]]] = {"idle": [], "sleep": [], "spin": []}
            for round_ in range(args.repeat):
                for phase, runs in results.items():
                    figures = _measure(phase, (console_port, key), server.port, args, work)
                    runs.append(figures)
                    print(f"round {round_ + 1} {phase:5}: " + _line(figures), file=sys.stderr)
    print(f"\nGET {PATH}, {args.connections} connections, {args.duration:g} s per phase, "
          f"median of {args.repeat}")  # fmt: skip
    print("| phase | req/s | p50 ms | p99 ms | max ms |")
    print("| --- | --- | --- | --- | --- |")
    for phase, runs in results.items():
        med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        print(f"| {phase} | {med['req/s']:,.0f} | {med['p50']:.2f} | {med['p99']:.2f} | "
              f"{med['max']:.1f} |")  # fmt: skip
    return 0


def _line(figures: dict[str, Any]) -> str:
    return ", ".join(f"{k} {v:,.2f}" for k, v in figures.items())


if __name__ == "__main__":
    sys.exit(main())

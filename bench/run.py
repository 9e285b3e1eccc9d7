"""Benchmark a real ``baobab serve`` with wrk (HTTP/1.1) and h2load (HTTP/2, h2c).

Starts the server on a free port of 127.0.0.1 with a throw-away var dir, seeds
``/db/site/folder/doc``, logs in as root and measures, each for ``--duration`` seconds after a
short warm-up:

* ``GET h1``: GET of the Document's JSON with wrk over HTTP/1.1;
* ``GET h1 (h2load)``: the same with h2load ``--h1`` — the same client as the HTTP/2 rows, so
  the h2/h1 comparison is not a wrk-vs-h2load comparison;
* ``GET h2 m1`` / ``GET h2 m10``: h2load over cleartext HTTP/2 (prior knowledge), one or ten
  concurrent streams per connection;
* ``POST``: create Documents (no title, so each gets a UUID id) in ``/db/site/inbox``;
* ``PATCH``: update the Document's description — one object written by every connection,
  so with a thread pool or PostgreSQL this measures conflict handling (409 after the retries);
* ``PATCH spread``: the same update spread round-robin over ``--spread`` Documents in
  ``/db/site/many``: write throughput without a single hot object.

Then prints a table (req/s, p50, p99, non-2xx, server CPU per request, CPU use of the server,
the load generator, PostgreSQL, everything else and the hypervisor's steal) and the server's
peak RSS, and writes the same as JSON to ``bench/results/``. Run with ``.venv/bin/python
bench/run.py --help``; see bench/README.md for the figures measured.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import http.client
import json
import os
import platform
import re
import resource
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

from baobab.testing import Call, content_call, login_call, send_sync
from baobab.testing.server import HOST, ServerError, ServerProcess, Servers

ROOT_PASSWORD = "bench-root-password"
JWT_SECRET = "bench-jwt-secret-that-is-long-enough-for-hs256-signing"
PG_DSN = "host=127.0.0.1 port=5432 dbname=test"
DOC_PATH = "/db/site/folder/doc"
MANY_PATH = "/db/site/many"
BENCH_DIR = Path(__file__).resolve().parent
VENV_BIN = Path(sys.executable).parent
STARTUP_TIMEOUT = 60.0  # seconds for a server to answer

DOCUMENT = {
    "@type": "Document",
    "id": "doc",
    "title": "Baobab benchmark document",
    "description": "A page of ordinary size, read and written by the benchmark.",
    "text": ("Baobabs store water in their trunks to live through the dry season. " * 20).strip(),
    "subjects": ["benchmark", "performance", "asgi"],
    "language": "en",
    "effective": "2024-01-01T09:00:00+00:00",
    "expires": "2034-01-01T09:00:00+00:00",
}

POST_LUA = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local n = 0
request = function()
  n = n + 1
  local body = '{"@type":"Document","description":"Created by the benchmark, number '
    .. n .. '.","text":"Some text for document ' .. n .. '.","subjects":["bench"]}'
  return wrk.format(nil, nil, nil, body)
end
"""

PATCH_LUA = """
wrk.method = "PATCH"
wrk.headers["Content-Type"] = "application/json"
local n = 0
request = function()
  n = n + 1
  return wrk.format(nil, nil, nil, '{"description":"Revision ' .. n .. '"}')
end
"""

PATCH_SPREAD_LUA = """
wrk.method = "PATCH"
wrk.headers["Content-Type"] = "application/json"
local n = 0
request = function()
  n = n + 1
  local path = "%(folder)s/d" .. (n %% %(count)d)
  return wrk.format(nil, path, nil, '{"description":"Revision ' .. n .. '"}')
end
"""


@dataclass
class Result:
    name: str
    tool: str
    command: str
    requests: int = 0
    rps: float = 0.0
    p50_ms: float | None = None
    p99_ms: float | None = None
    mean_ms: float | None = None
    non_2xx: int = 0
    errors: int = 0
    server_cpu_us_per_req: float | None = None
    server_cpu_pct: float = 0.0
    client_cpu_pct: float = 0.0
    pg_cpu_pct: float = 0.0
    other_cpu_pct: float = 0.0
    steal_pct: float = 0.0
    runs_rps: list[float] = field(default_factory=list)  # every run of --repeat
    raw: str = field(default="", repr=False)


# --- the server -----------------------------------------------------------------------------


def write_config(var_dir: Path, storage: str, threads_mode: str, pool_size: int) -> Path:
    database: dict[str, Any] = {"storage": storage}
    if storage == "postgresql":
        database["dsn"] = PG_DSN
    config = {
        "var_dir": str(var_dir),
        "databases": {"db": database},
        "auth": {"root_password": ROOT_PASSWORD, "jwt_secret": JWT_SECRET},
        "threads": {"mode": threads_mode, "pool_size": pool_size},
        "server": {"access_log": False},
    }
    path = var_dir / "bench-config.json"
    path.write_text(json.dumps(config, indent=2))
    return path


def zap_postgres() -> None:
    from baobab.testing.kit import zap_postgres as zap

    zap(PG_DSN)


@contextlib.contextmanager
def started(servers: Servers, start: Callable[[Servers], ServerProcess]) -> Iterator[ServerProcess]:
    """The server ``start(servers)`` starts (with ``servers.serve`` or ``servers.start``),
    stopped (SIGTERM to its process group, then SIGKILL) when the block ends; a server that
    does not start ends the benchmark with its output."""
    try:
        server = start(servers)
    except ServerError as exc:
        raise SystemExit(str(exc)) from None
    print(f"$ {shlex.join(server.argv)}", flush=True)
    try:
        yield server
    finally:
        server.stop()


def bench_servers(workdir: Path) -> Servers:
    """Where the servers of a benchmark write their output (``--keep`` keeps it)."""
    return Servers(workdir, startup_timeout=STARTUP_TIMEOUT)


@contextlib.contextmanager
def running_server(config: Path, workdir: Path) -> Iterator[ServerProcess]:
    """``baobab serve --config CONFIG`` on a free port of 127.0.0.1 until the block ends."""
    with bench_servers(workdir) as servers, started(servers, lambda s: s.serve(config)) as server:
        yield server


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (Granian runs its workers as child processes)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    out: list[int] = []
    todo = [pid]
    while todo:
        kids = children.get(todo.pop(), [])
        out += kids
        todo += kids
    return out


def pids_named(name: str) -> list[int]:
    """Processes whose command name is ``name`` (PostgreSQL's backends: ``postgres``)."""
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if (entry / "comm").read_text().strip() == name:
                    out.append(int(entry.name))
    return out


def proc_status_kib(pid: int, key: str) -> int | None:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    match = re.search(rf"^{key}:\s+(\d+) kB", text, re.MULTILINE)
    return int(match.group(1)) if match else None


def machine_seconds() -> tuple[float, float]:
    """(busy, stolen) CPU time of the whole machine, all cores, from /proc/stat.

    Busy excludes steal: time the hypervisor gave to other guests, which slows everything
    here without showing up as any process's CPU time.
    """
    fields = [int(n) for n in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    tick = os.sysconf("SC_CLK_TCK")
    return (user + nice + system + irq + softirq) / tick, steal / tick


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of ``pids`` (threads included)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


# --- HTTP set-up ------------------------------------------------------------------------------


def call(
    port: int, method: str, path: str, body: Any = None, token: str | None = None
) -> tuple[int, Any]:
    conn = http.client.HTTPConnection(HOST, port, timeout=10)
    headers = {"Accept": "application/json"}
    payload = None
    if body is not None:
        payload = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        conn.request(method, path, body=payload, headers=headers)
        response = conn.getresponse()
        data = response.read()
    finally:
        conn.close()
    return response.status, (json.loads(data) if data else None)


def expect(port: int, method: str, path: str, body: Any, *, token: str | None, status: int) -> Any:
    got, data = call(port, method, path, body, token)
    if got != status:
        raise SystemExit(f"{method} {path}: expected {status}, got {got}: {data}")
    return data


def api(port: int, token: str | None = None) -> httpx.Client:
    """A client for setting the server up (with root's ``token``); the load generators
    measure, this only seeds."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(base_url=f"http://{HOST}:{port}", headers=headers, timeout=60)


def root_token(port: int) -> str:
    with api(port) as http:
        return send_sync(http, login_call("", "root", ROOT_PASSWORD))


def document_call(parent: str, id_: str, **extra: Any) -> Call[str]:
    """:data:`DOCUMENT` (with ``extra``) as ``parent/id_``."""
    fields = {k: v for k, v in DOCUMENT.items() if k not in ("@type", "id")}
    return content_call(parent, "Document", id_, **{**fields, **extra})


def seed(port: int, spread: int) -> str:
    """Log in as root and create the site, folders and Documents; return the token."""
    token = root_token(port)
    with api(port, token) as http:
        site = send_sync(http, content_call("/db", "Container", "site"))
        for name in ("folder", "inbox", "many"):
            send_sync(http, content_call(site, "Folder", name, title=name.title()))
        send_sync(http, document_call(f"{site}/folder", "doc"))
        for n in range(spread):
            send_sync(http, document_call(MANY_PATH, f"d{n}", title=f"Document {n}"))
    doc = expect(port, "GET", DOC_PATH, None, token=token, status=200)
    print(f"seeded {DOC_PATH}: {len(doc)} keys, {len(json.dumps(doc))} bytes of JSON")
    return token


# --- load generators --------------------------------------------------------------------------

_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if not match:
        raise ValueError(f"unparsable wrk duration {text!r}")
    return float(match.group(1)) * _UNIT_MS[match.group(2)]


def parse_wrk(out: str) -> dict[str, Any]:
    parsed: dict[str, Any] = {"non_2xx": 0, "errors": 0}
    if m := re.search(r"Requests/sec:\s+([\d.]+)", out):
        parsed["rps"] = float(m.group(1))
    if m := re.search(r"(\d+) requests in", out):
        parsed["requests"] = int(m.group(1))
    if m := re.search(r"^\s+Latency\s+(\S+)", out, re.MULTILINE):
        parsed["mean_ms"] = _ms(m.group(1))
    for pct, key in (("50", "p50_ms"), ("99", "p99_ms")):
        if m := re.search(rf"^\s+{pct}%\s+(\S+)", out, re.MULTILINE):
            parsed[key] = _ms(m.group(1))
    if m := re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out):
        parsed["non_2xx"] = int(m.group(1))
    if m := re.search(r"Socket errors: (.*)", out):
        parsed["errors"] = sum(int(n) for n in re.findall(r"\d+", m.group(1)))
    return parsed


def parse_h2load(out: str, log_file: Path) -> dict[str, Any]:
    parsed: dict[str, Any] = {"non_2xx": 0, "errors": 0}
    if m := re.search(r"finished in [\d.]+\w+, ([\d.]+) req/s", out):
        parsed["rps"] = float(m.group(1))
    if m := re.search(r"requests: \d+ total, \d+ started, (\d+) done, (\d+) succeeded", out):
        parsed["requests"] = int(m.group(1))
        parsed["non_2xx"] = int(m.group(1)) - int(m.group(2))
    if m := re.search(r"(\d+) failed, (\d+) errored, (\d+) timeout", out):
        parsed["errors"] = int(m.group(1)) + int(m.group(2)) + int(m.group(3))
    # Per-request log: start µs, status, µs to the end of the response. h2load prints no
    # percentiles, so they come from here (the log covers the measurement window only).
    latencies = []
    with contextlib.suppress(OSError):
        for line in log_file.read_text().splitlines():
            cols = line.split("\t")
            if len(cols) >= 3 and cols[1].startswith("2"):
                latencies.append(int(cols[2]) / 1000)
        log_file.unlink()  # h2load appends: the next run of the case needs an empty log
    if len(latencies) >= 100:
        cuts = statistics.quantiles(latencies, n=100, method="inclusive")
        parsed.update(p50_ms=cuts[49], p99_ms=cuts[98], mean_ms=statistics.fmean(latencies))
    return parsed


class Bench:
    def __init__(self, args: argparse.Namespace, port: int, token: str, workdir: Path) -> None:
        self.args = args
        self.port = port
        self.token = token
        self.workdir = workdir
        self.server_pids: list[int] = []

    def url(self, path: str) -> str:
        return f"http://{HOST}:{self.port}{path}"

    def measure(self, name: str, tool: str, command: list[str], parse: Any) -> Result:
        """Run ``command`` ``--repeat`` times; keep the run with the median req/s."""
        shown = shlex.join(command).replace(self.token, "$TOKEN")
        print(f"\n== {name}\n$ {shown}", flush=True)
        runs = [self.run_once(name, tool, shown, command, parse) for _ in range(self.args.repeat)]
        result = sorted(runs, key=lambda r: r.rps)[len(runs) // 2]
        result.runs_rps = [r.rps for r in runs]
        return result

    def run_once(self, name: str, tool: str, shown: str, command: list[str], parse: Any) -> Result:
        pg = pids_named("postgres")
        server0, client0, pg0 = cpu_seconds(self.server_pids), children_cpu(), cpu_seconds(pg)
        busy0, steal0 = machine_seconds()
        wall0 = time.monotonic()
        run = subprocess.run(command, capture_output=True, text=True, check=False)
        wall = time.monotonic() - wall0
        server = cpu_seconds(self.server_pids) - server0
        client = children_cpu() - client0
        db = cpu_seconds(pg) - pg0
        busy1, steal1 = machine_seconds()
        busy, steal = busy1 - busy0, steal1 - steal0
        if run.returncode != 0:
            raise SystemExit(f"{tool} failed ({run.returncode}):\n{run.stdout}\n{run.stderr}")
        result = Result(name=name, tool=tool, command=shown, raw=run.stdout)
        for key, value in parse(run.stdout).items():
            setattr(result, key, value)
        if result.requests:
            result.server_cpu_us_per_req = server / result.requests * 1e6
        # CPU as % of one core: the server, the load generator, PostgreSQL (whoever uses it),
        # everything else on the machine, and time stolen by the hypervisor. High "other" or
        # "steal" means a noisy machine: compare such figures with care.
        result.server_cpu_pct = 100 * server / wall
        result.client_cpu_pct = 100 * client / wall
        result.pg_cpu_pct = 100 * db / wall
        result.other_cpu_pct = max(0.0, 100 * (busy - server - client - db) / wall)
        result.steal_pct = 100 * steal / wall
        print(summary_line(result), flush=True)
        return result

    def wrk(self, name: str, path: str, script: str | None = None) -> Result:
        a = self.args
        auth = f"Authorization: Bearer {self.token}"
        base = ["wrk", f"-t{a.wrk_threads}", f"-c{a.connections}", "-H", auth, "--latency"]
        extra: list[str] = []
        if script is not None:
            lua = self.workdir / (re.sub(r"\W+", "-", name.lower()) + ".lua")
            lua.write_text(script)
            extra = ["-s", str(lua)]
        url = self.url(path)
        # warm-up (object caches, connection pools), not measured
        subprocess.run([*base, *extra, "-d2s", url], capture_output=True, check=False)
        return self.measure(name, "wrk", [*base, *extra, f"-d{a.duration}s", url], parse_wrk)

    def h2load(self, name: str, path: str, streams: int, *, h1: bool = False) -> Result:
        a = self.args
        log = self.workdir / (re.sub(r"\W+", "-", name.lower()) + ".log")
        command = [
            "h2load",
            f"-c{a.connections}",
            f"-m{streams}",
            "-t1",
            "-H",
            f"authorization: Bearer {self.token}",
            *(["--h1"] if h1 else []),
        ]
        url = self.url(path)
        subprocess.run([*command, "-D2", url], capture_output=True, check=False)  # warm-up
        command += [f"-D{a.duration}", f"--log-file={log}", url]
        return self.measure(name, "h2load", command, lambda out: parse_h2load(out, log))


def summary_line(r: Result) -> str:
    def ms(v: float | None) -> str:
        return "-" if v is None else f"{v:.2f}"

    cpu = "-" if r.server_cpu_us_per_req is None else f"{r.server_cpu_us_per_req:.0f}"
    return (
        f"{r.name:<16} {r.tool:<6} {r.rps:>8.0f} {ms(r.p50_ms):>7} {ms(r.p99_ms):>7} "
        f"{r.non_2xx + r.errors:>5} {cpu:>7} "
        + " ".join(
            f"{pct:>5.0f}%"
            for pct in (
                r.server_cpu_pct,
                r.client_cpu_pct,
                r.pg_cpu_pct,
                r.other_cpu_pct,
                r.steal_pct,
            )
        )
    )


def print_table(results: list[Result], header: str) -> None:
    print(f"\n{header}")
    print(
        f"{'case':<16} {'tool':<6} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'bad':>5} "
        f"{'µs/req':>7} {'server':>6} {'client':>6} {'pg':>6} {'other':>6} {'steal':>6}"
    )
    for r in results:
        print(summary_line(r))


CASES = ("get", "h2", "post", "patch", "patch-spread")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else "")
    parser.add_argument("--duration", type=int, default=10, help="seconds per measurement")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--wrk-threads", type=int, default=1, help="wrk -t (default 1)")
    parser.add_argument(
        "--threads-mode", choices=["auto", "inline", "split", "pool"], default="auto"
    )
    parser.add_argument("--pool-size", type=int, default=4, help="threads.pool_size")
    parser.add_argument("--storage", choices=["filestorage", "postgresql"], default="filestorage")
    parser.add_argument(
        "--repeat", type=int, default=1, help="runs per case; the median (by req/s) is kept"
    )
    parser.add_argument(
        "--spread", type=int, default=64, help="Documents the 'PATCH spread' case writes to"
    )
    parser.add_argument("--only", nargs="*", choices=CASES, help="cases to run (default: all)")
    parser.add_argument(
        "--nice",
        type=int,
        default=0,
        help="priority change for the server and the load generators "
        "(e.g. -10, as root, on a machine busy with other work)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (server log)")
    parser.add_argument("--no-json", action="store_true", help="do not write bench/results/")
    return parser.parse_args(argv)


def run_cases(bench: Bench, only: set[str]) -> list[Result]:
    results: list[Result] = []
    if "get" in only:
        results.append(bench.wrk("GET h1", DOC_PATH))
    if "h2" in only:
        results.append(bench.h2load("GET h1 (h2load)", DOC_PATH, 1, h1=True))
        results.append(bench.h2load("GET h2 m1", DOC_PATH, 1))
        results.append(bench.h2load("GET h2 m10", DOC_PATH, 10))
    if "post" in only:
        results.append(bench.wrk("POST create", "/db/site/inbox", POST_LUA))
    if "patch" in only:
        results.append(bench.wrk("PATCH", DOC_PATH, PATCH_LUA))
    if "patch-spread" in only:
        lua = PATCH_SPREAD_LUA % {"folder": MANY_PATH, "count": bench.args.spread}
        results.append(bench.wrk("PATCH spread", MANY_PATH, lua))
    return results


@dataclass
class Memory:
    role: str
    pid: int
    peak_kib: int | None  # VmHWM
    now_kib: int | None  # VmRSS


def memory(server_pid: int, pids: list[int]) -> list[Memory]:
    return [
        Memory(
            "main" if pid == server_pid else "worker",
            pid,
            proc_status_kib(pid, "VmHWM"),
            proc_status_kib(pid, "VmRSS"),
        )
        for pid in pids
    ]


def prepare(args: argparse.Namespace, tools: tuple[str, ...], packages: str) -> None:
    """Check the load generators are installed; apply ``--nice`` (inherited by the server,
    the load generators and client processes started afterwards)."""
    for tool in tools:
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is not installed (apt-get install {packages})")
    if args.nice:
        try:
            os.nice(args.nice)
        except PermissionError:
            raise SystemExit("--nice below 0 needs root (or CAP_SYS_NICE)") from None


def write_results(args: argparse.Namespace, name: str, data: dict[str, Any]) -> None:
    """Keep a run's figures as ``bench/results/<time>-<name>.json`` (git-ignored): ``data``
    with the date, the commit (unless ``data`` names one), the machine and the arguments."""
    now = dt.datetime.now(dt.UTC)
    out = {
        "date": now.isoformat(timespec="seconds"),
        "commit": source_version(),
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "loadavg": Path("/proc/loadavg").read_text().split()[:3],
        },
        "args": vars(args),
        **data,
    }
    stem = f"{now:%Y%m%dT%H%M%S}-{name}"
    folder = BENCH_DIR / "results"
    folder.mkdir(exist_ok=True)
    (folder / f"{stem}.json").write_text(json.dumps(out, indent=2) + "\n")
    print(f"\nwrote bench/results/{stem}.json")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    prepare(args, ("wrk", "h2load"), "wrk nghttp2-client")
    workdir = Path(tempfile.mkdtemp(prefix="baobab-bench-"))
    try:
        if args.storage == "postgresql":
            zap_postgres()
        config = write_config(workdir, args.storage, args.threads_mode, args.pool_size)
        with running_server(config, workdir) as server:
            bench = Bench(args, server.port, seed(server.port, args.spread), workdir)
            bench.server_pids = [server.pid, *descendants(server.pid)]
            results = run_cases(bench, set(args.only or CASES))
            mem = memory(server.pid, bench.server_pids)
    finally:
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)

    print_table(
        results,
        f"storage={args.storage} threads.mode={args.threads_mode} "
        f"connections={args.connections} wrk -t{args.wrk_threads} duration={args.duration}s "
        f"repeat={args.repeat} commit={source_version()}",
    )
    print("\nserver processes (peak RSS = VmHWM):")
    for m in mem:
        print(f"  {m.role:<6} pid {m.pid}: peak {fmt_kib(m.peak_kib)}, now {fmt_kib(m.now_kib)}")
    if not args.no_json:
        write_json(args, results, mem)
    return 0


def fmt_kib(kib: int | None) -> str:
    return "?" if kib is None else f"{kib / 1024:.1f} MiB"


def source_version() -> str:
    """The checked-out commit, ``+dirty`` when src/ differs from it (read-only git commands)."""
    root = BENCH_DIR.parent
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=root,
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
        diff = subprocess.run(
            ["git", "diff", "--quiet", "HEAD", "--", "src"], cwd=root, check=False
        ).returncode
    except OSError:
        return "unknown"
    return f"{head}+dirty" if diff else head or "unknown"


def write_json(args: argparse.Namespace, results: list[Result], mem: list[Memory]) -> None:
    data = {
        "results": [{k: v for k, v in asdict(r).items() if k != "raw"} for r in results],
        "memory": [asdict(m) for m in mem],
    }
    write_results(args, f"{args.storage}-{args.threads_mode}", data)


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark the cost of the security model on a real ``baobab serve``: local roles, listings.

Starts the server like ``bench/run.py`` (whose helpers it imports), seeds ``/db/site`` with the
standard Document, site users and groups, then measures with wrk over HTTP/1.1:

* **depth** — the permission check through local roles, four GETs run interleaved:

  - ``A depth1``: ``u1`` (global Reader) reads ``/db/site/d1doc``, a private Document directly
    in the container, with no local role but the creator's Owner;
  - ``B depth10 local``: ``u2`` (no global role) reads ``/db/site/l1/…/l9/doc``, ten levels
    below the container, with grants to several users and groups on every level; ``u2``
    reads it through Reader granted on ``l1`` only;
  - ``C depth10 global``: ``u1`` reads the same deep Document through its global role: the
    same traversal, without the local role that grants access;
  - ``GET root``: root reads ``/db/site/folder/doc``, run.py's ``GET h1`` case;

* **listing** — a published Folder with ``--docs`` private Documents, Reader granted to ``u3``
  on every second one: GET ``?b_size=50`` and ``?b_size=50&b_start=2500`` (a quarter of
  ``--docs``) as ``u3``, at one connection (latency) and at ``--connections`` (throughput).
  The answers are checked first (``items_total`` is half the Documents, 50 items,
  even-numbered ids only).

Each case runs ``--repeat`` times, the cases of a group interleaved, after an unmeasured
warm-up; the table gives the median of each column over the runs, and the depth ratios B/A and
C/A. Writes the same as JSON to ``bench/results/``. See bench/README.md ("Security").
"""

from __future__ import annotations

import argparse
import http.client
import json
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import run as base  # bench/run.py, found through the path above
from baobab.testing import (
    content_call,
    group_call,
    login_call,
    send_sync,
    sharing_call,
    transition_call,
    user_call,
)

SITE = "/db/site"
USER_PASSWORD = "bench-user-password"
DEPTH1_PATH = f"{SITE}/d1doc"
DEPTH_LEVELS = 9  # Folders l1…l9, then the Document: ten levels below the container
DEEP_PATH = SITE + "".join(f"/l{n}" for n in range(1, DEPTH_LEVELS + 1)) + "/doc"
LISTING_PATH = f"{SITE}/listing"
READER = "baobab.Reader"

# Site users and groups. u1: global Reader (cases A and C); u2: no global role, reads the deep
# Document through a local grant (B); u3: no global role, Reader on every second Document of
# the listing folder; u4–u8 and the groups only hold local roles that do not concern the
# measured users, so the checker has several principals' grants to merge on every level.
USERS: dict[str, dict[str, Any]] = {
    "u1": {"roles": [READER]},
    "u2": {},
    "u3": {},
    "u4": {},
    "u5": {},
    "u6": {},
    "u7": {},
    "u8": {},
}
GROUPS: dict[str, list[str]] = {"g1": ["u2", "u4", "u5"], "g2": ["u6", "u7"]}

# Grants on every level of the deep path (the nine Folders and the Document). g1, which u2 is
# in, gets Reviewer, a role that does not grant View on private content: its grants reach the
# checker without deciding anything.
LEVEL_GRANTS: dict[str, dict[str, bool]] = {
    "u4": {READER: True},
    "u5": {"baobab.Editor": True},
    "u6": {"baobab.Contributor": True},
    "g1": {"baobab.Reviewer": True},
    "g2": {READER: True, "baobab.Editor": True},
}

LISTING_DOCUMENT = {
    "@type": "Document",
    "description": "One of many Documents in the listing benchmark's folder.",
    "text": "A short body. " * 10,
}


@dataclass(frozen=True)
class Case:
    name: str
    user: str
    path: str
    connections: int


@dataclass
class Row:
    """One case: the median of each figure over its runs, and every run."""

    name: str
    user: str
    path: str
    connections: int
    command: str
    rps: float = 0.0
    p50_ms: float | None = None
    p99_ms: float | None = None
    bad: int = 0  # non-2xx + socket errors, all runs
    server_cpu_us_per_req: float | None = None
    server_cpu_pct: float = 0.0
    other_cpu_pct: float = 0.0
    steal_pct: float = 0.0
    runs: list[dict[str, Any]] = field(default_factory=list)


# --- HTTP set-up ------------------------------------------------------------------------------


def login(port: int, user: str, password: str = USER_PASSWORD) -> str:
    with base.api(port) as http:
        return send_sync(http, login_call(SITE, user, password))


def seed_principals(port: int, root: str) -> None:
    with base.api(port, root) as http:
        for user, extra in USERS.items():
            send_sync(http, user_call(SITE, user, USER_PASSWORD, **extra))
        for group, members in GROUPS.items():
            send_sync(http, group_call(SITE, group, title=group.upper(), users=members))


def seed_depth(port: int, root: str) -> None:
    """``/db/site/d1doc`` (no grants) and ``/db/site/l1/…/l9/doc`` (grants on every level)."""
    with base.api(port, root) as http:
        send_sync(http, base.document_call(SITE, "d1doc"))
        parent = SITE
        for n in range(1, DEPTH_LEVELS + 1):
            parent = send_sync(http, content_call(parent, "Folder", f"l{n}", title=f"Level {n}"))
        assert send_sync(http, base.document_call(parent, "doc")) == DEEP_PATH
        path = SITE
        for n in range(1, DEPTH_LEVELS + 2):
            path += f"/l{n}" if n <= DEPTH_LEVELS else "/doc"
            grants = dict(LEVEL_GRANTS)
            if n == 1:
                grants["u2"] = {READER: True}
            send_sync(http, sharing_call(path, grants))


class Seeder:
    """Creates the listing folder's Documents over keep-alive connections, in a thread pool."""

    def __init__(self, port: int, token: str) -> None:
        self.port = port
        self.token = token
        self.local = threading.local()
        self.retries = 0

    def _conn(self) -> http.client.HTTPConnection:
        conn: http.client.HTTPConnection | None = getattr(self.local, "conn", None)
        if conn is None:
            conn = http.client.HTTPConnection(base.HOST, self.port, timeout=60)
            self.local.conn = conn
        return conn

    def _post(self, path: str, body: Any, status: int) -> None:
        payload = json.dumps(body).encode()
        headers = {
            "Accept": "application/json",
            "Content-Type": "application/json",
            "Authorization": f"Bearer {self.token}",
        }
        for _attempt in range(5):
            conn = self._conn()
            try:
                conn.request("POST", path, body=payload, headers=headers)
                response = conn.getresponse()
                data = response.read()
            except (OSError, http.client.HTTPException):
                conn.close()
                self.local.conn = None
                self.retries += 1
                continue
            if response.status == status:
                return
            if response.status == 409:  # a write conflict after the server's own retries
                self.retries += 1
                continue
            raise RuntimeError(f"POST {path}: expected {status}, got {response.status}: {data!r}")
        raise RuntimeError(f"POST {path}: gave up after 5 attempts")

    def document(self, n: int) -> None:
        name = doc_name(n)
        body = {**LISTING_DOCUMENT, "id": name, "title": f"Listed document {n}"}
        self._post(LISTING_PATH, body, 201)
        if n % 2 == 0:
            entries = [{"id": "u3", "roles": {READER: True}}]
            self._post(f"{LISTING_PATH}/{name}/@sharing", {"entries": entries}, 204)


def doc_name(n: int) -> str:
    return f"doc{n:05d}"


def seed_listing(port: int, root: str, count: int, threads: int) -> float:
    """The published listing folder and its Documents; the seconds it took."""
    with base.api(port, root) as http:
        send_sync(http, content_call(SITE, "Folder", "listing", title="Listing"))
        send_sync(http, transition_call(LISTING_PATH, "publish"))
    seeder = Seeder(port, root)
    start = time.monotonic()
    with ThreadPoolExecutor(threads) as pool:
        for done, _ in enumerate(pool.map(seeder.document, range(count)), 1):
            if done % 1000 == 0:
                print(f"  {done} documents, {time.monotonic() - start:.0f} s", flush=True)
    seconds = time.monotonic() - start
    print(
        f"seeded {count} documents in {LISTING_PATH} ({count // 2 + count % 2} shared with u3) "
        f"in {seconds:.1f} s with {threads} threads, {seeder.retries} retries",
        flush=True,
    )
    return seconds


def check_access(port: int, tokens: dict[str, str], count: int) -> dict[str, Any]:
    """Fail fast if the set-up does not give the access the cases assume."""
    checks = [
        ("u1", DEPTH1_PATH, 200),
        ("u2", DEEP_PATH, 200),
        ("u1", DEEP_PATH, 200),
        ("u2", DEPTH1_PATH, 404),  # no role there: unseeable
        ("u3", DEEP_PATH, 404),
        ("root", base.DOC_PATH, 200),
    ]
    if count:
        checks += [
            ("u3", f"{LISTING_PATH}/{doc_name(0)}", 200),
            ("u3", f"{LISTING_PATH}/{doc_name(1)}", 404),
        ]
    for user, path, status in checks:
        got, data = base.call(port, "GET", path, None, tokens[user])
        if got != status:
            raise SystemExit(f"GET {path} as {user}: expected {status}, got {got}: {data}")
    if not count:
        return {}
    found: dict[str, Any] = {}
    for start in (0, count // 4):
        path = f"{LISTING_PATH}?b_size=50&b_start={start}"
        data = base.expect(port, "GET", path, None, token=tokens["u3"], status=200)
        ids = [item["id"] for item in data["items"]]
        odd = [i for i in ids if int(i.removeprefix("doc")) % 2]
        expected_first = doc_name(2 * start)
        ok = (
            data["items_total"] == (count + 1) // 2
            and len(ids) == 50
            and not odd
            and ids[0] == expected_first
        )
        found[f"b_start={start}"] = {
            "items_total": data["items_total"],
            "items": len(ids),
            "first": ids[0] if ids else None,
            "last": ids[-1] if ids else None,
            "odd_ids": len(odd),
            "ok": ok,
        }
        print(f"check GET {path} as u3: {found[f'b_start={start}']}")
        if not ok:
            raise SystemExit(f"listing check failed: {found}")
    return found


# --- measuring --------------------------------------------------------------------------------


def wrk_command(args: argparse.Namespace, url: str, token: str, conns: int, secs: int) -> list[str]:
    auth = f"Authorization: Bearer {token}"
    return ["wrk", "-t1", f"-c{conns}", "-H", auth, "--latency", f"-d{secs}s", url]


def median(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def measure_group(
    bench: base.Bench, cases: list[Case], tokens: dict[str, str], title: str
) -> list[Row]:
    """Warm each case up, then run the cases interleaved ``--repeat`` times."""
    args = bench.args
    print(f"\n=== {title}", flush=True)
    commands = {}
    for case in cases:
        url = bench.url(case.path)
        token = tokens[case.user]
        subprocess.run(  # warm-up, not measured
            wrk_command(args, url, token, case.connections, 2), capture_output=True, check=False
        )
        commands[case] = wrk_command(args, url, token, case.connections, args.duration)
    runs: dict[Case, list[base.Result]] = {case: [] for case in cases}
    for round_ in range(1, args.repeat + 1):
        print(f"-- round {round_}/{args.repeat}", flush=True)
        for case in cases:
            shown = shlex.join(commands[case]).replace(tokens[case.user], f"${case.user}_TOKEN")
            result = bench.run_once(case.name, "wrk", shown, commands[case], base.parse_wrk)
            runs[case].append(result)
    rows = []
    for case in cases:
        done = runs[case]
        rows.append(
            Row(
                name=case.name,
                user=case.user,
                path=case.path,
                connections=case.connections,
                command=done[0].command,
                rps=statistics.median(r.rps for r in done),
                p50_ms=median([r.p50_ms for r in done]),
                p99_ms=median([r.p99_ms for r in done]),
                bad=sum(r.non_2xx + r.errors for r in done),
                server_cpu_us_per_req=median([r.server_cpu_us_per_req for r in done]),
                server_cpu_pct=statistics.median(r.server_cpu_pct for r in done),
                other_cpu_pct=statistics.median(r.other_cpu_pct for r in done),
                steal_pct=statistics.median(r.steal_pct for r in done),
                runs=[
                    {
                        k: v
                        for k, v in asdict(r).items()
                        if k not in ("raw", "runs_rps", "command", "name", "tool")
                    }
                    for r in done
                ],
            )
        )
    return rows


def ratio(num: float | None, den: float | None) -> float | None:
    return None if num is None or not den else num / den


def depth_ratios(rows: list[Row]) -> dict[str, dict[str, Any]]:
    """B/A and C/A on the medians, and the median of the per-round ratios of req/s."""
    by_name = {r.name: r for r in rows}
    a = by_name["A depth1"]
    out: dict[str, dict[str, Any]] = {}
    for label, name in (("B/A", "B depth10 local"), ("C/A", "C depth10 global")):
        other = by_name[name]
        paired = [o["rps"] / x["rps"] for o, x in zip(other.runs, a.runs, strict=True) if x["rps"]]
        out[label] = {
            "rps": ratio(other.rps, a.rps),
            "rps_per_round": paired,
            "rps_per_round_median": statistics.median(paired) if paired else None,
            "p50": ratio(other.p50_ms, a.p50_ms),
            "p99": ratio(other.p99_ms, a.p99_ms),
            "server_cpu_us_per_req": ratio(other.server_cpu_us_per_req, a.server_cpu_us_per_req),
        }
    return out


def fmt(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def print_rows(rows: list[Row]) -> None:
    print(
        f"{'case':<20} {'user':<4} {'conns':>5} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} "
        f"{'bad':>5} {'µs/req':>7} {'server':>7} {'other':>6} {'steal':>6}"
    )
    for r in rows:
        print(
            f"{r.name:<20} {r.user:<4} {r.connections:>5} {r.rps:>8,.0f} {fmt(r.p50_ms):>7} "
            f"{fmt(r.p99_ms):>7} {r.bad:>5} {fmt(r.server_cpu_us_per_req, 0):>7} "
            f"{r.server_cpu_pct:>6.0f}% {r.other_cpu_pct:>5.0f}% {r.steal_pct:>5.0f}%"
        )


def print_ratios(ratios: dict[str, dict[str, Any]]) -> None:
    for label, r in ratios.items():
        rounds = ", ".join(f"{x:.3f}" for x in r["rps_per_round"])
        print(
            f"{label}: req/s {fmt(r['rps'], 3)} (per round: {rounds}), p50 {fmt(r['p50'], 3)}, "
            f"p99 {fmt(r['p99'], 3)}, server µs/req {fmt(r['server_cpu_us_per_req'], 3)}"
        )
    b = ratios["B/A"]
    within = (
        b["rps"] is not None
        and b["rps"] >= 0.85
        and b["p50"] is not None
        and b["p50"] <= 1.15
        and b["server_cpu_us_per_req"] is not None
        and b["server_cpu_us_per_req"] <= 1.15
    )
    verdict = "met" if within else "NOT met"
    print(f"depth target (B within 15 % of A in req/s, p50 and µs/req): {verdict}")


# --- main -------------------------------------------------------------------------------------

GROUPS_TO_RUN = ("depth", "listing")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else "")
    parser.add_argument("--duration", type=int, default=10, help="seconds per measurement")
    parser.add_argument("--repeat", type=int, default=3, help="runs per case (median kept)")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--docs", type=int, default=10_000, help="Documents in the listing")
    parser.add_argument("--seed-threads", type=int, default=8, help="threads seeding the listing")
    parser.add_argument("--storage", choices=["filestorage", "postgresql"], default="filestorage")
    parser.add_argument(
        "--threads-mode", choices=["auto", "inline", "split", "pool"], default="auto"
    )
    parser.add_argument("--pool-size", type=int, default=4, help="threads.pool_size")
    parser.add_argument(
        "--only", nargs="*", choices=GROUPS_TO_RUN, help="groups to run (default: all)"
    )
    parser.add_argument(
        "--nice", type=int, default=0, help="priority change (e.g. -20, as root), as run.py"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (server log)")
    parser.add_argument("--no-json", action="store_true", help="do not write bench/results/")
    args = parser.parse_args(argv)
    args.wrk_threads = 1  # base.Bench reads these
    args.spread = 0
    return args


@dataclass
class Report:
    commit: str  # of the code the server started with (src/ may change during a long run)
    depth: list[Row] = field(default_factory=list)
    depth_ratios: dict[str, dict[str, Any]] = field(default_factory=dict)
    listing: list[Row] = field(default_factory=list)
    listing_docs: int = 0
    listing_seed_seconds: float | None = None
    listing_checks: dict[str, Any] = field(default_factory=dict)


def run_all(args: argparse.Namespace, only: set[str], workdir: Path) -> Report:
    """Start the server, seed, check and measure; the server is stopped on the way out."""
    report = Report(base.source_version(), listing_docs=args.docs if "listing" in only else 0)
    docs = report.listing_docs
    if args.storage == "postgresql":
        base.zap_postgres()
    config = base.write_config(workdir, args.storage, args.threads_mode, args.pool_size)
    with base.running_server(config, workdir) as server:
        port = server.port
        root = base.seed(port, 0)
        seed_principals(port, root)
        seed_depth(port, root)
        if docs:
            report.listing_seed_seconds = seed_listing(port, root, docs, args.seed_threads)
        tokens = {"root": root, **{u: login(port, u) for u in ("u1", "u2", "u3")}}
        report.listing_checks = check_access(port, tokens, docs)
        bench = base.Bench(args, port, root, workdir)
        bench.server_pids = [server.pid, *base.descendants(server.pid)]
        n = args.connections
        if "depth" in only:
            cases = [
                Case("A depth1", "u1", DEPTH1_PATH, n),
                Case("B depth10 local", "u2", DEEP_PATH, n),
                Case("C depth10 global", "u1", DEEP_PATH, n),
                Case("GET root (run.py)", "root", base.DOC_PATH, n),
            ]
            report.depth = measure_group(bench, cases, tokens, "depth")
            report.depth_ratios = depth_ratios(report.depth)
        if docs:
            first = f"{LISTING_PATH}?b_size=50"
            deep = f"{LISTING_PATH}?b_size=50&b_start={docs // 4}"
            cases = [
                Case("list b_start=0", "u3", first, 1),
                Case(f"list b_start={docs // 4}", "u3", deep, 1),
                Case("list b_start=0", "u3", first, n),
                Case(f"list b_start={docs // 4}", "u3", deep, n),
            ]
            report.listing = measure_group(bench, cases, tokens, "listing")
    return report


def print_report(args: argparse.Namespace, report: Report) -> None:
    print(
        f"\nstorage={args.storage} threads.mode={args.threads_mode} wrk -t1 "
        f"duration={args.duration}s repeat={args.repeat} (medians) nice={args.nice} "
        f"commit={report.commit}"
    )
    if report.depth:
        print("\ndepth: A = depth 1, no local roles; B = depth 10, local roles on every level")
        print_rows(report.depth)
        print_ratios(report.depth_ratios)
    if report.listing:
        docs = report.listing_docs
        print(f"\nlisting: {docs} Documents, u3 may View {(docs + 1) // 2}, b_size=50")
        if report.listing_seed_seconds is not None:
            print(
                f"seeded over HTTP in {report.listing_seed_seconds:.1f} s "
                f"({args.seed_threads} threads)"
            )
        print_rows(report.listing)
        worst = max((r.p99_ms or 0.0) for r in report.listing if r.connections == 1)
        verdict = "met" if worst < 20 else "NOT met"
        print(f"listing target (p99 under 20 ms at one connection): {verdict}, {worst:.2f} ms")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    base.prepare(args, ("wrk",), "wrk")
    workdir = Path(tempfile.mkdtemp(prefix="baobab-bench-security-"))
    try:
        report = run_all(args, set(args.only or GROUPS_TO_RUN), workdir)
    finally:
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print_report(args, report)
    if not args.no_json:
        write_json(args, report)
    return 0


def write_json(args: argparse.Namespace, report: Report) -> None:
    name = f"security-{args.storage}-{args.threads_mode}"
    base.write_results(args, name, asdict(report))


if __name__ == "__main__":
    sys.exit(main())

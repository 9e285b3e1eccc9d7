"""Big-file downloads and uploads: Baobab against a bare Granian and a one-thread waitress.

The shape comes from the "Moonshot for migrating ZServer to Python 3" thread (see
/work/shared/seeds/): ten people download a 426 MB blob at once, ``ab -n 10 -c 10``, from a
server with one worker thread. ZServer, which handed the open blob to its async main loop and
freed the worker, served 2.25 downloads/s; waitress, whose worker thread stays busy streaming
each blob, 0.88 — and every other request waited behind the downloads. Here the same ``ab``
command runs against, one server at a time (the others stopped):

* **bare Granian** (``bench/apps/bare_pathsend.py``): a small ASGI app answering the file
  with the ``http.response.pathsend`` extension on ``granian --interface asgi --workers 1
  --loop uvloop``: the floor, what the server itself can do;
* **waitress, one thread** (``bench/apps/waitress_file.py``): a WSGI app yielding 64 KiB chunks
  of the open file, the naive way Plone-era code streamed blobs; and the same returning
  ``environ["wsgi.file_wrapper"]``, which lets waitress send the file from its main thread;
* **Baobab** (``baobab serve``, one worker): the file uploaded RAW to ``/db/site`` (a ``File``),
  published, and downloaded anonymously from ``<file>/@download/file``.

While ``ab`` runs, a thread sends small JSON GETs to the same server (``/json``; for Baobab the
published File's own JSON, anonymously), one after the other every ``--probe-interval`` s, up
to 20 and none after ``ab`` is done; their latencies say whether the downloads starve everything
else. Each download is checked (size from ``ab``; once with ``curl`` and a SHA-256 of the whole
body; for Baobab also ``Range``, ``ETag`` and ``If-None-Match``). The table gives the aggregate
transfer rate (``ab``'s, in MB/s of 10^6 bytes), the time for the ten downloads, and the JSON
latencies; then Baobab's throughput over bare Granian's (the issue's target: at least 0.90)
and over waitress's.

``--only upload`` (part of a full run) measures memory during uploads: a fresh Baobab gets a
1,000,000,000-byte file RAW (``curl -T``) and then as ``multipart/form-data`` (``curl -F``),
both streamed from disk, while the resident memory (RSS, psutil) of the ``baobab serve``
process (Granian's main) and its worker child is sampled every 50 ms. Reported: baseline, peak
and growth for the worker and for the whole tree (the issue's target: growth under 64 MB), the
upload rate, and the latency of anonymous ``GET /db/site`` sent meanwhile as above (uploads are
spooled on the event loop); each upload is then downloaded again and its SHA-256 compared.

Every server is started and stopped with the test kit's harness (``baobab.testing.server``:
its own process group, SIGTERM, then SIGKILL); the temp dir with
the random files is removed at the end (``--keep`` keeps its logs and configs). Run with
``.venv/bin/python bench/files.py --help`` (needs ``ab`` from apache2-utils and ``curl``).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import http.client
import json
import os
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))

import run as base  # bench/run.py, found through the path above
from baobab.testing import content_call, send_sync, transition_call
from baobab.testing.server import BAOBAB, ServerProcess, Servers

HOST = base.HOST
APPS_DIR = base.BENCH_DIR / "apps"
VENV_BIN = base.VENV_BIN
MB = 1_000_000  # MB and MB/s are 10^6 bytes, as in ab's seed figures (426 MB)
CHUNK = 1 << 20
FILENAME = "big.bin"
PROBES = 20
SAMPLE_SECONDS = 0.05
SERVERS = ("bare", "waitress", "baobab")
PARTS = (*SERVERS, "upload")


# --- files and processes ----------------------------------------------------------------------


def make_random_file(path: Path, size: int) -> str:
    """Write ``size`` random bytes to ``path`` a MiB at a time; return their SHA-256."""
    digest = hashlib.sha256()
    with path.open("wb") as out:
        left = size
        while left:
            chunk = os.urandom(min(CHUNK, left))
            digest.update(chunk)
            out.write(chunk)
            left -= len(chunk)
    return digest.hexdigest()


def get(port: int, path: str, timeout: float = 60) -> tuple[int, bytes]:
    """One GET on a fresh connection (as ``ab`` opens one per request)."""
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request("GET", path, headers={"Accept": "application/json"})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


# --- the servers ------------------------------------------------------------------------------


@dataclass
class Server:
    """A server under test: how to start it (``argv(port)`` in ``cwd``) and what to ask it."""

    name: str
    argv: Callable[[int], list[str]]
    cwd: Path
    env: dict[str, str]
    ready_path: str = "/json"
    download_path: str = "/file"
    json_path: str = "/json"
    baobab: bool = False

    def start(self, servers: Servers) -> ServerProcess:
        slug = re.sub(r"\W+", "-", self.name.lower()).strip("-")
        return servers.start(
            slug, self.argv, env=self.env, cwd=self.cwd, ready_path=self.ready_path
        )


def bare_granian(file: Path) -> Server:
    def argv(port: int) -> list[str]:
        return [
            str(VENV_BIN / "granian"),
            *("--interface", "asgi", "--workers", "1", "--loop", "uvloop"),
            *("--host", HOST, "--port", str(port), "bare_pathsend:app"),
        ]

    return Server("bare Granian (pathsend)", argv, APPS_DIR, {"BENCH_FILE": str(file)})


def waitress(file: Path, app: str) -> Server:
    def argv(port: int) -> list[str]:
        return [
            str(VENV_BIN / "waitress-serve"),
            *("--threads=1", f"--host={HOST}", f"--port={port}", f"waitress_file:{app}"),
        ]

    label = {"chunks": "64 KiB chunks", "file_wrapper": "wsgi.file_wrapper"}[app]
    return Server(f"waitress 1 thread ({label})", argv, APPS_DIR, {"BENCH_FILE": str(file)})


def baobab_server(workdir: Path) -> Server:
    config = write_baobab_config(workdir)

    def argv(port: int) -> list[str]:
        return [str(BAOBAB), "serve", "--config", str(config), "--host", HOST, "--port", str(port)]

    return Server("Baobab", argv, workdir, {}, ready_path="/", baobab=True)


def write_baobab_config(workdir: Path) -> Path:
    """A throw-away var dir and config; ``files.max_upload_size`` when the config knows it."""
    var_dir = workdir / "var"
    var_dir.mkdir(parents=True, exist_ok=True)
    config: dict[str, Any] = {
        "var_dir": str(var_dir),
        "auth": {"root_password": base.ROOT_PASSWORD, "jwt_secret": base.JWT_SECRET},
        "server": {"access_log": False},
        "files": {"max_upload_size": 4 << 30},
    }
    path = workdir / "baobab.json"
    path.write_text(json.dumps(config, indent=2))
    check = [str(VENV_BIN / "baobab"), "check-config", str(path)]
    checked = subprocess.run(check, capture_output=True, text=True, check=False)
    if checked.returncode != 0 and "`files`" in checked.stderr:
        del config["files"]  # an older Baobab, without the files settings: its defaults
        path.write_text(json.dumps(config, indent=2))
    elif checked.returncode != 0:
        raise SystemExit(f"baobab check-config: {checked.stderr}")
    return path


# --- Baobab: login, site, uploads -------------------------------------------------------------


@dataclass
class Upload:
    status: int
    headers: dict[str, str]
    body: Any
    seconds: float
    size: int

    @property
    def mb_s(self) -> float:
        return self.size / MB / self.seconds if self.seconds else 0.0

    @property
    def path(self) -> str:
        """The created object's path, from ``Location`` (absolute or not)."""
        return urlsplit(self.headers.get("location", "")).path


def parse_headers(text: str) -> tuple[int, dict[str, str]]:
    """The status and headers of the last response in a ``curl -D`` dump (after 100s)."""
    blocks = [b for b in re.split(r"\r?\n\r?\n", text.strip()) if b.startswith("HTTP/")]
    if not blocks:
        return 0, {}
    lines = blocks[-1].splitlines()
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(lines[0].split()[1]), headers


def curl_upload(port: int, token: str, file: Path, *, multipart: bool, workdir: Path) -> Upload:
    """POST ``file`` to ``/db/site`` with curl, streamed from disk (``-T`` or ``-F``)."""
    head, out = workdir / "upload.headers", workdir / "upload.body"
    command = [
        *("curl", "-sS", "--max-time", "900", "-X", "POST", "-D", str(head), "-o", str(out)),
        *("-w", "%{time_total}", "-H", f"Authorization: Bearer {token}", "-H", "Expect:"),
    ]
    if multipart:
        command += ["-F", f"file=@{file};filename={FILENAME};type=application/octet-stream"]
    else:
        command += [
            *("-T", str(file), "-H", "Content-Type: application/octet-stream"),
            *("-H", f'Content-Disposition: attachment; filename="{FILENAME}"'),
        ]
    done = subprocess.run(
        [*command, f"http://{HOST}:{port}/db/site"], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"curl upload failed ({done.returncode}): {done.stderr}")
    status, headers = parse_headers(head.read_text(errors="replace"))
    raw = out.read_bytes()
    try:
        body: Any = json.loads(raw) if raw else None
    except ValueError:
        body = raw[:500].decode(errors="replace")
    return Upload(status, headers, body, float(done.stdout or 0), file.stat().st_size)


def create_site(port: int, token: str) -> None:
    with base.api(port, token) as http:
        send_sync(http, content_call("/db", "Container", "site"))


def publish(port: int, token: str, path: str) -> None:
    with base.api(port, token) as http:
        send_sync(http, transition_call(path, "publish"))


def upload_and_publish(port: int, token: str, file: Path, *, multipart: bool, workdir: Path) -> str:
    """Upload ``file`` as a File in ``/db/site``, publish it; return its path."""
    upload = curl_upload(port, token, file, multipart=multipart, workdir=workdir)
    kind = "multipart" if multipart else "RAW"
    print(
        f"Baobab {kind} upload: {upload.status} in {upload.seconds:.2f} s "
        f"({upload.mb_s:.0f} MB/s), Location {upload.headers.get('location')!r}",
        flush=True,
    )
    if upload.status != 201 or not upload.path:
        raise SystemExit(
            f"{kind} upload: expected 201 and a Location, got {upload.status}: "
            f"{upload.headers} {upload.body}"
        )
    if isinstance(upload.body, dict) and upload.body.get("@type") != "File":
        print(f"  note: the new object's @type is {upload.body.get('@type')!r}, not 'File'")
    publish(port, token, upload.path)
    return upload.path


# --- checking a download ----------------------------------------------------------------------


def curl_download(url: str, extra: list[str] | None = None) -> tuple[int, dict[str, str], str, int]:
    """GET ``url`` with curl, hashing the body as it streams; (status, headers, sha256, size)."""
    with tempfile.NamedTemporaryFile("r", suffix=".headers") as head:
        command = ["curl", "-sS", "--max-time", "900", "-D", head.name, *(extra or []), url]
        proc = subprocess.Popen(command, stdout=subprocess.PIPE)
        assert proc.stdout is not None
        digest, size = hashlib.sha256(), 0
        while chunk := proc.stdout.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
        if proc.wait() != 0:
            raise SystemExit(f"curl {url} failed ({proc.returncode})")
        status, headers = parse_headers(Path(head.name).read_text(errors="replace"))
    return status, headers, digest.hexdigest(), size


def check_download(url: str, file: Path, sha256: str, *, baobab: bool) -> list[str]:
    """Download once and compare; for Baobab also Range and ETag. Return the problems."""
    size = file.stat().st_size
    problems = []
    status, headers, digest, got = curl_download(url)
    if status != 200:
        problems.append(f"GET: status {status}, not 200")
    if headers.get("content-length") != str(size):
        problems.append(f"GET: Content-Length {headers.get('content-length')!r}, not {size}")
    if got != size or digest != sha256:
        problems.append(f"GET: {got} bytes, SHA-256 {'ok' if digest == sha256 else 'differs'}")
    if not baobab:
        return problems
    for name in ("etag", "accept-ranges", "content-disposition", "content-type"):
        if name not in headers:
            problems.append(f"GET: no {name} header")
    with file.open("rb") as data:
        data.seek(1000)
        expected = hashlib.sha256(data.read(1000)).hexdigest()
    status, ranged, digest, got = curl_download(url, ["-r", "1000-1999"])
    if status != 206 or got != 1000 or digest != expected:
        problems.append(f"Range 1000-1999: status {status}, {got} bytes, content differs")
    elif ranged.get("content-range") != f"bytes 1000-1999/{size}":
        problems.append(f"Range: Content-Range {ranged.get('content-range')!r}")
    if etag := headers.get("etag"):
        status, _, _, got = curl_download(url, ["-H", f"If-None-Match: {etag}"])
        if status != 304 or got:
            problems.append(f"If-None-Match: status {status} with {got} bytes, not 304")
    return problems


# --- ab and the JSON probes -------------------------------------------------------------------


@dataclass
class AbRun:
    complete: int = 0
    failed: int = 0
    non_2xx: int = 0
    document_length: int = 0
    html_transferred: int = 0
    seconds: float = 0.0
    rps: float = 0.0
    kb_s: float = 0.0
    # Connection Times (ms): min, mean, median, max of each row
    processing: list[float] = field(default_factory=list)
    waiting: list[float] = field(default_factory=list)
    total: list[float] = field(default_factory=list)

    @property
    def mb_s(self) -> float:
        return self.kb_s * 1024 / MB  # ab's "Kbytes" are KiB


def parse_ab(out: str) -> AbRun:
    run = AbRun()
    ints = {
        "complete": r"Complete requests:\s+(\d+)",
        "failed": r"Failed requests:\s+(\d+)",
        "non_2xx": r"Non-2xx responses:\s+(\d+)",
        "document_length": r"Document Length:\s+(\d+) bytes",
        "html_transferred": r"HTML transferred:\s+(\d+) bytes",
    }
    for key, pattern in ints.items():
        if m := re.search(pattern, out):
            setattr(run, key, int(m.group(1)))
    floats = {
        "seconds": r"Time taken for tests:\s+([\d.]+) seconds",
        "rps": r"Requests per second:\s+([\d.]+)",
        "kb_s": r"Transfer rate:\s+([\d.]+) \[Kbytes/sec\]",
    }
    for key, pattern in floats.items():
        if m := re.search(pattern, out):
            setattr(run, key, float(m.group(1)))
    for row in ("processing", "waiting", "total"):
        if m := re.search(rf"^{row.title()}:\s+(\d+)\s+(\d+)\s+[\d.]+\s+(\d+)\s+(\d+)", out, re.M):
            setattr(run, row, [float(n) for n in m.groups()])
    return run


@dataclass
class Probe:
    ms: float
    status: int


def probe_json(port: int, path: str, interval: float, ab_done: threading.Event) -> list[Probe]:
    """Up to ``PROBES`` sequential GETs, one every ``interval`` s, none after ``ab`` ends."""
    probes: list[Probe] = []
    next_at = time.monotonic() + interval
    while len(probes) < PROBES and not ab_done.wait(max(0.0, next_at - time.monotonic())):
        next_at += interval
        t0 = time.perf_counter()
        try:
            status, _ = get(port, path, timeout=600)
        except OSError:
            status = 0
        probes.append(Probe((time.perf_counter() - t0) * 1000, status))
    return probes


@dataclass
class Measurement:
    ab: AbRun
    probes: list[Probe]
    command: str
    raw: str = field(default="", repr=False)


def measure_downloads(port: int, server: Server, interval: float) -> Measurement:
    """``ab -n 10 -c 10`` on the download while a thread probes the JSON path."""
    url = f"http://{HOST}:{port}{server.download_path}"
    command = ["ab", "-n", "10", "-c", "10", "-s", "600", url]
    ab_done = threading.Event()
    probes: list[Probe] = []

    def probing() -> None:
        probes.extend(probe_json(port, server.json_path, interval, ab_done))

    prober = threading.Thread(target=probing, name="json-probes")
    ab = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    prober.start()
    try:
        out, err = ab.communicate(timeout=1800)
    finally:
        ab_done.set()
        if ab.poll() is None:
            ab.kill()
            ab.wait()
        prober.join()
    if ab.returncode != 0:
        raise SystemExit(f"ab failed ({ab.returncode}):\n{out}\n{err}")
    return Measurement(parse_ab(out), probes, shlex.join(command), out)


def ab_problems(ab: AbRun, size: int) -> list[str]:
    problems = []
    if ab.complete != 10 or ab.failed or ab.non_2xx:
        problems.append(f"ab: {ab.complete} complete, {ab.failed} failed, {ab.non_2xx} non-2xx")
    if ab.document_length != size or ab.html_transferred != 10 * size:
        problems.append(
            f"ab: Document Length {ab.document_length}, HTML transferred {ab.html_transferred}"
            f" (expected {size} and {10 * size})"
        )
    return problems


# --- results ----------------------------------------------------------------------------------


def percentile(values: list[float], pct: int) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[pct - 1]


@dataclass
class Row:
    """One server: the run with the median MB/s, and every run's MB/s."""

    server: str
    command: str = ""
    mb_s: float = 0.0
    seconds: float = 0.0
    rps: float = 0.0
    download_ms: list[float] = field(default_factory=list)  # min, mean, median, max
    waiting_ms: list[float] = field(default_factory=list)
    json_ms: list[float] = field(default_factory=list)
    idle_json_p50_ms: float | None = None
    problems: list[str] = field(default_factory=list)
    runs_mb_s: list[float] = field(default_factory=list)

    @property
    def json_p50(self) -> float | None:
        return percentile(self.json_ms, 50)

    @property
    def json_p99(self) -> float | None:
        return percentile(self.json_ms, 99)

    @property
    def json_max(self) -> float | None:
        return max(self.json_ms) if self.json_ms else None


def idle_json_p50(port: int, path: str) -> float:
    """Median latency of the JSON GET with nothing else running (10 GETs, after 2 unmeasured)."""
    times = []
    for n in range(12):
        t0 = time.perf_counter()
        get(port, path)
        if n >= 2:
            times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def measure_server(
    args: argparse.Namespace, server: Server, port: int, file: Path, sha: str
) -> Row:
    """Check the download once, then ``--repeat`` ab runs; keep the run with the median MB/s."""
    row = Row(server.name)
    url = f"http://{HOST}:{port}{server.download_path}"
    row.problems += check_download(url, file, sha, baobab=server.baobab)
    status, body = get(port, server.json_path)
    if status != 200:
        row.problems.append(f"JSON GET {server.json_path}: {status} {body[:200]!r}")
    row.idle_json_p50_ms = idle_json_p50(port, server.json_path)
    runs = []
    for n in range(args.repeat):
        m = measure_downloads(port, server, args.probe_interval)
        bad = sum(p.status != 200 for p in m.probes)
        print(
            f"  run {n + 1}: {m.ab.mb_s:,.0f} MB/s, {m.ab.seconds:.2f} s, download ms "
            f"(min/mean/median/max) {fmt_list(m.ab.total)}, waiting {fmt_list(m.ab.waiting)}; "
            f"JSON {len(m.probes)} probes, p50 {fmt(percentile([p.ms for p in m.probes], 50))} "
            f"max {fmt(max((p.ms for p in m.probes), default=None))} ms, {bad} not 200",
            flush=True,
        )
        row.problems += ab_problems(m.ab, file.stat().st_size)
        if bad:
            row.problems.append(f"JSON during ab: {bad} of {len(m.probes)} GETs not 200")
        runs.append(m)
    best = sorted(runs, key=lambda m: m.ab.mb_s)[len(runs) // 2]
    row.command = best.command
    row.mb_s, row.seconds, row.rps = best.ab.mb_s, best.ab.seconds, best.ab.rps
    row.download_ms, row.waiting_ms = best.ab.total, best.ab.waiting
    row.json_ms = [p.ms for p in best.probes]
    row.runs_mb_s = [m.ab.mb_s for m in runs]
    return row


def fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def fmt_list(values: list[float]) -> str:
    return "/".join(f"{v:.0f}" for v in values) or "-"


def print_table(rows: list[Row], size: int) -> None:
    print(f"\n10 concurrent downloads of {size / MB:,.0f} MB (ab -n 10 -c 10), JSON GETs meanwhile")
    print(
        f"{'server':<38} {'MB/s':>7} {'10 dl s':>8} {'dl max s':>8} {'JSON p50':>9} "
        f"{'p99':>9} {'max ms':>9} {'n':>3} {'idle p50':>8}"
    )
    for r in rows:
        slowest = r.download_ms[-1] / 1000 if r.download_ms else None
        print(
            f"{r.server:<38} {r.mb_s:>7,.0f} {r.seconds:>8.2f} {fmt(slowest, 2):>8} "
            f"{fmt(r.json_p50):>9} {fmt(r.json_p99):>9} {fmt(r.json_max):>9} "
            f"{len(r.json_ms):>3} {fmt(r.idle_json_p50_ms, 2):>8}"
        )
    for r in rows:
        for problem in r.problems:
            print(f"  PROBLEM {r.server}: {problem}")
    by_name = {r.server: r for r in rows}
    baobab = by_name.get("Baobab")
    if baobab is None:
        return
    for other in rows:
        if other is not baobab and other.mb_s:
            target = "  (target >= 0.90)" if other.server.startswith("bare") else ""
            print(f"Baobab / {other.server}: {baobab.mb_s / other.mb_s:.2f}{target}")


# --- upload memory ----------------------------------------------------------------------------


class RssSampler(threading.Thread):
    """Samples the RSS of a process and of its descendants every 50 ms, in bytes."""

    def __init__(self, pid: int) -> None:
        super().__init__(name="rss-sampler", daemon=True)
        self.pid = pid
        self.samples: list[tuple[float, int, int]] = []  # (monotonic, main, children)
        self.halt = threading.Event()

    def run(self) -> None:
        main = psutil.Process(self.pid)
        while not self.halt.is_set():
            with contextlib.suppress(psutil.Error):
                kids = sum(rss(p) for p in main.children(recursive=True))
                self.samples.append((time.monotonic(), rss(main), kids))
            self.halt.wait(SAMPLE_SECONDS)

    def between(self, t0: float, t1: float) -> list[tuple[float, int, int]]:
        return [s for s in self.samples if t0 <= s[0] <= t1]


def rss(process: psutil.Process) -> int:
    try:
        value: int = process.memory_info().rss
    except psutil.Error:
        return 0
    return value


@dataclass
class UploadMemory:
    kind: str
    status: int
    mb_s: float
    seconds: float
    worker_baseline_mb: float
    worker_peak_mb: float
    tree_baseline_mb: float
    tree_peak_mb: float
    samples: int
    json_ms: list[float] = field(default_factory=list)  # GET /db/site during the upload
    problems: list[str] = field(default_factory=list)

    @property
    def worker_growth_mb(self) -> float:
        return self.worker_peak_mb - self.worker_baseline_mb

    @property
    def tree_growth_mb(self) -> float:
        return self.tree_peak_mb - self.tree_baseline_mb


def measure_upload(
    port: int,
    token: str,
    sampler: RssSampler,
    file: Path,
    sha: str,
    *,
    multipart: bool,
    workdir: Path,
) -> UploadMemory:
    kind = "multipart/form-data" if multipart else "RAW"
    time.sleep(1.0)  # a second of idle samples: the baseline
    done = threading.Event()
    probes: list[Probe] = []
    prober = threading.Thread(
        target=lambda: probes.extend(probe_json(port, "/db/site", 0.1, done)), name="json-probes"
    )
    t0 = time.monotonic()
    prober.start()
    try:
        upload = curl_upload(port, token, file, multipart=multipart, workdir=workdir)
    finally:
        t1 = time.monotonic()
        done.set()
        prober.join()
    idle = sampler.between(t0 - 1.0, t0)
    busy = sampler.between(t0, t1 + SAMPLE_SECONDS)
    worker0 = statistics.median(s[2] for s in idle)
    tree0 = statistics.median(s[1] + s[2] for s in idle)
    result = UploadMemory(
        kind,
        upload.status,
        upload.mb_s,
        upload.seconds,
        worker_baseline_mb=worker0 / MB,
        worker_peak_mb=max(s[2] for s in busy) / MB,
        tree_baseline_mb=tree0 / MB,
        tree_peak_mb=max(s[1] + s[2] for s in busy) / MB,
        samples=len(busy),
        json_ms=[p.ms for p in probes],
    )
    if bad := sum(p.status != 200 for p in probes):
        result.problems.append(f"{kind}: {bad} of {len(probes)} JSON GETs not 200")
    if upload.status != 201 or not upload.path:
        result.problems.append(f"{kind}: status {upload.status}, {upload.headers}, {upload.body}")
        return result
    publish(port, token, upload.path)
    url = f"http://{HOST}:{port}{upload.path}/@download/file"
    result.problems += [f"{kind}: {p}" for p in check_download(url, file, sha, baobab=False)]
    return result


def run_upload_memory(args: argparse.Namespace, workdir: Path) -> list[UploadMemory]:
    size = args.upload_mb * MB
    file = workdir / "upload.bin"
    print(f"\nwriting {size:,} random bytes to {file}", flush=True)
    sha = make_random_file(file, size)
    server = baobab_server(workdir / "upload-server")
    results = []
    try:
        with (
            base.bench_servers(workdir / "upload-server") as servers,
            base.started(servers, server.start) as process,
        ):
            port = process.port
            token = base.root_token(port)
            create_site(port, token)
            sampler = RssSampler(process.pid)
            sampler.start()
            print(upload_header(size), flush=True)
            try:
                for multipart in (False, True):
                    results.append(
                        measure_upload(
                            port, token, sampler, file, sha, multipart=multipart, workdir=workdir
                        )
                    )
                    print(upload_line(results[-1]), flush=True)
            finally:
                sampler.halt.set()
                sampler.join()
    finally:
        file.unlink(missing_ok=True)
    return results


def upload_line(u: UploadMemory) -> str:
    return (
        f"{u.kind:<20} {u.status:>6} {u.mb_s:>6,.0f} {u.seconds:>7.2f} "
        f"{u.worker_baseline_mb:>9.0f} {u.worker_peak_mb:>7.0f} {u.worker_growth_mb:>7.1f} "
        f"{u.tree_baseline_mb:>9.0f} {u.tree_peak_mb:>7.0f} {u.tree_growth_mb:>7.1f} "
        f"{u.samples:>5} {fmt(percentile(u.json_ms, 50)):>9} "
        f"{fmt(max(u.json_ms, default=None)):>7} {len(u.json_ms):>3}"
    )


def upload_header(size: int) -> str:
    return (
        f"Uploads of {size:,} bytes to Baobab, RSS sampled every 50 ms (MB = 10^6 bytes)\n"
        f"{'upload':<20} {'status':>6} {'MB/s':>6} {'s':>7} "
        f"{'worker 0':>9} {'peak':>7} {'growth':>7} {'tree 0':>9} {'peak':>7} {'growth':>7} "
        f"{'n':>5} {'JSON p50':>9} {'max ms':>7} {'n':>3}"
    )


def print_uploads(results: list[UploadMemory], size: int) -> None:
    print(f"\n{upload_header(size)}")
    for u in results:
        print(upload_line(u))
    for u in results:
        for problem in u.problems:
            print(f"  PROBLEM {problem}")
        target = "met" if u.worker_growth_mb < 64 and u.tree_growth_mb < 64 else "NOT met"
        print(f"{u.kind}: growth < 64 MB {target}")


# --- the download part ------------------------------------------------------------------------


def servers_for(args: argparse.Namespace, file: Path, workdir: Path) -> list[Server]:
    """The servers asked for, each started on a fresh port when its turn comes."""
    only = set(args.only or PARTS)
    servers: list[Server] = []
    if "bare" in only:
        servers.append(bare_granian(file))
    if "waitress" in only:
        servers.append(waitress(file, "chunks"))
        if not args.no_file_wrapper:
            servers.append(waitress(file, "file_wrapper"))
    if "baobab" in only:
        servers.append(baobab_server(workdir / "download-server"))
    return servers


def prepare_baobab(server: Server, port: int, file: Path, workdir: Path) -> None:
    """Site, RAW upload and publication; point the server at the new File."""
    token = base.root_token(port)
    create_site(port, token)
    path = upload_and_publish(port, token, file, multipart=False, workdir=workdir)
    server.download_path = f"{path}/@download/file"
    server.json_path = path  # the File's JSON, anonymously (it is published)


def run_downloads(args: argparse.Namespace, workdir: Path) -> list[Row]:
    """Each server alone: start it, check and measure its downloads, stop it."""
    size = args.size_mb * MB
    file = workdir / FILENAME
    print(f"writing {size:,} random bytes to {file}", flush=True)
    sha = make_random_file(file, size)
    print(f"sha256 {sha}", flush=True)
    rows = []
    try:
        for server in servers_for(args, file, workdir):
            print(f"\n== {server.name}", flush=True)
            with (
                base.bench_servers(workdir) as servers,
                base.started(servers, server.start) as process,
            ):
                port = process.port
                if server.baobab:
                    prepare_baobab(server, port, file, workdir)
                rows.append(measure_server(args, server, port, file, sha))
    finally:
        file.unlink(missing_ok=True)
    return rows


# --- main -------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else "")
    parser.add_argument("--size-mb", type=int, default=426, help="download file, MB (10^6 B)")
    parser.add_argument("--upload-mb", type=int, default=1000, help="upload file, MB (10^6 B)")
    parser.add_argument(
        "--repeat", type=int, default=1, help="ab runs per server; the median (by MB/s) is kept"
    )
    parser.add_argument(
        "--probe-interval", type=float, default=0.1, help="seconds between JSON probes"
    )
    parser.add_argument(
        "--only", nargs="*", choices=PARTS, help="servers and/or the upload part (default: all)"
    )
    parser.add_argument(
        "--no-file-wrapper", action="store_true", help="skip the wsgi.file_wrapper waitress row"
    )
    parser.add_argument(
        "--nice",
        type=int,
        default=0,
        help="priority change for the servers, ab and curl (e.g. -20, as root)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (server logs)")
    parser.add_argument("--no-json", action="store_true", help="do not write bench/results/")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    base.prepare(args, ("ab", "curl"), "apache2-utils curl")
    only = set(args.only or PARTS)
    commit = base.source_version()  # now: the tree may change while the benchmark runs
    workdir = Path(tempfile.mkdtemp(prefix="baobab-files-"))
    rows: list[Row] = []
    uploads: list[UploadMemory] = []
    try:
        if only & set(SERVERS):
            rows = run_downloads(args, workdir)
        if "upload" in only:
            uploads = run_upload_memory(args, workdir)
    finally:
        remove(workdir, keep=args.keep)
    print(f"\ncommit {commit}, {os.cpu_count()} CPUs")
    if rows:
        print_table(rows, args.size_mb * MB)
    if uploads:
        print_uploads(uploads, args.upload_mb * MB)
    if not args.no_json:
        write_json(args, commit, rows, uploads)
    return 0


def remove(workdir: Path, *, keep: bool) -> None:
    if keep:
        for big in workdir.glob("*.bin"):
            big.unlink()
        for var in workdir.glob("*/var"):
            shutil.rmtree(var, ignore_errors=True)  # the uploaded blobs
        print(f"kept {workdir} (logs and configs; not the random files or var dirs)")
    else:
        shutil.rmtree(workdir, ignore_errors=True)


def write_json(
    args: argparse.Namespace, commit: str, rows: list[Row], uploads: list[UploadMemory]
) -> None:
    data = {
        "commit": commit,
        "downloads": [
            {**asdict(r), "json_p50": r.json_p50, "json_p99": r.json_p99, "json_max": r.json_max}
            for r in rows
        ],
        "uploads": [
            {
                **asdict(u),
                "worker_growth_mb": u.worker_growth_mb,
                "tree_growth_mb": u.tree_growth_mb,
            }
            for u in uploads
        ],
    }
    base.write_results(args, "files", data)


if __name__ == "__main__":
    sys.exit(main())

"""Files against a real server on a socket: gigabyte uploads in bounded memory, TUS resumed
after the client died, disconnects and full disks that leave nothing behind, limits, HTTP/2
and uvicorn downloads.

The big uploads share one ``baobab serve`` (module scope). Test files are written to disk in
8 MiB chunks of random bytes and removed afterwards; downloads are hashed as they stream out
of curl, never held whole. The worker's memory is sampled with psutil while the server
receives a gigabyte: the issue's target is under 64 MB of growth; the test asserts a generous
bound and prints the figure it measured.
"""

from __future__ import annotations

import base64
import contextlib
import errno
import hashlib
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
from tusclient import client as tus_client
from tusclient.uploader import Uploader

from baobab.testing import content_call, send_sync
from baobab.testing.server import BAOBAB, JWT_SECRET, ROOT_PASSWORD, ServerProcess, Servers

pytestmark = [
    pytest.mark.server,
    pytest.mark.skipif(shutil.which("curl") is None, reason="needs the curl CLI"),
]

MiB = 1 << 20
CHUNK = 8 * MiB
GB = 1_000_000_000
# The goal is < 64 MB of growth while a gigabyte streams in; asserted with headroom
# for allocator noise on a busy machine. The measured figure is printed (pytest -s).
RSS_BOUND = 150 * MiB
RSS_INTERVAL = 0.05
CURL_TIMEOUT = 600
SETTLE_TIMEOUT = 20.0
AUTHORIZATION = "Basic " + base64.b64encode(f"root:{ROOT_PASSWORD}".encode()).decode()
TUS_HEADERS = {"Tus-Resumable": "1.0.0", "Authorization": AUTHORIZATION}


# --- bytes on disk -------------------------------------------------------------------------


def write_random(path: Path, size: int) -> str:
    """``size`` random bytes written to ``path`` 8 MiB at a time; their SHA-256 (hex)."""
    digest = hashlib.sha256()
    with path.open("wb") as out:
        left = size
        while left:
            chunk = os.urandom(min(CHUNK, left))
            digest.update(chunk)
            out.write(chunk)
            left -= len(chunk)
    return digest.hexdigest()


def read_range(path: Path, start: int, length: int) -> bytes:
    with path.open("rb") as f:
        f.seek(start)
        return f.read(length)


def wait_until(condition: Callable[[], bool], what: str, timeout: float = SETTLE_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"not within {timeout} s: {what}")
        time.sleep(0.02)


# --- curl ----------------------------------------------------------------------------------


@dataclass
class Reply:
    """One curl exchange: the final status and headers, the body, curl's ``%{json}``."""

    status: int
    headers: dict[str, str]
    body: bytes
    info: dict[str, Any]

    def json(self) -> Any:
        return json.loads(self.body)


def parse_head(path: Path) -> tuple[int, dict[str, str]]:
    """The last response head curl dumped (``-D``), after any ``100 Continue``."""
    text = path.read_bytes().decode("latin-1")
    blocks = [b for b in text.split("\r\n\r\n") if b.startswith("HTTP/")]
    assert blocks, f"no response head in {text!r}"
    status_line, *lines = blocks[-1].split("\r\n")
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(status_line.split()[1]), headers


class Curl:
    """The curl CLI as root, with the response head and body kept in files under ``workdir``."""

    def __init__(self, workdir: Path, auth: str | None = f"root:{ROOT_PASSWORD}") -> None:
        self.workdir = workdir
        self.auth = auth
        self.count = 0

    def _argv(self) -> tuple[list[str], Path]:
        self.count += 1
        head = self.workdir / f"curl-{self.count}.head"
        auth = ["-u", self.auth] if self.auth else []
        return ["curl", "-sS", "--max-time", str(CURL_TIMEOUT), *auth, "-D", str(head)], head

    def __call__(self, *args: str) -> Reply:
        argv, head = self._argv()
        body = head.with_suffix(".body")
        done = subprocess.run(
            [*argv, "-o", str(body), "-w", "%{json}", *args],
            capture_output=True,
            timeout=CURL_TIMEOUT + 60,
            check=False,
        )
        assert done.returncode == 0, f"curl {args} exited {done.returncode}: {done.stderr!r}"
        status, headers = parse_head(head)
        reply = Reply(status, headers, body.read_bytes(), json.loads(done.stdout))
        head.unlink()
        body.unlink()
        return reply

    def digest(self, *args: str) -> tuple[Reply, str, int]:
        """A download hashed as it streams from curl: the reply (no body), SHA-256, size."""
        argv, head = self._argv()
        digest, size = hashlib.sha256(), 0
        with subprocess.Popen(
            [*argv, "-o", "-", "-w", "%{stderr}%{json}", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        ) as proc:
            assert proc.stdout is not None and proc.stderr is not None
            while chunk := proc.stdout.read(CHUNK):
                digest.update(chunk)
                size += len(chunk)
            err = proc.stderr.read()
            returncode = proc.wait(CURL_TIMEOUT)
        assert returncode == 0, f"curl {args} exited {returncode}: {err!r}"
        status, headers = parse_head(head)
        head.unlink()
        return Reply(status, headers, b"", json.loads(err)), digest.hexdigest(), size


def raw_upload_args(path: Path, filename: str) -> list[str]:
    """curl arguments that POST ``path`` as a raw body, streamed from disk (``-T``)."""
    return [
        "-T", str(path), "-X", "POST",
        "-H", "Content-Type: application/octet-stream",
        "-H", f'Content-Disposition: attachment; filename="{filename}"',
    ]  # fmt: skip


def form_upload_args(path: Path, filename: str) -> list[str]:
    """curl arguments that POST ``path`` as the ``file`` part of a multipart form."""
    return ["-F", f"file=@{path};filename={filename};type=application/octet-stream"]


def assert_error(reply: Reply, status: int, type_: str) -> dict[str, Any]:
    """The error envelope ``{"type", "message", "details"}`` with ``status`` and ``type_``."""
    assert reply.status == status, reply.body[:500]
    assert reply.headers["content-type"] == "application/json"
    body: dict[str, Any] = reply.json()
    assert set(body) == {"type", "message", "details", "request_id"}, body
    assert body["type"] == type_, body
    assert isinstance(body["message"], str) and body["message"]
    return body


# --- memory --------------------------------------------------------------------------------


class RssSampler:
    """The summed RSS of the server's workers (Granian runs the app in child processes of
    ``baobab serve``), sampled every 50 ms in a thread while the ``with`` block runs."""

    def __init__(self, server_pid: int, interval: float = RSS_INTERVAL) -> None:
        self.workers = psutil.Process(server_pid).children(recursive=True)
        assert self.workers, f"baobab serve (pid {server_pid}) has no worker process"
        self.interval = interval
        self.baseline = self.rss()
        self.peak = self.baseline
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def rss(self) -> int:
        total = 0
        for worker in self.workers:
            with contextlib.suppress(psutil.NoSuchProcess):
                total += worker.memory_info().rss
        return total

    def _sample(self) -> None:
        self.peak = max(self.peak, self.rss())
        self.samples += 1

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()

    @property
    def growth(self) -> int:
        return self.peak - self.baseline

    def report(self, what: str) -> str:
        return (
            f"{what}: worker RSS {self.baseline / MiB:.1f} MiB -> peak {self.peak / MiB:.1f} MiB, "
            f"growth {self.growth / MiB:.1f} MiB ({self.growth} bytes, {self.samples} samples)"
        )


# --- one server for the big tests ----------------------------------------------------------


@dataclass
class Site:
    """A running ``baobab serve`` with a container ``/db/site``."""

    server: ServerProcess
    var: Path
    curl: Curl
    http: httpx.Client = field(repr=False)

    def __enter__(self) -> Site:
        return self

    def __exit__(self, *exc: object) -> None:
        self.http.close()

    @property
    def url(self) -> str:
        return f"{self.server.url}/db/site"

    @property
    def spool(self) -> Path:
        return self.var / "spool"

    def spool_files(self) -> list[Path]:
        return sorted(self.spool.glob("*.spool"))

    def blob_tmp_files(self) -> list[Path]:
        return sorted((self.var / "blobs" / "db" / "tmp").iterdir())

    def listing(self) -> set[str]:
        response = self.http.get("/db/site", params={"b_size": 1000})
        assert response.status_code == 200, response.text
        return {item["id"] for item in response.json()["items"]}

    def assert_clean(self) -> None:
        """No upload left in the spool (once the last request ends) or in the blob tmp dir."""
        wait_until(lambda: not self.spool_files(), f"spool empty: {self.spool_files()}")
        assert self.blob_tmp_files() == []
        assert self.server.running(), self.server.output()

    def tus_offset(self, upload_url: str) -> tuple[int, int]:
        """``HEAD`` on a TUS upload: (Upload-Offset, Upload-Length)."""
        response = httpx.head(upload_url, headers=TUS_HEADERS, timeout=20)
        assert response.status_code == 200, (response.status_code, response.text)
        return int(response.headers["upload-offset"]), int(response.headers["upload-length"])


def open_site(servers: Servers, server: ServerProcess, workdir: Path) -> Site:
    """``/db/site`` created on ``server`` (started by the conftest's ``servers``)."""
    http = server.root_client()
    send_sync(http, content_call("/db", "Container", "site"))
    return Site(server, servers.var, Curl(workdir), http)


@pytest.fixture(scope="module")
def shared(module_servers: Servers) -> Iterator[Site]:
    """One ``baobab serve`` for the big tests of this module."""
    server = module_servers.serve()
    try:
        with open_site(module_servers, server, module_servers.tmp_path) as site:
            yield site
    finally:
        server.stop()
        # Gigabytes of blobs: not kept in the temporary directories pytest retains.
        shutil.rmtree(module_servers.var / "blobs", ignore_errors=True)


@pytest.fixture(scope="module")
def gigabyte(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """A file of 1,000,000,000 random bytes and its SHA-256, for the upload tests."""
    path = tmp_path_factory.mktemp("gigabyte") / "big.bin"
    try:
        yield path, write_random(path, GB)
    finally:
        path.unlink(missing_ok=True)


RandomFile = Callable[[str, int], tuple[Path, str]]


@pytest.fixture
def random_file(tmp_path: Path) -> Iterator[RandomFile]:
    """``make(name, size)``: a file of random bytes in ``tmp_path`` and its SHA-256; removed
    at teardown, failed test or not (pytest keeps the last runs' temporary directories)."""
    made: list[Path] = []

    def make(name: str, size: int) -> tuple[Path, str]:
        path = tmp_path / name
        made.append(path)
        return path, write_random(path, size)

    yield make
    for path in made:
        path.unlink(missing_ok=True)


def check_download(site: Site, url: str, source: Path, sha256: str, *extra: str) -> Reply:
    """The whole file (sha256), HEAD, a range at the start and one at the end, as ``source``."""
    size = source.stat().st_size
    reply, digest, got = site.curl.digest(*extra, url)
    assert reply.status == 200, reply.headers
    assert (got, digest) == (size, sha256)
    assert int(reply.headers["content-length"]) == size
    assert reply.headers["accept-ranges"] == "bytes"

    head = site.curl("-I", *extra, url)
    assert head.status == 200
    assert int(head.headers["content-length"]) == size
    assert head.headers["etag"] == reply.headers["etag"]

    part = site.curl("-r", "100-199", *extra, url)
    assert part.status == 206
    assert part.headers["content-range"] == f"bytes 100-199/{size}"
    assert part.body == read_range(source, 100, 100)
    tail = site.curl("-r", f"{size - 100}-", *extra, url)
    assert tail.status == 206
    assert tail.headers["content-range"] == f"bytes {size - 100}-{size - 1}/{size}"
    assert tail.body == read_range(source, size - 100, 100)
    return reply


# --- 1 GB uploads --------------------------------------------------------------------------


def upload_gigabyte(site: Site, args: list[str], what: str) -> dict[str, Any]:
    """POST a gigabyte with curl while sampling the worker's RSS; the created object's JSON."""
    before = site.listing()
    with RssSampler(site.server.pid) as rss:
        started = time.monotonic()
        reply = site.curl(*args, site.url)
        elapsed = time.monotonic() - started
    assert reply.status == 201, (reply.body[:500], site.server.output())
    mb_s = GB / elapsed / 1e6
    print(
        f"\n{rss.report(what)}; {elapsed:.1f} s, {mb_s:.0f} MB/s "
        f"(curl: {reply.info['speed_upload'] / 1e6:.0f} MB/s)"
    )
    assert rss.samples >= 5, rss.report(what)  # the memory was watched while it streamed
    assert rss.growth < RSS_BOUND, rss.report(what)
    created = reply.json()
    assert reply.headers["location"] == created["@id"]
    assert site.listing() == before | {created["id"]}
    assert created["@type"] == "File"
    assert created["file"]["size"] == GB
    site.assert_clean()
    return created


def download_gigabyte(site: Site, created: dict[str, Any], source: Path, sha256: str) -> None:
    url = created["file"]["download"]
    with RssSampler(site.server.pid) as rss:
        reply = check_download(site, url, source, sha256)
    print(
        f"{rss.report('1 GB download')}; curl {reply.info['speed_download'] / 1e6:.0f} MB/s "
        f"(HTTP/{reply.info['http_version']})"
    )


def test_raw_upload_of_a_gigabyte_in_bounded_memory(
    shared: Site, gigabyte: tuple[Path, str]
) -> None:
    source, sha256 = gigabyte
    created = upload_gigabyte(shared, raw_upload_args(source, "raw.bin"), "1 GB raw upload")
    assert created["file"]["filename"] == "raw.bin"
    assert created["file"]["content-type"] == "application/octet-stream"
    download_gigabyte(shared, created, source, sha256)


def test_multipart_upload_of_a_gigabyte_in_bounded_memory(
    shared: Site, gigabyte: tuple[Path, str]
) -> None:
    source, sha256 = gigabyte
    created = upload_gigabyte(shared, form_upload_args(source, "form.bin"), "1 GB multipart upload")
    assert created["file"]["filename"] == "form.bin"
    download_gigabyte(shared, created, source, sha256)


# --- TUS: resumed after the client was killed ----------------------------------------------

# A tuspy client in its own process: creates the upload, prints its URL, then uploads at
# ``rate`` bytes a second (a slow link, so the test can kill it midway). Each PATCH body is
# sent with its Content-Length, read from memory in 64 KiB pieces paced to the rate; with
# ``checksum``, each PATCH carries ``Upload-Checksum: sha256 …``.
TUS_CLIENT = """
import hashlib, sys, time
import requests
from tusclient import client
from tusclient.uploader import Uploader

url, authorization, path, filename, chunk_size, rate, checksum = sys.argv[1:8]
real_patch = requests.patch

class Throttled:
    def __init__(self, data, rate):
        self.data, self.rate, self.pos = memoryview(data), rate, 0
        self.start = time.monotonic()
    def __len__(self):
        return len(self.data)
    def __iter__(self):
        while chunk := self.read(65536):
            yield chunk
    def read(self, size=-1):
        size = 65536 if size is None or size < 0 else min(size, 65536)
        ahead = self.pos / self.rate - (time.monotonic() - self.start)
        if ahead > 0:
            time.sleep(ahead)
        chunk = bytes(self.data[self.pos:self.pos + size])
        self.pos += len(chunk)
        return chunk

def slow_patch(url, data=None, **kwargs):
    return real_patch(url, data=Throttled(data, float(rate)), **kwargs)

requests.patch = slow_patch
tus = client.TusClient(url, headers={"Authorization": authorization})
with open(path, "rb") as stream:
    uploader = tus.uploader(
        file_stream=stream,
        chunk_size=int(chunk_size),
        metadata={"filename": filename},
        upload_checksum=checksum == "checksum",
    )
    uploader.set_url(uploader.create_url())
    print(uploader.url, flush=True)
    uploader.upload()
print("finished", flush=True)
"""
TUS_SIZE = 200_000_000
TUS_RATE = 40_000_000  # bytes/s in the killed client: 5 s for the whole file


def start_tus_client(
    site: Site, source: Path, filename: str, *, chunk_size: int, checksum: bool, log: Path
) -> tuple[subprocess.Popen[str], str]:
    """The throttled tuspy client running; the upload URL it printed."""
    argv = [
        sys.executable, "-c", TUS_CLIENT, f"{site.url}/@tus", AUTHORIZATION, str(source),
        filename, str(chunk_size), str(TUS_RATE), "checksum" if checksum else "-",
    ]  # fmt: skip
    with log.open("w") as stderr:
        proc = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=stderr, text=True, start_new_session=True
        )
    assert proc.stdout is not None
    readable, _, _ = select.select([proc.stdout], [], [], 30)
    line = proc.stdout.readline().strip() if readable else ""
    if not line.startswith(f"{site.url}/@tus/"):
        kill(proc)
        pytest.fail(f"the tuspy client printed {line!r}\n{log.read_text()}")
    return proc, line


def kill(proc: subprocess.Popen[str]) -> None:
    """SIGKILL (as a crash or a pulled cable: no FIN from the application) and reap."""
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait(30)
    if proc.stdout is not None:
        proc.stdout.close()


@pytest.mark.parametrize(
    "kill_when", ["between PATCHes", "inside one PATCH", "inside one PATCH with a checksum"]
)
def test_tus_upload_resumes_after_the_client_was_killed(
    shared: Site, tmp_path: Path, random_file: RandomFile, kill_when: str
) -> None:
    site = shared
    source, sha256 = random_file("tus.bin", TUS_SIZE)
    one_patch = kill_when.startswith("inside one PATCH")
    checksum = kill_when.endswith("checksum")
    filename = f"tus-{'one-patch' if one_patch else 'chunks'}{'-sum' if checksum else ''}.bin"
    # 8 MiB PATCHes; or a chunk larger than the file: the whole upload in one PATCH.
    chunk_size = 2 * TUS_SIZE if one_patch else CHUNK
    before = site.listing()
    log = tmp_path / "tus.log"

    proc, upload_url = start_tus_client(
        site, source, filename, chunk_size=chunk_size, checksum=checksum, log=log
    )
    try:
        if one_patch:
            # Bytes are arriving in the spool, but no part is stored until the PATCH ends.
            def streaming() -> bool:
                return any(p.stat().st_size > 16 * MiB for p in site.spool_files())

            wait_until(streaming, "the PATCH body streaming into the spool")
            assert site.tus_offset(upload_url) == (0, TUS_SIZE)
        else:
            wait_until(lambda: site.tus_offset(upload_url)[0] > 0, "a first PATCH stored")
    finally:
        kill(proc)
    assert proc.returncode == -signal.SIGKILL, log.read_text()

    # The PATCH cut off by the kill ends on the server (what arrived kept as a part, unless
    # a checksum could not be verified on it); then the offset stays where the client resumes.
    wait_until(lambda: not site.spool_files(), "the interrupted PATCH finished")
    offset, length = site.tus_offset(upload_url)
    assert length == TUS_SIZE
    if checksum:
        assert offset == 0
    else:
        assert 0 < offset < TUS_SIZE, offset
    if one_patch and not checksum:
        assert offset > 16 * MiB  # what had streamed before the kill was kept
    assert site.listing() == before

    tus = tus_client.TusClient(f"{site.url}/@tus", headers={"Authorization": AUTHORIZATION})
    # A stream, not a path: given a path, tuspy opens the file once per PATCH, never closed.
    with source.open("rb") as stream:
        uploader = Uploader(  # tuspy checksums with SHA-1 by default
            file_stream=stream,
            url=upload_url,
            client=tus,
            chunk_size=chunk_size,
            upload_checksum=checksum,
        )
        assert uploader.offset == offset  # tuspy asked the server (HEAD)
        uploader.upload()
    location = uploader.request.response_headers["location"]
    print(f"\nTUS {kill_when}: offset {offset} of {TUS_SIZE} after the kill; resumed")

    assert site.listing() == before | {location.rsplit("/", 1)[1]}
    obj = site.http.get(location).json()
    assert obj["file"]["filename"] == filename
    assert obj["file"]["size"] == TUS_SIZE
    reply, digest, size = site.curl.digest(obj["file"]["download"])
    assert reply.status == 200
    assert (size, digest) == (TUS_SIZE, sha256)
    # The upload is finished: HEAD says so (offset = length), nothing is left over.
    head = httpx.head(upload_url, headers=TUS_HEADERS, timeout=20)
    assert (head.status_code, head.headers["upload-offset"]) == (200, str(TUS_SIZE))
    site.assert_clean()


# --- a client that goes away mid-upload ----------------------------------------------------


@pytest.mark.parametrize("kind", ["raw", "multipart"])
def test_a_disconnect_mid_upload_leaves_nothing(
    shared: Site, random_file: RandomFile, kind: str
) -> None:
    site = shared
    source, _ = random_file("slow.bin", 300_000_000)
    before = site.listing()
    args = (
        raw_upload_args(source, "gone.bin")
        if kind == "raw"
        else form_upload_args(source, "gone.bin")
    )
    argv = [
        "curl", "-sS", "-u", f"root:{ROOT_PASSWORD}", "--limit-rate", "20M",
        "-o", os.devnull, *args, site.url,
    ]  # fmt: skip
    proc = subprocess.Popen(argv, stderr=subprocess.DEVNULL, start_new_session=True)
    try:

        def streaming() -> bool:
            return any(p.stat().st_size > 0 for p in site.spool_files())

        wait_until(streaming, "the body streaming into the spool")
        time.sleep(1.0)  # well into the upload (20 MB/s: about 20 MB of 300)
        assert proc.poll() is None, "curl finished a 300 MB upload at 20 MB/s within 1 s?"
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)

    site.assert_clean()
    assert site.listing() == before
    assert site.http.get("/").status_code == 200  # and the server carries on


# --- HTTP/2 --------------------------------------------------------------------------------


def test_http2_upload_and_download(shared: Site, random_file: RandomFile) -> None:
    site = shared
    source, sha256 = random_file("h2.bin", 50_000_000)
    h2 = "--http2-prior-knowledge"
    reply = site.curl(h2, *raw_upload_args(source, "h2.bin"), site.url)
    assert (reply.status, reply.info["http_version"]) == (201, "2"), reply.body[:500]
    created = reply.json()
    assert created["file"]["size"] == 50_000_000
    reply = check_download(site, created["file"]["download"], source, sha256, h2)
    assert reply.info["http_version"] == "2"
    site.assert_clean()


# --- servers of their own ------------------------------------------------------------------


def config_with(servers: Servers, **files: Any) -> Path:
    return servers.config(
        {
            "var_dir": str(servers.var),
            "auth": {"root_password": ROOT_PASSWORD, "jwt_secret": JWT_SECRET},
            "server": {"access_log": False},
            "files": files,
        }
    )


FSIZE_LIMIT = 50 * MiB
# ``baobab serve`` exec'ed by a Python that first lowers RLIMIT_FSIZE (inherited by the
# workers): no file of the server can grow past the limit. Python ignores SIGXFSZ, so such a
# write fails with EFBIG, as a full disk fails with ENOSPC.
LIMITED = (
    "import os, resource, sys; n = int(sys.argv[1]); "
    "resource.setrlimit(resource.RLIMIT_FSIZE, (n, n)); os.execv(sys.argv[2], sys.argv[2:])"
)


def test_a_full_disk_is_507_and_leaves_nothing(
    servers: Servers, tmp_path: Path, random_file: RandomFile
) -> None:
    config = config_with(servers)

    def argv(port: int) -> list[str]:
        return [
            sys.executable, "-c", LIMITED, str(FSIZE_LIMIT), str(BAOBAB), "serve",
            "--config", str(config), "--host", "127.0.0.1", "--port", str(port),
        ]  # fmt: skip

    server = servers.start("baobab-serve-fsize", argv)
    with open_site(servers, server, tmp_path) as site:
        source, _ = random_file("100mb.bin", 100_000_000)
        for args in (raw_upload_args(source, "full.bin"), form_upload_args(source, "full.bin")):
            reply = site.curl(*args, site.url)
            body = assert_error(reply, 507, "InsufficientStorage")
            assert body["details"] == {"error": os.strerror(errno.EFBIG)}
            site.assert_clean()
            assert site.listing() == set()

        # The server carries on: a file that fits is stored.
        small, sha256 = random_file("small.bin", 1_000_000)
        reply = site.curl(*raw_upload_args(small, "small.bin"), site.url)
        assert reply.status == 201, reply.body[:500]
        check_download(site, reply.json()["file"]["download"], small, sha256)


def test_start_up_removes_leftover_spool_files(servers: Servers) -> None:
    spool = servers.var / "spool"
    spool.mkdir(parents=True)
    leftover = spool / "upload-x.spool"
    leftover.write_bytes(b"a crash left this")
    other = spool / "notes.txt"  # not a spool file: not the server's to remove
    other.write_bytes(b"keep")
    server = servers.serve(config_with(servers))
    assert not leftover.exists()
    assert other.read_bytes() == b"keep"
    assert "removed 1 unfinished upload(s)" in server.stderr()


def test_uploads_over_max_upload_size_are_413(
    servers: Servers, tmp_path: Path, random_file: RandomFile
) -> None:
    limit = 10 * MiB
    server = servers.serve(config_with(servers, max_upload_size=limit))
    with open_site(servers, server, tmp_path) as site:
        source, _ = random_file("20mb.bin", 20_000_000)

        raw = raw_upload_args(source, "big.bin")
        cases = {
            # Content-Length over the limit: refused before a byte is read; curl waits for the
            # 100 Continue that never comes, gets the 413 and sends nothing.
            "declared": (raw, "The body is 20000000 bytes"),
            # The same without Expect: the body is on its way when the 413 is sent.
            "declared, no Expect": ([*raw, "-H", "Expect:"], "The body is 20000000 bytes"),
            # No length: read until it passes the limit.
            "chunked": ([*raw, "-H", "Transfer-Encoding: chunked"], "The body is too large"),
            "multipart": (form_upload_args(source, "big.bin"), "The body is"),
        }
        for name, (args, message) in cases.items():
            reply = site.curl(*args, site.url)
            body = assert_error(reply, 413, "PayloadTooLarge")
            assert body["details"] == {"limit": limit}, name
            assert body["message"].startswith(message), (name, body)
            if name == "declared":
                assert reply.info["size_upload"] == 0, reply.info
            site.assert_clean()
            assert site.listing() == set(), name

        # TUS refuses the upload when it is created.
        response = site.http.post(
            "/db/site/@tus", headers={"Tus-Resumable": "1.0.0", "Upload-Length": str(20_000_000)}
        )
        assert response.status_code == 413, response.text
        assert response.json()["details"] == {"limit": limit}

        # Under the limit, the same requests store the file.
        small, sha256 = random_file("5mb.bin", 5_000_000)
        reply = site.curl(
            *raw_upload_args(small, "small.bin"), "-H", "Transfer-Encoding: chunked", site.url
        )
        assert reply.status == 201, reply.body[:500]
        check_download(site, reply.json()["file"]["download"], small, sha256)


UVICORN = [sys.executable, "-m", "uvicorn", "baobab.asgi:app", "--no-access-log"]


def test_downloads_under_uvicorn_without_pathsend(
    servers: Servers, tmp_path: Path, random_file: RandomFile
) -> None:
    config = config_with(servers)
    server = servers.start(
        "uvicorn",
        lambda port: [*UVICORN, "--host", "127.0.0.1", "--port", str(port)],
        env={"BAOBAB_CONFIG": str(config)},
    )
    with open_site(servers, server, tmp_path) as site:
        source, sha256 = random_file("20mb.bin", 20_000_000)
        reply = site.curl(*raw_upload_args(source, "uv.bin"), site.url)
        assert reply.status == 201, reply.body[:500]
        # uvicorn offers no http.response.pathsend: the file goes out in chunks read off the loop.
        check_download(site, reply.json()["file"]["download"], source, sha256)
        site.assert_clean()

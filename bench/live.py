"""Benchmark live WebSocket push (``@ws``) on a real ``baobab serve``.

Starts the server like ``bench/run.py`` (whose helpers it imports: FileStorage, the default
``inline`` threads mode, one worker, access log off), seeds ``/db/site/folder/doc``, two site
users — ``alice`` (Reader granted on ``/db/site/folder``) and ``bob`` (no role) — and a
published Document ``/db/site/fence`` that everyone may see. WebSocket clients live in
``--procs`` separate processes (an event loop each), every socket subscribed to ``/db/site``
(``{"type": "subscribe", "id": 1}``, ack awaited). Each client notes ``time.time()`` when an
event frame arrives (the same clock in every process), and the figures are receipt time minus
the time taken just before the write was sent:

* **fan-out** (``--sockets``, half alice, half bob): ``--repeat`` times, root creates a
  private Document in the folder (alice may see it, bob may not). Reported: the POST's round
  trip, the first and the *last alice socket's* receipt (target: under 150 ms). Then a fence,
  a PATCH of the published Document, which every socket must receive next: a bob socket whose
  first event is the fence never got the private one (delivery is in commit order).
* **big** (``--big`` sockets, all alice): the same commit to every socket; the last one's
  receipt (target: within 1 s).
* **idle**: GET throughput of ``/db/site/folder/doc`` (wrk, as run.py's ``GET h1``) with no
  socket, with the fan-out's sockets connected and idle, and with none again (target: within
  10 %).

Besides client receipt, a thread samples the CPU time (``/proc/<pid>/task/*/schedstat``,
nanoseconds) of the server's worker and of the client processes every ``--sample-ms``: the
*server done* column is when the server last used CPU after the write (it has then handed
every frame to the kernel), and the CPU columns are what the server and the clients spent
on one commit. Writes everything as JSON to ``bench/results/``. See bench/README.md ("Live").
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import hashlib
import itertools
import multiprocessing as mp
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from multiprocessing.connection import Connection as Pipe
from pathlib import Path
from typing import Any, cast

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))

import run as base  # bench/run.py, found through the path above
from baobab.testing import (
    content_call,
    login_call,
    send_sync,
    sharing_call,
    transition_call,
    user_call,
)

SITE = "/db/site"
FOLDER = f"{SITE}/folder"
FENCE = f"{SITE}/fence"
WS_PATH = f"{SITE}/@ws"
PASSWORD = "bench-user-password"
READER = "baobab.Reader"
ALLOWED, DENIED = "alice", "bob"
SUBSCRIBE = orjson.dumps({"type": "subscribe", "id": 1})
WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


# === the client processes ======================================================================


class HandshakeError(Exception):
    pass


class Sock:
    """One client socket: who it is and the event frames it received ``(time, @id, bytes)``."""

    def __init__(self, worker: Worker, label: str) -> None:
        self.worker = worker
        self.label = label
        self.events: list[tuple[float, str, int]] = []
        self.others = 0  # frames that were neither the ack nor an event
        self.close_code: int | None = None
        self.closed = False
        self.ack: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def message(self, payload: bytes | str, when: float) -> None:
        data = orjson.loads(payload)
        kind = data.get("type")
        if kind == "event":
            self.events.append((when, data["@id"], len(payload)))
            self.worker.received(self, data["@id"])
        elif kind == "ack" and data.get("id") == 1 and not self.ack.done():
            self.ack.set_result(None)
        elif kind == "error" and not self.ack.done():
            self.ack.set_exception(HandshakeError(f"subscribe refused: {data}"))
        else:
            self.others += 1

    def lost(self, exc: BaseException | None) -> None:
        self.closed = True
        if not self.ack.done():
            self.ack.set_exception(exc or HandshakeError("closed before the ack"))

    async def open(self, port: int, token: str) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError


class RawSock(Sock, asyncio.Protocol):
    """A minimal RFC 6455 client on an ``asyncio.Protocol``: the receipt time is taken in
    ``data_received``, as soon as the loop reads the bytes, with no task switch in between."""

    def __init__(self, worker: Worker, label: str) -> None:
        super().__init__(worker, label)
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.upgraded = False
        self.opened: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.fragments: list[bytes] = []
        self.key = base64.b64encode(os.urandom(16)).decode()
        self.request = b""

    async def open(self, port: int, token: str) -> None:
        self.request = (
            f"GET {WS_PATH} HTTP/1.1\r\nHost: {base.HOST}:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {self.key}\r\n"
            f"Sec-WebSocket-Version: 13\r\nAuthorization: Bearer {token}\r\n\r\n"
        ).encode()
        loop = asyncio.get_running_loop()
        await loop.create_connection(lambda: self, base.HOST, port)
        await self.opened
        self.send_frame(0x1, SUBSCRIBE)
        await self.ack

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is no subclass
        self.transport.write(self.request)

    def send_frame(self, opcode: int, payload: bytes) -> None:
        # Client frames must be masked; an all-zero key is a valid key and leaves the payload
        # as it is (the server does not care how unpredictable the key is).
        assert self.transport is not None
        size = len(payload)
        if size < 126:
            header = bytes((0x80 | opcode, 0x80 | size))
        else:
            header = bytes((0x80 | opcode, 0x80 | 126)) + size.to_bytes(2, "big")
        self.transport.write(header + b"\0\0\0\0" + payload)

    def data_received(self, data: bytes) -> None:
        when = time.time()
        self.buffer += data
        if not self.upgraded and not self.handshake():
            return
        self.frames(when)

    def handshake(self) -> bool:
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return False
        head = bytes(self.buffer[:end]).decode("latin-1")
        del self.buffer[: end + 4]
        expected = base64.b64encode(hashlib.sha1((self.key + WS_GUID).encode()).digest())
        lines = head.split("\r\n")
        headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in lines)}
        if (
            " 101 " not in lines[0] + " "
            or headers.get("sec-websocket-accept") != expected.decode()
        ):
            body = bytes(self.buffer[:300]).decode("latin-1")
            self.opened.set_exception(HandshakeError(f"{lines[0]}: {body}"))
            self.hang_up(None)
            return False
        self.upgraded = True
        self.opened.set_result(None)
        return True

    def frames(self, when: float) -> None:
        buf = self.buffer
        pos, end = 0, len(buf)
        while end - pos >= 2:
            first, second = buf[pos], buf[pos + 1]
            size, header = second & 0x7F, 2
            if size == 126:
                if end - pos < 4:
                    break
                size, header = int.from_bytes(buf[pos + 2 : pos + 4], "big"), 4
            elif size == 127:
                if end - pos < 10:
                    break
                size, header = int.from_bytes(buf[pos + 2 : pos + 10], "big"), 10
            if end - pos < header + size:
                break
            payload = bytes(buf[pos + header : pos + header + size])
            pos += header + size
            self.frame(first, payload, when)
        del buf[:pos]

    def frame(self, first: int, payload: bytes, when: float) -> None:
        opcode = first & 0x0F
        if opcode in (0x0, 0x1, 0x2):
            self.fragments.append(payload)
            if first & 0x80:  # FIN
                whole = b"".join(self.fragments)
                self.fragments.clear()
                self.message(whole, when)
        elif opcode == 0x8:
            self.close_code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else 1005
            self.hang_up(payload[:2])
        elif opcode == 0x9:
            self.send_frame(0xA, payload)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.opened.done():
            self.opened.set_exception(exc or HandshakeError("connection closed"))
        self.lost(exc)

    def hang_up(self, close_payload: bytes | None) -> None:
        """Send a close frame (if given) and close the connection, once."""
        if not self.closed and self.transport is not None:
            if close_payload is not None:
                self.send_frame(0x8, close_payload)
            self.transport.close()
        self.closed = True

    async def close(self) -> None:
        self.hang_up((1000).to_bytes(2, "big"))


class LibSock(Sock):
    """A client of the ``websockets`` library (asyncio implementation): the receipt time is
    taken when the reading task gets the message, after the library parsed it."""

    ws: Any = None
    reader: asyncio.Task[None] | None = None

    async def open(self, port: int, token: str) -> None:
        from websockets.asyncio.client import connect

        self.ws = await connect(
            f"ws://{base.HOST}:{port}{WS_PATH}",
            additional_headers={"Authorization": f"Bearer {token}"},
            compression=None,
            ping_interval=None,
            open_timeout=60,
            close_timeout=5,
        )
        await self.ws.send(SUBSCRIBE.decode())
        self.message(await self.ws.recv(), time.time())
        await self.ack
        self.reader = asyncio.get_running_loop().create_task(self.read())

    async def read(self) -> None:
        try:
            async for payload in self.ws:
                self.message(payload, time.time())
        except Exception as exc:
            self.lost(exc)
        else:
            self.lost(None)
        code = getattr(self.ws, "close_code", None)
        self.close_code = code if code is not None else self.close_code

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self.reader is not None:
            await asyncio.gather(self.reader, return_exceptions=True)
        self.closed = True


ENGINES: dict[str, type[Sock]] = {"raw": RawSock, "websockets": LibSock}


@dataclass
class Waiting:
    target: str
    labels: frozenset[str]
    need: int
    done: asyncio.Event


class Worker:
    """A client process: holds sockets, answers the parent's commands over a pipe."""

    def __init__(self, pipe: Pipe, port: int, engine: str, concurrency: int) -> None:
        self.pipe = pipe
        self.port = port
        self.engine = ENGINES[engine]
        self.concurrency = concurrency
        self.socks: list[Sock] = []
        self.got: Counter[tuple[str, str]] = Counter()  # (label, @id) → sockets that have it
        self.waiting: Waiting | None = None

    def received(self, sock: Sock, target: str) -> None:
        self.got[sock.label, target] += 1
        w = self.waiting
        if w is None or target != w.target or sock.label not in w.labels:
            return
        if sum(self.got[label, w.target] for label in w.labels) >= w.need:
            w.done.set()

    async def serve(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            command, *params = await loop.run_in_executor(None, self.pipe.recv)
            if command == "quit":
                await self.close()
                self.pipe.send(None)
                return
            try:
                answer = await getattr(self, command)(*params)
            except Exception as exc:
                answer = {"error": f"{type(exc).__name__}: {exc}"}
            self.pipe.send(answer)

    async def open(self, label: str, token: str, count: int) -> dict[str, Any]:
        gate = asyncio.Semaphore(self.concurrency)
        errors: list[str] = []
        start = time.monotonic()

        async def one() -> None:
            async with gate:
                sock = self.engine(self, label)
                try:
                    await asyncio.wait_for(sock.open(self.port, token), 120)
                except Exception as exc:
                    errors.append(f"{type(exc).__name__}: {exc}"[:300])
                    await sock.close()
                else:
                    self.socks.append(sock)

        await asyncio.gather(*(one() for _ in range(count)))
        return {
            "opened": count - len(errors),
            "errors": errors,
            "seconds": time.monotonic() - start,
        }

    async def clear(self) -> None:
        for sock in self.socks:
            sock.events.clear()
            sock.others = 0
        self.got.clear()

    async def wait(self, target: str, labels: list[str], timeout: float) -> dict[str, Any]:
        """Until every open socket of ``labels`` has an event about ``target`` (or timeout);
        then each socket's receipt time of it (None: not received)."""
        wanted = frozenset(labels)
        need = sum(1 for s in self.socks if s.label in wanted and not s.closed)
        waiting = Waiting(target, wanted, need, asyncio.Event())
        self.waiting = waiting
        if sum(self.got[label, target] for label in wanted) >= need:
            waiting.done.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(waiting.done.wait(), timeout)
        self.waiting = None
        times: dict[str, list[float | None]] = {}
        sizes: list[int] = []
        for sock in self.socks:
            found = next((e for e in sock.events if e[1] == target), None)
            times.setdefault(sock.label, []).append(found[0] if found else None)
            if found:
                sizes.append(found[2])
        return {"times": times, "frame_bytes": sizes[:1]}

    async def report(self) -> list[dict[str, Any]]:
        """What every socket received since the last ``clear``: its event @ids in order."""
        return [
            {
                "label": s.label,
                "ids": [e[1] for e in s.events],
                "others": s.others,
                "closed": s.closed,
                "close_code": s.close_code,
            }
            for s in self.socks
        ]

    async def close(self) -> dict[str, Any]:
        start = time.monotonic()
        gate = asyncio.Semaphore(max(self.concurrency, 64))

        async def one(sock: Sock) -> None:
            async with gate:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(sock.close(), 10)

        count = len(self.socks)
        await asyncio.gather(*(one(s) for s in self.socks))
        self.socks.clear()
        self.got.clear()
        return {"closed": count, "seconds": time.monotonic() - start}


def worker_main(pipe: Pipe, port: int, engine: str, concurrency: int) -> None:
    """The entry point of a client process."""
    try:
        import uvloop

        factory: Any = uvloop.new_event_loop
    except ImportError:  # pragma: no cover - uvloop comes with Granian
        factory = None
    with asyncio.Runner(loop_factory=factory) as runner:
        runner.run(Worker(pipe, port, engine, concurrency).serve())


class Clients:
    """The client processes, driven from the parent: commands go to all, answers come back."""

    def __init__(self, count: int, port: int, engine: str, concurrency: int) -> None:
        ctx = mp.get_context("spawn")
        self.pipes: list[Pipe] = []
        self.procs: list[Any] = []
        for n in range(count):
            parent, child = ctx.Pipe()
            proc = ctx.Process(
                target=worker_main,
                args=(child, port, engine, concurrency),
                name=f"live-client-{n}",
                daemon=True,
            )
            proc.start()
            child.close()
            self.pipes.append(parent)
            self.procs.append(proc)

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.procs]

    def call(self, *commands: tuple[Any, ...]) -> list[Any]:
        """One command per process (or the same for all); every answer, in process order."""
        sent = commands if len(commands) == len(self.pipes) else commands * len(self.pipes)
        for pipe, command in zip(self.pipes, sent, strict=True):
            pipe.send(command)
        answers = [pipe.recv() for pipe in self.pipes]
        for answer in answers:
            if isinstance(answer, dict) and "error" in answer:
                raise RuntimeError(f"client process failed: {answer['error']}")
        return answers

    def open(self, plan: dict[str, tuple[str, int]]) -> dict[str, Any]:
        """Open ``count`` sockets per label (label → (token, count)), spread evenly."""
        start = time.monotonic()
        opened: dict[str, int] = {}
        errors: list[str] = []
        for label, (token, count) in plan.items():
            n = len(self.pipes)
            shares = [count // n + (1 if i < count % n else 0) for i in range(n)]
            answers = self.call(*(("open", label, token, share) for share in shares))
            opened[label] = sum(a["opened"] for a in answers)
            errors += [e for a in answers for e in a["errors"]]
        seconds = time.monotonic() - start
        total = sum(opened.values())
        print(
            f"opened {total} sockets ({', '.join(f'{k} {v}' for k, v in opened.items())}) in "
            f"{seconds:.1f} s, {total / seconds:,.0f}/s; {len(errors)} failed",
            flush=True,
        )
        if errors:
            print("  first errors: " + "; ".join(errors[:3]), flush=True)
        return {"opened": opened, "failed": len(errors), "errors": errors[:10], "seconds": seconds}

    def wait(self, target: str, labels: list[str], timeout: float) -> dict[str, Any]:
        answers = self.call(("wait", target, labels, timeout))
        times: dict[str, list[float | None]] = {}
        for answer in answers:
            for label, values in answer["times"].items():
                times.setdefault(label, []).extend(values)
        sizes = [s for a in answers for s in a["frame_bytes"]]
        return {"times": times, "frame_bytes": sizes[0] if sizes else None}

    def report(self) -> list[dict[str, Any]]:
        return [sock for answer in self.call(("report",)) for sock in answer]

    def clear(self) -> None:
        self.call(("clear",))

    def close_all(self) -> float:
        start = time.monotonic()
        self.call(("close",))
        return time.monotonic() - start

    def shutdown(self) -> None:
        for pipe in self.pipes:
            with contextlib.suppress(OSError, EOFError, BrokenPipeError):
                pipe.send(("quit",))
        for pipe in self.pipes:
            with contextlib.suppress(OSError, EOFError):
                if pipe.poll(30):
                    pipe.recv()
        for proc in self.procs:
            proc.join(timeout=5)
            if proc.is_alive():
                proc.terminate()  # SIGTERM to this process's pid
                proc.join(timeout=5)


# === CPU sampling =============================================================================


class CpuWatch:
    """Samples the CPU time (ns, from schedstat) of process groups every ``interval`` s."""

    def __init__(self, groups: dict[str, list[int]], interval: float) -> None:
        self.interval = interval
        self.names = list(groups)
        self.fds: list[list[int]] = []
        for pids in groups.values():
            fds = []
            for pid in pids:
                with contextlib.suppress(OSError):
                    for tid in os.listdir(f"/proc/{pid}/task"):
                        with contextlib.suppress(OSError):
                            fds.append(os.open(f"/proc/{pid}/task/{tid}/schedstat", os.O_RDONLY))
            self.fds.append(fds)
        self.samples: list[tuple[float, ...]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="cpu-watch", daemon=True)

    def _read(self, fds: list[int]) -> int:
        total = 0
        for fd in fds:
            with contextlib.suppress(OSError, ValueError, IndexError):
                total += int(os.pread(fd, 128, 0).split()[0])
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            values = [self._read(fds) for fds in self.fds]
            self.samples.append((time.time(), *values))
            time.sleep(self.interval)

    def __enter__(self) -> CpuWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        for fds in self.fds:
            for fd in fds:
                os.close(fd)

    def window(self, start: float, end: float, group: str, idle_ns: int) -> dict[str, Any]:
        """CPU used by ``group`` between ``start`` and ``end`` (ms), and when it was last busy:
        the end of the last sample interval in which it used more than ``idle_ns``."""
        col = self.names.index(group) + 1
        inside = [s for s in self.samples if start <= s[0] <= end]
        before = [s for s in self.samples if s[0] < start]
        if before:
            inside = [before[-1], *inside]
        if len(inside) < 2:
            return {"cpu_ms": None, "last_busy": None}
        last_busy = None
        for prev, cur in itertools.pairwise(inside):
            if cur[col] - prev[col] > idle_ns:
                last_busy = cur[0]
        return {"cpu_ms": (inside[-1][col] - inside[0][col]) / 1e6, "last_busy": last_busy}


# === measurements =============================================================================


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


def ms_since(start: float, when: float | None) -> float | None:
    return None if when is None else (when - start) * 1000


@dataclass
class Commit:
    """One measured commit: every time in ms after the moment just before the write was sent."""

    post_ms: float
    sockets: int  # sockets that should receive it
    received: int
    first_ms: float | None
    p50_ms: float | None
    last_ms: float | None
    server_done_ms: float | None
    server_cpu_ms: float | None
    clients_cpu_ms: float | None
    fence_last_ms: float | None = None  # the fence, to every socket
    fence_received: int | None = None
    denied_leaks: int = 0  # sockets that received what they may not see
    order_errors: int = 0  # sockets whose events were not what and in the order expected
    frame_bytes: int | None = None


@dataclass
class Scenario:
    name: str
    sockets: dict[str, int]
    open_seconds: float = 0.0
    open_failed: int = 0
    commits: list[Commit] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)


class Live:
    def __init__(self, args: argparse.Namespace, port: int, workdir: Path) -> None:
        self.args = args
        self.port = port
        self.workdir = workdir
        self.tokens: dict[str, str] = {}
        self.server_pids: list[int] = []
        self.clients: Clients | None = None
        self.counter = 0

    # set-up ----------------------------------------------------------------------------------
    def seed(self) -> None:
        port = self.port
        root = base.seed(port, 0)
        self.tokens["root"] = root
        with base.api(port, root) as http:
            for user in (ALLOWED, DENIED):
                send_sync(http, user_call(SITE, user, PASSWORD))
            send_sync(http, sharing_call(FOLDER, {ALLOWED: {READER: True}}))
            send_sync(http, content_call(SITE, "Document", "fence", title="Fence"))
            send_sync(http, transition_call(FENCE, "publish"))
        with base.api(port) as http:
            for user in (ALLOWED, DENIED):
                self.tokens[user] = send_sync(http, login_call(SITE, user, PASSWORD))
        checks = [(ALLOWED, base.DOC_PATH, 200), (DENIED, base.DOC_PATH, 404)]
        checks += [(DENIED, FENCE, 200)]
        for user, path, status in checks:
            base.expect(port, "GET", path, None, token=self.tokens[user], status=status)
        print(f"seeded users {ALLOWED} (Reader on {FOLDER}) and {DENIED}, published {FENCE}")

    def worker_pid(self) -> int:
        pids = self.server_pids[1:] or self.server_pids
        return pids[0]

    def rss_mib(self) -> float | None:
        kib = base.proc_status_kib(self.worker_pid(), "VmRSS")
        return None if kib is None else kib / 1024

    # one commit ------------------------------------------------------------------------------
    def write(self, method: str, path: str, body: Any) -> tuple[float, float, Any]:
        t0 = time.time()
        status, data = base.call(self.port, method, path, body, self.tokens["root"])
        t1 = time.time()
        if status not in (200, 201, 204):
            raise SystemExit(f"{method} {path}: {status} {data}")
        return t0, t1, data

    def private_document(self) -> tuple[float, float, str]:
        self.counter += 1
        body = {"@type": "Document", "id": f"private{self.counter}", "title": "Private"}
        t0, t1, data = self.write("POST", FOLDER, body)
        return t0, t1, data["@id"]

    def commit(self, watch: CpuWatch, labels: list[str], *, fence: bool) -> Commit:
        assert self.clients is not None
        clients = self.clients
        clients.clear()
        timeout = self.args.timeout
        t0, t1, at_id = self.private_document()
        got = clients.wait(at_id, labels, timeout)
        wanted = [t for label in labels for t in got["times"].get(label, [])]
        received = [t for t in wanted if t is not None]
        fence_t0 = time.time()
        fence_got = None
        if fence:
            time.sleep(0.05)  # let the server go idle: its last busy moment is the delivery's
            fence_t0, _, _ = self.write("PATCH", FENCE, {"title": f"Fence {self.counter}"})
            fence_id = f"http://{base.HOST}:{self.port}{FENCE}"
            fence_got = clients.wait(fence_id, sorted(got["times"]), timeout)
        else:
            time.sleep(0.1)  # the window ends here: the server's tail of work is inside it
            fence_t0 = time.time()
        idle_ns = int(self.args.idle_us * 1000)
        server = watch.window(t0, fence_t0, "server", idle_ns)
        client_cpu = watch.window(t0, fence_t0, "clients", idle_ns)
        commit = Commit(
            post_ms=(t1 - t0) * 1000,
            sockets=len(wanted),
            received=len(received),
            first_ms=ms_since(t0, min(received, default=None)),
            p50_ms=ms_since(t0, statistics.median(received) if received else None),
            last_ms=ms_since(t0, max(received, default=None)),
            server_done_ms=ms_since(t0, server["last_busy"]),
            server_cpu_ms=server["cpu_ms"],
            clients_cpu_ms=client_cpu["cpu_ms"],
            frame_bytes=got["frame_bytes"],
        )
        if fence_got is not None:
            every = [t for values in fence_got["times"].values() for t in values]
            arrived = [t for t in every if t is not None]
            commit.fence_received = len(arrived)
            commit.fence_last_ms = ms_since(fence_t0, max(arrived, default=None))
        self.check(commit, at_id, labels, fence=fence)
        return commit

    def check(self, commit: Commit, at_id: str, labels: list[str], *, fence: bool) -> None:
        """Allowed sockets got the Document (then the fence); the others only the fence."""
        assert self.clients is not None
        fence_id = f"http://{base.HOST}:{self.port}{FENCE}"
        for sock in self.clients.report():
            ids = sock["ids"]
            if sock["label"] in labels:
                expected = [at_id, fence_id] if fence else [at_id]
            else:
                expected = [fence_id] if fence else []
                if at_id in ids:
                    commit.denied_leaks += 1
            if ids != expected:
                commit.order_errors += 1

    def scenario(
        self, name: str, plan: dict[str, int], labels: list[str], repeat: int, *, fence: bool
    ) -> Scenario:
        assert self.clients is not None
        print(f"\n=== {name}", flush=True)
        result = Scenario(name, dict(plan))
        opened = self.clients.open({k: (self.tokens[k], n) for k, n in plan.items()})
        result.open_seconds = opened["seconds"]
        result.open_failed = opened["failed"]
        result.summary["server_rss_mib"] = self.rss_mib()
        time.sleep(1.0)
        groups = {"server": [self.worker_pid()], "clients": self.clients.pids}
        with CpuWatch(groups, self.args.sample_ms / 1000) as watch:
            self.commit(watch, labels, fence=fence)  # warm-up: first delivery, not counted
            time.sleep(0.2)
            for n in range(1, repeat + 1):
                commit = self.commit(watch, labels, fence=fence)
                result.commits.append(commit)
                print(commit_line(n, commit), flush=True)
                time.sleep(0.2)
        result.summary.update(summarize(result.commits))
        return result

    # idle sockets against GET throughput ----------------------------------------------------
    def get_rate(self, bench: base.Bench, label: str) -> dict[str, Any]:
        a = self.args
        url = bench.url(base.DOC_PATH)
        auth = f"Authorization: Bearer {self.tokens['root']}"
        command = ["wrk", "-t1", f"-c{a.connections}", "-H", auth, "--latency"]
        subprocess.run([*command, "-d2s", url], capture_output=True, check=False)  # warm-up
        command += [f"-d{a.duration}s", url]
        shown = shlex.join(command).replace(self.tokens["root"], "$TOKEN")
        result = bench.run_once(f"GET {label}", "wrk", shown, command, base.parse_wrk)
        row = {k: v for k, v in asdict(result).items() if k not in ("raw", "runs_rps")}
        row["sockets"] = label
        return row


def commit_line(n: int, c: Commit) -> str:
    def f(v: float | None) -> str:
        return "-" if v is None else f"{v:.1f}"

    fence = ""
    if c.fence_received is not None:
        fence = f" | fence last {f(c.fence_last_ms)} ms ({c.fence_received})"
    return (
        f"  #{n:<2} POST {f(c.post_ms)} ms, received {c.received}/{c.sockets}: first "
        f"{f(c.first_ms)}, p50 {f(c.p50_ms)}, last {f(c.last_ms)} ms; server done "
        f"{f(c.server_done_ms)} ms, CPU server {f(c.server_cpu_ms)} clients "
        f"{f(c.clients_cpu_ms)} ms; leaks {c.denied_leaks}, order errors {c.order_errors}" + fence
    )


def summarize(commits: list[Commit]) -> dict[str, Any]:
    def stats(key: str) -> dict[str, float | None]:
        values = [getattr(c, key) for c in commits if getattr(c, key) is not None]
        return {
            "p50": pct(values, 50),
            "p99": pct(values, 99),
            "max": max(values, default=None),
        }

    keys = ("post_ms", "first_ms", "p50_ms", "last_ms", "server_done_ms")
    out: dict[str, Any] = {key: stats(key) for key in keys}
    out.update({key: stats(key) for key in ("server_cpu_ms", "clients_cpu_ms", "fence_last_ms")})
    out["missing"] = sum(c.sockets - c.received for c in commits)
    out["denied_leaks"] = sum(c.denied_leaks for c in commits)
    out["order_errors"] = sum(c.order_errors for c in commits)
    return out


# === main =====================================================================================


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else "")
    parser.add_argument("--sockets", type=int, default=1000, help="fan-out sockets (half bob)")
    parser.add_argument("--big", type=int, default=10_000, help="sockets of the big case (0: no)")
    parser.add_argument("--repeat", type=int, default=10, help="measured commits per case")
    parser.add_argument("--procs", type=int, default=8, help="client processes")
    parser.add_argument("--client", choices=sorted(ENGINES), default="raw", help="client code")
    parser.add_argument("--concurrency", type=int, default=16, help="opening handshakes/process")
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections")
    parser.add_argument("--rounds", type=int, default=3, help="idle/none pairs of wrk runs")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for events")
    parser.add_argument("--sample-ms", type=float, default=2.0, help="CPU sampling interval")
    parser.add_argument("--idle-us", type=float, default=100.0, help="CPU per sample = idle")
    parser.add_argument(
        "--only", nargs="*", choices=("fanout", "big", "idle"), help="cases (default: all)"
    )
    parser.add_argument("--quick", action="store_true", help="repeat 3, wrk 5 s, big 2,000")
    parser.add_argument("--nice", type=int, default=0, help="priority change, as run.py")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (server log)")
    parser.add_argument("--no-json", action="store_true", help="do not write bench/results/")
    args = parser.parse_args(argv)
    if args.quick:
        args.repeat = min(args.repeat, 3)
        args.duration = min(args.duration, 5)
        args.rounds = 1
        if "--big" not in (argv if argv is not None else sys.argv[1:]):
            args.big = 2000
    args.wrk_threads = 1  # base.Bench reads these
    args.spread = 0
    return args


@dataclass
class Report:
    commit: str
    client: str
    procs: int
    fanout: Scenario | None = None
    big: Scenario | None = None
    idle: list[dict[str, Any]] = field(default_factory=list)
    idle_ratio: float | None = None  # mean req/s with the idle sockets / with none
    idle_cpu_ratio: float | None = None  # the same for the server's CPU µs per request
    rss_mib: dict[str, float | None] = field(default_factory=dict)


def run_fanout_and_idle(live: Live, bench: base.Bench, report: Report, only: set[str]) -> None:
    """The fan-out case, then GET throughput: no socket, the fan-out's sockets idle (opened
    again), ``--rounds`` times, then no socket."""
    assert live.clients is not None
    args = live.args
    plan = {ALLOWED: args.sockets // 2, DENIED: args.sockets - args.sockets // 2}
    if "fanout" in only:
        report.fanout = live.scenario(
            f"fan-out: {args.sockets} sockets, one private Document per commit",
            plan,
            [ALLOWED],
            args.repeat,
            fence=True,
        )
        report.rss_mib[f"{args.sockets} sockets"] = live.rss_mib()
        live.clients.close_all()
        time.sleep(1.0)
    if "idle" not in only:
        return
    print(f"\n=== GET {base.DOC_PATH} with and without {args.sockets} idle sockets", flush=True)
    for _ in range(args.rounds):
        report.idle.append(live.get_rate(bench, "0"))
        live.clients.open({k: (live.tokens[k], n) for k, n in plan.items()})
        time.sleep(1.0)
        report.idle.append(live.get_rate(bench, str(args.sockets)))
        live.clients.close_all()
        time.sleep(1.0)
    report.idle.append(live.get_rate(bench, "0"))
    none = [r["rps"] for r in report.idle if r["sockets"] == "0"]
    idle = [r["rps"] for r in report.idle if r["sockets"] == str(args.sockets)]
    report.idle_ratio = statistics.fmean(idle) / statistics.fmean(none)
    cost = {
        label: [r["server_cpu_us_per_req"] for r in report.idle if r["sockets"] == label]
        for label in ("0", str(args.sockets))
    }
    if all(cost.values()):
        report.idle_cpu_ratio = statistics.fmean(cost[str(args.sockets)]) / statistics.fmean(
            cost["0"]
        )


def run_all(args: argparse.Namespace, only: set[str], workdir: Path) -> Report:
    report = Report(base.source_version(), args.client, args.procs)
    config = base.write_config(workdir, "filestorage", "inline", 4)
    with base.running_server(config, workdir) as server:
        port = server.port
        live = Live(args, port, workdir)
        live.seed()
        live.server_pids = [server.pid, *base.descendants(server.pid)]
        bench = base.Bench(args, port, live.tokens["root"], workdir)
        bench.server_pids = live.server_pids
        report.rss_mib["0 sockets"] = live.rss_mib()
        live.clients = Clients(args.procs, port, args.client, args.concurrency)
        try:
            run_fanout_and_idle(live, bench, report, only)
            if "big" in only and args.big:
                report.big = live.scenario(
                    f"big: {args.big} sockets, all allowed",
                    {ALLOWED: args.big},
                    [ALLOWED],
                    args.repeat,
                    fence=False,
                )
                report.rss_mib[f"{args.big} sockets"] = live.rss_mib()
                if "idle" in only:  # for reference: GETs with the big case's sockets idle
                    report.idle.append(live.get_rate(bench, str(args.big)))
                live.clients.close_all()
        finally:
            live.clients.shutdown()
    return report


def fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def print_scenario(s: Scenario, target_ms: float) -> None:
    sm = s.summary
    print(f"\n{s.name}")
    print(
        f"  sockets {s.sockets}, opened in {s.open_seconds:.1f} s ({s.open_failed} failed), "
        f"server RSS with them {fmt(sm.get('server_rss_mib'))} MiB"
    )
    print(f"  {'ms after the write was sent':<32} {'p50':>8} {'p99':>8} {'max':>8}")
    rows = [
        ("POST round trip", "post_ms"),
        ("first socket", "first_ms"),
        ("median socket", "p50_ms"),
        ("last allowed socket", "last_ms"),
        ("server done (CPU idle)", "server_done_ms"),
        ("server CPU ms / commit", "server_cpu_ms"),
        ("clients CPU ms / commit", "clients_cpu_ms"),
        ("fence: last socket", "fence_last_ms"),
    ]
    for title, key in rows:
        v = sm[key]
        if v["max"] is None:
            continue
        print(f"  {title:<32} {fmt(v['p50']):>8} {fmt(v['p99']):>8} {fmt(v['max']):>8}")
    over = sum(1 for c in s.commits if c.last_ms is None or c.last_ms >= target_ms)
    verdict = "met" if not over and not sm["missing"] else "NOT met"
    print(
        f"  missing {sm['missing']}, leaks to denied sockets {sm['denied_leaks']}, order errors "
        f"{sm['order_errors']}; target (last allowed socket < {target_ms:,.0f} ms): {verdict}, "
        f"{over} of {len(s.commits)} commits over"
    )


def print_report(args: argparse.Namespace, report: Report) -> None:
    print(
        f"\nlive: FileStorage, threads.mode inline, one worker; {report.procs} client processes "
        f"({report.client} client); {len(report.fanout.commits) if report.fanout else 0} "
        f"commits per case; commit={report.commit}"
    )
    if report.fanout:
        print_scenario(report.fanout, 150)
    if report.big:
        print_scenario(report.big, 1000)
    if report.idle:
        print(f"\nGET {base.DOC_PATH} (wrk -t1 -c{args.connections} -d{args.duration}s, root)")
        print(
            f"  {'sockets':>8} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'µs/req':>7} "
            f"{'server':>7} {'other':>6} {'steal':>6}"
        )
        for r in report.idle:
            print(
                f"  {r['sockets']:>8} {r['rps']:>8,.0f} {fmt(r['p50_ms'], 2):>7} "
                f"{fmt(r['p99_ms'], 2):>7} {fmt(r['server_cpu_us_per_req'], 0):>7} "
                f"{r['server_cpu_pct']:>6.0f}% {r['other_cpu_pct']:>5.0f}% {r['steal_pct']:>5.0f}%"
            )
        ratio = report.idle_ratio
        verdict = "met" if ratio is not None and ratio >= 0.9 else "NOT met"
        print(
            f"  mean req/s with {args.sockets} idle sockets / with none: {fmt(ratio, 3)} "
            f"(target ≥ 0.90: {verdict}); server µs/req: {fmt(report.idle_cpu_ratio, 3)}"
        )
    print("\nserver worker RSS (VmRSS):")
    idle_rss = report.rss_mib.get("0 sockets")
    for key, value in report.rss_mib.items():
        sockets = int(key.split()[0])
        extra = ""
        if sockets and value is not None and idle_rss is not None:
            extra = f", {(value - idle_rss) * 1024 / sockets:,.0f} KiB a socket"
        print(f"  {key}: {fmt(value)} MiB{extra}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    base.prepare(args, ("wrk",), "wrk")
    workdir = Path(tempfile.mkdtemp(prefix="baobab-bench-live-"))
    try:
        report = run_all(args, set(args.only or ("fanout", "big", "idle")), workdir)
    finally:
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print_report(args, report)
    if not args.no_json:
        base.write_results(args, "live", asdict(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Real server processes (``baobab serve``, uvicorn, Granian, waitress…) on 127.0.0.1.

The one harness of the server tests (``tests/server``, through thin fixtures) and of the
benchmarks (``bench/``): a free port, a start that waits until the server answers, output to
files shown when something goes wrong, and a stop that leaves nothing behind.

Every process is started in its own session (``start_new_session=True``), so its process group
is the process and whatever it spawns (Granian's worker): a test can SIGKILL the whole group,
and a stop never leaves a worker behind. Output goes to files under the ``Servers``'
directory; :meth:`ServerProcess.output` gathers it for a failure message.

Nothing here imports pytest: a server that does not start or stop raises
:class:`ServerError`, which fails a test as any exception does and ends a benchmark.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

__all__ = [
    "BAOBAB",
    "HOST",
    "JWT_SECRET",
    "ROOT_PASSWORD",
    "ServerError",
    "ServerProcess",
    "Servers",
    "clean_env",
    "free_port",
    "live_group_members",
    "run_cli",
    "signal_group",
]

HOST = "127.0.0.1"
# The default configuration's secrets (``Servers.config()``).
ROOT_PASSWORD = "server-root-secret"
JWT_SECRET = "server-tests-jwt-secret-long-enough-for-hs256"
BAOBAB = Path(sys.executable).parent / "baobab"

# Generous: a loaded 2-core machine can take a while to import, fork and open the storage.
STARTUP_TIMEOUT = 40.0
STOP_TIMEOUT = 30.0
REQUEST_TIMEOUT = 20.0

# what httpx accepts as ``verify``: False, a CA bundle's path, or an SSL context
Verify = bool | str | ssl.SSLContext
Argv = Callable[[int], Sequence[str | Path]]  # port → command line


class ServerError(RuntimeError):
    """A server did not start, answer or stop as it should; the message holds its output."""


def free_port() -> int:
    """A port that was free a moment ago (the kernel's choice for port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def clean_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """This environment without any ``BAOBAB_*`` variable, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BAOBAB_")}
    env.update(extra or {})
    return env


def live_group_members(pgid: int) -> list[int]:
    """PIDs of the processes of group ``pgid`` that are not zombies (Linux ``/proc``)."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid pgrp …; comm may hold spaces and parentheses.
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
            members.append(int(entry.name))
    return members


def signal_group(pgid: int, sig: signal.Signals) -> None:
    """Send ``sig`` to process group ``pgid``, if it still exists."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, sig)


@dataclass
class ServerProcess:
    """One started server process and where its output goes."""

    name: str
    argv: list[str]
    proc: subprocess.Popen[bytes]
    url: str
    port: int
    cwd: Path
    stdout_path: Path
    stderr_path: Path
    verify: Verify = False
    ready_path: str = "/"

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stdout(self) -> str:
        return self.stdout_path.read_text(errors="replace")

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def output(self) -> str:
        return (
            f"--- {self.name}: {' '.join(self.argv)} (pid {self.pid}, "
            f"returncode {self.proc.returncode})\n"
            f"--- stdout\n{self.stdout()}\n--- stderr\n{self.stderr()}"
        )

    def client(self, **kwargs: Any) -> httpx.Client:
        kwargs.setdefault("timeout", REQUEST_TIMEOUT)
        kwargs.setdefault("verify", self.verify)
        return httpx.Client(base_url=self.url, **kwargs)

    def root_client(self, password: str = ROOT_PASSWORD, **kwargs: Any) -> httpx.Client:
        return self.client(auth=("root", password), **kwargs)

    def running(self) -> bool:
        return self.proc.poll() is None

    def group_members(self) -> list[int]:
        """Live processes of this server's group: the server and its workers."""
        return live_group_members(self.pid)

    def wait_ready(self, timeout: float = STARTUP_TIMEOUT) -> bool:
        """Poll ``GET ready_path`` until it answers 200 (True); False if the process exits
        first; :class:`ServerError` if neither happens within ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        last: object = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                response = httpx.get(self.url + self.ready_path, timeout=2.0, verify=self.verify)
            except httpx.TransportError as exc:
                last = exc
            else:
                if response.status_code == 200:
                    return True
                last = response
            time.sleep(0.1)
        raise ServerError(
            f"{self.name} did not answer within {timeout} s (last: {last!r})\n{self.output()}"
        )

    def terminate(self, timeout: float = STOP_TIMEOUT) -> int:
        """SIGTERM the server's own PID, as a process manager does; its exit code."""
        os.kill(self.pid, signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise ServerError(
                f"{self.name} did not exit within {timeout} s of SIGTERM\n{self.output()}"
            ) from None

    def kill_group(self) -> None:
        """SIGKILL the whole process group (server and workers) and wait until it is gone."""
        signal_group(self.pid, signal.SIGKILL)
        self.proc.wait(STOP_TIMEOUT)
        self.wait_group_gone()

    def wait_group_gone(self, timeout: float = STOP_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while live_group_members(self.pid):
            if time.monotonic() > deadline:
                raise ServerError(
                    f"processes of group {self.pid} outlived it: {live_group_members(self.pid)}"
                )
            time.sleep(0.05)

    def stop(self) -> None:
        """SIGTERM the group, then SIGKILL it if anything is left after ``STOP_TIMEOUT``."""
        if self.proc.poll() is None:
            signal_group(self.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(STOP_TIMEOUT)
        if self.proc.poll() is None or live_group_members(self.pid):
            signal_group(self.pid, signal.SIGKILL)
            self.proc.wait(STOP_TIMEOUT)
            deadline = time.monotonic() + STOP_TIMEOUT
            while live_group_members(self.pid) and time.monotonic() < deadline:
                time.sleep(0.05)


@dataclass
class Servers:
    """Start servers whose output goes under ``tmp_path``; :meth:`stop_all` stops them all.

    A pytest fixture builds one per test (or module) and calls ``stop_all`` at teardown; a
    benchmark uses one as a context manager.
    """

    tmp_path: Path
    started: list[ServerProcess] = field(default_factory=list)
    root_password: str = ROOT_PASSWORD
    startup_timeout: float = STARTUP_TIMEOUT

    def __enter__(self) -> Servers:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_all()

    @property
    def cwd(self) -> Path:
        cwd = self.tmp_path / "cwd"
        cwd.mkdir(exist_ok=True)
        return cwd

    @property
    def var(self) -> Path:
        return self.tmp_path / "var"

    def index_saved_at_end(self, var: Path | None = None, name: str = "db") -> bool:
        """True when ``<name>.fs.index`` was saved at the end of ``<name>.fs``: a clean close.

        FileStorage writes its index when it is closed; after a crash the index on disk is
        older than the data file, and the next start has to scan from there (or rebuild it).
        """
        from ZODB.fsIndex import fsIndex

        var = var or self.var
        index = var / f"{name}.fs.index"
        if not index.exists():
            return False
        pos = int(fsIndex.load(str(index))["pos"])
        return pos == (var / f"{name}.fs").stat().st_size

    def config(self, data: dict[str, Any] | None = None, name: str = "baobab.json") -> Path:
        """Write a configuration file; the default one keeps FileStorage under ``var``."""
        if data is None:
            data = {
                "var_dir": str(self.var),
                "auth": {"root_password": ROOT_PASSWORD, "jwt_secret": JWT_SECRET},
                "server": {"access_log": False},
            }
        path = self.tmp_path / name
        path.write_text(json.dumps(data))
        return path

    def start(
        self,
        name: str,
        argv: Argv,
        *,
        env: dict[str, str] | None = None,
        scheme: str = "http",
        verify: Verify = False,
        cwd: Path | None = None,
        ready_path: str = "/",
    ) -> ServerProcess:
        """Run ``argv(port)`` in ``cwd`` (default :attr:`cwd`) with a clean environment plus
        ``env``; wait until ``GET ready_path`` answers 200."""
        attempts = 3
        for attempt in range(1, attempts + 1):
            server = self._spawn(
                name, argv, env=env, scheme=scheme, verify=verify, cwd=cwd, ready_path=ready_path
            )
            if server.wait_ready(self.startup_timeout):
                return server
            if attempt < attempts and "address already in use" in server.output().lower():
                continue  # another process took the free port before the server bound it
            break
        raise ServerError(f"{name} exited while starting\n{server.output()}")

    def _spawn(
        self,
        name: str,
        argv: Argv,
        *,
        env: dict[str, str] | None,
        scheme: str,
        verify: Verify,
        cwd: Path | None,
        ready_path: str,
    ) -> ServerProcess:
        cwd = cwd or self.cwd
        port = free_port()
        args = [str(a) for a in argv(port)]
        index = len(self.started)
        out = self.tmp_path / f"{index}-{name}.stdout"
        err = self.tmp_path / f"{index}-{name}.stderr"
        with out.open("wb") as stdout, err.open("wb") as stderr:
            proc = subprocess.Popen(
                args,
                cwd=cwd,
                env=clean_env(env),
                stdin=subprocess.DEVNULL,
                stdout=stdout,
                stderr=stderr,
                start_new_session=True,
            )
        server = ServerProcess(
            name=name,
            argv=args,
            proc=proc,
            url=f"{scheme}://{HOST}:{port}",
            port=port,
            cwd=cwd,
            stdout_path=out,
            stderr_path=err,
            verify=verify,
            ready_path=ready_path,
        )
        self.started.append(server)
        return server

    def serve(
        self,
        config: Path | None = None,
        *,
        extra: Sequence[str] = (),
        env: dict[str, str] | None = None,
        scheme: str = "http",
        verify: Verify = False,
        cwd: Path | None = None,
    ) -> ServerProcess:
        """``baobab serve`` on a free port."""
        argv = self._serve_argv(config or self.config(), extra)
        return self.start("baobab-serve", argv, env=env, scheme=scheme, verify=verify, cwd=cwd)

    def launch(
        self, config: Path | None = None, *, extra: Sequence[str] = (), ready_path: str = "/"
    ) -> ServerProcess:
        """``baobab serve`` on a free port, without waiting: to start several at once, then
        :meth:`ServerProcess.wait_ready` on each."""
        argv = self._serve_argv(config or self.config(), extra)
        return self._spawn(
            "baobab-serve", argv, env=None, scheme="http", verify=False, cwd=None,
            ready_path=ready_path,
        )  # fmt: skip

    @staticmethod
    def _serve_argv(config: Path, extra: Sequence[str]) -> Argv:
        def argv(port: int) -> list[str]:
            return [
                str(BAOBAB), "serve", "--config", str(config),
                "--host", HOST, "--port", str(port), *extra,
            ]  # fmt: skip

        return argv

    def stop_all(self) -> None:
        for server in reversed(self.started):
            server.stop()


def run_cli(
    args: Sequence[str], cwd: Path, env: dict[str, str] | None = None, timeout: float = 60.0
) -> subprocess.CompletedProcess[str]:
    """Run ``baobab ARGS`` to completion (for commands that exit on their own).

    If it does not exit in time (a ``serve`` that should have refused to start), its whole
    process group is killed and :class:`ServerError` raised.
    """
    argv = [str(BAOBAB), *args]
    with subprocess.Popen(
        argv,
        cwd=cwd,
        env=clean_env(env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    ) as proc:
        try:
            stdout, stderr = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            signal_group(proc.pid, signal.SIGKILL)
            stdout, stderr = proc.communicate()
            message = f"{argv} did not exit within {timeout} s\n{stdout}\n{stderr}"
            raise ServerError(message) from None
        return subprocess.CompletedProcess(argv, proc.returncode, stdout, stderr)

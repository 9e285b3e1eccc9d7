"""Fixtures that run a real server process (``baobab serve``, uvicorn, hypercorn) on 127.0.0.1.

Every process is started in its own session (``start_new_session=True``), so its process group
is the process and whatever it spawns (Granian's worker): a test can SIGKILL the whole group,
and teardown never leaves a worker behind. Output goes to files under ``tmp_path`` and is
printed at teardown, so a failing test shows what the server said.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

ROOT_PASSWORD = "server-root-secret"
JWT_SECRET = "server-tests-jwt-secret-long-enough-for-hs256"
BAOBAB = Path(sys.executable).parent / "baobab"

# Generous: a loaded 2-core machine can take a while to import, fork and open the storage.
STARTUP_TIMEOUT = 40.0
STOP_TIMEOUT = 30.0
REQUEST_TIMEOUT = 20.0


def free_port() -> int:
    """A port that was free a moment ago (the kernel's choice for port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
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


def _signal_group(pgid: int, sig: signal.Signals) -> None:
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
    verify: Any = False

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
        """Poll ``GET /`` until it answers 200 (True); False if the process exits first."""
        deadline = time.monotonic() + timeout
        last: object = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                response = httpx.get(self.url + "/", timeout=2.0, verify=self.verify)
            except httpx.TransportError as exc:
                last = exc
            else:
                if response.status_code == 200:
                    return True
                last = response
            time.sleep(0.1)
        pytest.fail(
            f"{self.name} did not answer within {timeout} s (last: {last!r})\n{self.output()}"
        )

    def terminate(self, timeout: float = STOP_TIMEOUT) -> int:
        """SIGTERM the server's own PID, as a process manager does; its exit code."""
        os.kill(self.pid, signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"{self.name} did not exit within {timeout} s of SIGTERM\n{self.output()}")

    def kill_group(self) -> None:
        """SIGKILL the whole process group (server and workers) and wait until it is gone."""
        _signal_group(self.pid, signal.SIGKILL)
        self.proc.wait(STOP_TIMEOUT)
        self.wait_group_gone()

    def wait_group_gone(self, timeout: float = STOP_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while live_group_members(self.pid):
            if time.monotonic() > deadline:
                pytest.fail(
                    f"processes of group {self.pid} outlived it: {live_group_members(self.pid)}"
                )
            time.sleep(0.05)

    def stop(self) -> None:
        """Teardown: SIGTERM, then SIGKILL the group if anything is left."""
        if self.proc.poll() is None:
            _signal_group(self.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(STOP_TIMEOUT)
        if self.proc.poll() is None or live_group_members(self.pid):
            _signal_group(self.pid, signal.SIGKILL)
            self.proc.wait(STOP_TIMEOUT)
            deadline = time.monotonic() + STOP_TIMEOUT
            while live_group_members(self.pid) and time.monotonic() < deadline:
                time.sleep(0.05)


@dataclass
class Servers:
    """Start servers for one test; every one is stopped at teardown."""

    tmp_path: Path
    started: list[ServerProcess] = field(default_factory=list)
    root_password: str = ROOT_PASSWORD

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
        argv: Callable[[int], Sequence[str]],
        *,
        env: dict[str, str] | None = None,
        scheme: str = "http",
        verify: Any = False,
    ) -> ServerProcess:
        """Run ``argv(port)`` in ``cwd`` with a clean environment; wait until it answers."""
        attempts = 3
        for attempt in range(1, attempts + 1):
            server = self._spawn(name, argv, env=env, scheme=scheme, verify=verify)
            if server.wait_ready():
                return server
            if attempt < attempts and "address already in use" in server.output().lower():
                continue  # another process took the free port before the server bound it
            break
        pytest.fail(f"{name} exited while starting\n{server.output()}")

    def _spawn(
        self,
        name: str,
        argv: Callable[[int], Sequence[str]],
        *,
        env: dict[str, str] | None,
        scheme: str,
        verify: Any,
    ) -> ServerProcess:
        port = free_port()
        args = [str(a) for a in argv(port)]
        index = len(self.started)
        out = self.tmp_path / f"{index}-{name}.stdout"
        err = self.tmp_path / f"{index}-{name}.stderr"
        with out.open("wb") as stdout, err.open("wb") as stderr:
            proc = subprocess.Popen(
                args,
                cwd=self.cwd,
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
            url=f"{scheme}://127.0.0.1:{port}",
            port=port,
            cwd=self.cwd,
            stdout_path=out,
            stderr_path=err,
            verify=verify,
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
        verify: Any = False,
    ) -> ServerProcess:
        """``baobab serve`` on a free port."""
        config = config or self.config()

        def argv(port: int) -> list[str]:
            return [
                str(BAOBAB), "serve", "--config", str(config),
                "--host", "127.0.0.1", "--port", str(port), *extra,
            ]  # fmt: skip

        return self.start("baobab-serve", argv, env=env, scheme=scheme, verify=verify)

    def stop_all(self) -> None:
        for server in reversed(self.started):
            server.stop()


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[Servers]:
    factory = Servers(tmp_path)
    try:
        yield factory
    finally:
        factory.stop_all()
        # Shown by pytest only when the test fails.
        for server in factory.started:
            print(server.output())


@pytest.fixture(scope="module")
def module_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    """Like ``servers``, for servers a whole module shares: stopped after its last test."""
    factory = Servers(tmp_path_factory.mktemp("module-servers"))
    try:
        yield factory
    finally:
        factory.stop_all()
        for server in factory.started:
            print(server.output())


@pytest.fixture
def server(servers: Servers) -> ServerProcess:
    """A ``baobab serve`` on FileStorage, with the default test configuration."""
    return servers.serve()


def run_cli(
    args: Sequence[str], cwd: Path, env: dict[str, str] | None = None, timeout: float = 60.0
) -> subprocess.CompletedProcess[str]:
    """Run ``baobab ARGS`` to completion (for commands that exit on their own).

    If it does not exit in time (a ``serve`` that should have refused to start), its whole
    process group is killed and the test fails.
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
            _signal_group(proc.pid, signal.SIGKILL)
            stdout, stderr = proc.communicate()
            pytest.fail(f"{argv} did not exit within {timeout} s\n{stdout}\n{stderr}")
    return subprocess.CompletedProcess(argv, proc.returncode, stdout, stderr)


@pytest.fixture
def cli(servers: Servers) -> Callable[..., subprocess.CompletedProcess[str]]:
    def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return run_cli(args, servers.cwd, env)

    return run

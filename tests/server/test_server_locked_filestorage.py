"""A FileStorage a server holds: every other process that opens it says so in one line,
naming the process that holds the lock (the PID zc.lockfile writes into ``<file>.lock``), and
what to do; no traceback."""

from __future__ import annotations

import subprocess
import sys

import pytest
from stdin_cli import baobab, one_line_error

from baobab.testing.server import HOST, ServerProcess, Servers, clean_env

pytestmark = pytest.mark.server


def worker_of(server: ServerProcess) -> int:
    """The Granian worker: the process that opened the FileStorage, so the one in the lock."""
    workers = [pid for pid in server.group_members() if pid != server.pid]
    assert len(workers) == 1, workers
    return workers[0]


def assert_names_the_holder(line: str, server: ServerProcess) -> None:
    assert "Cannot open database 'db'" in line, line
    assert f"process {worker_of(server)} (running: baobab serve" in line, line
    assert f"a worker of process {server.pid}" in line, line
    assert "Stop it first, or put the database on postgresql" in line, line


@pytest.mark.parametrize(
    "command",
    [
        ["serve", "--host", HOST, "--port", "0"],
        ["reindex-security"],
        ["reindex-catalog"],
        ["user", "list", "--container", "site"],
    ],
    ids=lambda c: c[0] if c[0] != "user" else "user-list",
)
def test_a_second_process_is_refused_in_one_line(
    command: list[str], server: ServerProcess, servers: Servers
) -> None:
    done = baobab(*command, "--config", str(servers.config()), cwd=servers.cwd)
    assert_names_the_holder(one_line_error(done), server)
    assert server.running()
    with server.root_client() as client:
        assert client.get("/db").status_code == 200


def test_another_asgi_server_on_the_same_var_fails_in_one_line(
    server: ServerProcess, servers: Servers
) -> None:
    """No ``baobab serve`` check before it: the application's start-up is refused, and logs
    one line (no traceback) naming the holder."""
    env = clean_env({"BAOBAB_CONFIG": str(servers.config())})
    done = subprocess.run(
        [sys.executable, "-m", "uvicorn", "baobab.asgi:app", "--host", HOST, "--port", "0"],
        cwd=servers.cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode != 0, output
    assert "Traceback" not in output, output
    failed = [line for line in output.splitlines() if "start-up failed: " in line]
    assert len(failed) == 1, output
    assert_names_the_holder(failed[0], server)


def test_two_servers_started_at_once_one_refused_without_a_traceback(servers: Servers) -> None:
    """Both may pass the check before either opens the file: the one whose worker loses says
    so in one line, whichever step refused it."""
    config = servers.config()
    first, second = servers.launch(config), servers.launch(config)
    up = [s for s in (first, second) if s.wait_ready()]
    assert len(up) == 1, first.output() + second.output()
    (winner,) = up
    loser = second if winner is first else first
    loser.proc.wait(30)
    assert loser.proc.returncode != 0
    output = loser.stdout() + loser.stderr()
    assert "Traceback" not in output, output
    assert f"process {worker_of(winner)} (running: baobab serve" in output, output

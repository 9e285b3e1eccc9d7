"""The root password a first start generates is never lost: not written when the start is
refused, replaced at the next start when the server never came up, changed by
``baobab set-password``; and ``baobab --version``."""

from __future__ import annotations

import json
import re
import socket
import stat

import pytest
from stdin_cli import baobab, one_line_error

import baobab as package
from baobab.testing.server import HOST, ServerProcess, Servers

pytestmark = pytest.mark.server

GENERATED = re.compile(r"Generated the root password .*: (\S+)\s*$", re.MULTILINE)


def generated(server_output: str) -> str:
    found = GENERATED.findall(server_output)
    assert len(found) == 1, server_output
    return str(found[0])


def status(server: ServerProcess, password: str) -> int:
    with server.root_client(password) as client:
        return client.get("/db").status_code


def test_version(servers: Servers) -> None:
    done = baobab("--version", cwd=servers.cwd)
    assert done.returncode == 0, done
    assert done.stdout == f"baobab {package.__version__}\n" == "baobab 0.1.0\n"


def test_a_refused_start_writes_no_password(servers: Servers) -> None:
    """The port is taken: the start is refused before a password is made, so none is shown
    and none kept; the next start makes the one that works."""
    config = servers.config({"server": {"access_log": False}})
    with socket.socket() as busy:
        busy.bind((HOST, 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = baobab(
            "serve", "-c", str(config), "--host", HOST, "--port", str(port), cwd=servers.cwd
        )
    line = one_line_error(done)
    assert f"cannot listen on {HOST}:{port}" in line
    assert "Generated" not in done.stdout
    assert not (servers.cwd / "var" / "secrets.json").exists()

    server = servers.serve(config)
    password = generated(server.stdout())
    assert status(server, password) == 200


def test_a_start_that_fails_later_leaves_no_lost_password(servers: Servers) -> None:
    """The worker fails after the password was printed (here: an add-on that does not
    exist): that password was never usable, so the next start makes and prints a new one,
    which is then kept."""
    secrets = servers.cwd / "var" / "secrets.json"
    broken = servers.config(
        {"server": {"access_log": False}, "addons": ["baobab_no_such_addon"]}, name="broken.json"
    )
    failed = baobab("serve", "-c", str(broken), "--host", HOST, "--port", "0", cwd=servers.cwd)
    assert failed.returncode != 0, failed
    lost = generated(failed.stdout)
    assert "Traceback" not in failed.stdout + failed.stderr, failed
    assert "baobab_no_such_addon" in failed.stdout + failed.stderr

    config = servers.config({"server": {"access_log": False}})
    first = servers.serve(config)
    password = generated(first.stdout())
    assert password != lost
    assert status(first, password) == 200
    assert status(first, lost) == 401
    assert "root_password_unconfirmed" not in json.loads(secrets.read_text())
    assert first.terminate() == 0

    second = servers.serve(config)  # started once: kept, not replaced
    assert "Generated" not in second.stdout()
    assert status(second, password) == 200


def test_set_password_replaces_the_stored_one_for_the_next_start(servers: Servers) -> None:
    config = servers.config({"server": {"access_log": False}})
    server = servers.serve(config)
    old = generated(server.stdout())
    secrets = servers.cwd / "var" / "secrets.json"
    jwt_secret = json.loads(secrets.read_text())["jwt_secret"]

    done = baobab("set-password", "-c", str(config), cwd=servers.cwd, stdin="a new root pw\n")
    assert done.returncode == 0, done
    assert "restarted" in done.stdout
    assert done.stderr == ""
    stored = json.loads(secrets.read_text())
    assert stored["jwt_secret"] == jwt_secret  # the tokens issued so far stay valid
    assert "a new root pw" not in secrets.read_text()
    assert stat.S_IMODE(secrets.stat().st_mode) == 0o600
    # the running server keeps the password it started with, as the command says
    assert status(server, old) == 200
    assert server.terminate() == 0

    again = servers.serve(config)
    assert "Generated" not in again.stdout()
    assert status(again, "a new root pw") == 200
    assert status(again, old) == 401


@pytest.mark.parametrize(
    ("stdin", "message"),
    [("\n", "no password"), ("short\n", "at least 8 characters")],
)
def test_set_password_refuses_an_empty_or_short_password(
    servers: Servers, stdin: str, message: str
) -> None:
    config = servers.config({"server": {"access_log": False}})
    done = baobab("set-password", "-c", str(config), cwd=servers.cwd, stdin=stdin)
    assert message in one_line_error(done)
    assert not (servers.cwd / "var").exists()


def test_set_password_says_where_a_configured_password_is(servers: Servers) -> None:
    config = servers.config()  # auth.root_password is set there
    done = baobab("set-password", "-c", str(config), cwd=servers.cwd, stdin="a new root pw\n")
    assert "auth.root_password in the configuration" in one_line_error(done)
    done = baobab(
        "set-password",
        cwd=servers.cwd,
        stdin="a new root pw\n",
        env={"BAOBAB_ROOT_PASSWORD": "from-the-environment"},
    )
    assert "BAOBAB_ROOT_PASSWORD" in one_line_error(done)
    assert not (servers.cwd / "var").exists()

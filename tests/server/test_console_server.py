"""The SSH console of a real ``baobab serve``, driven by the OpenSSH client, and ``baobab shell``.

A configured key gets in and runs statements (values, prints, tracebacks, top-level await);
a key nobody configured and a password are refused; a write made in the console is what the
next HTTP GET and ``@search`` answer; a statement that blocks its thread (sleeping, spinning,
or inside a database unit) never keeps the server from answering HTTP; every statement is in
the audit log with the key's comment; the host key is made once and kept. The offline shell
works on a stopped FileStorage, refuses one a server holds, and works beside a live server on
PostgreSQL.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import shutil
import stat
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect

from baobab.testing import require_postgres, zap_postgres
from baobab.testing.console import SSH_OPTIONS, make_key, public_line, ssh_argv, ssh_run
from baobab.testing.server import (
    BAOBAB,
    JWT_SECRET,
    ROOT_PASSWORD,
    ServerProcess,
    Servers,
    clean_env,
    free_port,
)

pytestmark = pytest.mark.server

if shutil.which("ssh") is None and not os.environ.get("CI"):  # under CI: fail, loudly
    pytest.skip("needs the OpenSSH client: apt-get install openssh-client", allow_module_level=True)

OPERATOR = "alice@ops-laptop"


@dataclass
class Keys:
    alice: Path  # configured
    mallory: Path  # not configured


@dataclass
class Console:
    server: ServerProcess
    port: int
    config: Path
    key: Path  # a configured one


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Keys:
    directory = tmp_path_factory.mktemp("keys")
    return Keys(
        alice=make_key(directory, "alice", OPERATOR),
        mallory=make_key(directory, "mallory", "mallory@elsewhere"),
    )


def console_config(
    servers: Servers, keys: Keys, port: int, name: str = "baobab.json", **extra: Any
) -> Path:
    data: dict[str, Any] = {
        "var_dir": str(servers.var),
        "auth": {"root_password": ROOT_PASSWORD, "jwt_secret": JWT_SECRET},
        "server": {"access_log": False},
        "console": {"enabled": True, "port": port, "authorized_keys": [public_line(keys.alice)]},
        **extra,
    }
    return servers.config(data, name=name)


@pytest.fixture(scope="module")
def console(module_servers: Servers, keys: Keys) -> Console:
    port = free_port()
    config = console_config(module_servers, keys, port)
    server = module_servers.serve(config)
    with server.root_client() as client:
        assert client.post("/db", json={"@type": "Container", "id": "site"}).status_code == 201
    return Console(server, port, config, keys.alice)


def run(console: Console, statements: str) -> str:
    result = ssh_run(console.port, console.key, statements)
    assert result.returncode == 0, result.stderr
    return result.stdout


# getting in --------------------------------------------------------------------------------
def test_a_configured_key_runs_statements(console: Console) -> None:
    out = run(
        console,
        "x = 6 * 7\n"
        "x\n"
        "print('printed', x)\n"
        "for i in range(2):\n"
        "    print('loop', i)\n"
        "\n"
        "1 / 0\n"
        "'still here'\n"
        "import asyncio\n"
        "await asyncio.sleep(0)\n"
        "sorted(await get('/db'))\n"
        "(await get('/db'))['items']\n"
        f"settings.console.port == {console.port}\n"
        "sorted(databases)\n",
    )
    lines = out.splitlines()
    assert lines[:4] == ["42", "printed 42", "loop 0", "loop 1"]
    assert "ZeroDivisionError: division by zero" in out
    assert '  File "<console>", line 1, in <module>' in lines
    # a traceback ends the statement, not the session
    assert lines[-5:] == ["'still here'", "['@id', '@type', 'items']", "['site']", "True", "['db']"]


def test_the_piped_statements_of_a_block_at_the_end_of_input_run(console: Console) -> None:
    out = run(console, "for i in range(3):\n    print('end', i)")
    assert out.splitlines() == ["end 0", "end 1", "end 2"]


def test_exit_ends_the_session(console: Console) -> None:
    assert run(console, "print('before')\nexit()\nprint('after')\n") == "before\n"


def test_a_key_nobody_configured_is_refused(console: Console, keys: Keys) -> None:
    result = ssh_run(console.port, keys.mallory, "print('in')\n")
    assert result.returncode == 255
    assert "Permission denied (publickey)" in result.stderr
    assert result.stdout == ""
    assert "refused (user" in console.server.output()


def test_a_password_is_refused(console: Console) -> None:
    result = ssh_run(
        console.port,
        None,
        "print('in')\n",
        "-o", "PubkeyAuthentication=no",
        "-o", "PreferredAuthentications=password,keyboard-interactive",
    )  # fmt: skip
    assert result.returncode == 255
    assert "Permission denied" in result.stderr
    assert result.stdout == ""


def test_every_statement_is_in_the_audit_log_with_the_key_comment(console: Console) -> None:
    run(console, "audit_marker_1 = 'seen'\nfor n in range(1):\n    audit_marker_2 = n\n\n")
    log = console.server.output()
    lines = [line for line in log.splitlines() if "baobab.audit" in line]
    prefix = f"INFO baobab.audit console {OPERATOR} from 127.0.0.1:"
    assert any(prefix in line and "\"audit_marker_1 = 'seen'\"" in line for line in lines)
    # a compound statement is one line in the log
    assert any(
        prefix in line and "'for n in range(1):\\n    audit_marker_2 = n\\n'" in line
        for line in lines
    )
    assert any(
        f"console {OPERATOR} from 127.0.0.1:" in ln and "session opened" in ln for ln in lines
    )


def test_baobab_console_runs_ssh_against_the_configured_port(console: Console, keys: Keys) -> None:
    argv = [str(BAOBAB), "console", "--config", str(console.config), "-i", str(keys.alice)]
    result = subprocess.run(
        [*argv, "--", *SSH_OPTIONS],
        input="print('through baobab console', 1 + 1)\n",
        capture_output=True,
        text=True,
        timeout=60,
        env=clean_env(),
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "through baobab console 2\n"


# writes --------------------------------------------------------------------------------------
def test_a_write_in_the_console_is_what_http_answers_and_search_finds(console: Console) -> None:
    with console.server.root_client() as client:
        created = client.post(
            "/db/site", json={"@type": "Document", "id": "memo", "title": "Memo", "text": "plain"}
        )
        assert created.status_code == 201, created.text
        out = run(
            console,
            "doc = await patch('/db/site/memo', title='Zanzibar expedition')\n"
            "doc['title'], doc['contributors']\n"
            "def retext(root):\n"
            "    memo = root['site']['memo']\n"
            "    memo.text = 'quokka sightings'\n"
            "    modified(memo, 'text')\n"
            "    return memo.text\n"
            "\n"
            "await write(retext)\n"
            "await patch('/db/site/memo', nope=1)\n"
            "await get('/db/site/nothing')\n",
        )
        assert out.splitlines()[:2] == [
            f"('Zanzibar expedition', ['console:{OPERATOR}'])",
            "'quokka sightings'",
        ]
        # domain errors: the message, without the helpers' frames
        assert "baobab.errors.ValidationError: Invalid data for: nope" in out
        assert "baobab.errors.NotFound: Nothing at /db/site/nothing" in out
        assert "namespace.py" not in out
        resp = client.get("/db/site/memo")
        assert resp.status_code == 200
        assert (resp.json()["title"], resp.json()["text"]) == (
            "Zanzibar expedition",
            "quokka sightings",
        )
        for words in ("zanzibar", "quokka"):
            found = client.get("/db/site/@search", params={"SearchableText": words})
            assert [item["id"] for item in found.json()["items"]] == ["memo"], words


async def test_a_console_write_is_pushed_to_live_subscribers(console: Console) -> None:
    with console.server.root_client() as client:
        doc = {"@type": "Document", "id": "pushed", "title": "Before"}
        assert client.post("/db/site", json=doc).status_code == 201
    url = console.server.url.replace("http", "ws", 1) + "/db/site/@ws"
    basic = base64.b64encode(f"root:{ROOT_PASSWORD}".encode()).decode()
    async with connect(url, additional_headers={"Authorization": f"Basic {basic}"}) as sock:
        await sock.send(json.dumps({"type": "subscribe", "id": 1, "path": "/db/site/pushed"}))
        ack = json.loads(await asyncio.wait_for(sock.recv(), 20))
        assert ack["type"] == "ack", ack
        statement = "_ = await patch('/db/site/pushed', title='After')\n"
        assert await asyncio.to_thread(run, console, statement) == ""
        frame = json.loads(await asyncio.wait_for(sock.recv(), 20))
    assert (frame["type"], frame["event"]) == ("event", "modified"), frame
    assert frame["@id"].endswith("/db/site/pushed")
    assert frame["actor"] == f"console:{OPERATOR}"


# the event loop stays free -------------------------------------------------------------------
BLOCKERS = {
    # time.sleep(2) in a loop: the statement's thread sleeps, the server's loop must not
    "sleep": "while not os.path.exists(GO):\n    time.sleep(2)\n\n",
    # a busy loop holding the GIL but for the interpreter's switches
    "spin": "while not os.path.exists(GO):\n    pass\n\n",
    # blocking inside a database unit (inline mode: it runs in the console thread)
    "unit": "_ = await read(lambda r: [time.sleep(2) for _ in iter(lambda: exists(GO), True)])\n",
}


@pytest.mark.parametrize("blocker", sorted(BLOCKERS))
def test_a_blocking_statement_never_freezes_http(
    console: Console, tmp_path: Path, blocker: str
) -> None:
    """The statement blocks until the test has had its HTTP answer: were the server's event
    loop held by the statement, the GET would never be answered, and the test would fail
    (the GET's timeout) rather than pass late."""
    go = tmp_path / "go"
    started = tmp_path / "started"
    script = (
        f"import os, time\nfrom os.path import exists\nGO = {str(go)!r}\n"
        f"open({str(started)!r}, 'w').close()\n"
        f"{BLOCKERS[blocker]}"
        "print('released')\n"
    )
    with subprocess.Popen(
        ssh_argv(console.port, console.key),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as ssh:
        assert ssh.stdin is not None
        ssh.stdin.write(script)
        ssh.stdin.close()
        try:
            _wait_for(started, ssh)
            with httpx.Client(base_url=console.server.url, timeout=30) as client:
                # answered while the statement still blocks: nothing has created GO yet
                assert client.get("/db/site", auth=("root", ROOT_PASSWORD)).status_code == 200
                assert ssh.poll() is None, "the statement ended before GO existed"
            go.touch()
            assert ssh.stdout is not None and ssh.stderr is not None
            out, err = ssh.stdout.read(), ssh.stderr.read()  # until the session ends
            ssh.wait(60)
        finally:
            if ssh.poll() is None:
                ssh.kill()
    assert ssh.returncode == 0, err
    assert out == "released\n"


def _wait_for(path: Path, proc: subprocess.Popen[str], timeout: float = 60.0) -> None:
    import time

    deadline = time.monotonic() + timeout
    while not path.exists():
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.02)


def test_a_client_that_goes_interrupts_its_running_statement(
    console: Console, tmp_path: Path
) -> None:
    started, ended = tmp_path / "started", tmp_path / "ended"
    script = (
        "import time\n"
        "try:\n"
        f"    open({str(started)!r}, 'w').close()\n"
        "    while True:\n"
        "        time.sleep(0.05)\n"
        "finally:\n"
        f"    open({str(ended)!r}, 'w').close()\n"
        "\n"
    )
    with subprocess.Popen(
        ssh_argv(console.port, console.key), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    ) as ssh:  # fmt: skip
        assert ssh.stdin is not None
        ssh.stdin.write(script)
        ssh.stdin.flush()  # kept open: the session waits for more
        _wait_for(started, ssh)
        ssh.kill()
        ssh.wait(30)
        ssh.stdin.close()
    _wait_until(ended.exists, console.server)  # KeyboardInterrupt ran the finally clause


# the host key --------------------------------------------------------------------------------
def test_the_host_key_is_made_once_and_kept(servers: Servers, keys: Keys, tmp_path: Path) -> None:
    port = free_port()
    config = console_config(servers, keys, port)
    known = tmp_path / "known_hosts"
    first = servers.serve(config)
    host_key = servers.var / "console_host_key"
    assert stat.S_IMODE(host_key.stat().st_mode) == 0o600
    made = host_key.read_bytes()
    assert b"OPENSSH PRIVATE KEY" in made
    trust = ("-o", f"UserKnownHostsFile={known}", "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes")
    learn = ssh_session(port, keys.alice, *trust, "-o", "StrictHostKeyChecking=accept-new")
    assert learn.returncode == 0, learn.stderr
    assert known.read_text().strip()
    first.terminate()
    servers.serve(config)
    assert host_key.read_bytes() == made
    # the client that learnt the key at the first start trusts the second
    again = ssh_session(port, keys.alice, *trust, "-o", "StrictHostKeyChecking=yes")
    assert again.returncode == 0, again.stderr
    assert again.stdout == "2\n"


def ssh_session(port: int, key: Path, *options: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ssh_argv(port, key, options=options), input="1 + 1\n", capture_output=True, text=True,
        timeout=60, check=False,
    )  # fmt: skip


# configuration -------------------------------------------------------------------------------
def test_a_console_without_keys_or_with_a_bad_key_is_refused(servers: Servers, cli: Any) -> None:
    no_keys = servers.config({"console": {"enabled": True}}, name="nokeys.json")
    result = cli("check-config", str(no_keys))
    assert result.returncode == 2
    assert "`$.console.enabled` needs at least one key in `$.console.authorized_keys`" in (
        result.stderr
    )
    no_comment = servers.config(
        {"console": {"authorized_keys": ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5"]}}, name="bad.json"
    )
    result = cli("check-config", str(no_comment))
    assert result.returncode == 2
    assert "`$.console.authorized_keys[0]`" in result.stderr
    off = servers.config({}, name="off.json")
    result = cli("console", "--config", str(off))
    assert result.returncode == 2
    assert "the console is off" in result.stderr


# the offline shell ---------------------------------------------------------------------------
def shell(config: Path, statements: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BAOBAB), "shell", "--config", str(config)],
        input=statements,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        env=clean_env(),
        check=False,
    )


def test_shell_on_a_stopped_filestorage(servers: Servers, keys: Keys) -> None:
    config = console_config(servers, keys, free_port())
    server = servers.serve(config)
    with server.root_client() as client:
        assert client.post("/db", json={"@type": "Container", "id": "site"}).status_code == 201
        doc = {"@type": "Document", "id": "doc", "title": "Before"}
        assert client.post("/db/site", json=doc).status_code == 201
    # held by the server: one line saying what to do
    held = shell(config, "1\n", servers.cwd)
    assert held.returncode == 2
    assert held.stdout == ""
    assert held.stderr.count("\n") == 1, held.stderr
    assert "in use by another process" in held.stderr
    assert "Stop the server first, or use its live console (baobab console)" in held.stderr
    server.terminate()
    result = shell(
        config,
        "(await patch('/db/site/doc', title='Offline edit'))['title']\n"
        f"import os; os.getpid() != {server.pid}\n",
        servers.cwd,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "'Offline edit'\nTrue\n"
    assert "baobab.audit console" in result.stderr
    again = servers.serve(config)
    with again.root_client() as client:
        assert client.get("/db/site/doc").json()["title"] == "Offline edit"
        found = client.get("/db/site/@search", params={"SearchableText": "offline"}).json()
        assert [item["id"] for item in found["items"]] == ["doc"]


@pytest.fixture
def pg_dsn() -> Iterator[str]:
    dsn = require_postgres()
    zap_postgres(dsn)
    yield dsn


@pytest.mark.postgresql
def test_shell_beside_a_live_server_on_postgresql(
    servers: Servers, keys: Keys, pg_dsn: str
) -> None:
    config = console_config(
        servers, keys, free_port(), databases={"db": {"storage": "postgresql", "dsn": pg_dsn}}
    )
    server = servers.serve(config)
    with server.root_client() as client:
        assert client.post("/db", json={"@type": "Container", "id": "site"}).status_code == 201
        doc = {"@type": "Document", "id": "doc", "title": "Live"}
        assert client.post("/db/site", json=doc).status_code == 201
        result = shell(
            config,
            "(await get('/db/site/doc'))['title']\n"
            "(await patch('/db/site/doc', title='Shell edit'))['title']\n",
            servers.cwd,
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout == "'Live'\n'Shell edit'\n"
        assert client.get("/db/site/doc").json()["title"] == "Shell edit"
        found = client.get("/db/site/@search", params={"SearchableText": "shell"}).json()
        assert [item["id"] for item in found["items"]] == ["doc"]


@pytest.mark.postgresql
def test_with_several_workers_one_serves_the_console(
    servers: Servers, keys: Keys, pg_dsn: str
) -> None:
    port = free_port()
    config = console_config(
        servers,
        keys,
        port,
        databases={"db": {"storage": "postgresql", "dsn": pg_dsn}},
        server={"access_log": False, "workers": 2},
    )
    server = servers.serve(config)
    out = ssh_run(port, keys.alice, "import os; print(os.getpid())\n")
    assert out.returncode == 0, out.stderr
    pid = int(out.stdout)
    assert pid in server.group_members() and pid != server.pid
    _wait_until(lambda: "not served by this process" in server.output(), server)
    log = server.output()
    assert log.count("console: listening on") == 1
    assert log.count("not served by this process") == 1


def _wait_until(check: Any, server: ServerProcess, timeout: float = 40.0) -> None:
    import time

    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, server.output()
        time.sleep(0.1)

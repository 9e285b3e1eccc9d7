"""``baobab serve`` / ``check-config`` as processes: exit codes, messages, first-start secrets."""

from __future__ import annotations

import re
import socket
import stat

import httpx
import pytest

pytestmark = pytest.mark.server

EXIT_CONFIG = 2

BAD_CONFIGS = {
    "unknown-key": ('{"databases": {"db": {"storag": "x"}}}', ["`$.databases.db`", "storag"]),
    "wrong-type": ('{"server": {"port": "80"}}', ["`$.server.port`", "int"]),
    "unknown-user-key": (
        '{"auth": {"users": {"alice": {"password_hash": "x", "role": []}}}}',
        ["`$.auth.users.alice`", "role"],
    ),
    "rule": ('{"server": {"workers": 2}}', ["`$.server.workers`", "postgresql"]),
    "missing-dsn": ('{"databases": {"db": {"storage": "postgresql"}}}', ["`$.databases.db.dsn`"]),
    "not-json": ('{"server": ', ["not valid JSON"]),
}


def check(servers, cli, command: str, text: str | None):
    """``baobab serve --config F`` or ``baobab check-config F`` on a configuration text."""
    path = servers.tmp_path / "config.json"
    if text is not None:
        path.write_text(text)
    if command == "serve":
        return cli("serve", "--config", str(path), "--host", "127.0.0.1", "--port", "0")
    return cli("check-config", str(path))


CASES = [
    *(("check-config", case) for case in sorted(BAD_CONFIGS)),
    # serve validates through the same code: the two cases that matter most, as a process.
    ("serve", "unknown-key"),
    ("serve", "wrong-type"),
]


@pytest.mark.parametrize(("command", "case"), CASES)
def test_a_bad_config_exits_2_naming_the_key(command, case, servers, cli) -> None:
    text, expected = BAD_CONFIGS[case]
    done = check(servers, cli, command, text)
    assert done.returncode == EXIT_CONFIG, done
    for fragment in expected:
        assert fragment in done.stderr, done.stderr
    assert done.stderr.startswith("baobab: "), done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == ""
    # Nothing was created: the configuration is checked before anything touches the disk.
    assert not (servers.cwd / "var").exists()


@pytest.mark.parametrize("command", ["serve", "check-config"])
def test_a_missing_config_file_exits_2(command, servers, cli) -> None:
    done = check(servers, cli, command, None)
    assert done.returncode == EXIT_CONFIG
    assert done.stderr.startswith("baobab: Cannot read configuration file ")
    assert "Traceback" not in done.stderr


def test_check_config_accepts_a_valid_file(servers, cli) -> None:
    path = servers.config()
    done = cli("check-config", str(path))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"{path}: valid"
    empty = servers.config({}, name="empty.json")
    assert cli("check-config", str(empty)).returncode == 0


GENERATED = re.compile(r"Generated the root password .*: (\S+)\s*$", re.MULTILINE)


def test_first_start_generates_the_root_password_once(servers) -> None:
    # No root password or JWT secret anywhere: not in the config, not in the environment
    # (the fixture strips every BAOBAB_* variable), and var_dir is the default `var` in cwd.
    config = servers.config({"server": {"access_log": False}})
    first = servers.serve(config)
    found = GENERATED.findall(first.stdout())
    assert len(found) == 1, first.output()
    password = found[0]
    assert password not in first.stderr()

    secrets = servers.cwd / "var" / "secrets.json"
    assert secrets.exists()
    assert stat.S_IMODE(secrets.stat().st_mode) == 0o600
    assert password not in secrets.read_text()  # kept hashed only

    with first.root_client(password) as client:
        assert client.post("/db", json={"@type": "Container", "id": "site"}).status_code == 201
        token = client.post("/@login", json={"login": "root", "password": password}).json()
    with first.root_client("wrong") as client:
        assert client.post("/db", json={"@type": "Container", "id": "x"}).status_code == 401
    assert first.terminate() == 0

    second = servers.serve(config)
    assert "Generated" not in second.stdout()
    assert password not in second.stdout() + second.stderr()
    assert stat.S_IMODE(secrets.stat().st_mode) == 0o600
    with second.root_client(password) as client:
        response = client.get("/db/site")
        assert response.status_code == 200
        assert response.json()["creators"] == ["root"]
    # The generated JWT secret was kept too: a token from the first run still works.
    bearer = {"Authorization": f"Bearer {token['token']}"}
    response = httpx.get(f"{second.url}/db/site", headers=bearer, timeout=20)
    assert response.status_code == 200, response.text


def test_unusable_ports_exit_2_with_one_line(servers, cli) -> None:
    path = servers.config()
    done = cli("serve", "--config", str(path), "--host", "127.0.0.1", "--port", "99999")
    assert done.returncode == 2
    assert "`$.server.port`" in done.stderr
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = cli("serve", "--config", str(path), "--host", "127.0.0.1", "--port", str(port))
    assert done.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr
    assert "Traceback" not in done.stderr

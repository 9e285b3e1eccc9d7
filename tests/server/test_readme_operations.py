"""The README's "Operating Baobab" section, run verbatim against real servers: health,
readiness, request ids and metrics; pack, backup and restore; export and import; the
offline shell; and the SSH console with the OpenSSH client."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest

from baobab.testing.server import (
    BAOBAB,
    JWT_SECRET,
    ROOT_PASSWORD,
    clean_env,
    free_port,
    signal_group,
)

pytestmark = pytest.mark.server

README = Path(__file__).resolve().parents[2] / "README.md"
SECTION = "## Operating Baobab"


def _blocks() -> list[str]:
    text = README.read_text().split(SECTION, 1)[1].split("\n## ", 1)[0]
    return [part.split("```", 1)[0] for part in text.split("```sh\n")[1:]]


def _prelude(url: str) -> str:
    """The API tour's first lines (B, U, J, api()), pointed at ``url``."""
    text = README.read_text().split("## API tour", 1)[1].split("```sh\n", 1)[1]
    prelude = text.split("\n# a container", 1)[0]
    assert prelude.startswith("B=http://127.0.0.1:8080;")
    return prelude.replace("http://127.0.0.1:8080", url, 1)


def _run(script: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``script`` in bash, ``baobab`` on the PATH, in a session of its own: whatever it
    leaves running (a server it started) is stopped with it."""
    env = clean_env({"PATH": f"{BAOBAB.parent}{os.pathsep}{os.environ['PATH']}"})
    process = subprocess.Popen(
        ["bash", "-c", f"set -eu\n{script}"],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=300)
    finally:
        signal_group(process.pid, signal.SIGKILL)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def test_readme_operations_tour(servers: Any) -> None:
    metrics_port = free_port()
    config = servers.config(
        {
            "var_dir": str(servers.var),
            "auth": {"root_password": ROOT_PASSWORD, "jwt_secret": JWT_SECRET},
            "server": {"access_log": False},
            "metrics": {"enabled": True, "port": metrics_port},
        }
    )
    server = servers.serve(config)
    block = _blocks()[0]
    assert block.startswith("M=http://127.0.0.1:9464")
    script = "\n".join(
        [
            f"PW={ROOT_PASSWORD}",
            _prelude(server.url),
            'api -X POST $B/db -d \'{"@type": "Container", "id": "site"}\' >/dev/null',
            'api -X POST $B/db/site -d \'{"@type": "Document", "id": "before"}\' >/dev/null',
            block.replace("9464", str(metrics_port), 1),
        ]
    )
    # the CLI without --config reads the defaults: var_dir "var", the server's, from here
    done = _run(script, servers.tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    print(done.stdout, done.stderr)  # shown when an assertion fails
    lines = done.stdout.splitlines()
    assert lines[0] == "baobab 0.1.0"
    health = json.loads(lines[1])
    assert health == {"status": "ok", "version": "0.1.0"}
    assert lines[2] == "200"
    missing = json.loads(lines[3])
    assert missing["type"] == "NotFound" and missing["request_id"] == "tour-42"
    assert int(lines[4]) >= 3  # the tour's requests so far, by service, method and status
    packed = json.loads(lines[5])
    assert packed["database"] == "db" and packed["bytes_after"] <= packed["bytes_before"]
    rest = "\n".join(lines[6:])
    assert "full backup" in rest and "incremental backup" in rest, rest
    # the restored copy holds both containers, the restored site and the imported one, which
    # has the document written after the first backup (the export saw the live state)
    assert lines[-1] == "(['site', 'site-copy'], 'Document')", done.stdout
    for left in ("backups", "restored", "restored.json", "site.tar.gz"):
        assert not (servers.tmp_path / left).exists(), left


@pytest.mark.skipif(
    shutil.which("ssh") is None and not os.environ.get("CI"),  # under CI: fail, loudly
    reason="needs the OpenSSH client: apt-get install openssh-client",
)
def test_readme_console_tour(tmp_path: Path) -> None:
    block = _blocks()[1]
    http, ssh = free_port(), free_port()
    script = block.replace("8091", str(http)).replace("8022", str(ssh))
    done = _run(script, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    print(done.stdout, done.stderr)  # shown when an assertion fails
    lines = done.stdout.splitlines()
    assert lines[0] == "['db']", done.stdout
    assert lines[1] == "'Database'", done.stdout
    assert lines[2].startswith("pid "), done.stdout
    assert int(lines[3]) >= 4  # four statements, each in the audit log

"""Health, readiness, metrics and JSON logs of a real ``baobab serve`` (docs/observability.md).

On FileStorage with one worker and on PostgreSQL with two: the metrics port is served by
the parent process and sums what every worker counted; ``promtool check metrics`` accepts
the text; the JSON access lines on standard output carry each request's id, principal and
status.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from baobab import __version__
from baobab.testing import require_postgres, zap_postgres
from baobab.testing.server import (
    JWT_SECRET,
    ROOT_PASSWORD,
    ServerProcess,
    Servers,
    free_port,
    run_cli,
)

pytestmark = pytest.mark.server


def config(servers: Servers, metrics_port: int, **extra: Any) -> Path:
    data: dict[str, Any] = {
        "var_dir": str(servers.var),
        "auth": {"root_password": ROOT_PASSWORD, "jwt_secret": JWT_SECRET},
        "server": {"access_log": False, "log_format": "json"},
        "metrics": {"enabled": True, "port": metrics_port},
        **extra,
    }
    return servers.config(data)


def scrape(port: int) -> str:
    resp = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10)
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("text/plain")
    return resp.text


def scraped_when(port: int, series: str, expected: float) -> str:
    """The metrics text once ``series`` reads ``expected``: workers hand their tallies over
    once a second, so a scrape may lag that much behind the last answer."""
    deadline = time.monotonic() + 15
    while True:
        text = scrape(port)
        if value(text, series) == expected or time.monotonic() > deadline:
            return text
        time.sleep(0.2)


def value(text: str, series: str) -> float:
    """The value of one series (``name{labels}`` as the text format writes it), 0 if absent."""
    for line in text.splitlines():
        if line.startswith(series + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def promtool_check(text: str) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        message = "promtool is missing (Debian: apt-get install prometheus)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    done = subprocess.run(
        [promtool, "check", "metrics"], input=text, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


def access_lines(server: ServerProcess) -> list[dict[str, Any]]:
    lines = []
    for line in server.stdout().splitlines():
        if line.startswith("{"):
            data = json.loads(line)
            if data.get("type") == "access":
                lines.append(data)
    return lines


def test_version_on_the_command_line(tmp_path: Path) -> None:
    done = run_cli(["--version"], tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"baobab {__version__}"


def test_filestorage_server_health_metrics_and_json_logs(servers: Servers) -> None:
    port = free_port()
    server = servers.serve(config(servers, port))
    with server.client() as anon, server.root_client() as root:
        health = anon.get("/@health", headers={"Authorization": "Basic bm9wZQ=="})
        assert health.status_code == 200
        assert health.json() == {"status": "ok", "version": __version__}
        assert anon.get("/@ready").json() == {"status": "ok", "databases": {"db": "ok"}}
        assert root.post("/db", json={"@type": "Container", "id": "site"}).status_code == 201
        for _ in range(5):
            assert root.get("/db/site/@search").status_code == 200
        missing = root.get("/db/site/nope", headers={"X-Request-ID": "trace-1"})
        assert missing.status_code == 404
        assert missing.headers["x-request-id"] == "trace-1"
        assert missing.json()["request_id"] == "trace-1"
        # the API's port does not serve metrics unless metrics.public is set
        assert root.get("/@metrics").status_code == 404

    search = 'baobab_http_requests_total{method="GET",service="@search",status="200"}'
    text = scraped_when(port, search, 5)
    promtool_check(text)
    assert value(text, search) == 5
    assert value(text, 'baobab_http_requests_total{method="GET",service="(object)",status="404"}')
    assert value(text, "baobab_catalog_query_duration_seconds_count") == 5
    assert value(text, 'baobab_commit_duration_seconds_count{database="db"}') >= 1
    assert value(text, "baobab_http_requests_in_progress") == 0
    assert value(text, f'baobab_build_info{{version="{__version__}"}}') == 1

    deadline = time.monotonic() + 10  # lines are written in batches, within 0.1 s
    while not any(line["path"] == "/@metrics" for line in access_lines(server)):
        assert time.monotonic() < deadline, server.stdout()
        time.sleep(0.05)
    lines = access_lines(server)
    traced = [line for line in lines if line["request_id"] == "trace-1"]
    assert len(traced) == 1, lines
    assert traced[0] | {"time": "", "duration_ms": 0, "pid": 0} == {
        "time": "",
        "type": "access",
        "method": "GET",
        "path": "/db/site/nope",
        "view": "",
        "status": 404,
        "duration_ms": 0,
        "principal": "root",
        "request_id": "trace-1",
        "conflicts": 0,
        "pid": 0,
    }
    probes = [line for line in lines if line["path"] == "/@health"]
    assert probes and probes[0]["principal"] is None and probes[0]["status"] == 200


@pytest.mark.postgresql
def test_two_workers_on_postgresql_are_summed(servers: Servers) -> None:
    dsn = require_postgres()
    zap_postgres(dsn)
    port = free_port()
    databases = {"db": {"storage": "postgresql", "dsn": dsn}}
    server = servers.serve(config(servers, port, databases=databases), extra=["--workers", "2"])
    with server.root_client() as root:
        assert root.post("/db", json={"@type": "Container", "id": "site"}).status_code == 201
    with server.client() as anon:
        assert anon.get("/@ready").json()["databases"] == {"db": "ok"}
    # a new connection per request: each worker accepts its share of the connections
    sent = 0
    no_reuse = httpx.Limits(max_keepalive_connections=0)
    with server.root_client(limits=no_reuse) as root:
        while sent < 400:
            assert root.get("/db/site/@search").status_code == 200
            sent += 1
            if sent % 20 == 0:
                pids = {
                    line["pid"]
                    for line in access_lines(server)
                    if line["path"] == "/db/site/@search"
                }
                if len(pids) == 2:
                    break
    pids = {line["pid"] for line in access_lines(server) if line["path"] == "/db/site/@search"}
    assert len(pids) == 2, f"one worker served all {sent} requests"
    series = 'baobab_http_requests_total{method="GET",service="@search",status="200"}'
    text = scraped_when(port, series, sent)
    promtool_check(text)
    assert value(text, series) == sent
    assert value(text, "baobab_http_requests_in_progress") == 0

"""Health, readiness, metrics and request ids, in process (docs/observability.md).

``/@health`` and ``/@ready`` are answered before authentication; ``@ready`` reports a
database or Redis that stopped answering with 503 and the reason (a TCP proxy in front of
the real PostgreSQL or Redis is cut: ``tcp_proxy``). Every answer carries ``X-Request-ID``
(the client's when it is safe, else a new one), and every error envelope its ``request_id``.
Metrics are read from this process's registry: counters only grow, so the tests compare
before and after.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson
import pytest
from tcp_proxy import TcpProxy

from baobab import __version__
from baobab.asgi import BaobabApp
from baobab.asgi.health import PROBE_TIMEOUT
from baobab.telemetry.logs import JsonFormatter, RequestIdFilter
from baobab.telemetry.metrics import instruments
from baobab.testing import BaobabClient, add, assert_envelope, make_settings, require_postgres
from baobab.testing.kit import ROOT_PASSWORD, zap_postgres
from baobab.testing.server import free_port

HEX_ID = re.compile(r"[0-9a-f]{32}")


@pytest.fixture
def baobab_overrides() -> dict[str, Any]:
    return {"metrics": {"enabled": True, "public": True, "port": None}}


def sample(name: str, **labels: str) -> float:
    """A value as a scrape would see it: the request tallies handed over first (the app
    does it every second)."""
    metrics = instruments()
    metrics.flush()
    return metrics.registry.get_sample_value(name, labels) or 0.0


async def test_health_answers_without_credentials_and_despite_bad_ones(
    anon_client: BaobabClient,
) -> None:
    for headers in ({}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic !!"}):
        resp = await anon_client.get("/@health", headers=headers)
        assert resp.status_code == 200, resp.text
        assert resp.json() == {"status": "ok", "version": __version__}
        assert resp.headers["cache-control"] == "no-store"
    head = await anon_client.head("/@health")
    assert head.status_code == 200 and head.content == b""


async def test_ready_names_every_database(anon_client: BaobabClient) -> None:
    resp = await anon_client.get("/@ready", headers={"Authorization": "Bearer garbage"})
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"status": "ok", "databases": {"db": "ok"}}


async def test_other_methods_on_the_probes_are_405(client: BaobabClient) -> None:
    resp = await client.post("/@ready", json={})
    assert_envelope(resp, 405, "MethodNotAllowed")
    assert resp.headers["allow"] == "GET, HEAD"
    # a subpath is not the probe: the publisher's answer (the service takes none)
    assert_envelope(await client.get("/@health/more"), 404, "NotFound")


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("abc-123", True),
        ("f81d4fae-7dec-11d0-a765-00a0c91e6bf6", True),
        ("trace.id:part/1+2=", True),
        ("x" * 128, True),
        ("x" * 129, False),
        ("has space", False),
        ('quote"', False),
        ("", False),
        ("é", False),
    ],
)
async def test_the_request_id_is_the_clients_when_safe(
    anon_client: BaobabClient, sent: str, kept: bool
) -> None:
    resp = await anon_client.get("/@health", headers={"X-Request-ID": sent.encode("utf-8")})
    got = resp.headers["x-request-id"]
    if kept:
        assert got == sent
    else:
        assert HEX_ID.fullmatch(got), got


async def test_error_bodies_carry_the_request_id(client: BaobabClient, site: str) -> None:
    resp = await client.get(f"{site}/missing", headers={"X-Request-ID": "req-42"})
    assert_envelope(resp, 404, "NotFound")  # checks the body's id is the header's
    assert resp.json()["request_id"] == "req-42"
    made = await client.get(f"{site}/missing")
    assert_envelope(made, 404)
    assert HEX_ID.fullmatch(made.json()["request_id"])
    ok = await client.get(site)
    assert ok.status_code == 200 and "request_id" not in ok.json()
    assert HEX_ID.fullmatch(ok.headers["x-request-id"])


async def test_requests_are_counted_by_service_method_and_status(
    client: BaobabClient, site: str
) -> None:
    def count(service: str, method: str, status: str) -> float:
        return sample("baobab_http_requests_total", service=service, method=method, status=status)

    before = {
        "search": count("@search", "GET", "200"),
        "object": count("(object)", "GET", "200"),
        "missing": count("(object)", "GET", "404"),
        "other": count("(other)", "GET", "404"),
        "timed": sample(
            "baobab_http_request_duration_seconds_count", service="@search", method="GET"
        ),
    }
    assert (await client.get(f"{site}/@search")).status_code == 200
    assert (await client.get(site)).status_code == 200
    assert (await client.get(f"{site}/nope")).status_code == 404
    for n in range(3):  # invented views share one label: clients cannot mint series
        assert (await client.get(f"{site}/@invented-{n}")).status_code == 404
    assert count("@search", "GET", "200") == before["search"] + 1
    assert count("(object)", "GET", "200") == before["object"] + 1
    assert count("(object)", "GET", "404") == before["missing"] + 1
    assert count("(other)", "GET", "404") == before["other"] + 3
    timed = sample("baobab_http_request_duration_seconds_count", service="@search", method="GET")
    assert timed == before["timed"] + 1
    assert sample("baobab_http_requests_in_progress") == 0
    assert sample("baobab_catalog_query_duration_seconds_count") >= 1


async def test_commits_and_loads_are_counted(client: BaobabClient, site: str) -> None:
    commits = sample("baobab_commit_duration_seconds_count", database="db")
    stores = sample("baobab_zodb_stores_total", database="db")
    await add(client, site, "Document", "doc", title="Doc")
    assert sample("baobab_commit_duration_seconds_count", database="db") == commits + 1
    assert sample("baobab_zodb_stores_total", database="db") > stores


async def test_uploads_count_their_bytes(client: BaobabClient, site: str) -> None:
    before = sample("baobab_upload_bytes_total")
    resp = await client.post(
        site,
        content=b"x" * 5000,
        headers={"Content-Type": "text/plain", "Content-Disposition": "attachment; filename=a"},
    )
    assert resp.status_code == 201, resp.text
    assert sample("baobab_upload_bytes_total") == before + 5000


async def test_metrics_on_the_api_port_are_for_managers(
    client: BaobabClient, anon_client: BaobabClient
) -> None:
    assert_envelope(await anon_client.get("/@metrics"), 401, "Unauthorized")
    async with client.as_user("editor") as editor:
        assert_envelope(await editor.get("/@metrics"), 403, "Forbidden")
    instruments().flush()
    resp = await client.get("/@metrics")
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("text/plain")
    assert "baobab_http_requests_total{" in resp.text
    assert f'baobab_build_info{{version="{__version__}"}} 1.0' in resp.text


async def test_metrics_off_the_api_port_by_default(tmp_path: Path) -> None:
    app = BaobabApp(make_settings(tmp_path / "var", "memory", metrics={"enabled": True}))
    await app.startup()
    try:
        transport = httpx.ASGITransport(app=app)
        async with BaobabClient(
            transport=transport, base_url="http://baobab.test", auth=("root", ROOT_PASSWORD)
        ) as root:
            assert_envelope(await root.get("/@metrics"), 404, "NotFound")
    finally:
        await app.shutdown()


# -- readiness when a dependency goes away ------------------------------------------------


@pytest.fixture
def postgres_proxy() -> Iterator[tuple[TcpProxy, str]]:
    """A proxy in front of the test PostgreSQL, and the DSN that goes through it."""
    from psycopg2.extensions import make_dsn, parse_dsn

    dsn = require_postgres()
    zap_postgres(dsn)
    params = parse_dsn(dsn)
    with TcpProxy(params.get("host", "127.0.0.1"), int(params.get("port", 5432))) as proxy:
        yield proxy, make_dsn(dsn, host="127.0.0.1", port=str(proxy.port))


@pytest.fixture
def redis_proxy() -> Iterator[tuple[TcpProxy, str]]:
    from baobab.testing import require_redis

    url = require_redis()
    parts = urlsplit(url)
    with TcpProxy(parts.hostname or "127.0.0.1", parts.port or 6379) as proxy:
        yield proxy, f"redis://127.0.0.1:{proxy.port}{parts.path or '/0'}"


@asynccontextmanager
async def _app(
    tmp_path: Path, auth: tuple[str, str] | None = None, **overrides: Any
) -> AsyncIterator[BaobabClient]:
    app = BaobabApp(make_settings(tmp_path / "var", "memory", **overrides))
    await app.startup()
    try:
        async with BaobabClient(
            transport=httpx.ASGITransport(app=app), base_url="http://baobab.test", auth=auth
        ) as anon:
            yield anon
    finally:
        await app.shutdown()


@pytest.mark.postgresql
async def test_ready_is_503_while_postgresql_is_unreachable(
    tmp_path: Path, postgres_proxy: tuple[TcpProxy, str]
) -> None:
    proxy, dsn = postgres_proxy
    databases = {"db": {"storage": "postgresql", "dsn": dsn}, "local": {"storage": "memory"}}
    async with _app(tmp_path, databases=databases) as anon:
        assert (await anon.get("/@ready")).status_code == 200
        proxy.stop()
        resp = await anon.get("/@ready")
        assert resp.status_code == 503, resp.text
        body = resp.json()
        assert body["status"] == "unavailable"
        assert body["databases"]["local"] == "ok"
        assert body["databases"]["db"] != "ok" and body["databases"]["db"], body
        # the process itself is fine
        assert (await anon.get("/@health")).status_code == 200
        again = await anon.get("/@ready")  # a new connection is refused: still 503
        assert again.status_code == 503
        reason = again.json()["databases"]["db"]
        assert reason == "unavailable: OperationalError", reason  # no host, port or user
        proxy.start()
        back = await anon.get("/@ready")
        assert back.status_code == 200, back.text


@pytest.mark.postgresql
async def test_a_probe_that_gets_no_answer_is_bounded(
    tmp_path: Path, postgres_proxy: tuple[TcpProxy, str]
) -> None:
    """PostgreSQL that accepts but never answers (a frozen server, a dropped network):
    @ready says so within its probe's bound instead of waiting with it; a probe still
    waiting is the answer to the next request, and an answer that comes ends it."""
    proxy, dsn = postgres_proxy
    async with _app(tmp_path, databases={"db": {"storage": "postgresql", "dsn": dsn}}) as anon:
        assert (await anon.get("/@ready")).status_code == 200
        proxy.stall()
        for _ in range(2):
            resp = await anon.get("/@ready")
            assert resp.status_code == 503, resp.text
            assert resp.json()["databases"]["db"] == f"no answer within {PROBE_TIMEOUT:g} s"
        assert (await anon.get("/@health")).status_code == 200
        proxy.resume()
        for _ in range(100):  # the stalled probe finishes once the bytes flow again
            resp = await anon.get("/@ready")
            if resp.status_code == 200:
                break
            await asyncio.sleep(0.05)
        assert resp.status_code == 200, resp.text


async def test_ready_is_503_while_redis_is_unreachable(
    tmp_path: Path, redis_proxy: tuple[TcpProxy, str]
) -> None:
    proxy, url = redis_proxy
    pubsub = {"redis": url, "prefix": f"obs-{tmp_path.name}"}
    async with _app(tmp_path, pubsub=pubsub) as anon:
        resp = await anon.get("/@ready")
        assert resp.status_code == 200, resp.text
        assert resp.json() == {"status": "ok", "databases": {"db": "ok"}, "redis": "ok"}
        proxy.stop()
        down = await anon.get("/@ready")
        assert down.status_code == 503, down.text
        assert down.json()["databases"] == {"db": "ok"}
        assert down.json()["redis"] != "ok"
        proxy.start()
        assert (await anon.get("/@ready")).status_code == 200


async def test_ready_with_redis_on_a_closed_port_names_redis(tmp_path: Path) -> None:
    """The prober alone, against a port nothing listens on (an app could not start there:
    its event bus connects to Redis at start-up)."""
    from baobab.asgi.health import Readiness
    from baobab.database.databases import Databases

    port = free_port()  # nothing listens there
    settings = make_settings(
        tmp_path / "var", "memory", pubsub={"redis": f"redis://127.0.0.1:{port}/0"}
    )
    databases = Databases.open(settings)
    readiness = Readiness(settings, databases)
    try:
        report = await readiness.check()
    finally:
        await readiness.close()
        databases.close()
    assert report["status"] == "unavailable"
    assert report["databases"] == {"db": "ok"}
    # the error's class, never its message (hosts, ports, users are for the log)
    assert report["redis"].startswith("unavailable: "), report
    assert "127.0.0.1" not in report["redis"] and str(port) not in report["redis"], report


# -- the request id in log lines ------------------------------------------------------------


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []
        self.addFilter(RequestIdFilter())

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


async def test_after_commit_work_logs_the_request_id(tmp_path: Path) -> None:
    """A coroutine subscriber runs after the answer, in a task of its own: what it logs
    still names the request that committed (``baobab_events_addon.broken`` always fails)."""
    handler = Records()
    logger = logging.getLogger("baobab.events.delivery")
    logger.addHandler(handler)
    try:
        root = ("root", ROOT_PASSWORD)
        async with _app(tmp_path, auth=root, addons=["baobab_events_addon"]) as client:
            resp = await client.post(
                "/db",
                json={"@type": "Container", "id": "site"},
                headers={"X-Request-ID": "commit-7"},
            )
            assert resp.status_code == 201, resp.text
            for _ in range(20):  # the subscribers run on later turns of the loop
                await asyncio.sleep(0.01)
    finally:
        logger.removeHandler(handler)
    failures = [r for r in handler.records if "failed" in r.getMessage()]
    assert failures, handler.records
    assert {getattr(r, "request_id", None) for r in failures} == {"commit-7"}
    line = orjson.loads(JsonFormatter().format(failures[0]))
    assert line["request_id"] == "commit-7"
    assert line["level"] == "error" and "RuntimeError" in line["exc_info"]

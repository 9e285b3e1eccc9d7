"""The pipeline's declared mechanisms, as a client meets them: how a service takes its body
(``@service(body=...)``), headers declared for a view, and stop-and-replay (``NeedsMore``)."""

from __future__ import annotations

import gc
import hashlib
from collections.abc import Iterator
from typing import Any

import baobab_pipeline_addon as addon
import pytest
from files_support import call_app, leftovers

from baobab.asgi import BaobabApp
from baobab.asgi.pipeline import MAX_STOPS
from baobab.testing import (
    BaobabClient,
    assert_envelope,
)

DATA = b"0123456789abcdef" * 1024  # 16 KiB


@pytest.fixture
def baobab_overrides() -> dict[str, Any]:
    return {"addons": ["baobab_pipeline_addon"], "request": {"max_body_size": 4096}}


@pytest.fixture(autouse=True)
def runs() -> Iterator[dict[str, int]]:
    addon.RUNS.clear()
    addon.THREADS.clear()
    yield addon.RUNS


@pytest.fixture
async def inbox(client: BaobabClient, site: str) -> str:
    resp = await client.post(site, json={"@type": "Inbox", "id": "inbox"})
    assert resp.status_code == 201, resp.text
    return f"{site}/inbox"


# body="stream" ------------------------------------------------------------------------------


async def test_a_streamed_body_is_not_read_before_the_permission_check(
    baobab_app: BaobabApp, inbox: str, unchanged: Any, runs: dict[str, int]
) -> None:
    async with unchanged(inbox):
        for login, status in (("reader", 403), (None, 401)):
            got = await call_app(
                baobab_app, "POST", f"{inbox}/@drop", chunks=[DATA] * 4, login=login
            )
            assert (got.status, got.reads) == (status, 0)
    assert runs == {}  # refused before the handler
    assert leftovers(baobab_app) == []


async def test_a_streamed_body_reaches_its_service_as_a_file(
    baobab_app: BaobabApp, inbox: str, runs: dict[str, int]
) -> None:
    big = DATA * 4  # past request.max_body_size: only a JSON body is capped by it
    got = await call_app(baobab_app, "POST", f"{inbox}/@drop", chunks=[big[:30000], big[30000:]])
    assert got.status == 200, got.body
    assert got.body == (
        b'{"size":%d,"sha256":"%s"}' % (len(big), hashlib.sha256(big).hexdigest().encode())
    )
    # entered twice: once to stop for the body (after the checks), once with it
    assert runs == {"drop_file": 2}
    assert leftovers(baobab_app) == []


# a JSON service under a name that streams elsewhere ----------------------------------------------


async def test_a_json_service_of_a_streamed_name_reads_its_body_after_the_check(
    baobab_app: BaobabApp, site: str, unchanged: Any, runs: dict[str, int]
) -> None:
    body = b'{"a": [1, 2]}'
    headers = [("content-type", "application/json")]
    async with unchanged(site):
        got = await call_app(
            baobab_app, "POST", f"{site}/@drop", chunks=[body], headers=headers, login="reader"
        )
        assert (got.status, got.reads) == (403, 0)
    got = await call_app(baobab_app, "POST", f"{site}/@drop", chunks=[body], headers=headers)
    assert (got.status, got.body) == (200, b'{"json":{"a":[1,2]}}')
    assert runs == {"drop_json": 1}  # the body was read before the service was entered


async def test_a_json_body_read_late_keeps_the_json_limits(
    client: BaobabClient, site: str, unchanged: Any
) -> None:
    async with unchanged(site):
        resp = await client.post(f"{site}/@drop", content=b"[" * 5000)
        assert_envelope(resp, 413, "PayloadTooLarge")
        resp = await client.post(f"{site}/@drop", content=b"{nope")
        assert_envelope(resp, 400, "MalformedJSON")
        resp = await client.post(
            f"{site}/@drop", content=b"{}", headers={"content-type": "text/plain"}
        )
        assert_envelope(resp, 415, "UnsupportedMediaType")


# headers declared for a view --------------------------------------------------------------------


async def test_view_headers_are_on_every_answer_to_the_view(
    client: BaobabClient, anon_client: BaobabClient, site: str
) -> None:
    answers = [
        (await client.get(f"{site}/@versioned"), 200),
        (await client.get(f"{site}/missing/@versioned"), 404),
        (await client.post(f"{site}/@versioned", json={}), 405),
        (await anon_client.get(f"{site}/@versioned", auth=("root", "wrong")), 401),
        (await anon_client.get(f"{site}/@versioned"), 200),
    ]
    for resp, status in answers:
        assert resp.status_code == status, resp.text
        assert resp.headers["x-protocol-version"] == "2"
    assert "x-protocol-version" not in (await client.get(site)).headers


# stop and replay --------------------------------------------------------------------------------


async def test_each_offload_stops_the_step_and_runs_off_its_thread(
    client: BaobabClient, site: str, runs: dict[str, int]
) -> None:
    resp = await client.post(f"{site}/@offload", json={})
    assert resp.status_code == 200, resp.text
    assert resp.json()["results"] == ["A", "B"]
    # everything before each stop ran again: two stops, three entries
    assert runs == {"offload": 3}
    publish_thread = resp.json()["thread"]
    assert addon.THREADS["first"] != publish_thread
    assert addon.THREADS["second"] != publish_thread


async def test_a_step_that_never_finishes_stopping_is_cut_off(
    client: BaobabClient, site: str, runs: dict[str, int]
) -> None:
    resp = await client.post(f"{site}/@greedy", json={})
    assert_envelope(resp, 500, "InternalServerError")
    assert runs == {"greedy": MAX_STOPS + 1}


async def test_requests_leave_nothing_for_the_garbage_collector(
    baobab_app: BaobabApp, site: str
) -> None:
    """A request's objects (its Request, each attempt's unit of work and outbox) are freed by
    reference counting: a cycle among them would hand every request to the collector, whose
    full passes cost every connection's latency."""
    doc = f"{site}/doc"
    body = b'{"@type": "Document", "id": "doc"}'
    json_type = [("content-type", "application/json")]
    assert (
        await call_app(baobab_app, "POST", site, chunks=[body], headers=json_type)
    ).status == 201
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        for n in range(5):
            assert (await call_app(baobab_app, "GET", doc)).status == 200
            patch = b'{"title": "T%d"}' % n
            got = await call_app(baobab_app, "PATCH", doc, chunks=[patch], headers=json_type)
            assert got.status == 204
        gc.collect()
        ours = [o for o in gc.garbage if type(o).__module__.startswith("baobab.")]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
    assert ours == []

"""Numbers a real server refuses before the app sees them, tried straight on the ASGI app:
another server (or a proxy that forwards headers as they come) may pass them through, and the
app must still answer 400 with the envelope, never 500. The rest of the hostile input is tried
against ``baobab serve`` (``tests/server/test_hostile_server.py``)."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from files_support import call_app, leftovers

from baobab.asgi import BaobabApp
from baobab.testing import BaobabClient

# what str.isdigit() or int() take and HTTP does not (1*DIGIT, ASCII)
ODD_LENGTHS = ["\u00b2", "1\u00b9", "\u00bd", "9" * 5000, "+5", "-1", "1_0", " ", "0x10"]


@pytest.mark.parametrize("length", ODD_LENGTHS)
@pytest.mark.parametrize(
    ("method", "target", "content_type"),
    [
        ("POST", "/db/site", "application/json"),  # read into memory
        ("PATCH", "/db/site", "application/json"),
        ("POST", "/db/site", "application/octet-stream"),  # streamed (a raw create)
    ],
)
async def test_an_odd_content_length_is_400(
    client: BaobabClient,
    site: str,
    *,
    unchanged: Any,
    baobab_app: BaobabApp,
    length: str,
    method: str,
    target: str,
    content_type: str,
) -> None:
    headers = [
        ("content-type", content_type),
        ("content-disposition", 'attachment; filename="x.bin"'),
        ("content-length", length),
    ]
    async with unchanged(site):
        got = await call_app(baobab_app, method, target, chunks=[b"{}"], headers=headers)
        assert got.status == 400, got
        assert got.headers["content-type"] == "application/json"
        body = orjson.loads(got.body)
        assert set(body) == {"type", "message", "details", "request_id"}
        assert body["type"] == "BadRequest"
    assert leftovers(baobab_app) == []


@pytest.mark.parametrize("destination", ["http://[", "http://[::1/db/site", "//[x"])
@pytest.mark.parametrize("view", ["@move", "@copy"])
async def test_a_destination_that_is_no_url_is_400(
    client: BaobabClient, site: str, unchanged: Any, destination: str, view: str
) -> None:
    resp = await client.post(site, json={"@type": "Document", "id": "doc"})
    assert resp.status_code == 201, resp.text
    async with unchanged(site):
        resp = await client.post(f"{site}/doc/{view}", json={"destination": destination})
        assert resp.status_code == 400, resp.text
        assert set(resp.json()) == {"type", "message", "details", "request_id"}

"""CORS for browser front ends on another origin."""

from __future__ import annotations

from typing import Any

import pytest

from baobab.testing import BaobabClient

FRONT = "https://app.example"


@pytest.fixture
def baobab_overrides() -> dict[str, Any]:
    return {"cors": {"allow_origins": [FRONT]}}


async def test_preflight_needs_no_credentials(anon_client: BaobabClient) -> None:
    resp = await anon_client.options(
        "/db/site",
        headers={"Origin": FRONT, "Access-Control-Request-Method": "PATCH"},
    )
    assert resp.status_code == 204
    assert resp.headers["access-control-allow-origin"] == FRONT
    assert "PATCH" in resp.headers["access-control-allow-methods"]
    assert "If-Match" in resp.headers["access-control-allow-headers"]


async def test_responses_and_errors_carry_cors_headers(client: BaobabClient) -> None:
    resp = await client.get("/", headers={"Origin": FRONT})
    assert resp.headers["access-control-allow-origin"] == FRONT
    assert "ETag" in resp.headers["access-control-expose-headers"]
    resp = await client.get("/db/missing", headers={"Origin": FRONT})
    assert resp.status_code == 404
    assert resp.headers["access-control-allow-origin"] == FRONT


async def test_other_origins_get_nothing(client: BaobabClient) -> None:
    resp = await client.get("/", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in resp.headers
    resp = await client.options(
        "/", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"}
    )
    assert resp.status_code == 405

"""The API suite runs on every persistent backend: FileStorage on disk and RelStorage/PostgreSQL."""

from __future__ import annotations

import pytest

from baobab.testing import BaobabClient


@pytest.fixture(params=["filestorage", pytest.param("postgresql", marks=pytest.mark.postgresql)])
def baobab_storage(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def site(client: BaobabClient) -> str:
    resp = await client.post("/db", json={"@type": "Container", "id": "site", "title": "Site"})
    assert resp.status_code == 201, resp.text
    return "/db/site"

"""The security property suite runs on FileStorage and on RelStorage/PostgreSQL: the model
campaign through its own module-scoped fixture, the focused tests through ``baobab_storage``."""

from __future__ import annotations

import pytest

from baobab.testing import BaobabClient, add


@pytest.fixture(params=["filestorage", pytest.param("postgresql", marks=pytest.mark.postgresql)])
def baobab_storage(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def site(client: BaobabClient) -> str:
    return await add(client, "/db", "Container", "site", title="Site")

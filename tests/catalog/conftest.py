"""The API suite runs on every persistent backend: FileStorage on disk and RelStorage/PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from baobab.asgi import BaobabApp
from baobab.testing import BaobabClient, Unchanged, add, last_commit


@pytest.fixture(params=["filestorage", pytest.param("postgresql", marks=pytest.mark.postgresql)])
def baobab_storage(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def site(client: BaobabClient) -> str:
    return await add(client, "/db", "Container", "site", title="Site")


@pytest.fixture
def db(baobab_app: BaobabApp) -> Any:
    assert baobab_app.state is not None
    return baobab_app.state.databases["db"]


@pytest.fixture
def unchanged(db: Any, client: BaobabClient) -> Unchanged:
    """``async with unchanged(path, …):`` nothing is committed inside the block, and each
    path answers root's GET exactly as before (``last_commit`` sees PostgreSQL commits too,
    where ``db.lastTransaction()`` of the app's database would not move)."""

    async def read(path: str) -> tuple[int, bytes]:
        resp = await client.get(path)
        return resp.status_code, resp.content

    @asynccontextmanager
    async def check(*paths: str) -> AsyncIterator[None]:
        before = last_commit(db)
        states = [await read(path) for path in paths]
        yield
        assert last_commit(db) == before, "a transaction was committed"
        assert [await read(path) for path in paths] == states

    return check

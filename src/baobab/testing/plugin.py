"""pytest plugin (entry point ``baobab``): app and client fixtures.

``baobab_storage`` picks the storage (``memory`` by default); a conftest can parametrize it
over ``filestorage`` and ``postgresql`` to run a suite on each backend. ``baobab_overrides``
is what a suite adds to the test settings (add-ons, limits): override that fixture, not
``baobab_settings``, and every backend keeps its set-up (PostgreSQL's tables zapped).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from baobab.asgi.app import BaobabApp
from baobab.config.settings import Settings
from baobab.testing.kit import (
    ROOT_PASSWORD,
    BaobabClient,
    make_settings,
    require_postgres,
    zap_postgres,
)

__all__ = [
    "anon_client",
    "baobab_app",
    "baobab_overrides",
    "baobab_settings",
    "baobab_storage",
    "client",
]


@pytest.fixture
def baobab_storage() -> str:
    return "memory"


@pytest.fixture
def baobab_overrides() -> dict[str, Any]:
    """Settings a suite adds to :func:`make_settings`'s (``{"addons": [...]}``, limits)."""
    return {}


@pytest.fixture
def baobab_settings(
    baobab_storage: str, tmp_path: Path, baobab_overrides: dict[str, Any]
) -> Settings:
    if baobab_storage == "postgresql":
        zap_postgres(require_postgres())
    return make_settings(tmp_path / "var", baobab_storage, **baobab_overrides)


@pytest.fixture
async def baobab_app(baobab_settings: Settings) -> AsyncIterator[BaobabApp]:
    app = BaobabApp(baobab_settings)
    await app.startup()
    try:
        yield app
    finally:
        await app.shutdown()


@pytest.fixture
async def client(baobab_app: BaobabApp) -> AsyncIterator[BaobabClient]:
    """A client authenticated as root (Basic auth)."""
    transport = httpx.ASGITransport(app=baobab_app)
    async with BaobabClient(
        transport=transport, base_url="http://baobab.test", auth=("root", ROOT_PASSWORD)
    ) as c:
        yield c


@pytest.fixture
async def anon_client(client: BaobabClient) -> AsyncIterator[BaobabClient]:
    async with client.as_user(None) as c:
        yield c

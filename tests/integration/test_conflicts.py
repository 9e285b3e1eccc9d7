"""ConflictError replays the whole request, then answers 409."""

from __future__ import annotations

from pathlib import Path

import pytest
from baobab_sample_addon import conflicts

from baobab.config import Settings
from baobab.testing import BaobabClient, add, make_settings


@pytest.fixture
def baobab_settings(tmp_path: Path) -> Settings:
    return make_settings(
        tmp_path / "var",
        "filestorage",
        addons=["baobab_sample_addon"],
        request={"conflict_retries": 2},
    )


@pytest.fixture(autouse=True)
def _reset() -> None:
    conflicts.ATTEMPTS.clear()


async def _doc(client: BaobabClient) -> str:
    path = await add(client, await add(client, "/db", "Container", "site"), "Document", "doc")
    conflicts.ATTEMPTS.clear()
    return path


async def test_conflict_is_replayed_until_it_succeeds(client: BaobabClient) -> None:
    path = await _doc(client)
    resp = await client.post(f"{path}/@conflict", params={"fail": 2})
    assert resp.status_code == 200
    assert resp.json() == {"attempts": 3}
    assert (await client.get(path)).json()["title"] == "attempt 3"


async def test_conflict_after_every_retry_is_409(client: BaobabClient) -> None:
    path = await _doc(client)
    resp = await client.post(f"{path}/@conflict", params={"fail": 5})
    assert resp.status_code == 409
    assert resp.json()["type"] == "Conflict"
    assert resp.json()["details"] == {"retries": 2}
    assert len(conflicts.ATTEMPTS) == 3
    # the rival's commit stands; none of ours does
    assert (await client.get(path)).json()["title"] == "rival"


async def test_reads_cannot_write(client: BaobabClient) -> None:
    path = await _doc(client)
    resp = await client.get(f"{path}/@sneaky-write")
    assert resp.status_code == 500
    assert resp.json()["type"] == "InternalServerError"
    assert (await client.get(path)).json()["title"] == ""
    assert (await client.get(path)).status_code == 200  # the connection was reset and works

"""The one database handle (``baobab.database.databases.Databases``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from baobab.database.databases import Databases
from baobab.errors import Conflict, NotFound
from baobab.testing import make_settings


@pytest.fixture
async def databases(tmp_path: Path) -> AsyncIterator[Databases]:
    settings = make_settings(
        tmp_path,
        "filestorage",  # the database "db"
        databases={"other": {"storage": "memory"}},
        request={"conflict_retries": 2},
    )
    handle = Databases.open(settings)
    yield handle
    handle.close()


async def test_a_mapping_of_the_configured_databases_the_first_is_the_system_one(
    databases: Databases,
) -> None:
    assert list(databases) == ["db", "other"]
    assert len(databases) == 2
    assert databases.system == "db"
    assert databases["other"].database_name == "other"
    assert databases.named(None) is databases["db"]
    with pytest.raises(NotFound) as info:
        databases.named("nope")
    assert info.value.details == {"database": "nope"}


async def test_write_commits_and_read_sees_it(databases: Databases) -> None:
    before = databases.last_tids()

    def put(conn: Any) -> str:
        conn.root()["key"] = "value"
        return "written"

    assert await databases.write(put, db="other") == "written"
    assert await databases.read(lambda conn: conn.root().get("key"), db="other") == "value"
    assert await databases.read(lambda conn: conn.root().get("key")) is None  # system db
    after = databases.last_tids()
    assert after["other"] > before["other"]
    assert after["db"] == before["db"]


async def test_a_failing_write_changes_nothing(databases: Databases) -> None:
    def fail(conn: Any) -> None:
        conn.root()["key"] = "half"
        raise ValueError("no")

    with pytest.raises(ValueError):
        await databases.write(fail)
    assert await databases.read(lambda conn: conn.root().get("key")) is None


async def test_a_write_that_keeps_conflicting_is_a_conflict(databases: Databases) -> None:
    runs: list[int] = []
    db = databases["db"]

    def racing(conn: Any) -> None:
        runs.append(1)
        conn.root()["n"] = len(runs)
        other = db.open()  # the thread-local default manager: a separate transaction
        other.root()["n"] = -len(runs)
        other.transaction_manager.commit()
        other.close()

    with pytest.raises(Conflict):
        await databases.write(racing)
    assert len(runs) == 3  # the first attempt and two retries

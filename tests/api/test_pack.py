"""``POST /{db}/@pack`` in-process, on FileStorage and PostgreSQL: who may pack, what it
refuses, one pack at a time, and what it reclaims (expired uploads' parts, deleted files)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson
import transaction

from baobab.maintenance.pack import exclusive
from baobab.testing import BaobabClient, Unchanged, assert_envelope

SITE = "/db/site"
OCTETS = "application/offset+octet-stream"
TUS = {"tus-resumable": "1.0.0"}


async def upload(client: BaobabClient, name: str, data: bytes) -> str:
    resp = await client.post(
        SITE,
        content=data,
        headers={
            "content-type": "application/octet-stream",
            "content-disposition": f'attachment; filename="{name}"',
        },
    )
    assert resp.status_code == 201, resp.text
    return str(resp.json()["id"])


def blob_count(figures: dict[str, Any], storage: str) -> int:
    key = "blob_files" if storage == "filestorage" else "blob_chunk_rows"
    return int(figures[key])


async def test_only_a_manager_packs(client: BaobabClient, site: str) -> None:
    assert_envelope(await client.as_user(None).post("/db/@pack"), 401)
    for login in ("editor", "siteadmin"):
        assert_envelope(await client.as_user(login).post("/db/@pack"), 403)
    resp = await client.post("/db/@pack")
    assert resp.status_code == 200, resp.text
    figures = resp.json()
    assert figures["database"] == "db" and figures["days"] == 0
    assert figures["reclaimed"] == figures["bytes_before"] - figures["bytes_after"]
    assert resp.headers["cache-control"] == "no-store"


async def test_bad_bodies_are_refused(
    client: BaobabClient, site: str, unchanged: Unchanged
) -> None:
    cases: list[tuple[Any, str, int, str]] = [
        ({"dayz": 1}, "application/json", 422, "ValidationError"),
        ({"days": "3"}, "application/json", 422, "ValidationError"),
        ({"days": True}, "application/json", 422, "ValidationError"),
        ({"days": -1}, "application/json", 422, "ValidationError"),
        ({"days": 10**9}, "application/json", 422, "ValidationError"),
        ([1], "application/json", 400, "BadRequest"),
        ("{not json", "application/json", 400, "MalformedJSON"),
        ("days=1", "text/plain", 415, "UnsupportedMediaType"),
    ]
    async with unchanged(SITE):
        for body, media, status, type_ in cases:
            content = body if isinstance(body, str) else orjson.dumps(body)
            resp = await client.post("/db/@pack", content=content, headers={"content-type": media})
            assert_envelope(resp, status, type_)


async def test_a_second_pack_waits_its_turn(client: BaobabClient, site: str) -> None:
    with exclusive("db"):
        body = assert_envelope(await client.post("/db/@pack"), 409, "MaintenanceRunning")
        assert body["details"] == {"database": "db"}
    assert (await client.post("/db/@pack", json={"days": 0})).status_code == 200


async def test_pack_reclaims_deleted_files_and_expired_uploads(
    client: BaobabClient, site: str, db: Any, baobab_storage: str
) -> None:
    kept = await upload(client, "kept.bin", b"k" * 5000)
    gone = await upload(client, "gone.bin", b"g" * 7000)
    resp = await client.post(f"{SITE}/@tus", headers={**TUS, "upload-length": "9000"})
    assert resp.status_code == 201, resp.text
    tus_path = resp.headers["location"].split("baobab.test", 1)[1]
    resp = await client.patch(
        tus_path,
        content=b"p" * 4000,
        headers={**TUS, "content-type": OCTETS, "upload-offset": "0"},
    )
    assert resp.status_code == 204, resp.text
    # the upload's time is up (set in a transaction of the test's own)
    manager = transaction.TransactionManager()
    conn = db.open(manager)
    try:
        for record in conn.root()["baobab.uploads"].values():
            record.expires = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
        manager.commit()
    finally:
        conn.close()
    assert (await client.delete(f"{SITE}/{gone}")).status_code == 204
    first = (await client.post("/db/@pack")).json()
    assert first["uploads_expired"] == 1
    # the deleted file and the expired part are gone; the kept file stays
    assert (
        blob_count(first["after"], baobab_storage)
        == blob_count(first["before"], baobab_storage) - 2
    )
    assert first["reclaimed"] > 7000 + 4000
    resp = await client.get(f"{SITE}/{kept}/@download/file")
    assert resp.status_code == 200 and resp.content == b"k" * 5000
    assert (await client.head(tus_path, headers=TUS)).status_code == 404

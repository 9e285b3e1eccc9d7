"""``@types``: addable types and their JSON Schema."""

from __future__ import annotations

from baobab.testing import BaobabClient


async def test_addable_types_in_container(client: BaobabClient, site: str) -> None:
    resp = await client.get(f"{site}/@types")
    assert resp.status_code == 200
    names = {t["id"] for t in resp.json()}
    assert names == {"Document", "File", "Folder", "Image"}


async def test_database_accepts_only_containers(client: BaobabClient) -> None:
    resp = await client.get("/db/@types")
    assert [t["id"] for t in resp.json()] == ["Container"]


async def test_type_json_schema(client: BaobabClient, site: str) -> None:
    resp = await client.get(f"{site}/@types/Document")
    assert resp.status_code == 200
    schema = resp.json()
    assert schema["type"] == "object"
    assert schema["additionalProperties"] is False
    assert schema["properties"]["text"]["type"] == ["string", "null"]
    assert schema["properties"]["created"]["readOnly"] is True
    assert schema["properties"]["effective"]["format"] == "date-time"


async def test_unknown_type_schema_is_400(client: BaobabClient, site: str) -> None:
    resp = await client.get(f"{site}/@types/Nope")
    assert resp.status_code == 400
    assert resp.json()["type"] == "UnknownType"


async def test_reader_sees_types_but_cannot_add(client: BaobabClient, site: str) -> None:
    async with client.as_user("reader") as reader:
        resp = await reader.get(f"{site}/@types")
    assert resp.status_code == 200
    assert all(t["addable"] is False for t in resp.json())


async def test_every_get_has_an_etag(client: BaobabClient, site: str) -> None:
    for path in ("/", f"{site}/@types", f"{site}/@types/Document"):
        resp = await client.get(path)
        etag = resp.headers["etag"]
        again = await client.get(path, headers={"If-None-Match": etag})
        assert again.status_code == 304, path

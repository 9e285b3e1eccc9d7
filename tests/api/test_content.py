"""The content API: create, read, update, delete, listings and batching."""

from __future__ import annotations

import pytest

from baobab.testing import BaobabClient


async def test_root_lists_databases(anon_client: BaobabClient) -> None:
    resp = await anon_client.get("/")
    assert resp.status_code == 200
    assert resp.json()["databases"] == ["http://baobab.test/db"]


async def test_create_container_folder_document(client: BaobabClient, site: str) -> None:
    resp = await client.post(site, json={"@type": "Folder", "title": "News & Events"})
    assert resp.status_code == 201
    folder = resp.json()
    assert folder["id"] == "news-events"
    assert resp.headers["location"] == "http://baobab.test/db/site/news-events"
    assert folder["is_folderish"] is True

    resp = await client.post(
        "/db/site/news-events",
        json={"@type": "Document", "id": "hello", "title": "Hello", "text": "Body"},
    )
    assert resp.status_code == 201
    doc = resp.json()
    for key in (
        "@id",
        "@type",
        "id",
        "UID",
        "title",
        "description",
        "created",
        "modified",
        "parent",
        "review_state",
        "is_folderish",
        "creators",
        "subjects",
        "text",
    ):
        assert key in doc, key
    assert doc["@type"] == "Document"
    assert doc["creators"] == ["root"]
    assert doc["parent"]["@id"] == "http://baobab.test/db/site/news-events"

    resp = await client.get("/db/site/news-events/hello")
    assert resp.status_code == 200
    assert resp.json()["text"] == "Body"
    assert resp.json()["UID"] == doc["UID"]


async def test_database_lists_containers(client: BaobabClient, site: str) -> None:
    resp = await client.get("/db")
    assert resp.status_code == 200
    body = resp.json()
    assert body["items_total"] == 1
    assert body["items"][0]["@id"] == "http://baobab.test/db/site"


async def test_missing_id_is_generated(client: BaobabClient, site: str) -> None:
    first = await client.post(site, json={"@type": "Document", "title": "Same Title"})
    second = await client.post(site, json={"@type": "Document", "title": "Same Title"})
    untitled = await client.post(site, json={"@type": "Document"})
    assert first.json()["id"] == "same-title"
    assert second.json()["id"] == "same-title-1"
    assert len(untitled.json()["id"]) == 32  # a UUID


async def test_folder_batching(client: BaobabClient, site: str) -> None:
    for n in range(7):
        resp = await client.post(site, json={"@type": "Document", "id": f"doc-{n}"})
        assert resp.status_code == 201
    resp = await client.get(site, params={"b_size": 3, "b_start": 3})
    body = resp.json()
    assert body["items_total"] == 7
    assert [item["id"] for item in body["items"]] == ["doc-3", "doc-4", "doc-5"]
    batching = body["batching"]
    assert batching["next"].endswith("b_start=6&b_size=3")
    assert batching["prev"].endswith("b_start=0&b_size=3")
    assert batching["last"].endswith("b_start=6&b_size=3")
    unbatched = (await client.get(site)).json()
    assert "batching" not in unbatched
    assert len(unbatched["items"]) == 7


async def test_patch_returns_204_or_representation(client: BaobabClient, site: str) -> None:
    await client.post(site, json={"@type": "Document", "id": "doc", "title": "Old"})
    resp = await client.patch(f"{site}/doc", json={"title": "New", "subjects": ["a", "b"]})
    assert resp.status_code == 204
    assert resp.content == b""
    resp = await client.patch(
        f"{site}/doc", json={"description": "D"}, headers={"Prefer": "return=representation"}
    )
    assert resp.status_code == 200
    body = resp.json()
    assert (body["title"], body["description"], body["subjects"]) == ("New", "D", ["a", "b"])
    assert body["modified"] > body["created"]


async def test_editor_becomes_contributor(client: BaobabClient, site: str) -> None:
    await client.post(site, json={"@type": "Document", "id": "doc"})
    async with client.as_user("editor") as editor:
        resp = await editor.patch(f"{site}/doc", json={"title": "Edited"})
        assert resp.status_code == 204
    body = (await client.get(f"{site}/doc")).json()
    assert body["creators"] == ["root"]
    assert body["contributors"] == ["editor"]


async def test_delete(client: BaobabClient, site: str) -> None:
    await client.post(site, json={"@type": "Document", "id": "doc"})
    resp = await client.delete(f"{site}/doc")
    assert resp.status_code == 204
    assert (await client.get(f"{site}/doc")).status_code == 404
    assert (await client.get(site)).json()["items_total"] == 0


async def test_delete_container(client: BaobabClient, site: str) -> None:
    assert (await client.delete(site)).status_code == 204
    assert (await client.get("/db")).json()["items_total"] == 0


async def test_head_has_headers_without_body(client: BaobabClient, site: str) -> None:
    get = await client.get(site)
    head = await client.head(site)
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["etag"] == get.headers["etag"]


@pytest.mark.parametrize(
    ("method", "path"), [("PUT", "/db/site"), ("PATCH", "/db"), ("DELETE", "/db")]
)
async def test_method_not_allowed(client: BaobabClient, site: str, method: str, path: str) -> None:
    resp = await client.request(method, path, json={})
    assert resp.status_code == 405
    assert resp.json()["type"] == "MethodNotAllowed"
    if method == "PUT":
        assert "GET" in resp.headers["allow"]


async def test_unknown_paths_are_404(client: BaobabClient, site: str) -> None:
    for path in (
        "/nodb",
        f"{site}/missing",
        f"{site}/@nothing",
        f"{site}/_p_jar",
        f"{site}/%2E%2E",
    ):
        resp = await client.get(path)
        assert resp.status_code == 404, path
        assert set(resp.json()) == {"type", "message", "details", "request_id"}

"""``@move`` and ``@copy``."""

from __future__ import annotations

from baobab.testing import BaobabClient, add


async def _tree(client: BaobabClient, site: str) -> None:
    await add(client, site, "Folder", "a")
    await add(client, site, "Folder", "b")
    await add(client, f"{site}/a", "Document", "doc", text="T")


async def test_move_to_other_folder(client: BaobabClient, site: str) -> None:
    await _tree(client, site)
    uid = (await client.get(f"{site}/a/doc")).json()["UID"]
    resp = await client.post(f"{site}/a/doc/@move", json={"destination": f"{site}/b"})
    assert resp.status_code == 200
    assert resp.headers["location"] == "http://baobab.test/db/site/b/doc"
    assert (await client.get(f"{site}/a/doc")).status_code == 404
    moved = (await client.get(f"{site}/b/doc")).json()
    assert moved["UID"] == uid
    assert (await client.get(f"{site}/a")).json()["items_total"] == 0


async def test_rename_in_place_and_by_url(client: BaobabClient, site: str) -> None:
    await _tree(client, site)
    resp = await client.post(f"{site}/a/doc/@move", json={"new_id": "renamed"})
    assert resp.status_code == 200
    assert resp.json()["id"] == "renamed"
    url = "http://baobab.test/db/site/b"
    resp = await client.post(f"{site}/a/renamed/@move", json={"destination": url})
    assert resp.json()["@id"] == "http://baobab.test/db/site/b/renamed"


async def test_move_errors(client: BaobabClient, site: str) -> None:
    await _tree(client, site)
    await client.post(f"{site}/b", json={"@type": "Document", "id": "doc"})
    cases = [
        ({"destination": f"{site}/b"}, 409, "AlreadyExists"),
        ({"destination": f"{site}/nowhere"}, 404, "NotFound"),
        ({"destination": f"{site}/b/doc"}, 400, "BadRequest"),
        ({"destination": "/other/site"}, 400, "BadRequest"),
        ({"new_id": "../x"}, 400, "InvalidId"),
        ({"destination": 5}, 422, "ValidationError"),
        ({"where": "x"}, 422, "ValidationError"),
    ]
    for body, status, type_ in cases:
        resp = await client.post(f"{site}/a/doc/@move", json=body)
        assert (resp.status_code, resp.json()["type"]) == (status, type_), body
    assert (await client.get(f"{site}/a/doc")).status_code == 200


async def test_folder_cannot_move_into_itself(client: BaobabClient, site: str) -> None:
    await _tree(client, site)
    resp = await client.post(f"{site}/a/@move", json={"destination": f"{site}/a"})
    assert resp.status_code == 400
    assert (await client.get(f"{site}/a/doc")).status_code == 200


async def test_copy_folder_deep(client: BaobabClient, site: str) -> None:
    await _tree(client, site)
    original = (await client.get(f"{site}/a/doc")).json()
    resp = await client.post(f"{site}/a/@copy", json={"destination": f"{site}/b"})
    assert resp.status_code == 201
    assert resp.headers["location"] == "http://baobab.test/db/site/b/a"
    copied = (await client.get(f"{site}/b/a/doc")).json()
    assert copied["text"] == "T"
    assert copied["UID"] != original["UID"]
    # the copy is independent of the original
    await client.patch(f"{site}/b/a/doc", json={"text": "changed"})
    assert (await client.get(f"{site}/a/doc")).json()["text"] == "T"


async def test_copy_beside_original(client: BaobabClient, site: str) -> None:
    await _tree(client, site)
    resp = await client.post(f"{site}/a/doc/@copy", json={})
    assert resp.status_code == 201
    assert resp.json()["id"] == "doc-1"
    assert (await client.get(f"{site}/a")).json()["items_total"] == 2


async def test_reader_cannot_move(client: BaobabClient, site: str) -> None:
    await _tree(client, site)
    async with client.as_user("reader") as reader:
        resp = await reader.post(f"{site}/a/doc/@move", json={"destination": f"{site}/b"})
    assert resp.status_code == 403
    assert (await client.get(f"{site}/a/doc")).status_code == 200

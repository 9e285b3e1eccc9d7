"""ETag, If-None-Match and If-Match: no update is ever lost silently."""

from __future__ import annotations

from baobab.testing import BaobabClient


async def _doc(client: BaobabClient, site: str) -> tuple[str, str]:
    resp = await client.post(site, json={"@type": "Document", "id": "doc", "title": "v1"})
    return f"{site}/doc", resp.headers["etag"]


async def test_get_has_etag_and_304(client: BaobabClient, site: str) -> None:
    path, created_etag = await _doc(client, site)
    resp = await client.get(path)
    etag = resp.headers["etag"]
    assert etag == created_etag
    resp = await client.get(path, headers={"If-None-Match": etag})
    assert resp.status_code == 304
    assert resp.content == b""
    await client.patch(path, json={"title": "v2"})
    resp = await client.get(path, headers={"If-None-Match": etag})
    assert resp.status_code == 200


async def test_folder_etag_changes_when_a_child_is_added(client: BaobabClient, site: str) -> None:
    before = (await client.get(site)).headers["etag"]
    await client.post(site, json={"@type": "Document", "id": "child"})
    after = (await client.get(site)).headers["etag"]
    assert before != after


async def test_patch_with_current_then_stale_if_match(client: BaobabClient, site: str) -> None:
    path, etag = await _doc(client, site)
    resp = await client.patch(path, json={"title": "v2"}, headers={"If-Match": etag})
    assert resp.status_code == 204
    new_etag = resp.headers["etag"]
    assert new_etag != etag
    assert (await client.get(path)).headers["etag"] == new_etag

    stale = await client.patch(path, json={"title": "v3"}, headers={"If-Match": etag})
    assert stale.status_code == 412
    body = stale.json()
    assert body["type"] == "PreconditionFailed"
    assert body["details"]["existing"]["title"] == "v2"
    assert stale.headers["etag"] == new_etag
    assert (await client.get(path)).json()["title"] == "v2"


async def test_delete_with_stale_if_match(client: BaobabClient, site: str) -> None:
    path, etag = await _doc(client, site)
    await client.patch(path, json={"title": "changed"})
    resp = await client.delete(path, headers={"If-Match": etag})
    assert resp.status_code == 412
    assert (await client.get(path)).status_code == 200
    current = (await client.get(path)).headers["etag"]
    assert (await client.delete(path, headers={"If-Match": current})).status_code == 204


async def test_move_with_stale_if_match(client: BaobabClient, site: str) -> None:
    path, etag = await _doc(client, site)
    await client.patch(path, json={"title": "changed"})
    resp = await client.post(
        f"{path}/@move", json={"new_id": "renamed"}, headers={"If-Match": etag}
    )
    assert resp.status_code == 412
    assert (await client.get(path)).status_code == 200
    assert (await client.get(f"{site}/renamed")).status_code == 404

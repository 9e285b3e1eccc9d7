"""An id Baobab makes for a new object (from its title, or from a TUS upload's file name)
must not depend on whether a sibling the author may not View holds that name: ``report-1``
where a hidden ``report`` exists, ``report`` where none does, tells the author the hidden
object is there (an existence oracle without any error; found by the property suite's
``generated-ids`` property)."""

from __future__ import annotations

import base64

import httpx

from baobab.testing import BaobabClient, add, add_user, password_of, update_sharing

TUS = {"tus-resumable": "1.0.0"}


async def _made_ids(author: BaobabClient, folder: str, name: str) -> tuple[str, str]:
    """The ids of a Document titled ``name`` and of a file uploaded over TUS as ``name``."""
    resp = await author.post(folder, json={"@type": "Document", "title": name})
    assert resp.status_code == 201, resp.text
    document = str(resp.json()["id"]).replace(name, "<name>")
    metadata = f"filename {base64.b64encode(name.encode()).decode()}"
    headers = {**TUS, "upload-length": "1", "upload-metadata": metadata}
    resp = await author.post(f"{folder}/@tus", headers=headers)
    assert resp.status_code == 201, resp.text
    resp = await author.patch(
        httpx.URL(resp.headers["location"]).path,
        content=b"x",
        headers={**TUS, "content-type": "application/offset+octet-stream", "upload-offset": "0"},
    )
    assert resp.status_code == 204, resp.text
    uploaded = httpx.URL(resp.headers["location"]).path.rsplit("/", 1)[1].replace(name, "<name>")
    return document, uploaded


async def test_ids_made_from_names_do_not_reveal_hidden_siblings(
    client: BaobabClient, site: str
) -> None:
    folder = await add(client, site, "Folder", "f")
    hidden = await add(client, folder, "Document", "report", title="Secret")
    await update_sharing(client, hidden, inherit=False)  # the author's roles stop above it
    await add_user(client, site, "alice")
    await update_sharing(client, folder, {"alice": {"baobab.Contributor": True}})
    async with client.as_login("alice", password_of("alice")) as alice:
        assert (await alice.get(hidden)).status_code == 404
        assert await _made_ids(alice, folder, "report") == await _made_ids(alice, folder, "memo")

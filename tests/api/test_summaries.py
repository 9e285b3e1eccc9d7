"""Summaries of other objects show only what the principal may View.

A user with Reader on ``hq/memo`` but nothing on ``hq`` reaches ``memo``; its ``parent`` is
then only ``{"@id": …}`` (which ``memo``'s own ``@id`` spells out already), never ``hq``'s
title, description, state, type or UID — in a GET, in a ``Prefer: return=representation``
PATCH, in a 412's ``details.existing``, and in the answers of ``@copy``/``@move``. Listings
(``items``) hold only the children the principal may View. See docs/security.md, "Summaries
of other objects".
"""

from __future__ import annotations

from typing import Any

from baobab.testing import (
    BaobabClient,
    add,
    add_user,
    assert_envelope,
    password_of,
    transition,
    update_sharing,
)

BASE = "http://baobab.test"
READER = "baobab.Reader"
EDITOR = "baobab.Editor"
CONTRIBUTOR = "baobab.Contributor"
SECRETS = (b"Headquarters", b"Merger plans", b"private", b"Folder")


async def hq_tree(client: BaobabClient, site: str) -> str:
    """``site/hq`` (private Folder, nothing granted) holding ``memo``; ``alice`` is Reader
    and Editor on ``memo`` only; ``site/drop`` is a folder alice may add to."""
    hq = await add(client, site, "Folder", "hq", title="Headquarters", description="Merger plans")
    await add(client, hq, "Document", "memo", title="Memo")
    await add(client, site, "Folder", "drop", title="Drop")
    await add_user(client, site, "alice")
    await update_sharing(client, f"{hq}/memo", {"alice": {READER: True, EDITOR: True}})
    await update_sharing(client, f"{site}/drop", {"alice": {READER: True, CONTRIBUTOR: True}})
    return hq


def only_id(parent: Any, path: str) -> None:
    assert parent == {"@id": f"{BASE}{path}"}


def no_secret(raw: bytes) -> None:
    """Nothing of ``hq`` but its id: its title, description, state and type are absent
    (memo's own state is ``private`` too, so the state is checked on ``parent`` itself)."""
    for secret in SECRETS[:2]:
        assert secret not in raw, secret


async def test_parent_the_user_may_not_view_is_only_its_id(client: BaobabClient, site: str) -> None:
    hq = await hq_tree(client, site)
    async with client.as_login("alice", password_of("alice")) as alice:
        assert_envelope(await alice.get(hq), 404, "NotFound")
        resp = await alice.get(f"{hq}/memo")
        assert resp.status_code == 200, resp.text
        body = resp.json()
        only_id(body["parent"], hq)
        assert body["@id"] == f"{BASE}{hq}/memo" and body["title"] == "Memo"
        no_secret(resp.content)
        # the same summary wherever memo is represented: a PATCH asking for it …
        resp = await alice.patch(
            f"{hq}/memo", json={"title": "Memo 2"}, headers={"prefer": "return=representation"}
        )
        assert resp.status_code == 200, resp.text
        only_id(resp.json()["parent"], hq)
        no_secret(resp.content)
        # … and a 412's copy of the current state
        resp = await alice.patch(f"{hq}/memo", json={"title": "x"}, headers={"if-match": '"stale"'})
        body = assert_envelope(resp, 412, "PreconditionFailed")
        only_id(body["details"]["existing"]["parent"], hq)
        no_secret(resp.content)
    # a Reader of hq sees the whole summary
    await update_sharing(client, hq, {"alice": {READER: True}})
    async with client.as_login("alice", password_of("alice")) as alice:
        parent = (await alice.get(f"{hq}/memo")).json()["parent"]
        assert parent["title"] == "Headquarters" and parent["review_state"] == "private"
        assert parent["description"] == "Merger plans" and parent["@type"] == "Folder"


async def test_anonymous_sees_only_the_id_of_a_private_parent(
    client: BaobabClient, site: str
) -> None:
    hq = await hq_tree(client, site)
    await transition(client, f"{hq}/memo", "publish")
    async with client.as_user(None) as anon:
        resp = await anon.get(f"{hq}/memo")
        assert resp.status_code == 200, resp.text
        only_id(resp.json()["parent"], hq)
        no_secret(resp.content)
        # a database root is summarised for everyone: it holds nothing but its name
        parent = (await anon.get(site)).json()["parent"]
        assert parent == {
            "@id": f"{BASE}/db",
            "@type": "Database",
            "id": "db",
            "is_folderish": True,
        }
        # a published parent is summarised in full
        open_ = await add(client, site, "Folder", "open", title="Open")
        await transition(client, open_, "publish")
        await transition(client, await add(client, open_, "Document", "doc"), "publish")
        parent = (await anon.get(f"{open_}/doc")).json()["parent"]
        assert parent["title"] == "Open" and parent["review_state"] == "published"


async def test_copy_and_move_answers_follow_the_same_rule(client: BaobabClient, site: str) -> None:
    """The answers of @copy and @move represent the new object: its parent is where it went
    (visible to whoever put it there); the hidden source folder is never summarised."""
    hq = await hq_tree(client, site)
    async with client.as_login("alice", password_of("alice")) as alice:
        resp = await alice.post(f"{hq}/memo/@copy", json={"destination": f"{site}/drop"})
        assert resp.status_code == 201, resp.text
        assert resp.json()["parent"]["title"] == "Drop"
        no_secret(resp.content)


async def test_listings_hold_only_what_the_user_may_view(client: BaobabClient, site: str) -> None:
    hq = await hq_tree(client, site)
    await add(client, hq, "Document", "other", title="Merger plans, draft 2")
    await update_sharing(client, hq, {"alice": {READER: True}})
    await update_sharing(client, f"{hq}/other", inherit=False)
    async with client.as_login("alice", password_of("alice")) as alice:
        body = (await alice.get(hq)).json()
        assert [item["id"] for item in body["items"]] == ["memo"]
        assert body["items_total"] == 1
        assert b"draft 2" not in (await alice.get(hq)).content

"""``@sharing``: local roles in plone.restapi's shape, their effect, delegation, bad input."""

from __future__ import annotations

from typing import Any

import pytest

from baobab.testing import (
    BaobabClient,
    Unchanged,
    add,
    add_group,
    add_user,
    assert_envelope,
    share,
)

PASSWORD = "a-good-password"
READER, EDITOR = "baobab.Reader", "baobab.Editor"
CONTRIBUTOR, REVIEWER = "baobab.Contributor", "baobab.Reviewer"
SHARABLE = [CONTRIBUTOR, EDITOR, READER, REVIEWER]

FOLDER = "/db/site/folder"
DOC = "/db/site/folder/doc"

# what root reads back to check that a refused request changed nothing
WATCHED = (f"{FOLDER}/@sharing", f"{DOC}/@sharing")


@pytest.fixture
async def tree(client: BaobabClient, site: str) -> str:
    """A private folder holding a private document; site users alice, bob (in group staff)
    and carol (a global Reviewer); the group staff."""
    await add(client, site, "Folder", "folder", title="Folder")
    await add(client, FOLDER, "Document", "doc", title="Doc")
    await add_group(client, site, "staff", title="Staff")
    for user_id, extra in (
        ("alice", {"fullname": "Alice Liddell"}),
        ("bob", {"groups": ["staff"]}),
        ("carol", {"roles": [REVIEWER]}),
    ):
        await add_user(client, site, user_id, PASSWORD, **extra)
    return site


async def sharing(client: BaobabClient, path: str, **params: str) -> dict[str, Any]:
    resp = await client.get(f"{path}/@sharing", params=params)
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


def entry(body: dict[str, Any], principal: str) -> dict[str, Any]:
    found = [e for e in body["entries"] if e["id"] == principal]
    assert len(found) == 1, [e["id"] for e in body["entries"]]
    one_entry: dict[str, Any] = found[0]
    return one_entry


def roles(
    reader: Any = False, editor: Any = False, contributor: Any = False, reviewer: Any = False
) -> dict[str, Any]:
    return {READER: reader, EDITOR: editor, CONTRIBUTOR: contributor, REVIEWER: reviewer}


async def test_get_shape(client: BaobabClient, tree: str) -> None:
    body = await sharing(client, DOC)
    assert set(body) == {"available_roles", "entries", "inherit"}
    assert sorted(r["id"] for r in body["available_roles"]) == SHARABLE
    for role in body["available_roles"]:
        assert set(role) == {"id", "title", "delegable"}
        assert role["title"]
        assert role["delegable"] is True  # root may hand out every sharable role
    assert body["inherit"] is True
    # the logged-in users group is always there; the creator owns (not a sharable role);
    # other users and groups of the site only with ?search=
    everyone = entry(body, "AuthenticatedUsers")
    assert everyone == {
        "id": "AuthenticatedUsers",
        "type": "group",
        "title": "Logged-in users",
        "login": None,
        "roles": roles(),
    }
    assert entry(body, "root")["roles"] == roles()
    for item in body["entries"]:
        assert set(item) == {"id", "type", "title", "login", "roles"}
    assert {e["id"] for e in body["entries"]} == {"AuthenticatedUsers", "root"}


async def test_local_acquired_global(client: BaobabClient, tree: str) -> None:
    await share(client, FOLDER, "alice", READER)
    await share(client, FOLDER, "staff", CONTRIBUTOR)
    await share(client, DOC, "carol", EDITOR)
    await share(client, DOC, "alice", EDITOR)

    folder = await sharing(client, FOLDER)
    assert entry(folder, "alice") == {
        "id": "alice",
        "type": "user",
        "title": "Alice Liddell",
        "login": "alice",
        "roles": roles(reader=True),
    }
    staff = entry(folder, "staff")
    assert staff["type"] == "group"
    assert staff["title"] == "Staff"
    assert staff["roles"] == roles(contributor=True)
    assert "carol" not in {e["id"] for e in folder["entries"]}

    doc = await sharing(client, DOC)
    assert entry(doc, "alice")["roles"] == roles(reader="acquired", editor=True)
    assert entry(doc, "staff")["roles"] == roles(contributor="acquired")
    # carol is a Reviewer site-wide, and an Editor here
    assert entry(doc, "carol")["roles"] == roles(editor=True, reviewer="global")
    assert "bob" not in {e["id"] for e in doc["entries"]}  # bob holds nothing himself


async def test_search_adds_principals(client: BaobabClient, tree: str) -> None:
    body = await sharing(client, DOC, search="car")
    assert entry(body, "carol")["roles"] == roles(reviewer="global")
    assert "alice" not in {e["id"] for e in body["entries"]}
    body = await sharing(client, DOC, search="liddell")
    assert entry(body, "alice")["roles"] == roles()
    body = await sharing(client, DOC, search="sta")
    assert entry(body, "staff")["roles"] == roles()
    body = await sharing(client, DOC, search="nobody")
    assert {e["id"] for e in body["entries"]} == {"AuthenticatedUsers", "root"}


async def test_grant_and_revoke(client: BaobabClient, tree: str) -> None:
    async with client.as_login("alice", PASSWORD) as alice:
        assert (await alice.get(DOC)).status_code == 404
        assert (await alice.get(FOLDER)).status_code == 404
        assert "folder" not in [i["id"] for i in (await alice.get(tree)).json()["items"]]

        await share(client, FOLDER, "alice", READER)
        resp = await alice.get(DOC)
        assert resp.status_code == 200
        assert resp.json()["title"] == "Doc"
        # listings follow the grant
        assert [i["id"] for i in (await alice.get(FOLDER)).json()["items"]] == ["doc"]
        assert "folder" in [i["id"] for i in (await alice.get(tree)).json()["items"]]
        # Reader views, no more
        assert (await alice.patch(DOC, json={"title": "x"})).status_code == 403
        me = (await alice.get(f"{DOC}/@user")).json()
        assert me["local_roles"] == [READER]

        await share(client, FOLDER, "alice", READER, False)
        assert (await alice.get(DOC)).status_code == 404
        assert (await alice.get(FOLDER)).status_code == 404
        assert "folder" not in [i["id"] for i in (await alice.get(tree)).json()["items"]]
        assert "alice" not in {e["id"] for e in (await sharing(client, FOLDER))["entries"]}

        await share(client, DOC, "alice", EDITOR)
        assert (await alice.patch(DOC, json={"title": "By alice"})).status_code == 204
        assert (await alice.get(FOLDER)).status_code == 404  # a grant below does not climb


async def test_block_and_unblock(client: BaobabClient, tree: str) -> None:
    await share(client, FOLDER, "alice", READER)
    async with client.as_login("alice", PASSWORD) as alice:
        assert (await alice.get(DOC)).status_code == 200
        resp = await client.post(f"{DOC}/@sharing", json={"inherit": False})
        assert resp.status_code == 204
        body = await sharing(client, DOC)
        assert body["inherit"] is False
        assert "alice" not in {e["id"] for e in body["entries"]}
        assert (await alice.get(DOC)).status_code == 404
        assert (await alice.get(FOLDER)).json()["items"] == []
        # a local grant below the block still counts
        await share(client, DOC, "alice", READER)
        assert (await alice.get(DOC)).status_code == 200
        await share(client, DOC, "alice", READER, False)
        assert (await alice.get(DOC)).status_code == 404

        await share(client, DOC, "bob", READER, False, inherit=True)
        assert (await sharing(client, DOC))["inherit"] is True
        assert (await alice.get(DOC)).status_code == 200
        assert [i["id"] for i in (await alice.get(FOLDER)).json()["items"]] == ["doc"]


async def test_group_grant(client: BaobabClient, tree: str) -> None:
    await share(client, FOLDER, "staff", READER)
    async with client.as_login("bob", PASSWORD) as bob:
        assert (await bob.get(DOC)).status_code == 200
        assert [i["id"] for i in (await bob.get(FOLDER)).json()["items"]] == ["doc"]
    async with client.as_login("alice", PASSWORD) as alice:
        assert (await alice.get(DOC)).status_code == 404
        # joining the group brings the grant
        resp = await client.patch(f"{tree}/@groups/staff", json={"users": {"alice": True}})
        assert resp.status_code == 204
        assert (await alice.get(DOC)).status_code == 200
    await share(client, FOLDER, "staff", READER, False)
    async with client.as_login("bob", PASSWORD) as bob:
        assert (await bob.get(DOC)).status_code == 404


async def test_authenticated_users_grant(client: BaobabClient, tree: str) -> None:
    await share(client, FOLDER, "AuthenticatedUsers", READER)
    assert entry(await sharing(client, DOC), "AuthenticatedUsers")["roles"] == roles(
        reader="acquired"
    )
    for login in ("member", "contributor"):
        async with client.as_user(login) as user:
            assert (await user.get(DOC)).status_code == 200, login
            assert [i["id"] for i in (await user.get(FOLDER)).json()["items"]] == ["doc"]
    async with client.as_login("alice", PASSWORD) as alice:
        assert (await alice.get(DOC)).status_code == 200
    async with client.as_user(None) as anon:
        assert (await anon.get(DOC)).status_code == 401
        assert "folder" not in [i["id"] for i in (await anon.get(tree)).json()["items"]]
    await share(client, FOLDER, "AuthenticatedUsers", READER, False)
    async with client.as_user("member") as member:
        assert (await member.get(DOC)).status_code == 404


async def test_global_user_grant(client: BaobabClient, tree: str) -> None:
    """Users from the configuration can be shared with too."""
    await share(client, DOC, "member", EDITOR)
    body = await sharing(client, DOC)
    assert entry(body, "member")["roles"] == roles(editor=True)
    async with client.as_user("member") as member:
        assert (await member.patch(DOC, json={"title": "x"})).status_code == 204


@pytest.mark.parametrize(("principal", "kind"), [("alice", "users"), ("staff", "groups")])
async def test_deleting_a_principal_forgets_its_grants(
    client: BaobabClient, tree: str, principal: str, kind: str
) -> None:
    """Deleting a user or group removes its local roles everywhere in the site (Plone's
    delete_localroles), so an id created again later inherits nothing."""
    await share(client, FOLDER, principal, READER)
    assert (await client.delete(f"{tree}/@{kind}/{principal}")).status_code == 204
    assert principal not in {e["id"] for e in (await sharing(client, FOLDER))["entries"]}
    # revoking from an unknown principal is a no-op, granting to one is refused
    resp = await client.post(
        f"{FOLDER}/@sharing", json={"entries": [{"id": principal, "roles": {READER: False}}]}
    )
    assert resp.status_code == 204, resp.text
    resp = await client.post(
        f"{FOLDER}/@sharing", json={"entries": [{"id": principal, "roles": {READER: True}}]}
    )
    assert_envelope(resp, 422, "ValidationError")
    if kind == "users":
        body = {"username": principal, "password": "a-new-password"}
        assert (await client.post(f"{tree}/@users", json=body)).status_code == 201
        async with client.as_login(principal, "a-new-password") as again:
            assert (await again.get(DOC)).status_code == 404
    assert entry(await sharing(client, FOLDER), "AuthenticatedUsers")["roles"][READER] is False


async def test_delegation(client: BaobabClient, tree: str, unchanged: Unchanged) -> None:
    # carol, a Reviewer (who may read the document), may delegate Reader and Reviewer, not
    # Editor or Contributor
    await share(client, DOC, "carol", READER)
    async with client.as_login("carol", PASSWORD) as carol:
        resp = await carol.get(f"{DOC}/@sharing")
        assert resp.status_code == 200
        delegable = {r["id"]: r["delegable"] for r in resp.json()["available_roles"]}
        assert delegable == {READER: True, REVIEWER: True, EDITOR: False, CONTRIBUTOR: False}
        async with unchanged(*WATCHED):
            for role in (EDITOR, CONTRIBUTOR, "baobab.Owner", "baobab.Manager"):
                resp = await carol.post(
                    f"{DOC}/@sharing",
                    json={"entries": [{"id": "alice", "roles": {role: True}}]},
                )
                assert_envelope(resp, 403, "Forbidden")
            # a refused change refuses the whole request
            resp = await carol.post(
                f"{DOC}/@sharing",
                json={
                    "entries": [
                        {"id": "alice", "roles": {READER: True}},
                        {"id": "bob", "roles": {EDITOR: True}},
                    ]
                },
            )
            assert_envelope(resp, 403, "Forbidden")
        resp = await carol.post(
            f"{DOC}/@sharing", json={"entries": [{"id": "alice", "roles": {READER: True}}]}
        )
        assert resp.status_code == 204
    assert entry(await sharing(client, DOC), "alice")["roles"] == roles(reader=True)


async def test_who_may_share(client: BaobabClient, tree: str) -> None:
    async with client.as_user("member") as member:
        # sees the published site but may not share it; the private document is not there
        assert_envelope(await member.get(f"{tree}/@sharing"), 403, "Forbidden")
        assert_envelope(await member.get(f"{DOC}/@sharing"), 404, "NotFound")
        resp = await member.post(f"{tree}/@sharing", json={"entries": []})
        assert_envelope(resp, 403, "Forbidden")
    async with client.as_user("reader") as reader:
        assert_envelope(await reader.get(f"{DOC}/@sharing"), 403, "Forbidden")
    async with client.as_user(None) as anon:
        assert_envelope(await anon.get(f"{tree}/@sharing"), 401, "Unauthorized")
    async with client.as_user("editor") as editor:
        assert (await editor.get(f"{DOC}/@sharing")).status_code == 200


async def test_not_on_database(client: BaobabClient, tree: str) -> None:
    assert_envelope(await client.get("/db/@sharing"), 405, "MethodNotAllowed")
    resp = await client.post("/db/@sharing", json={"entries": [{"id": "alice", "roles": {}}]})
    assert_envelope(resp, 405, "MethodNotAllowed")


# -- bad input: envelope, status, and nothing written -----------------------------------------


def one(principal: str, role_map: Any) -> dict[str, Any]:
    return {"entries": [{"id": principal, "roles": role_map}]}


@pytest.mark.parametrize(
    "body",
    [
        one("ghost", {READER: True}),
        one("alice", {"baobab.Spaceman": True}),
        one("alice", {"Reader": True}),
        one("alice", {READER: "yes"}),
        one("alice", {READER: 1}),
        one("alice", {READER: None}),
        one("alice", [READER]),
        {"entries": {"alice": {READER: True}}},
        {"entries": "alice"},
        {"entries": ["alice"]},
        {"entries": [{"roles": {READER: True}}]},
        {"entries": [{"id": 5, "roles": {READER: True}}]},
        {"entries": [{"id": "alice", "roles": {}, "colour": "red"}]},
        {"entries": [], "inherit": "no"},
        {"entries": [], "block": True},
        # one bad entry refuses the good ones with it
        {
            "entries": [
                *one("alice", {READER: True})["entries"],
                *one("ghost", {EDITOR: True})["entries"],
            ]
        },
        {
            "entries": [
                *one("alice", {READER: True})["entries"],
                *one("bob", {READER: 2})["entries"],
            ]
        },
    ],
)
async def test_bad_input(client: BaobabClient, tree: str, unchanged: Unchanged, body: Any) -> None:
    async with unchanged(*WATCHED):
        for path in (FOLDER, DOC):
            resp = await client.post(f"{path}/@sharing", json=body)
            assert_envelope(resp, 422, "ValidationError")


async def test_malformed_json(client: BaobabClient, tree: str, unchanged: Unchanged) -> None:
    async with unchanged(*WATCHED):
        resp = await client.post(
            f"{DOC}/@sharing",
            content=b'{"entries": [',
            headers={"content-type": "application/json"},
        )
        assert_envelope(resp, 400, "MalformedJSON")
        assert_envelope(await client.post(f"{DOC}/@sharing", json=["alice"]), 400, "BadRequest")

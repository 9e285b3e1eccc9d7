"""``@groups`` on a container: plone.restapi's shapes, membership, group roles, bad input."""

from __future__ import annotations

from functools import partial
from typing import Any

import pytest

from baobab.testing import BaobabClient, Unchanged, add_group, assert_envelope, factories

PASSWORD = "a-good-password"

# what root reads back to check that a refused request changed nothing
WATCHED = ("/db/site/@groups", "/db/site/@users")


# every user of this module has the one password
add_user = partial(factories.add_user, password=PASSWORD)


async def groups_of(client: BaobabClient, site: str, user_id: str) -> list[str]:
    resp = await client.get(f"{site}/@users/{user_id}")
    assert resp.status_code == 200, resp.text
    return [g["id"] for g in resp.json()["groups"]["items"]]


@pytest.fixture
async def people(client: BaobabClient, site: str) -> str:
    """alice, bob and carol in the site."""
    for user_id in ("alice", "bob", "carol"):
        await add_user(client, site, user_id)
    return site


async def test_create_with_users(client: BaobabClient, people: str) -> None:
    site = people
    resp = await client.post(
        f"{site}/@groups",
        json={
            "groupname": "staff",
            "title": "Staff",
            "description": "Everyone on the payroll",
            "email": "staff@example.org",
            "users": ["alice", "bob"],
        },
    )
    assert resp.status_code == 201, resp.text
    assert resp.headers["location"] == "http://baobab.test/db/site/@groups/staff"
    body = resp.json()
    assert body == {
        "@id": "http://baobab.test/db/site/@groups/staff",
        "id": "staff",
        "type": "group",
        "groupname": "staff",
        "title": "Staff",
        "description": "Everyone on the payroll",
        "email": "staff@example.org",
        "roles": [],
        "users": {"items": ["alice", "bob"], "items_total": 2},
    }
    resp = await client.get(f"{site}/@groups/staff")
    assert resp.status_code == 200
    assert resp.json() == body
    assert await groups_of(client, site, "alice") == ["staff"]
    assert await groups_of(client, site, "carol") == []
    # {"id": …} names the group too
    body = await add_group(client, site, "x", users={"carol": True})
    assert body["users"]["items"] == ["carol"]
    resp = await client.post(f"{site}/@groups", json={"id": "board"})
    assert resp.status_code == 201
    assert resp.json()["groupname"] == "board"
    assert_envelope(await client.get(f"{site}/@groups/ghost"), 404, "NotFound")


async def test_members_batch(client: BaobabClient, people: str) -> None:
    site = people
    await add_group(client, site, "staff", users=["alice", "bob", "carol"])
    body = (await client.get(f"{site}/@groups/staff", params={"b_size": 2})).json()
    assert body["users"] == {"items": ["alice", "bob"], "items_total": 3}


async def test_list_and_search(client: BaobabClient, people: str) -> None:
    site = people
    await add_group(client, site, "staff", title="Payroll", users=["alice"])
    await add_group(client, site, "board", title="The Board")
    await add_group(client, site, "editors", title="Editorial team")

    resp = await client.get(f"{site}/@groups")
    assert resp.status_code == 200
    body = resp.json()
    assert body["@id"] == "http://baobab.test/db/site/@groups"
    assert [g["id"] for g in body["items"]] == ["board", "editors", "staff"]
    assert body["items_total"] == 3
    staff = body["items"][2]
    assert staff["title"] == "Payroll"
    assert staff["users"]["items_total"] == 1

    async def search(query: str) -> list[str]:
        resp = await client.get(f"{site}/@groups", params={"query": query})
        assert resp.status_code == 200, resp.text
        assert resp.json()["items_total"] == len(resp.json()["items"])
        return [g["id"] for g in resp.json()["items"]]

    assert await search("ed") == ["editors"]  # id
    assert await search("board") == ["board"]
    assert await search("PAY") == ["staff"]  # title, any case
    assert await search("team") == ["editors"]
    assert await search("t") == ["board", "editors", "staff"]
    assert await search("nothing") == []

    resp = await client.get(f"{site}/@groups", params={"b_size": 2})
    body = resp.json()
    assert [g["id"] for g in body["items"]] == ["board", "editors"]
    assert body["items_total"] == 3
    assert body["batching"]["next"] == "http://baobab.test/db/site/@groups?b_start=2&b_size=2"


async def test_patch_title_and_membership(client: BaobabClient, people: str) -> None:
    site = people
    await add_group(client, site, "staff", title="Staff", users=["bob"])
    resp = await client.patch(f"{site}/@groups/staff", json={"title": "All staff"})
    assert resp.status_code == 204
    assert resp.content == b""
    assert (await client.get(f"{site}/@groups/staff")).json()["title"] == "All staff"

    resp = await client.patch(
        f"{site}/@groups/staff", json={"users": {"alice": True, "bob": False}}
    )
    assert resp.status_code == 204
    group = (await client.get(f"{site}/@groups/staff")).json()
    assert group["users"] == {"items": ["alice"], "items_total": 1}
    assert await groups_of(client, site, "alice") == ["staff"]
    assert await groups_of(client, site, "bob") == []
    # the user record shows the new title
    alice = (await client.get(f"{site}/@users/alice")).json()
    assert alice["groups"] == {"items": [{"id": "staff", "title": "All staff"}], "items_total": 1}

    # adding a member twice, or removing a non-member, changes nothing
    resp = await client.patch(
        f"{site}/@groups/staff", json={"users": {"alice": True, "carol": False}}
    )
    assert resp.status_code == 204
    group = (await client.get(f"{site}/@groups/staff")).json()
    assert group["users"] == {"items": ["alice"], "items_total": 1}
    assert_envelope(
        await client.patch(f"{site}/@groups/ghost", json={"title": "x"}), 404, "NotFound"
    )


async def test_group_roles_apply_to_members(client: BaobabClient, people: str) -> None:
    site = people
    await client.post(site, json={"@type": "Document", "id": "doc", "title": "Private"})
    await add_group(client, site, "editors", roles=["baobab.Editor"])
    async with client.as_login("alice", PASSWORD) as alice:
        # not a member yet: the private document does not exist for alice
        assert (await alice.get(f"{site}/doc")).status_code == 404
        assert (await alice.patch(f"{site}/doc", json={"title": "x"})).status_code == 404

        resp = await client.patch(f"{site}/@groups/editors", json={"users": {"alice": True}})
        assert resp.status_code == 204
        assert (await alice.get(f"{site}/doc")).status_code == 200
        resp = await alice.patch(f"{site}/doc", json={"title": "Edited by a group member"})
        assert resp.status_code == 204, resp.text
        me = (await alice.get(f"{site}/@user")).json()
        assert me["groups"] == ["editors"]
        assert "baobab.Editor" in me["roles"]
        # an Editor edits, but may not add content or list the site's users
        assert (await alice.post(site, json={"@type": "Document"})).status_code == 403
        assert (await alice.get(f"{site}/@users")).status_code == 403

        # the role follows the group's roles
        resp = await client.patch(f"{site}/@groups/editors", json={"roles": ["baobab.Reader"]})
        assert resp.status_code == 204
        assert (await alice.get(f"{site}/doc")).status_code == 200
        assert (await alice.patch(f"{site}/doc", json={"title": "x"})).status_code == 403

        resp = await client.patch(f"{site}/@groups/editors", json={"users": {"alice": False}})
        assert resp.status_code == 204
        assert (await alice.get(f"{site}/doc")).status_code == 404
    assert (await client.get(f"{site}/doc")).json()["title"] == "Edited by a group member"


async def test_delete_group(client: BaobabClient, people: str) -> None:
    site = people
    await client.post(site, json={"@type": "Document", "id": "doc"})
    await add_group(client, site, "editors", title="Editors", roles=["baobab.Editor"])
    await add_group(client, site, "staff", users=["alice"])
    resp = await client.patch(
        f"{site}/@groups/editors", json={"users": {"alice": True, "bob": True}}
    )
    assert resp.status_code == 204
    async with client.as_login("alice", PASSWORD) as alice:
        assert (await alice.patch(f"{site}/doc", json={"title": "x"})).status_code == 204
        resp = await client.delete(f"{site}/@groups/editors")
        assert resp.status_code == 204
        assert_envelope(await client.get(f"{site}/@groups/editors"), 404, "NotFound")
        assert_envelope(await client.delete(f"{site}/@groups/editors"), 404, "NotFound")
        assert await groups_of(client, site, "alice") == ["staff"]
        assert await groups_of(client, site, "bob") == []
        alice_record = (await client.get(f"{site}/@users/alice")).json()
        assert alice_record["groups"]["items_total"] == 1
        # the role went with the group
        assert (await alice.patch(f"{site}/doc", json={"title": "y"})).status_code == 404
        me = (await alice.get(f"{site}/@user")).json()
        assert me["groups"] == ["staff"]
        assert "baobab.Editor" not in me["roles"]
    ids = [g["id"] for g in (await client.get(f"{site}/@groups")).json()["items"]]
    assert ids == ["staff"]
    # the id is free again, and a new group of that name has no members
    body = await add_group(client, site, "editors")
    assert body["users"] == {"items": [], "items_total": 0}


async def test_group_roles_with_token(client: BaobabClient, people: str) -> None:
    """A token's principal is rebuilt per request: group changes apply to open sessions."""
    site = people
    await client.post(site, json={"@type": "Document", "id": "doc"})
    await add_group(client, site, "readers", roles=["baobab.Reader"], users=["carol"])
    async with client.as_user(None) as anon:
        resp = await anon.post(f"{site}/@login", json={"login": "carol", "password": PASSWORD})
    token = resp.json()["token"]
    async with client.with_token(token) as carol:
        assert (await carol.get(f"{site}/doc")).status_code == 200
        assert (await client.delete(f"{site}/@groups/readers")).status_code == 204
        assert (await carol.get(f"{site}/doc")).status_code == 404
        assert (await carol.get(site)).status_code == 200


async def test_needs_manage_users(client: BaobabClient, people: str) -> None:
    site = people
    await add_group(client, site, "staff")
    for login in ("member", "editor", "reviewer"):
        async with client.as_user(login) as other:
            assert_envelope(await other.get(f"{site}/@groups"), 403, "Forbidden")
            assert_envelope(await other.get(f"{site}/@groups/staff"), 403, "Forbidden")
            resp = await other.post(f"{site}/@groups", json={"groupname": "mine"})
            assert_envelope(resp, 403, "Forbidden")
            resp = await other.patch(f"{site}/@groups/staff", json={"users": {"alice": True}})
            assert_envelope(resp, 403, "Forbidden")
            assert_envelope(await other.delete(f"{site}/@groups/staff"), 403, "Forbidden")
    async with client.as_user(None) as anon:
        assert_envelope(await anon.get(f"{site}/@groups"), 401, "Unauthorized")
    async with client.as_login("alice", PASSWORD) as alice:
        assert_envelope(await alice.get(f"{site}/@groups"), 403, "Forbidden")
    async with client.as_user("siteadmin") as admin:
        await add_group(admin, site, "by-admin", users=["alice"])
        # but not a group holding Manager
        resp = await admin.post(
            f"{site}/@groups", json={"groupname": "gods", "roles": ["baobab.Manager"]}
        )
        assert_envelope(resp, 403, "Forbidden")
    await add_group(client, site, "gods", roles=["baobab.Manager"])
    async with client.as_user("siteadmin") as admin:
        resp = await admin.patch(f"{site}/@groups/gods", json={"users": {"alice": True}})
        assert_envelope(resp, 403, "Forbidden")
        assert_envelope(await admin.delete(f"{site}/@groups/gods"), 403, "Forbidden")
    assert await groups_of(client, site, "alice") == ["by-admin"]


# -- bad input: envelope, status, and nothing written -----------------------------------------


async def test_malformed_json(client: BaobabClient, people: str, unchanged: Unchanged) -> None:
    site = people
    await add_group(client, site, "staff")
    async with unchanged(*WATCHED):
        for method, url in (("POST", f"{site}/@groups"), ("PATCH", f"{site}/@groups/staff")):
            resp = await client.request(
                method, url, content=b'{"users": [', headers={"content-type": "application/json"}
            )
            assert_envelope(resp, 400, "MalformedJSON")


async def test_unknown_user(client: BaobabClient, people: str, unchanged: Unchanged) -> None:
    site = people
    await add_group(client, site, "staff", users=["alice"])
    async with unchanged(*WATCHED):
        resp = await client.post(
            f"{site}/@groups", json={"groupname": "board", "users": ["bob", "ghost"]}
        )
        body = assert_envelope(resp, 422, "ValidationError")
        assert "ghost" in body["message"]
        assert body["details"] == [{"field": "users"}]
        resp = await client.patch(
            f"{site}/@groups/staff", json={"users": {"bob": True, "ghost": True}}
        )
        assert_envelope(resp, 422, "ValidationError")
        resp = await client.patch(f"{site}/@groups/staff", json={"users": {"ghost": False}})
        assert_envelope(resp, 422, "ValidationError")
    assert await groups_of(client, site, "bob") == []


@pytest.mark.parametrize(
    "users", ["alice", 5, None, True, [1], ["alice", None], {"alice": "yes"}, {"alice": 1}]
)
async def test_bad_users(
    client: BaobabClient, people: str, unchanged: Unchanged, users: Any
) -> None:
    site = people
    await add_group(client, site, "staff")
    async with unchanged(*WATCHED):
        resp = await client.post(f"{site}/@groups", json={"groupname": "board", "users": users})
        body = assert_envelope(resp, 422, "ValidationError")
        assert body["details"][0]["field"] == "users"
        resp = await client.patch(f"{site}/@groups/staff", json={"users": users})
        assert_envelope(resp, 422, "ValidationError")


async def test_unknown_key(client: BaobabClient, people: str, unchanged: Unchanged) -> None:
    site = people
    await add_group(client, site, "staff")
    async with unchanged(*WATCHED):
        resp = await client.post(f"{site}/@groups", json={"groupname": "board", "members": []})
        body = assert_envelope(resp, 422, "ValidationError")
        assert body["details"] == [{"field": "members", "message": "is not accepted here"}]
        resp = await client.patch(f"{site}/@groups/staff", json={"groupname": "renamed"})
        assert_envelope(resp, 422, "ValidationError")
        for key, value in (("title", 5), ("description", ["x"]), ("roles", "baobab.Editor")):
            resp = await client.patch(f"{site}/@groups/staff", json={key: value})
            body = assert_envelope(resp, 422, "ValidationError")
            assert body["details"][0]["field"] == key
        for roles in (["baobab.Owner"], ["baobab.Anonymous"], ["baobab.Nope"]):
            resp = await client.post(f"{site}/@groups", json={"groupname": "g", "roles": roles})
            assert_envelope(resp, 422, "ValidationError")


@pytest.mark.parametrize(
    "group_id",
    ["a b", "", "../x", "x" * 200, "-x", None, 7, "AuthenticatedUsers", "root", "reviewer"],
)
async def test_bad_group_id(
    client: BaobabClient, people: str, unchanged: Unchanged, group_id: Any
) -> None:
    site = people
    async with unchanged(*WATCHED):
        resp = await client.post(f"{site}/@groups", json={"groupname": group_id})
        body = assert_envelope(resp, 422, "ValidationError")
        assert body["details"][0]["field"] == "groupname"


async def test_taken_group_id(client: BaobabClient, people: str, unchanged: Unchanged) -> None:
    site = people
    await add_group(client, site, "staff", title="First")
    async with unchanged(*WATCHED):
        for taken in ("staff", "alice"):
            resp = await client.post(f"{site}/@groups", json={"groupname": taken})
            assert_envelope(resp, 409, "AlreadyExists")
    assert (await client.get(f"{site}/@groups/staff")).json()["title"] == "First"

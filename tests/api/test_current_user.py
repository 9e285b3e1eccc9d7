"""``@user`` (who am I here), ``@roles`` and ``@principals?search=``."""

from __future__ import annotations

from typing import Any

import pytest

from baobab.testing import BaobabClient, add, add_group, add_user, assert_envelope

PASSWORD = "a-good-password"
BASE = "http://baobab.test"
ANON, AUTH = "baobab.Anonymous", "baobab.Authenticated"


@pytest.fixture
async def people(client: BaobabClient, site: str) -> str:
    """Group ``writers`` (Contributor) holding alice; bob; carol; group ``qa``; a private
    document ``theirs`` owned by root and one, ``mine``, owned by alice."""
    await add_group(client, site, "writers", title="Writers", roles=["baobab.Contributor"])
    await add_group(client, site, "qa", title="Quality Alignment")
    await add_group(client, site, "staff", title="Staff")
    await add_user(client, site, "alice", PASSWORD, fullname="Alice Liddell", groups=["writers"])
    await add_user(client, site, "bob", PASSWORD, fullname="Bob Alistair")
    await add_user(client, site, "carol", PASSWORD, email="carol@alibaba.example")
    await add_user(client, site, "dave", PASSWORD, fullname="Dave")
    await add(client, site, "Document", "theirs")
    async with client.as_login("alice", PASSWORD) as alice:
        await add(alice, site, "Document", "mine")
    return site


async def me(client: BaobabClient, path: str, **params: str) -> dict[str, Any]:
    resp = await client.get(f"{path}/@user", params=params)
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


async def test_anonymous(client: BaobabClient, site: str) -> None:
    async with client.as_user(None) as anon:
        body = await me(anon, site)
    assert body == {
        "@id": f"{BASE}{site}/@user",
        "id": "anonymous",
        "title": "Anonymous",
        "authenticated": False,
        "groups": [],
        "roles": [ANON],
        "local_roles": [],
        "roles_here": [ANON],
    }
    async with client.as_user(None) as anon:
        body = await me(anon, site, permissions="baobab.View,baobab.ModifyContent")
    assert body["permissions"] == {"baobab.View": True, "baobab.ModifyContent": False}


async def test_authenticated(client: BaobabClient, people: str) -> None:
    site = people
    async with client.as_login("alice", PASSWORD) as alice:
        body = await me(alice, site)
        assert body == {
            "@id": f"{BASE}{site}/@user",
            "id": "alice",
            "title": "Alice Liddell",
            "authenticated": True,
            "groups": ["writers"],
            "roles": [ANON, AUTH, "baobab.Contributor"],
            "local_roles": [],
            "roles_here": [ANON, AUTH, "baobab.Contributor"],
        }
        body = await me(alice, f"{site}/mine")
        assert body["@id"] == f"{BASE}{site}/mine/@user"
        assert body["local_roles"] == ["baobab.Owner"]
        assert body["roles_here"] == [ANON, AUTH, "baobab.Contributor", "baobab.Owner"]
        body = await me(alice, f"{site}/theirs")
        assert body["local_roles"] == []
    async with client.as_user("editor") as editor:
        body = await me(editor, site)
        assert body["id"] == "editor"
        assert body["roles"] == [ANON, AUTH, "baobab.Editor"]
        assert body["groups"] == []
    body = await me(client, site)
    assert body["id"] == "root"
    assert "baobab.Manager" in body["roles"]


async def test_with_a_token(client: BaobabClient, people: str) -> None:
    site = people
    async with client.as_user(None) as anon:
        resp = await anon.post(f"{site}/@login", json={"login": "alice", "password": PASSWORD})
    async with client.with_token(resp.json()["token"]) as alice:
        body = await me(alice, f"{site}/mine")
    assert body["id"] == "alice"
    assert body["groups"] == ["writers"]
    assert body["local_roles"] == ["baobab.Owner"]


async def test_permissions_per_object(client: BaobabClient, people: str) -> None:
    site = people
    wanted = "baobab.View,baobab.ModifyContent"
    async with client.as_login("alice", PASSWORD) as alice:
        mine = await me(alice, f"{site}/mine", permissions=wanted)
        theirs = await me(alice, f"{site}/theirs", permissions=wanted)
        here = await me(alice, site, permissions=f" baobab.AddContent , {wanted},")
    assert mine["permissions"] == {"baobab.View": True, "baobab.ModifyContent": True}
    # a Contributor views private content in the site but edits only their own
    assert theirs["permissions"] == {"baobab.View": True, "baobab.ModifyContent": False}
    assert here["permissions"] == {
        "baobab.AddContent": True,
        "baobab.View": True,
        "baobab.ModifyContent": False,
    }
    body = await me(client, f"{site}/theirs", permissions=wanted)
    assert body["permissions"] == {"baobab.View": True, "baobab.ModifyContent": True}
    assert "permissions" not in await me(client, site)


async def test_unknown_permission(client: BaobabClient, people: str) -> None:
    site = people
    resp = await client.get(
        f"{site}/@user", params={"permissions": "baobab.View,baobab.Fly,Modify"}
    )
    body = assert_envelope(resp, 400, "BadRequest")
    assert body["details"] == {"unknown": ["baobab.Fly", "Modify"]}
    assert "baobab.Fly" in body["message"]


async def test_unseeable_object(client: BaobabClient, people: str) -> None:
    """``@user`` on a private object someone may not see says no more than a missing one."""
    site = people
    async with client.as_user("member") as member:
        missing = await member.get(f"{site}/nothing/@user")
        assert_envelope(missing, 404, "NotFound")
        resp = await member.get(f"{site}/theirs/@user")
        assert_envelope(resp, 404, "NotFound")
    async with client.as_user(None) as anon:
        assert_envelope(await anon.get(f"{site}/theirs/@user"), 401, "Unauthorized")


async def test_roles(client: BaobabClient, site: str) -> None:
    resp = await client.get(f"{site}/@roles")
    assert resp.status_code == 200
    roles = resp.json()
    assert sorted(r["id"] for r in roles) == [
        "baobab.Anonymous",
        "baobab.Authenticated",
        "baobab.Contributor",
        "baobab.Editor",
        "baobab.Manager",
        "baobab.Member",
        "baobab.Owner",
        "baobab.Reader",
        "baobab.Reviewer",
        "baobab.SiteAdministrator",
    ]
    for role in roles:
        assert set(role) == {"@id", "@type", "id", "title"}
        assert role["@id"] == f"{BASE}{site}/@roles/{role['id']}"
        assert role["@type"] == "role"
        assert role["title"]
    async with client.as_user("member") as member:
        assert (await member.get(f"{site}/@roles")).json() == roles


async def test_principals_search(client: BaobabClient, people: str) -> None:
    site = people
    resp = await client.get(f"{site}/@principals", params={"search": "ali"})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    # root manages users: the summaries, with each user's record (as @users/{id} gives it)
    assert [u["id"] for u in body["users"]] == ["alice", "bob", "carol"]
    for user in body["users"]:
        record = (await client.get(f"{site}/@users/{user['id']}")).json()
        assert user == record
    assert {k: body["users"][0][k] for k in ("@id", "type", "title")} == {
        "@id": f"{BASE}{site}/@users/alice",
        "type": "user",
        "title": "Alice Liddell",
    }
    assert body["users"][2]["email"] == "carol@alibaba.example"
    qa = {"@id": f"{BASE}{site}/@groups/qa", "id": "qa", "type": "group"}
    assert body["groups"] == [{**qa, "title": "Quality Alignment"}]
    body = (await client.get(f"{site}/@principals", params={"search": "writ"})).json()
    writers = {"@id": f"{BASE}{site}/@groups/writers", "id": "writers", "type": "group"}
    assert body == {"users": [], "groups": [{**writers, "title": "Writers"}]}
    body = (await client.get(f"{site}/@principals", params={"search": "zzz"})).json()
    assert body == {"users": [], "groups": []}
    # from any object in the site, for those who may share it
    resp = await client.get(f"{site}/mine/@principals", params={"search": "dave"})
    assert [u["id"] for u in resp.json()["users"]] == ["dave"]
    async with client.as_login("alice", PASSWORD) as alice:  # the owner of "mine"
        resp = await alice.get(f"{site}/mine/@principals", params={"search": "dave"})
        assert resp.status_code == 200
        assert [u["id"] for u in resp.json()["users"]] == ["dave"]
    async with client.as_user("editor") as editor:
        resp = await editor.get(f"{site}/@principals", params={"search": "ali"})
        assert resp.status_code == 200


async def test_principals_needs_sharing_permission(client: BaobabClient, people: str) -> None:
    site = people
    async with client.as_user("member") as member:
        # sees the published site, may not change its local roles
        resp = await member.get(f"{site}/@principals", params={"search": "ali"})
        body = assert_envelope(resp, 403, "Forbidden")
        assert body["details"] == {"permission": "baobab.ChangeLocalRoles"}
        resp = await member.get(f"{site}/theirs/@principals", params={"search": "ali"})
        assert_envelope(resp, 404, "NotFound")
    async with client.as_login("alice", PASSWORD) as alice:  # a Contributor
        resp = await alice.get(f"{site}/@principals", params={"search": "ali"})
        assert_envelope(resp, 403, "Forbidden")
    async with client.as_user(None) as anon:
        resp = await anon.get(f"{site}/@principals", params={"search": "ali"})
        assert_envelope(resp, 401, "Unauthorized")


async def test_principals_needs_a_search(client: BaobabClient, people: str) -> None:
    site = people
    for params in ({"search": ""}, {"search": "   "}, {}):
        resp = await client.get(f"{site}/@principals", params=params)
        body = assert_envelope(resp, 400, "BadRequest")
        assert "search" in body["message"]

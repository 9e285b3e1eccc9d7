"""``@users`` on a container: plone.restapi's shapes, site users logging in, bad input, scale."""

from __future__ import annotations

from functools import partial
from typing import Any

import pytest
import transaction

from baobab.asgi import BaobabApp
from baobab.testing import BaobabClient, Unchanged, add_group, assert_envelope, factories, login

PASSWORD = "alice-password"

# what root reads back to check that a refused request changed nothing
WATCHED = ("/db/site/@users",)


# every user of this module has the one password
add_user = partial(factories.add_user, password=PASSWORD)


async def status_with_token(client: BaobabClient, token: str, path: str) -> int:
    async with client.with_token(token) as c:
        return (await c.get(path)).status_code


async def status_with_basic(client: BaobabClient, user: str, password: str, path: str) -> int:
    async with client.as_login(user, password) as c:
        return (await c.get(path)).status_code


# -- the shapes ---------------------------------------------------------------------------


async def test_create_and_get(client: BaobabClient, site: str) -> None:
    resp = await client.post(
        f"{site}/@users",
        json={
            "username": "alice",
            "password": PASSWORD,
            "fullname": "Alice Liddell",
            "email": "alice@example.org",
            "description": "Down the rabbit hole",
        },
    )
    assert resp.status_code == 201, resp.text
    assert resp.headers["location"] == "http://baobab.test/db/site/@users/alice"
    body = resp.json()
    assert body == {
        "@id": "http://baobab.test/db/site/@users/alice",
        "id": "alice",
        "type": "user",
        "title": "Alice Liddell",
        "username": "alice",
        "fullname": "Alice Liddell",
        "email": "alice@example.org",
        "description": "Down the rabbit hole",
        "roles": [],
        "groups": {"items": [], "items_total": 0},
        "disabled": False,
    }
    resp = await client.get(f"{site}/@users/alice")
    assert resp.status_code == 200
    assert resp.json() == body
    # the password (or its hash) is never in an answer
    for text in (resp.text, (await client.get(f"{site}/@users")).text):
        assert PASSWORD not in text
        assert "password" not in text
        assert "argon2" not in text


async def test_create_with_id_and_roles(client: BaobabClient, site: str) -> None:
    body = await add_user(client, site, "x", roles=["baobab.Editor", "baobab.Reviewer"])
    assert body["roles"] == ["baobab.Editor", "baobab.Reviewer"]
    resp = await client.post(f"{site}/@users", json={"id": "bob", "password": PASSWORD})
    assert resp.status_code == 201
    assert resp.json()["username"] == "bob"


async def test_get_missing_user(client: BaobabClient, site: str) -> None:
    assert_envelope(await client.get(f"{site}/@users/ghost"), 404, "NotFound")
    # a container without any user yet answers an empty list
    resp = await client.get(f"{site}/@users")
    assert resp.status_code == 200
    assert resp.json()["items"] == []
    assert resp.json()["items_total"] == 0


async def test_list_and_batching(client: BaobabClient, site: str) -> None:
    for i in range(5):
        await add_user(client, site, f"user{i}")
    resp = await client.get(f"{site}/@users")
    assert resp.status_code == 200
    body = resp.json()
    assert body["@id"] == "http://baobab.test/db/site/@users"
    assert [u["id"] for u in body["items"]] == [f"user{i}" for i in range(5)]
    assert body["items_total"] == 5
    assert "batching" not in body

    resp = await client.get(f"{site}/@users", params={"b_size": 2, "b_start": 2})
    body = resp.json()
    assert [u["id"] for u in body["items"]] == ["user2", "user3"]
    assert body["items_total"] == 5
    base = "http://baobab.test/db/site/@users"
    assert body["batching"] == {
        "@id": f"{base}?b_start=2&b_size=2",
        "first": f"{base}?b_start=0&b_size=2",
        "last": f"{base}?b_start=4&b_size=2",
        "next": f"{base}?b_start=4&b_size=2",
        "prev": f"{base}?b_start=0&b_size=2",
    }
    body = (await client.get(body["batching"]["next"])).json()
    assert [u["id"] for u in body["items"]] == ["user4"]
    assert "next" not in body["batching"]
    # a search keeps its query in the batching links
    body = (await client.get(f"{site}/@users", params={"query": "user", "b_size": 2})).json()
    assert body["items_total"] == 5
    assert body["batching"]["next"] == f"{base}?query=user&b_start=2&b_size=2"
    resp = await client.get(f"{site}/@users", params={"b_size": 0})
    assert_envelope(resp, 400, "BadRequest")


async def test_search(client: BaobabClient, site: str) -> None:
    await add_user(client, site, "alice", fullname="Alice Liddell", email="alice@example.org")
    await add_user(client, site, "alan", fullname="Alan Turing", email="alan@bletchley.uk")
    await add_user(client, site, "bob", fullname="Robert Liddell", email="bob@example.org")

    async def search(query: str) -> list[str]:
        resp = await client.get(f"{site}/@users", params={"query": query})
        assert resp.status_code == 200, resp.text
        body = resp.json()
        assert body["items_total"] == len(body["items"])
        return [u["id"] for u in body["items"]]

    assert await search("al") == ["alan", "alice"]  # id prefix
    assert await search("ALI") == ["alice"]  # case-insensitive
    assert await search("liddell") == ["alice", "bob"]  # a word of the fullname
    assert await search("turing") == ["alan"]
    assert await search("Alice Lid") == ["alice"]  # every word must match
    assert await search("alice@ex") == ["alice"]  # e-mail
    assert await search("alice@example.org") == ["alice"]
    assert await search("bletchley") == ["alan"]
    assert await search("example") == ["alice", "bob"]
    assert await search("zebra") == []
    assert await search("alice zebra") == []


async def test_update(client: BaobabClient, site: str) -> None:
    await add_user(client, site, "alice", fullname="Alice Liddell", email="alice@example.org")
    resp = await client.patch(
        f"{site}/@users/alice",
        json={"fullname": "Alice Pleasance", "email": "ap@wonder.land", "roles": ["baobab.Reader"]},
    )
    assert resp.status_code == 204, resp.text
    assert resp.content == b""
    body = (await client.get(f"{site}/@users/alice")).json()
    assert body["fullname"] == "Alice Pleasance"
    assert body["email"] == "ap@wonder.land"
    assert body["roles"] == ["baobab.Reader"]
    # the search index follows: old words are gone, new ones found
    for query, found in (("liddell", 0), ("example", 0), ("pleasance", 1), ("wonder", 1)):
        resp = await client.get(f"{site}/@users", params={"query": query})
        assert resp.json()["items_total"] == found, query
    assert_envelope(await client.patch(f"{site}/@users/ghost", json={}), 404, "NotFound")


async def test_delete(client: BaobabClient, site: str) -> None:
    await add_user(client, site, "alice", fullname="Alice Liddell")
    await add_group(client, site, "staff", users=["alice"])
    resp = await client.delete(f"{site}/@users/alice")
    assert resp.status_code == 204
    assert_envelope(await client.get(f"{site}/@users/alice"), 404, "NotFound")
    assert_envelope(await client.delete(f"{site}/@users/alice"), 404, "NotFound")
    body = (await client.get(f"{site}/@users")).json()
    assert body["items_total"] == 0
    assert (await client.get(f"{site}/@users", params={"query": "liddell"})).json()["items"] == []
    group = (await client.get(f"{site}/@groups/staff")).json()
    assert group["users"] == {"items": [], "items_total": 0}
    # the id is free again
    await add_user(client, site, "alice")


async def test_group_membership(client: BaobabClient, site: str) -> None:
    await add_group(client, site, "staff", title="Staff")
    await add_group(client, site, "board", title="Board")
    body = await add_user(client, site, "alice", groups=["staff"])
    assert body["groups"] == {"items": [{"id": "staff", "title": "Staff"}], "items_total": 1}
    group = (await client.get(f"{site}/@groups/staff")).json()
    assert group["users"] == {"items": ["alice"], "items_total": 1}

    resp = await client.patch(f"{site}/@users/alice", json={"groups": ["board", "staff"]})
    assert resp.status_code == 204
    body = (await client.get(f"{site}/@users/alice")).json()
    assert body["groups"]["items"] == [
        {"id": "board", "title": "Board"},
        {"id": "staff", "title": "Staff"},
    ]
    assert body["groups"]["items_total"] == 2

    resp = await client.patch(f"{site}/@users/alice", json={"groups": ["board"]})
    assert resp.status_code == 204
    body = (await client.get(f"{site}/@users/alice")).json()
    assert body["groups"] == {"items": [{"id": "board", "title": "Board"}], "items_total": 1}
    assert (await client.get(f"{site}/@groups/staff")).json()["users"]["items_total"] == 0
    assert (await client.get(f"{site}/@groups/board")).json()["users"]["items"] == ["alice"]


async def test_ids_with_punctuation(client: BaobabClient, site: str) -> None:
    for user_id in ("alice@example.org", "john.doe", "a+b", "x-y_z", "A" * 100):
        body = await add_user(client, site, user_id)
        assert body["@id"] == f"http://baobab.test/db/site/@users/{user_id}"
        assert (await client.get(f"{site}/@users/{user_id}")).json()["id"] == user_id
        assert await status_with_basic(client, user_id, PASSWORD, site) == 200
        token = await login(client, site, user_id, PASSWORD)
        assert await status_with_token(client, token, site) == 200
        assert (await client.delete(f"{site}/@users/{user_id}")).status_code == 204


# -- site users log in ----------------------------------------------------------------------


async def test_site_user_login_token(client: BaobabClient, site: str) -> None:
    await add_user(client, site, "alice", fullname="Alice")
    await client.post("/db", json={"@type": "Container", "id": "other"})
    token = await login(client, site, "alice", PASSWORD)
    async with client.with_token(token) as alice:
        resp = await alice.get(site)
        assert resp.status_code == 200
        resp = await alice.get(f"{site}/@user")
        assert resp.json()["id"] == "alice"
        # valid only inside its container
        for outside in ("/db", "/db/other", "/"):
            resp = await alice.get(outside)
            body = assert_envelope(resp, 401, "Unauthorized")
            assert "/db/site" in body["message"]
    # the user is not known outside the container
    async with client.as_user(None) as anon:
        for path in ("", "/db/other"):
            resp = await anon.post(f"{path}/@login", json={"login": "alice", "password": PASSWORD})
            assert_envelope(resp, 401, "Unauthorized")
        resp = await anon.post(f"{site}/@login", json={"login": "alice", "password": "wrong-pw"})
        assert_envelope(resp, 401, "Unauthorized")


async def test_site_user_basic_auth(client: BaobabClient, site: str) -> None:
    await add_user(client, site, "alice")
    await client.post(site, json={"@type": "Document", "id": "doc"})
    async with client.as_login("alice", PASSWORD) as alice:
        assert (await alice.get(site)).status_code == 200
        assert (await alice.get(f"{site}/@user")).json()["id"] == "alice"
        # a plain site user may not see the private document
        assert (await alice.get(f"{site}/doc")).status_code == 404
        assert (await alice.get("/db")).status_code == 401
    assert await status_with_basic(client, "alice", "wrong-password", site) == 401


async def test_password_change_ends_older_tokens(client: BaobabClient, site: str) -> None:
    await add_user(client, site, "alice")
    old = await login(client, site, "alice", PASSWORD)
    assert await status_with_token(client, old, site) == 200
    resp = await client.patch(f"{site}/@users/alice", json={"password": "a-new-password"})
    assert resp.status_code == 204
    assert await status_with_token(client, old, site) == 401
    assert await status_with_basic(client, "alice", PASSWORD, site) == 401
    assert await status_with_basic(client, "alice", "a-new-password", site) == 200
    async with client.as_user(None) as anon:
        resp = await anon.post(f"{site}/@login", json={"login": "alice", "password": PASSWORD})
        assert resp.status_code == 401
    new = await login(client, site, "alice", "a-new-password")
    assert await status_with_token(client, new, site) == 200


async def test_own_password_reset(client: BaobabClient, site: str) -> None:
    await add_user(client, site, "alice")
    await add_user(client, site, "bob")
    old = await login(client, site, "alice", PASSWORD)
    async with client.as_login("alice", PASSWORD) as alice:
        url = f"{site}/@users/alice/reset-password"
        resp = await alice.post(url, json={"old_password": "wrong!!!", "new_password": "x" * 8})
        assert_envelope(resp, 401, "Unauthorized")
        resp = await alice.post(url, json={"old_password": PASSWORD, "new_password": "short"})
        assert_envelope(resp, 422, "ValidationError")
        resp = await alice.post(
            f"{site}/@users/bob/reset-password",
            json={"old_password": PASSWORD, "new_password": "b-new-password"},
        )
        assert_envelope(resp, 403, "Forbidden")
        resp = await alice.post(url, json={"old_password": PASSWORD, "new_password": "a-new-pass"})
        assert resp.status_code == 204
    assert await status_with_token(client, old, site) == 401
    assert await status_with_basic(client, "alice", "a-new-pass", site) == 200
    assert await status_with_basic(client, "bob", PASSWORD, site) == 200


async def test_disable_and_enable(client: BaobabClient, site: str) -> None:
    await add_user(client, site, "alice")
    token = await login(client, site, "alice", PASSWORD)
    resp = await client.patch(f"{site}/@users/alice", json={"disabled": True})
    assert resp.status_code == 204
    assert (await client.get(f"{site}/@users/alice")).json()["disabled"] is True
    assert await status_with_token(client, token, site) == 401
    assert await status_with_basic(client, "alice", PASSWORD, site) == 401
    async with client.as_user(None) as anon:
        resp = await anon.post(f"{site}/@login", json={"login": "alice", "password": PASSWORD})
        assert_envelope(resp, 401, "Unauthorized")

    resp = await client.patch(f"{site}/@users/alice", json={"disabled": False})
    assert resp.status_code == 204
    assert await status_with_basic(client, "alice", PASSWORD, site) == 200
    new = await login(client, site, "alice", PASSWORD)
    assert await status_with_token(client, new, site) == 200
    # re-enabling does not bring back the sessions that disabling ended
    assert await status_with_token(client, token, site) == 401


async def test_deleted_user_is_401(client: BaobabClient, site: str) -> None:
    await add_user(client, site, "alice")
    token = await login(client, site, "alice", PASSWORD)
    assert (await client.delete(f"{site}/@users/alice")).status_code == 204
    assert await status_with_token(client, token, site) == 401
    assert await status_with_basic(client, "alice", PASSWORD, site) == 401
    # a new user with the same id does not inherit the old sessions... nor their password
    await add_user(client, site, "alice", password="another-password")
    assert await status_with_basic(client, "alice", PASSWORD, site) == 401
    assert await status_with_basic(client, "alice", "another-password", site) == 200


# -- who may do what ------------------------------------------------------------------------


async def test_listing_needs_manage_users(client: BaobabClient, site: str) -> None:
    await add_user(client, site, "alice")
    for login_ in ("member", "reader", "editor", "reviewer"):
        async with client.as_user(login_) as other:
            resp = await other.get(f"{site}/@users")
            assert_envelope(resp, 403, "Forbidden")
            assert_envelope(await other.get(f"{site}/@users/alice"), 403, "Forbidden")
            resp = await other.post(f"{site}/@users", json={"username": "x", "password": "x" * 8})
            assert_envelope(resp, 403, "Forbidden")
    async with client.as_user(None) as anon:
        assert_envelope(await anon.get(f"{site}/@users"), 401, "Unauthorized")
        assert_envelope(await anon.get(f"{site}/@users/alice"), 401, "Unauthorized")
    async with client.as_user("siteadmin") as admin:
        assert (await admin.get(f"{site}/@users")).status_code == 200
        await add_user(admin, site, "bob")


async def test_user_reads_own_record_only(client: BaobabClient, site: str) -> None:
    await add_user(client, site, "alice", fullname="Alice")
    await add_user(client, site, "bob")
    async with client.as_login("alice", PASSWORD) as alice:
        resp = await alice.get(f"{site}/@users/alice")
        assert resp.status_code == 200
        assert resp.json()["fullname"] == "Alice"
        assert_envelope(await alice.get(f"{site}/@users/bob"), 403, "Forbidden")
        assert_envelope(await alice.get(f"{site}/@users"), 403, "Forbidden")
        # own properties yes; roles, groups, disabled no
        resp = await alice.patch(f"{site}/@users/alice", json={"fullname": "Alice L."})
        assert resp.status_code == 204
        resp = await alice.patch(f"{site}/@users/alice", json={"roles": ["baobab.Manager"]})
        assert_envelope(resp, 403, "Forbidden")
        resp = await alice.patch(f"{site}/@users/bob", json={"fullname": "Bobby"})
        assert_envelope(resp, 403, "Forbidden")
        assert_envelope(await alice.delete(f"{site}/@users/bob"), 403, "Forbidden")
    assert (await client.get(f"{site}/@users/alice")).json()["fullname"] == "Alice L."
    assert (await client.get(f"{site}/@users/alice")).json()["roles"] == []


async def test_siteadmin_cannot_touch_managers(client: BaobabClient, site: str) -> None:
    await add_user(client, site, "boss", roles=["baobab.Manager"])
    async with client.as_user("siteadmin") as admin:
        resp = await admin.post(
            f"{site}/@users",
            json={"username": "x", "password": PASSWORD, "roles": ["baobab.Manager"]},
        )
        assert_envelope(resp, 403, "Forbidden")
        resp = await admin.patch(f"{site}/@users/boss", json={"password": "taken-over!"})
        assert_envelope(resp, 403, "Forbidden")
        assert_envelope(await admin.delete(f"{site}/@users/boss"), 403, "Forbidden")
    assert await status_with_basic(client, "boss", PASSWORD, site) == 200


# -- bad input: envelope, status, and nothing written -----------------------------------------


async def test_malformed_json(client: BaobabClient, site: str, unchanged: Unchanged) -> None:
    await add_user(client, site, "alice")
    async with unchanged(*WATCHED):
        for method, url in (("POST", f"{site}/@users"), ("PATCH", f"{site}/@users/alice")):
            resp = await client.request(
                method,
                url,
                content=b'{"username": "x",',
                headers={"content-type": "application/json"},
            )
            assert_envelope(resp, 400, "MalformedJSON")


async def test_unknown_field(client: BaobabClient, site: str, unchanged: Unchanged) -> None:
    await add_user(client, site, "alice")
    async with unchanged(*WATCHED):
        resp = await client.post(
            f"{site}/@users", json={"username": "bob", "password": PASSWORD, "colour": "red"}
        )
        body = assert_envelope(resp, 422, "ValidationError")
        assert body["details"] == [{"field": "colour", "message": "is not accepted here"}]
        resp = await client.patch(f"{site}/@users/alice", json={"username": "eve"})
        assert_envelope(resp, 422, "ValidationError")


@pytest.mark.parametrize(
    "username", ["a b", "", "../x", "x" * 200, ".hidden", "a/b", "é", 42, None, ["alice"]]
)
async def test_bad_username(
    client: BaobabClient, site: str, unchanged: Unchanged, username: Any
) -> None:
    async with unchanged(*WATCHED):
        resp = await client.post(
            f"{site}/@users", json={"username": username, "password": PASSWORD}
        )
        body = assert_envelope(resp, 422, "ValidationError")
        assert body["details"][0]["field"] == "username"


@pytest.mark.parametrize("username", ["root", "anonymous", "AuthenticatedUsers", "editor"])
async def test_reserved_username(
    client: BaobabClient, site: str, unchanged: Unchanged, username: str
) -> None:
    async with unchanged(*WATCHED):
        resp = await client.post(
            f"{site}/@users", json={"username": username, "password": PASSWORD}
        )
        body = assert_envelope(resp, 422, "ValidationError")
        assert "reserved" in body["message"]


async def test_duplicate_id(client: BaobabClient, site: str, unchanged: Unchanged) -> None:
    await add_user(client, site, "alice", fullname="First")
    await add_group(client, site, "staff")
    async with unchanged(*WATCHED):
        for taken in ("alice", "staff"):
            resp = await client.post(
                f"{site}/@users", json={"username": taken, "password": "other-password"}
            )
            body = assert_envelope(resp, 409, "AlreadyExists")
            assert taken in body["message"]
    assert (await client.get(f"{site}/@users/alice")).json()["fullname"] == "First"
    assert await status_with_basic(client, "alice", PASSWORD, site) == 200


async def test_short_password(client: BaobabClient, site: str, unchanged: Unchanged) -> None:
    await add_user(client, site, "alice")
    async with unchanged(*WATCHED):
        for password in ("1234567", "", None, 12345678):
            resp = await client.post(
                f"{site}/@users", json={"username": "bob", "password": password}
            )
            body = assert_envelope(resp, 422, "ValidationError")
            assert body["details"][0]["field"] == "password"
        resp = await client.post(f"{site}/@users", json={"username": "bob"})
        assert_envelope(resp, 422, "ValidationError")
        resp = await client.patch(f"{site}/@users/alice", json={"password": "short"})
        assert_envelope(resp, 422, "ValidationError")
    assert await status_with_basic(client, "alice", PASSWORD, site) == 200


@pytest.mark.parametrize(
    "roles",
    [
        "baobab.Editor",
        {"baobab.Editor": True},
        [1],
        ["baobab.Spaceman"],
        ["baobab.Owner"],
        ["baobab.Anonymous"],
        ["baobab.Authenticated"],
        ["baobab.Editor", "Editor"],
    ],
)
async def test_bad_roles(client: BaobabClient, site: str, unchanged: Unchanged, roles: Any) -> None:
    await add_user(client, site, "alice")
    async with unchanged(*WATCHED):
        resp = await client.post(
            f"{site}/@users", json={"username": "bob", "password": PASSWORD, "roles": roles}
        )
        body = assert_envelope(resp, 422, "ValidationError")
        assert body["details"][0]["field"] == "roles"
        resp = await client.patch(f"{site}/@users/alice", json={"roles": roles})
        assert_envelope(resp, 422, "ValidationError")


async def test_unknown_group(client: BaobabClient, site: str, unchanged: Unchanged) -> None:
    await add_group(client, site, "staff")
    await add_user(client, site, "alice")
    async with unchanged(*WATCHED):
        for groups in (["nogroup"], ["staff", "nogroup"], "staff", [1]):
            resp = await client.post(
                f"{site}/@users", json={"username": "bob", "password": PASSWORD, "groups": groups}
            )
            body = assert_envelope(resp, 422, "ValidationError")
            assert body["details"][0]["field"] == "groups"
            resp = await client.patch(f"{site}/@users/alice", json={"groups": groups})
            assert_envelope(resp, 422, "ValidationError")


async def test_bad_disabled(client: BaobabClient, site: str, unchanged: Unchanged) -> None:
    await add_user(client, site, "alice")
    async with unchanged(*WATCHED):
        for value in ("yes", 1, 0, None):
            resp = await client.patch(f"{site}/@users/alice", json={"disabled": value})
            body = assert_envelope(resp, 422, "ValidationError")
            assert body["details"][0]["field"] == "disabled"
    assert await status_with_basic(client, "alice", PASSWORD, site) == 200


async def test_bad_properties(client: BaobabClient, site: str, unchanged: Unchanged) -> None:
    await add_user(client, site, "alice")
    async with unchanged(*WATCHED):
        for key, value in (("fullname", 5), ("email", ["a@b.c"]), ("description", "x" * 501)):
            resp = await client.patch(f"{site}/@users/alice", json={key: value})
            body = assert_envelope(resp, 422, "ValidationError")
            assert body["details"][0]["field"] == key
        resp = await client.post(f"{site}/@users", json=["alice"])
        assert_envelope(resp, 400, "BadRequest")


# -- scale ----------------------------------------------------------------------------------

SCALE = 100_000


def write_users(db: Any) -> None:
    """100,000 users straight through the storage API, committed in chunks."""
    from baobab.security.users import User, user_folder

    tm = transaction.TransactionManager()
    conn = db.open(transaction_manager=tm)
    try:
        folder = user_folder(conn.root()["baobab"]["site"], create=True)
        assert folder is not None
        for i in range(SCALE):
            user = User(f"user{i:06d}", "x")
            if i % 1000 == 0:
                user.fullname = f"Common Person{i}"
            if i == 54321:
                user.fullname = "Zebedee Quux"
                user.email = "zeb@example.org"
            folder.add_user(user)
            if i % 20_000 == 19_999:
                tm.commit()
        tm.commit()
        # counts and storage scale: BTrees and a Length, no list of users anywhere
        assert type(folder.users).__name__ == "OOBTree"
        assert type(folder.user_count).__name__ == "Length"
        assert type(folder.words).__name__ == "OOBTree"
        assert folder.user_count() == SCALE
    finally:
        tm.abort()
        conn.close()


async def test_100k_users(
    baobab_app: BaobabApp,
    baobab_storage: str,
    client: BaobabClient,
    site: str,
) -> None:
    if baobab_storage != "filestorage":
        pytest.skip("100,000 users are written on FileStorage only (keeps the suite fast)")
    assert baobab_app.state is not None
    write_users(baobab_app.state.databases["db"])

    resp = await client.get(f"{site}/@users", params={"b_size": 50, "b_start": 99_950})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["items_total"] == SCALE
    assert [u["id"] for u in body["items"]] == [f"user{i:06d}" for i in range(99_950, SCALE)]
    assert "next" not in body["batching"]
    assert body["batching"]["last"].endswith("b_start=99950&b_size=50")

    resp = await client.get(f"{site}/@users", params={"query": "zebedee"})
    assert [u["id"] for u in resp.json()["items"]] == ["user054321"]
    assert resp.json()["items_total"] == 1
    resp = await client.get(f"{site}/@users", params={"query": "user054321"})
    assert [u["fullname"] for u in resp.json()["items"]] == ["Zebedee Quux"]
    resp = await client.get(f"{site}/@users", params={"query": "common", "b_size": 10})
    assert resp.json()["items_total"] == 100
    assert len(resp.json()["items"]) == 10
    resp = await client.get(f"{site}/@users", params={"query": "user0999"})
    assert resp.json()["items_total"] == 100

    # a prefix every user id starts with: every user matches, the page is the first ten
    resp = await client.get(f"{site}/@users", params={"query": "user0", "b_size": 10})
    assert resp.status_code == 200, resp.text
    assert resp.json()["items_total"] == SCALE
    assert [u["id"] for u in resp.json()["items"]] == [f"user{i:06d}" for i in range(10)]

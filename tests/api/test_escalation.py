"""Privilege escalation: every attempt is refused with one error envelope, and changes nothing.

Each refused attempt checks the status, the ``{"type", "message", "details"}`` envelope, that
no transaction was committed (``db.lastTransaction()``) and, read back through the API as
root, that the state it aimed at is what it was. Positive controls show the same requests
succeed for whoever may make them, so the refusals are not an artefact of the setup.
"""

from __future__ import annotations

import time
import uuid
import warnings
from collections.abc import Iterable
from typing import Any

import jwt
import pytest
from jwt.warnings import InsecureKeyLengthWarning

from baobab.config.settings import Settings
from baobab.testing import (
    BaobabClient,
    Unchanged,
    add,
    add_group,
    add_user,
    assert_envelope,
    last_commit,
    login,
    password_of,
    share,
)

MANAGER = "baobab.Manager"
SITE_ADMIN = "baobab.SiteAdministrator"
OWNER = "baobab.Owner"
READER = "baobab.Reader"
EDITOR = "baobab.Editor"
CONTRIBUTOR = "baobab.Contributor"
REVIEWER = "baobab.Reviewer"
MEMBER = "baobab.Member"
NEVER_SHARABLE = (MANAGER, SITE_ADMIN, OWNER)
DELEGABLE_BY_OWNER = (READER, EDITOR, CONTRIBUTOR)


# helpers ------------------------------------------------------------------------------------


async def local_roles(client: BaobabClient, path: str, principal: str) -> dict[str, Any]:
    resp = await client.get(f"{path}/@sharing", params={"search": principal})
    assert resp.status_code == 200, resp.text
    for entry in resp.json()["entries"]:
        if entry["id"] == principal:
            roles: dict[str, Any] = entry["roles"]
            return roles
    raise AssertionError(f"{principal} not in the sharing entries of {path}")


def as_site_user(client: BaobabClient, username: str) -> BaobabClient:
    return client.as_login(username, password_of(username))


def sharing_request(*entries: tuple[str, str, bool], inherit: bool | None = None) -> Any:
    body: dict[str, Any] = {
        "entries": [{"id": pid, "roles": {role: grant}} for pid, role, grant in entries]
    }
    if inherit is not None:
        body["inherit"] = inherit
    return body


# sharing ------------------------------------------------------------------------------------


# actor → (role → may delegate it); "no-permission": the actor may not share at all
DELEGATION = {
    "editor": {READER: True, EDITOR: True, CONTRIBUTOR: False, REVIEWER: False},
    "reviewer": {READER: True, EDITOR: False, CONTRIBUTOR: False, REVIEWER: True},
    "siteadmin": {READER: True, EDITOR: True, CONTRIBUTOR: True, REVIEWER: True},
}


@pytest.mark.parametrize("actor", sorted(DELEGATION))
async def test_global_roles_delegate_only_what_the_rules_allow(
    client: BaobabClient, site: str, unchanged: Unchanged, actor: str
) -> None:
    await add_user(client, site, "alice")
    folder = await add(client, site, "Folder", "f")
    # pending: every actor here may see it (a Reviewer may not see a private one, below)
    assert (await client.post(f"{folder}/@workflow/submit")).status_code == 200
    async with client.as_user(actor) as who:
        for role in NEVER_SHARABLE:
            async with unchanged(f"{folder}/@sharing"):
                resp = await who.post(
                    f"{folder}/@sharing", json=sharing_request(("alice", role, True))
                )
                body = assert_envelope(resp, 403, "Forbidden")
                assert body["details"] == {"role": role}
        for role, allowed in DELEGATION[actor].items():
            request = sharing_request(("alice", role, True))
            if not allowed:
                async with unchanged(f"{folder}/@sharing"):
                    resp = await who.post(f"{folder}/@sharing", json=request)
                    body = assert_envelope(resp, 403, "Forbidden")
                    assert body["details"]["role"] == role
                    assert body["details"]["permission"].startswith("baobab.Delegate")
                continue
            # positive control: granted, then revoked again by the same actor
            assert (await who.post(f"{folder}/@sharing", json=request)).status_code == 204
            assert (await local_roles(client, folder, "alice"))[role] is True
            request = sharing_request(("alice", role, False))
            assert (await who.post(f"{folder}/@sharing", json=request)).status_code == 204
            assert (await local_roles(client, folder, "alice"))[role] is False


async def test_no_sharing_of_what_one_cannot_see(
    client: BaobabClient, site: str, unchanged: Unchanged
) -> None:
    """A Reviewer may delegate Reader and Reviewer, but not on a private item it cannot see:
    otherwise it could share the item with itself and read it."""
    await add_user(client, site, "alice")
    folder = await add(client, site, "Folder", "f")
    async with unchanged(f"{folder}/@sharing"), client.as_user("reviewer") as reviewer:
        for pid in ("alice", "reviewer"):
            for role in (READER, REVIEWER):
                resp = await reviewer.post(
                    f"{folder}/@sharing", json=sharing_request((pid, role, True))
                )
                assert_envelope(resp, 404, "NotFound")
        assert_envelope(await reviewer.get(f"{folder}/@sharing"), 404, "NotFound")
        assert_envelope(await reviewer.get(folder), 404, "NotFound")


async def test_editor_cannot_revoke_what_it_cannot_grant(
    client: BaobabClient, site: str, unchanged: Unchanged
) -> None:
    await add_user(client, site, "alice")
    folder = await add(client, site, "Folder", "f")
    await share(client, folder, "alice", REVIEWER)
    async with unchanged(f"{folder}/@sharing"), client.as_user("editor") as editor:
        resp = await editor.post(
            f"{folder}/@sharing", json=sharing_request(("alice", REVIEWER, False))
        )
        assert_envelope(resp, 403, "Forbidden")
    assert (await local_roles(client, folder, "alice"))[REVIEWER] is True


async def test_local_editor_cannot_escalate(
    client: BaobabClient, site: str, unchanged: Unchanged
) -> None:
    await add_user(client, site, "ed")
    await add_user(client, site, "alice")
    folder = await add(client, site, "Folder", "f")
    doc = await add(client, folder, "Document", "doc")
    await share(client, folder, "ed", EDITOR)
    async with as_site_user(client, "ed") as ed:
        # on the folder (local grant) and on the document below it (inherited grant)
        for path in (folder, doc):
            for target in ("alice", "ed"):
                for role in (*NEVER_SHARABLE, REVIEWER, CONTRIBUTOR):
                    async with unchanged(f"{path}/@sharing", f"{site}/@users/{target}"):
                        resp = await ed.post(
                            f"{path}/@sharing", json=sharing_request((target, role, True))
                        )
                        body = assert_envelope(resp, 403, "Forbidden")
                        assert body["details"]["role"] == role
        # the site itself: ed holds no local role there, so no sharing permission at all
        async with unchanged(f"{site}/@sharing"):
            resp = await ed.post(f"{site}/@sharing", json=sharing_request(("ed", READER, True)))
            body = assert_envelope(resp, 403, "Forbidden")
            assert body["details"] == {"permission": "baobab.ChangeLocalRoles"}
        # positive control: what an Editor may delegate, it delegates
        request = {"entries": [{"id": "alice", "roles": {READER: True, EDITOR: True}}]}
        assert (await ed.post(f"{doc}/@sharing", json=request)).status_code == 204
    roles = await local_roles(client, doc, "alice")
    assert (roles[READER], roles[EDITOR], roles[REVIEWER]) == (True, True, False)


@pytest.mark.parametrize("actor", ["contributor", "member", "reader"])
async def test_no_sharing_permission_no_sharing(
    client: BaobabClient, site: str, unchanged: Unchanged, actor: str
) -> None:
    await add_user(client, site, "alice")
    folder = await add(client, site, "Folder", "f")
    async with unchanged(f"{folder}/@sharing"), client.as_user(actor) as who:
        for role in (READER, EDITOR, CONTRIBUTOR, REVIEWER, MANAGER):
            resp = await who.post(f"{folder}/@sharing", json=sharing_request(("alice", role, True)))
            if actor == "member":  # may not even know the private folder exists
                assert_envelope(resp, 404, "NotFound")
            else:
                body = assert_envelope(resp, 403, "Forbidden")
                assert body["details"] == {"permission": "baobab.ChangeLocalRoles"}
        resp = await who.post(f"{folder}/@sharing", json={"inherit": False})
        assert_envelope(resp, 404 if actor == "member" else 403)


async def test_owner_delegates_but_never_ownership(
    client: BaobabClient, site: str, unchanged: Unchanged
) -> None:
    """The Owner (here only a Contributor besides) shares Reader, Editor and Contributor on
    its item — not Reviewer, and never Owner, Site Administrator or Manager."""
    await add_user(client, site, "alice")
    async with client.as_user("contributor") as owner:
        doc = await add(owner, site, "Document", "doc")
        for role in (*NEVER_SHARABLE, REVIEWER):
            # (asking for the Owner role it already holds is a no-op, not tried here)
            for pid in ("alice", "contributor") if role != OWNER else ("alice",):
                async with unchanged(f"{doc}/@sharing"):
                    resp = await owner.post(
                        f"{doc}/@sharing", json=sharing_request((pid, role, True))
                    )
                    body = assert_envelope(resp, 403, "Forbidden")
                    assert body["details"]["role"] == role
        # it cannot give its ownership away either
        async with unchanged(f"{doc}/@sharing"):
            resp = await owner.post(
                f"{doc}/@sharing", json=sharing_request(("contributor", OWNER, False))
            )
            assert_envelope(resp, 403, "Forbidden")
        request = {"entries": [{"id": "alice", "roles": dict.fromkeys(DELEGABLE_BY_OWNER, True)}]}
        assert (await owner.post(f"{doc}/@sharing", json=request)).status_code == 204
    roles = await local_roles(client, doc, "alice")
    assert {role for role, value in roles.items() if value is True} == set(DELEGABLE_BY_OWNER)


async def test_mixed_sharing_request_changes_nothing(
    client: BaobabClient, site: str, unchanged: Unchanged
) -> None:
    await add_user(client, site, "alice")
    await add_user(client, site, "bob")
    folder = await add(client, site, "Folder", "f")
    requests = [
        # allowed grant first, forbidden one second (and the other way round)
        sharing_request(("alice", READER, True), ("bob", REVIEWER, True)),
        sharing_request(("bob", MANAGER, True), ("alice", READER, True)),
        # one entry mixing an allowed and a forbidden role
        {"entries": [{"id": "alice", "roles": {READER: True, OWNER: True}}]},
        # a forbidden grant together with an inheritance change
        sharing_request(("alice", EDITOR, True), ("alice", SITE_ADMIN, True), inherit=False),
    ]
    async with client.as_user("editor") as editor:
        for body in requests:
            async with unchanged(f"{folder}/@sharing", f"{folder}/@sharing?search=bob"):
                resp = await editor.post(f"{folder}/@sharing", json=body)
                assert_envelope(resp, 403, "Forbidden")
    sharing = (await client.get(f"{folder}/@sharing")).json()
    assert sharing["inherit"] is True
    for pid in ("alice", "bob"):
        roles = await local_roles(client, folder, pid)
        assert not any(value is True for value in roles.values()), roles


async def test_two_entries_for_one_principal_do_not_lose_a_grant(
    client: BaobabClient, site: str, unchanged: Unchanged
) -> None:
    """Either both entries apply, or the request is refused whole — never half of it."""
    await add_user(client, site, "alice")
    folder = await add(client, site, "Folder", "f")
    request = sharing_request(("alice", READER, True), ("alice", EDITOR, True))
    async with client.as_user("editor") as editor:
        resp = await editor.post(f"{folder}/@sharing", json=request)
    roles = await local_roles(client, folder, "alice")
    if resp.status_code == 204:
        assert (roles[READER], roles[EDITOR]) == (True, True)
    else:
        assert_envelope(resp, 422, "ValidationError")
        assert (roles[READER], roles[EDITOR]) == (False, False)


# users and groups ---------------------------------------------------------------------------


async def test_site_admin_cannot_assign_manager(
    client: BaobabClient, site: str, unchanged: Unchanged, db: Any
) -> None:
    await add_user(client, site, "alice")
    await add_group(client, site, "staff")
    await add_user(client, site, "sam", roles=[SITE_ADMIN])
    watched = (f"{site}/@users/alice", f"{site}/@groups/staff", f"{site}/@users/sam")
    attempts: list[tuple[str, str, dict[str, Any]]] = [
        ("POST", "@users", {"username": "mallory", "password": "long-enough", "roles": [MANAGER]}),
        ("PATCH", "@users/alice", {"roles": [MANAGER]}),
        ("PATCH", "@users/alice", {"roles": [MEMBER, MANAGER], "fullname": "Boss"}),
        ("POST", "@groups", {"groupname": "bosses", "roles": [MANAGER]}),
        ("POST", "@groups", {"groupname": "bosses", "roles": [MANAGER], "users": ["alice"]}),
        ("PATCH", "@groups/staff", {"roles": [MANAGER]}),
    ]
    for actor in (client.as_user("siteadmin"), as_site_user(client, "sam")):
        async with actor:
            for method, view, body in attempts:
                async with unchanged(*watched):
                    resp = await actor.request(method, f"{site}/{view}", json=body)
                    refused = assert_envelope(resp, 403, "Forbidden")
                    assert refused["details"] == {"role": MANAGER}
            # a stored Site Administrator cannot make itself a Manager either
            async with unchanged(*watched):
                resp = await actor.patch(f"{site}/@users/sam", json={"roles": [MANAGER]})
                assert_envelope(resp, 403, "Forbidden")
    for missing in ("@users/mallory", "@groups/bosses"):
        assert_envelope(await client.get(f"{site}/{missing}"), 404, "NotFound")
    # positive control: a Manager does all of it
    for method, view, body in attempts:
        before = last_commit(db)
        resp = await client.request(method, f"{site}/{view}", json=body)
        assert resp.status_code in (201, 204), resp.text
        assert last_commit(db) != before
        if body.get("groupname") == "bosses":
            assert (await client.delete(f"{site}/@groups/bosses")).status_code == 204
    assert (await client.get(f"{site}/@users/alice")).json()["roles"] == [MANAGER, MEMBER]
    assert (await client.get(f"{site}/@groups/staff")).json()["roles"] == [MANAGER]


async def test_site_admin_cannot_touch_managers(
    client: BaobabClient, site: str, unchanged: Unchanged
) -> None:
    await add_user(client, site, "boss", roles=[MANAGER])
    await add_group(client, site, "admins", roles=[MANAGER])
    await add_user(client, site, "carol", groups=["admins"])  # a Manager through a group
    await add_user(client, site, "alice")
    watched = (
        f"{site}/@users/boss",
        f"{site}/@users/carol",
        f"{site}/@users/alice",
        f"{site}/@groups/admins",
    )
    attempts: list[tuple[str, str, dict[str, Any] | None]] = [
        ("PATCH", "@users/boss", {"password": "taken-over!"}),
        ("PATCH", "@users/carol", {"password": "taken-over!"}),
        ("PATCH", "@users/boss", {"disabled": True}),
        ("PATCH", "@users/boss", {"email": "sam@example.org"}),
        ("PATCH", "@users/carol", {"groups": []}),
        ("DELETE", "@users/boss", None),
        ("DELETE", "@users/carol", None),
        ("PATCH", "@users/alice", {"groups": ["admins"]}),
        ("PATCH", "@groups/admins", {"users": {"alice": True}}),
        ("PATCH", "@groups/admins", {"users": {"carol": False}}),
        ("PATCH", "@groups/admins", {"title": "renamed"}),
        (
            "POST",
            "@users",
            {"username": "mallory", "password": "long-enough", "groups": ["admins"]},
        ),
        ("DELETE", "@groups/admins", None),
    ]
    await add_user(client, site, "sam", roles=[SITE_ADMIN])
    for actor in (client.as_user("siteadmin"), as_site_user(client, "sam")):
        async with actor:
            for method, view, body in attempts:
                async with unchanged(*watched):
                    resp = await actor.request(method, f"{site}/{view}", json=body)
                    refused = assert_envelope(resp, 403, "Forbidden")
                    assert refused["details"] == {"role": MANAGER}, (method, view)
    assert_envelope(await client.get(f"{site}/@users/mallory"), 404, "NotFound")
    # the Managers' old passwords still work
    for manager in ("boss", "carol"):
        async with as_site_user(client, manager) as who:
            assert (await who.get(f"{site}/@users/alice")).status_code == 200
    # positive control: a Manager may
    resp = await client.patch(f"{site}/@users/boss", json={"password": "changed-by-root"})
    assert resp.status_code == 204
    async with client.as_login("boss", "changed-by-root") as boss:
        assert (await boss.get(f"{site}/@users/alice")).status_code == 200
    resp = await client.patch(f"{site}/@users/alice", json={"groups": ["admins"]})
    assert resp.status_code == 204
    resp = await client.patch(f"{site}/@groups/admins", json={"users": {"carol": False}})
    assert resp.status_code == 204
    members = (await client.get(f"{site}/@groups/admins")).json()["users"]["items"]
    assert members == ["alice"]
    assert (await client.delete(f"{site}/@users/boss")).status_code == 204
    async with client.as_login("boss", "changed-by-root") as boss:
        assert_envelope(await boss.get(site), 401, "Unauthorized")


# self-service -------------------------------------------------------------------------------


async def test_users_cannot_change_their_own_privileges(
    client: BaobabClient, site: str, unchanged: Unchanged
) -> None:
    await add_group(client, site, "admins", roles=[MANAGER])
    await add_group(client, site, "staff", roles=[EDITOR])
    await add_user(client, site, "alice", roles=[MEMBER], fullname="Alice")
    token = await login(client, site, "alice", password_of("alice"))
    attempts: list[dict[str, Any]] = [
        {"roles": [MANAGER]},
        {"roles": [EDITOR]},
        {"roles": []},
        {"groups": ["admins"]},
        {"groups": ["staff"]},
        {"disabled": False},
        {"disabled": True},
        {"password": "a-new-password"},
        {"fullname": "Alice Admin", "roles": [SITE_ADMIN]},
    ]
    for actor in (as_site_user(client, "alice"), client.with_token(token)):
        async with actor:
            for body in attempts:
                async with unchanged(f"{site}/@users/alice", f"{site}/@groups/admins"):
                    resp = await actor.patch(f"{site}/@users/alice", json=body)
                    refused = assert_envelope(resp, 403, "Forbidden")
                    assert refused["details"] == {"fields": sorted(set(body) - {"fullname"})}
    record = (await client.get(f"{site}/@users/alice")).json()
    assert (record["fullname"], record["roles"], record["groups"]["items_total"]) == (
        "Alice",
        [MEMBER],
        0,
    )


async def test_users_cannot_change_other_users(
    client: BaobabClient, site: str, unchanged: Unchanged
) -> None:
    await add_user(client, site, "alice", roles=[MEMBER])
    await add_user(client, site, "bob", roles=[MEMBER])
    attempts: list[tuple[str, str, dict[str, Any] | None]] = [
        ("PATCH", "@users/bob", {"password": "taken-over!"}),
        ("PATCH", "@users/bob", {"fullname": "Bobby"}),
        ("PATCH", "@users/bob", {"disabled": True}),
        (
            "POST",
            "@users/bob/reset-password",
            {"old_password": password_of("bob"), "new_password": "taken-over!"},
        ),
        ("DELETE", "@users/bob", None),
        ("GET", "@users/bob", None),
        ("GET", "@users", None),
    ]
    async with as_site_user(client, "alice") as alice:
        for method, view, body in attempts:
            async with unchanged(f"{site}/@users/bob"):
                resp = await alice.request(method, f"{site}/{view}", json=body)
                assert_envelope(resp, 403, "Forbidden")
    async with as_site_user(client, "bob") as bob:
        assert (await bob.get(f"{site}/@users/bob")).status_code == 200


async def test_users_change_their_own_properties_and_password(
    client: BaobabClient, site: str, unchanged: Unchanged
) -> None:
    await add_user(client, site, "alice", roles=[MEMBER])
    async with as_site_user(client, "alice") as alice:
        resp = await alice.patch(
            f"{site}/@users/alice",
            json={"fullname": "Alice Liddell", "email": "alice@wonderland.example"},
        )
        assert resp.status_code == 204, resp.text
        record = (await alice.get(f"{site}/@users/alice")).json()
        assert (record["fullname"], record["email"]) == (
            "Alice Liddell",
            "alice@wonderland.example",
        )
        assert record["roles"] == [MEMBER]
        async with unchanged(f"{site}/@users/alice"):
            resp = await alice.post(
                f"{site}/@users/alice/reset-password",
                json={"old_password": "not-my-password", "new_password": "a-new-password"},
            )
            assert_envelope(resp, 401, "Unauthorized")
        resp = await alice.post(
            f"{site}/@users/alice/reset-password",
            json={"old_password": password_of("alice"), "new_password": "a-new-password"},
        )
        assert resp.status_code == 204, resp.text
        assert_envelope(await alice.get(f"{site}/@users/alice"), 401, "Unauthorized")
    async with client.as_login("alice", "a-new-password") as alice:
        assert (await alice.get(f"{site}/@users/alice")).status_code == 200


# workflow -----------------------------------------------------------------------------------


async def _state(client: BaobabClient, path: str) -> str:
    state: str = (await client.get(path)).json()["review_state"]
    return state


async def test_contributors_cannot_publish(
    client: BaobabClient, site: str, unchanged: Unchanged
) -> None:
    folder = await add(client, site, "Folder", "f")
    rootdoc = await add(client, folder, "Document", "by-root")
    await add_user(client, site, "cathy")
    await share(client, folder, "cathy", CONTRIBUTOR)
    async with client.as_user("contributor") as contributor:
        own = await add(contributor, folder, "Document", "by-contributor")
    async with as_site_user(client, "cathy") as cathy:
        local_own = await add(cathy, folder, "Document", "by-cathy")
    cases = [
        (client.as_user("contributor"), rootdoc),  # a global Contributor, not the Owner
        (client.as_user("contributor"), own),  # the Owner who is (globally) a Contributor
        (as_site_user(client, "cathy"), local_own),  # the Owner who is a local Contributor
        (as_site_user(client, "cathy"), rootdoc),
    ]
    for actor, path in cases:
        async with actor:
            async with unchanged(path, f"{path}/@workflow"):
                resp = await actor.post(f"{path}/@workflow/publish")
                body = assert_envelope(resp, 403, "Forbidden")
                assert body["details"] == {"permission": "baobab.ReviewContent"}
            if path == rootdoc:
                continue
            # positive control: an Owner may submit its item — and still not publish it
            assert (await actor.post(f"{path}/@workflow/submit")).status_code == 200
            async with unchanged(path, f"{path}/@workflow"):
                resp = await actor.post(f"{path}/@workflow/publish")
                assert_envelope(resp, 403, "Forbidden")
    assert [await _state(client, p) for p in (rootdoc, own, local_own)] == [
        "private",
        "pending",
        "pending",
    ]
    async with client.as_user("reviewer") as reviewer:
        assert (await reviewer.post(f"{own}/@workflow/publish")).status_code == 200
    assert await _state(client, own) == "published"


async def test_member_cannot_take_transitions_on_others_items(
    client: BaobabClient, site: str, unchanged: Unchanged
) -> None:
    doc = await add(client, site, "Document", "doc")
    async with client.as_user("member") as member:
        missing = assert_envelope(await member.post(f"{site}/nodoc/@workflow/submit"), 404)
        for transition in ("submit", "publish", "retract", "reject"):
            async with unchanged(doc, f"{doc}/@workflow"):
                resp = await member.post(f"{doc}/@workflow/{transition}")
                body = assert_envelope(resp, 404, "NotFound")
                # no hint that the item exists: the same words as for a missing one
                assert body["message"] == missing["message"].replace("nodoc", "doc")
    assert await _state(client, doc) == "private"


# blocked inheritance ------------------------------------------------------------------------


async def _item_ids(client: BaobabClient, path: str) -> list[str]:
    resp = await client.get(path)
    assert resp.status_code == 200, resp.text
    return [item["id"] for item in resp.json()["items"]]


@pytest.mark.parametrize("grantee", ["alice", "team", "AuthenticatedUsers"])
async def test_blocked_subtree_is_not_reached_through_a_parent_grant(
    client: BaobabClient, site: str, grantee: str
) -> None:
    await add_user(client, site, "alice")
    await add_group(client, site, "team", users=["alice"])
    folder = await add(client, site, "Folder", "f")
    sub = await add(client, folder, "Folder", "sub")
    deep = await add(client, sub, "Folder", "deep")
    hidden = [sub, deep, await add(client, sub, "Document", "doc")]
    hidden.append(await add(client, deep, "Document", "doc"))
    await add(client, folder, "Document", "other")
    await share(client, folder, grantee, READER)
    async with as_site_user(client, "alice") as alice:
        assert await _item_ids(alice, folder) == ["sub", "other"]  # in the order they were added
        assert (await alice.get(f"{sub}/doc")).status_code == 200
    resp = await client.post(f"{sub}/@sharing", json={"inherit": False})
    assert resp.status_code == 204
    async with as_site_user(client, "alice") as alice:
        assert await _item_ids(alice, folder) == ["other"]
        assert (await alice.get(folder)).json()["items_total"] == 1
        for path in hidden:
            assert_envelope(await alice.get(path), 404, "NotFound")
            assert_envelope(await alice.get(f"{path}/@sharing"), 404, "NotFound")
            assert_envelope(await alice.get(f"{path}/@workflow"), 404, "NotFound")
    # global roles still apply below the block
    async with client.as_user("reader") as reader:
        assert await _item_ids(reader, folder) == ["sub", "other"]
        assert await _item_ids(reader, sub) == ["deep", "doc"]
        for path in hidden:
            assert (await reader.get(path)).status_code == 200
    await add_user(client, site, "rita", roles=[READER])  # a stored global Reader too
    async with as_site_user(client, "rita") as rita:
        for path in hidden:
            assert (await rita.get(path)).status_code == 200
    # a grant made below the block applies again
    await share(client, deep, "alice", READER)
    async with as_site_user(client, "alice") as alice:
        assert_envelope(await alice.get(sub), 404, "NotFound")
        assert (await alice.get(f"{deep}/doc")).status_code == 200


# tokens -------------------------------------------------------------------------------------


def _claims(sub: str, container: str | None = None, **extra: Any) -> dict[str, Any]:
    now = time.time()
    claims: dict[str, Any] = {
        "sub": sub,
        "iat": round(now, 6),
        "exp": int(now) + 3600,
        "jti": uuid.uuid4().hex,
    }
    if container is not None:
        claims["ctr"] = container
    return {**claims, **extra}


def _hs512(claims: dict[str, Any], key: str) -> str:
    with warnings.catch_warnings():  # PyJWT warns that the key is short for SHA-512
        warnings.simplefilter("ignore", InsecureKeyLengthWarning)
        return jwt.encode(claims, key, algorithm="HS512")


async def _refused(
    client: BaobabClient, token: str, paths: Iterable[str], message: str | None = None
) -> None:
    targets = list(paths)
    async with client.with_token(token) as holder:
        for path in targets:
            body = assert_envelope(await holder.get(path), 401, "Unauthorized")
            if message is not None:
                assert body["message"] == message, (path, body)
        resp = await holder.post(targets[0], json={"@type": "Document"})
        assert_envelope(resp, 401, "Unauthorized")


async def test_forged_tokens_are_refused(
    client: BaobabClient, site: str, unchanged: Unchanged, baobab_settings: Settings
) -> None:
    secret = baobab_settings.auth.jwt_secret
    assert secret is not None
    await add_user(client, site, "alice", roles=[EDITOR])
    # positive controls: well-formed tokens signed with the right key are accepted
    for claims in (_claims("root"), _claims("alice", site)):
        good = jwt.encode(claims, secret, algorithm="HS256")
        async with client.with_token(good) as holder:
            assert (await holder.get(site)).status_code == 200
    other_key = "another-secret-that-is-long-enough-for-hs256"
    now = int(time.time())
    cases: list[tuple[str, str]] = []
    for sub, ctr in (("root", None), ("alice", site)):
        cases += [
            (jwt.encode(_claims(sub, ctr), None, algorithm="none"), "The token is invalid"),
            (jwt.encode(_claims(sub, ctr), other_key, algorithm="HS256"), "The token is invalid"),
            # the right key but an algorithm the server does not accept
            (_hs512(_claims(sub, ctr), secret), "The token is invalid"),
            # issued in the future
            (jwt.encode(_claims(sub, ctr, iat=now + 3600), secret), "The token is invalid"),
            (
                jwt.encode(_claims(sub, ctr, exp=now - 10, iat=now - 100), secret, "HS256"),
                "The token has expired",
            ),
            # a required claim missing
            (
                jwt.encode({k: v for k, v in _claims(sub, ctr).items() if k != "jti"}, secret),
                "The token is invalid",
            ),
        ]
    # a site user's token without the container claim names no global user
    cases.append((jwt.encode(_claims("alice"), secret), "The token's user no longer exists"))
    async with unchanged(site):
        for token, message in cases:
            await _refused(client, token, [site, f"{site}/@users/alice"], message)


async def test_token_of_a_deleted_user(
    client: BaobabClient, site: str, unchanged: Unchanged
) -> None:
    await add_user(client, site, "alice", roles=[EDITOR])
    token = await login(client, site, "alice", password_of("alice"))
    async with client.with_token(token) as alice:
        assert (await alice.get(site)).status_code == 200
    assert (await client.delete(f"{site}/@users/alice")).status_code == 204
    async with unchanged(site):
        await _refused(client, token, [site], "The token's user no longer exists")


async def test_token_of_a_deleted_user_stays_dead_when_the_id_is_reused(
    client: BaobabClient, site: str, unchanged: Unchanged
) -> None:
    await add_user(client, site, "alice", roles=[SITE_ADMIN])
    token = await login(client, site, "alice", password_of("alice"))
    assert (await client.delete(f"{site}/@users/alice")).status_code == 204
    # someone else later gets the same user id (with far fewer rights)
    await add_user(client, site, "alice", roles=[MEMBER])
    async with unchanged(site, f"{site}/@users/alice"):
        await _refused(client, token, [site, f"{site}/@users/alice"])


async def test_token_of_a_disabled_user(
    client: BaobabClient, site: str, unchanged: Unchanged
) -> None:
    await add_user(client, site, "alice", roles=[EDITOR])
    token = await login(client, site, "alice", password_of("alice"))
    resp = await client.patch(f"{site}/@users/alice", json={"disabled": True})
    assert resp.status_code == 204
    async with unchanged(site):
        await _refused(client, token, [site], "The token's user is disabled")
        async with as_site_user(client, "alice") as alice:  # nor Basic, nor a new login
            assert_envelope(await alice.get(site), 401, "Unauthorized")
        async with client.as_user(None) as anon:
            resp = await anon.post(
                f"{site}/@login", json={"login": "alice", "password": password_of("alice")}
            )
            assert_envelope(resp, 401, "Unauthorized")
    # re-enabling does not revive the sessions from before
    resp = await client.patch(f"{site}/@users/alice", json={"disabled": False})
    assert resp.status_code == 204
    async with unchanged(site):
        await _refused(client, token, [site])
    fresh = await login(client, site, "alice", password_of("alice"))
    async with client.with_token(fresh) as alice:
        assert (await alice.get(site)).status_code == 200


@pytest.mark.parametrize("changed_by", ["self", "manager"])
async def test_token_issued_before_a_password_change(
    client: BaobabClient, site: str, unchanged: Unchanged, changed_by: str
) -> None:
    await add_user(client, site, "alice", roles=[EDITOR])
    old = await login(client, site, "alice", password_of("alice"))
    other = await login(client, site, "alice", password_of("alice"))
    if changed_by == "self":
        async with client.with_token(other) as alice:
            resp = await alice.post(
                f"{site}/@users/alice/reset-password",
                json={"old_password": password_of("alice"), "new_password": "a-new-password"},
            )
    else:
        resp = await client.patch(f"{site}/@users/alice", json={"password": "a-new-password"})
    assert resp.status_code == 204, resp.text
    message = "The token was issued before the user's password last changed"
    async with unchanged(site):
        for token in (old, other):
            await _refused(client, token, [site], message)
        async with as_site_user(client, "alice") as alice:
            assert_envelope(await alice.get(site), 401, "Unauthorized")
    fresh = await login(client, site, "alice", "a-new-password")
    async with client.with_token(fresh) as alice:
        assert (await alice.get(site)).status_code == 200


async def test_site_token_is_valid_only_inside_its_site(
    client: BaobabClient, site: str, unchanged: Unchanged
) -> None:
    await add_user(client, site, "alice", roles=[SITE_ADMIN])
    other = "/db/other"
    resp = await client.post("/db", json={"@type": "Container", "id": "other"})
    assert resp.status_code == 201
    await add_user(client, other, "alice", roles=[SITE_ADMIN])  # the same id, elsewhere
    token = await login(client, site, "alice", password_of("alice"))
    async with client.with_token(token) as alice:
        assert (await alice.get(f"{site}/@users/alice")).status_code == 200
    outside = ["/db", "/", other, f"{other}/@users/alice", f"{other}/@users"]
    async with unchanged(other, f"{other}/@users/alice"):
        await _refused(client, token, outside, f"This token is valid only inside {site}")
        async with client.with_token(token) as alice:
            for path in ("/db/@login-renew", f"{other}/@login-renew", f"{other}/@logout"):
                assert_envelope(await alice.post(path), 401, "Unauthorized")
            resp = await alice.post(f"{other}/@users", json={"username": "x", "password": "y" * 8})
            assert_envelope(resp, 401, "Unauthorized")
        # a site user's password outside its site is no credential either
        async with as_site_user(client, "alice") as basic:
            assert_envelope(await basic.get("/db"), 401, "Unauthorized")


async def test_only_a_manager_deletes_a_site(client: BaobabClient, site: str) -> None:
    """Editors and Site Administrators hold Delete objects at the database and on the site,
    yet a whole site goes only by the hand of whoever may create one."""
    for name in ("editor", "siteadmin"):
        async with client.as_user(name) as user:
            resp = await user.delete(site)
            assert resp.status_code == 403, (name, resp.text)
            assert resp.json()["details"] == {"permission": "baobab.AddContainer"}
    assert (await client.get(site)).status_code == 200
    assert (await client.delete(site)).status_code == 204
    assert (await client.get(site)).status_code == 404


async def test_moving_needs_delete_in_the_source_folder(client: BaobabClient, site: str) -> None:
    """Like Plone's cut: an Owner of an item in someone else's folder may not take it away."""
    body = {"username": "olga", "password": "olga-password"}
    assert (await client.post(f"{site}/@users", json=body)).status_code == 201
    for folder in ("src", "dst"):
        assert (await client.post(site, json={"@type": "Folder", "id": folder})).status_code == 201
        share = {"entries": [{"id": "olga", "roles": {"baobab.Contributor": True}}]}
        assert (await client.post(f"{site}/{folder}/@sharing", json=share)).status_code == 204
    async with client.as_login("olga", "olga-password") as olga:
        assert (
            await olga.post(f"{site}/src", json={"@type": "Document", "id": "d"})
        ).status_code == 201
        resp = await olga.post(f"{site}/src/d/@move", json={"destination": f"{site}/dst"})
        assert resp.status_code == 403
        assert resp.json()["details"] == {"permission": "baobab.DeleteObjects"}
        assert (await olga.get(f"{site}/src/d")).status_code == 200

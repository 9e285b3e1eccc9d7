"""Personal data: who sees which properties of users and groups (docs/security.md, "Personal
data"). An Editor of one folder may share it, so may search principals, but sees only their
summaries (id, type, title): never an e-mail address, a description, roles, groups or a
group's members. User records go to user managers and to the user themself.
"""

from __future__ import annotations

from typing import Any

import pytest

from baobab.testing import (
    BaobabClient,
    add,
    add_group,
    add_user,
    assert_envelope,
    share,
    transition,
)

PASSWORD = "a-good-password"
BASE = "http://baobab.test"
# what nobody but a user manager (or the user) may read
SECRETS = (
    "alice@wonderland.example",
    "Down the rabbit hole",
    "bob@corp.example",
    "staff@corp.example",
    "The payroll",
)


@pytest.fixture
async def office(client: BaobabClient, site: str) -> str:
    """alice and bob with e-mail addresses, group staff (alice), and ed: no global role,
    Editor of the folder ``proj`` only, where alice created and submitted ``memo``."""
    await add_group(
        client,
        site,
        "staff",
        title="Staff",
        email="staff@corp.example",
        description="The payroll",
        roles=["baobab.Contributor"],
    )
    await add_user(
        client,
        site,
        "alice",
        PASSWORD,
        fullname="Alice Liddell",
        email="alice@wonderland.example",
        description="Down the rabbit hole",
        groups=["staff"],
    )
    await add_user(client, site, "bob", PASSWORD, fullname="Bob Builder", email="bob@corp.example")
    await add_user(client, site, "ed", PASSWORD, fullname="Ed Itor", email="ed@corp.example")
    proj = await add(client, site, "Folder", "proj")
    await share(client, proj, "ed", "baobab.Editor")
    await share(client, proj, "alice", "baobab.Contributor")
    async with client.as_login("alice", PASSWORD) as alice:
        memo = await add(alice, proj, "Document", "memo", title="Memo")
        await transition(alice, memo, "submit")
    return site


def summary(site: str, id_: str, type_: str, title: str) -> dict[str, Any]:
    view = "@users" if type_ == "user" else "@groups"
    return {"@id": f"{BASE}{site}/{view}/{id_}", "id": id_, "type": type_, "title": title}


def assert_no_secrets(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text, secret


async def test_principals_gives_an_editor_summaries_only(client: BaobabClient, office: str) -> None:
    site = office
    async with client.as_login("ed", PASSWORD) as ed:
        resp = await ed.get(f"{site}/proj/@principals", params={"search": "ali"})
        assert resp.status_code == 200, resp.text
        assert resp.json()["users"] == [summary(site, "alice", "user", "Alice Liddell")]
        resp = await ed.get(f"{site}/proj/@principals", params={"search": "staff"})
        assert resp.json()["groups"] == [summary(site, "staff", "group", "Staff")]
        assert_no_secrets(resp.text)
        # an e-mail address is no search key for who may not read it: no confirmation
        for term in ("alice@wonderland.example", "wonderland", "corp"):
            resp = await ed.get(f"{site}/proj/@principals", params={"search": term})
            assert resp.json()["users"] == [], term


async def test_principals_gives_a_user_manager_the_records(
    client: BaobabClient, office: str
) -> None:
    site = office
    async with client.as_user("siteadmin") as admin:  # ManageUsers
        resp = await admin.get(f"{site}/proj/@principals", params={"search": "wonderland"})
        (alice,) = resp.json()["users"]
        assert alice["email"] == "alice@wonderland.example"
        assert alice == (await admin.get(f"{site}/@users/alice")).json()


async def test_sharing_entries_are_summaries(client: BaobabClient, office: str) -> None:
    site = office
    async with client.as_login("ed", PASSWORD) as ed:
        resp = await ed.get(f"{site}/proj/@sharing", params={"search": "b"})
        assert resp.status_code == 200, resp.text
        entries = {e["id"]: e for e in resp.json()["entries"]}
        assert {"alice", "bob", "ed"} <= set(entries)
        for entry in entries.values():
            assert set(entry) == {"id", "type", "title", "login", "roles"}
        assert entries["bob"]["title"] == "Bob Builder"
        assert_no_secrets(resp.text)
        # nor does a search by e-mail find anyone
        plain = (await ed.get(f"{site}/proj/@sharing")).json()["entries"]
        resp = await ed.get(f"{site}/proj/@sharing", params={"search": "corp"})
        assert resp.json()["entries"] == plain
        assert "bob" not in {e["id"] for e in plain}


async def test_user_records_go_to_managers_and_to_the_user_only(
    client: BaobabClient, office: str
) -> None:
    site = office
    async with client.as_login("ed", PASSWORD) as ed:
        for path in (f"{site}/@users/alice", f"{site}/@users", f"{site}/@users?query=ali"):
            resp = await ed.get(path)
            assert_envelope(resp, 403, "Forbidden")
            assert_no_secrets(resp.text)
        own = (await ed.get(f"{site}/@users/ed")).json()
        assert own["email"] == "ed@corp.example"
    async with client.as_login("alice", PASSWORD) as alice:
        own = (await alice.get(f"{site}/@users/alice")).json()
        assert own["email"] == "alice@wonderland.example"
        assert own["groups"]["items"] == [{"id": "staff", "title": "Staff"}]
    async with client.as_user("siteadmin") as admin:
        record = (await admin.get(f"{site}/@users/alice")).json()
        assert (record["email"], record["description"]) == (
            "alice@wonderland.example",
            "Down the rabbit hole",
        )


async def test_group_records_and_members_go_to_managers_only(
    client: BaobabClient, office: str
) -> None:
    site = office
    async with client.as_login("alice", PASSWORD) as alice:  # a member of staff
        for path in (f"{site}/@groups/staff", f"{site}/@groups"):
            resp = await alice.get(path)
            assert_envelope(resp, 403, "Forbidden")
            assert_no_secrets(resp.text)
    async with client.as_user("siteadmin") as admin:
        record = (await admin.get(f"{site}/@groups/staff")).json()
        assert record["users"] == {"items": ["alice"], "items_total": 1}
        assert record["email"] == "staff@corp.example"


async def test_content_history_user_and_errors_name_principals_by_id_only(
    client: BaobabClient, office: str
) -> None:
    site = office
    memo = f"{site}/proj/memo"
    async with client.as_login("ed", PASSWORD) as ed:
        resp = await ed.get(memo)
        assert resp.json()["creators"] == ["alice"]
        history = (await ed.get(f"{memo}/@workflow")).json()
        assert [entry["actor"] for entry in history["history"]] == ["alice", "alice"]
        answers = [
            resp,
            await ed.get(f"{memo}/@workflow"),
            await ed.get(f"{site}/proj/@user"),
            await ed.get(f"{site}/proj/@sharing"),
            await ed.get(f"{site}/proj", params={"fullobjects": "1"}),
            # errors naming principals
            await ed.post(
                f"{site}/proj/@sharing",
                json={"entries": [{"id": "nobody", "roles": {"baobab.Reader": True}}]},
            ),
            await ed.patch(f"{site}/@users/alice", json={"email": "x@example.org"}),
            await ed.post(f"{site}/@users/alice/reset-password", json={}),
        ]
        for answer in answers:
            assert_no_secrets(answer.text)

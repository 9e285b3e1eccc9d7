"""A member who leaves a group (or a user who loses a global role, or whose group loses one or
is deleted) stops receiving, at once, frames about what only the group (the role) could see.
An administrator's ``PATCH @groups`` (``PATCH @users``, ``DELETE @groups``) commits before the
next change does, so that change's frame must be guarded with the user's new groups and roles;
GET already answers 404. (Found by the property suite's ``live`` property, third stage.) The
principal used to be re-read after the change was delivered, concurrently with the next
commits, so a commit delivered first was guarded with the old groups and roles: in process,
FileStorage's next commit always won that race, PostgreSQL's slower one usually lost it. The
change now carries the accounts it leaves and the hub applies them in commit order."""

from __future__ import annotations

from typing import Any

from baobab.asgi.app import BaobabApp
from baobab.testing import BaobabClient, add, add_group, add_user, password_of, update_sharing
from baobab.testing.websocket import basic, ws_connect

Change = tuple[str, str, Any]  # method, URL, JSON body (None: no body)


async def test_no_frame_after_leaving_the_group(
    baobab_app: BaobabApp, client: BaobabClient, site: str
) -> None:
    folder = await add(client, site, "Folder", "f", title="Staff only")  # private
    await add_user(client, site, "alice")
    await add_group(client, site, "staff", users=["alice"])
    await update_sharing(client, folder, {"staff": {"baobab.Reader": True}})
    change: Change = ("PATCH", f"{site}/@groups/staff", {"users": {"alice": False}})
    await _no_frame_after(baobab_app, client, site, folder, change)


async def test_no_frame_after_losing_a_global_role(
    baobab_app: BaobabApp, client: BaobabClient, site: str
) -> None:
    folder = await add(client, site, "Folder", "f", title="Readers only")  # private
    await add_user(client, site, "alice", roles=["baobab.Reader"])
    change: Change = ("PATCH", f"{site}/@users/alice", {"roles": []})
    await _no_frame_after(baobab_app, client, site, folder, change)


async def test_no_frame_after_the_group_loses_its_global_role(
    baobab_app: BaobabApp, client: BaobabClient, site: str
) -> None:
    folder = await add(client, site, "Folder", "f", title="Readers only")  # private
    await add_user(client, site, "alice")
    await add_group(client, site, "staff", users=["alice"], roles=["baobab.Reader"])
    change: Change = ("PATCH", f"{site}/@groups/staff", {"roles": []})
    await _no_frame_after(baobab_app, client, site, folder, change)


async def test_no_frame_after_the_group_is_deleted(
    baobab_app: BaobabApp, client: BaobabClient, site: str
) -> None:
    folder = await add(client, site, "Folder", "f", title="Staff only")  # private
    await add_user(client, site, "alice")
    await add_group(client, site, "staff", users=["alice"])
    await update_sharing(client, folder, {"staff": {"baobab.Reader": True}})
    change: Change = ("DELETE", f"{site}/@groups/staff", None)
    await _no_frame_after(baobab_app, client, site, folder, change)


async def _no_frame_after(
    app: BaobabApp, client: BaobabClient, site: str, folder: str, change: Change
) -> None:
    """Alice's socket receives nothing about ``folder`` once ``change`` (a request that takes
    her access away) is committed."""
    alice = basic("alice", password_of("alice"))
    async with ws_connect(app, f"{site}/@ws", headers=alice) as ws:
        await ws.send_json({"type": "subscribe", "id": 1})
        assert (await ws.receive_json())["type"] == "ack"
        method, url, body = change
        resp = await client.request(method, url, json=body)
        assert resp.status_code == 204, resp.text
        resp = await client.patch(folder, json={"title": "Renamed after alice left"})
        assert resp.status_code == 204
        async with client.as_login("alice", password_of("alice")) as as_alice:
            assert (await as_alice.get(folder)).status_code == 404
        fence = await add(client, site, "Document", "fence")
        # published: a frame alice may see, after the rename's, which she must not receive
        assert (await client.post(f"{fence}/@workflow/publish")).status_code == 200
        frames = []
        while True:
            frame = await ws.receive_json()
            if frame.get("event") == "transition" and frame["@id"].endswith("/fence"):
                break
            frames.append(frame)
        assert frames == [], frames

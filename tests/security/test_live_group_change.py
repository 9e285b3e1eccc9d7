"""A member who leaves a group stops receiving, at once, frames about what only the group
could see. An administrator's ``PATCH @groups`` commits before the next change does, so that
change's frame must be guarded with the user's new groups; GET already answers 404. (Found by
the property suite's ``live`` property, third stage.) Today the socket's principal is re-read
after the change is delivered, concurrently with the next commits: a commit that lands first
is guarded with the old groups. In process, FileStorage's next commit always wins that race;
PostgreSQL's slower one loses it here, but not under a real server's concurrent writes."""

from __future__ import annotations

from baobab.asgi.app import BaobabApp
from baobab.testing import BaobabClient, add, add_group, add_user, password_of, update_sharing
from baobab.testing.websocket import basic, ws_connect


async def test_no_frame_after_leaving_the_group(
    baobab_app: BaobabApp, client: BaobabClient, site: str
) -> None:
    folder = await add(client, site, "Folder", "f", title="Staff only")  # private
    await add_user(client, site, "alice")
    await add_group(client, site, "staff", users=["alice"])
    await update_sharing(client, folder, {"staff": {"baobab.Reader": True}})
    alice = basic("alice", password_of("alice"))
    async with ws_connect(baobab_app, f"{site}/@ws", headers=alice) as ws:
        await ws.send_json({"type": "subscribe", "id": 1})
        assert (await ws.receive_json())["type"] == "ack"
        resp = await client.patch(f"{site}/@groups/staff", json={"users": {"alice": False}})
        assert resp.status_code == 204
        resp = await client.patch(folder, json={"title": "Renamed after alice left"})
        assert resp.status_code == 204
        async with client.as_login("alice", password_of("alice")) as as_alice:
            assert (await as_alice.get(folder)).status_code == 404
        fence = await add(client, site, "Document", "fence")  # a frame alice may see…
        assert (await client.post(f"{fence}/@workflow/publish")).status_code == 200
        frames = []
        while True:  # …after the rename's, which she must not receive
            frame = await ws.receive_json()
            if frame.get("event") == "transition" and frame["@id"].endswith("/fence"):
                break
            frames.append(frame)
        assert frames == [], frames

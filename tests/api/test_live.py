"""Live push in process: the @ws protocol, guarded delivery, notifications, since and gap.

The same app as the REST tests, driven through its ASGI ``websocket`` scope
(:mod:`baobab.testing.websocket`); tests/server/test_live_server.py repeats the essentials
with a real client against ``baobab serve``. "Nothing received" is asserted with a fence: a
later write the socket may see must be the next frame it gets (delivery is in commit order).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from baobab.asgi.app import BaobabApp
from baobab.testing import (
    ROOT_PASSWORD,
    TEST_USERS,
    BaobabClient,
    add,
    assert_envelope,
    login,
    make_settings,
    share,
    update_sharing,
)
from baobab.testing.websocket import Closed, Rejected, WebSocket, basic, ws_connect


def user(name: str) -> dict[str, str]:
    return basic(name, TEST_USERS[name][0])


ROOT = basic("root", ROOT_PASSWORD)
READER, CONTRIBUTOR = "baobab.Reader", "baobab.Contributor"


async def doc(client: BaobabClient, where: str, id_: str, **extra: Any) -> str:
    """A Document titled by its id."""
    return await add(client, where, "Document", id_, title=id_, **extra)


async def closed_with(ws: WebSocket, code: int) -> str:
    """Read up to the close: the ``close`` frame announcing ``code``, then the close itself;
    the reason."""
    while True:
        frame = await ws.receive_json()
        if frame["type"] == "close":
            break
    assert frame["code"] == code, frame
    with pytest.raises(Closed) as closed:
        await ws.receive_json()
    assert (closed.value.code, closed.value.reason) == (code, frame["reason"])
    reason: str = frame["reason"]
    return reason


def cursor(frame: dict[str, Any]) -> tuple[int, int]:
    tid, _, index = frame["cursor"].partition("-")
    return int(tid, 16), int(index, 16)


async def test_events_in_commit_order(
    baobab_app: BaobabApp, client: BaobabClient, site: str
) -> None:
    await doc(client, site, "other")
    async with ws_connect(baobab_app, f"{site}/@ws", headers=ROOT) as ws:
        await ws.subscribe()
        path = await doc(client, site, "a")
        assert (await client.patch(path, json={"title": "A2"})).status_code == 204
        assert (await client.post(f"{path}/@workflow/publish")).status_code == 200
        folder = await client.post(site, json={"@type": "Folder", "id": "f", "title": "F"})
        assert folder.status_code == 201
        resp = await client.post(f"{path}/@move", json={"destination": f"{site}/f"})
        assert resp.status_code in (200, 201), resp.text
        assert (await client.delete(f"{site}/f/a")).status_code == 204
        frames = await ws.frames(6)
    kinds = [f["event"] for f in frames]
    assert kinds == ["added", "modified", "transition", "added", "moved", "removed"]
    added, modified, transition, _, moved, removed = frames
    base = "http://baobab.test"
    assert added["@id"] == f"{base}{path}" and added["@type"] == "Document"
    assert added["parent"] == {"@id": f"{base}{site}"}
    assert added["review_state"] == "private" and added["actor"] == "root"
    assert modified["changed"] == ["title"] and modified["UID"] == added["UID"]
    assert transition["transition"] == "publish" and transition["new_state"] == "published"
    assert moved["@id"] == f"{base}{site}/f/a" and moved["old_@id"] == f"{base}{path}"
    assert removed["@id"] == f"{base}{site}/f/a"
    keys = [cursor(f) for f in frames]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)
    assert not any("allowed" in f or "path" in f for f in frames)  # guard data stays inside


async def test_one_frame_per_event_filters_and_unsubscribe(
    baobab_app: BaobabApp, client: BaobabClient, site: str
) -> None:
    async with ws_connect(baobab_app, f"{site}/@ws", headers=ROOT) as ws:
        first = await ws.subscribe()
        await ws.send_json({"type": "subscribe", "id": 2, "path": site, "events": ["modified"]})
        second = (await ws.receive_json())["subscription"]
        assert second != first["subscription"]
        path = await doc(client, site, "d")
        await client.patch(path, json={"title": "x"})
        assert [f["event"] for f in await ws.frames(2)] == ["added", "modified"]
        await ws.send_json({"type": "unsubscribe", "id": 3, "subscription": first["subscription"]})
        assert await ws.receive_json() == {"type": "ack", "id": 3}
        await doc(client, site, "e")  # only "added": the remaining subscription skips it
        await client.patch(path, json={"title": "y"})
        frame = await ws.event()
        assert frame["event"] == "modified" and frame["@id"].endswith("/d")
        await ws.send_json({"type": "ping", "id": 4})
        pong = await ws.receive_json()
        assert pong["type"] == "ack" and pong["id"] == 4 and pong["cursor"] == frame["cursor"]


async def test_subscription_below_a_path_only(
    baobab_app: BaobabApp, client: BaobabClient, site: str
) -> None:
    await client.post(site, json={"@type": "Folder", "id": "news", "title": "N"})
    await client.post(site, json={"@type": "Folder", "id": "events", "title": "E"})
    async with ws_connect(baobab_app, f"{site}/@ws", headers=ROOT) as ws:
        ack = await ws.subscribe(path="news")
        assert ack["path"] == f"{site}/news"
        await doc(client, f"{site}/events", "skip")
        await doc(client, f"{site}/news", "seen")
        assert (await ws.event())["@id"].endswith("/news/seen")


async def test_aborted_transactions_push_nothing(
    baobab_app: BaobabApp, client: BaobabClient, site: str
) -> None:
    path = await doc(client, site, "d")
    async with ws_connect(baobab_app, f"{site}/@ws", headers=ROOT) as ws:
        await ws.subscribe()
        assert (await client.patch(path, json={"title": 5})).status_code == 422
        assert (await client.post(site, json={"@type": "Document", "id": "d"})).status_code == 409
        assert (await client.post(f"{path}/@workflow/nonsense")).status_code >= 400
        await doc(client, site, "fence")
        assert (await ws.event())["@id"].endswith("/fence")


async def test_guarded_by_local_roles_and_blocked_inheritance(
    baobab_app: BaobabApp, client: BaobabClient, site: str
) -> None:
    await client.post(site, json={"@type": "Folder", "id": "a", "title": "A"})
    await client.post(f"{site}/a", json={"@type": "Folder", "id": "b", "title": "B"})
    await share(client, f"{site}/a", "member", READER)
    await update_sharing(client, f"{site}/a/b", inherit=False)  # blocks member's grant
    async with (
        ws_connect(baobab_app, f"{site}/@ws", headers=user("member")) as member,
        ws_connect(baobab_app, f"{site}/@ws", headers=user("reviewer")) as other,
    ):
        await member.subscribe()
        await other.subscribe()
        await doc(client, f"{site}/a/b", "hidden")  # private, below the block
        await doc(client, site, "private")  # private, outside a
        seen = await doc(client, f"{site}/a", "seen")
        assert (await member.event())["@id"].endswith(seen)
        public = await doc(client, site, "public")
        await client.post(f"{public}/@workflow/publish")
        # a reviewer may not View private items: the first thing it sees is the publication
        frame = await other.event()
        assert frame["event"] == "transition" and frame["@id"].endswith("/public")
        frame = await member.event()
        assert frame["event"] == "transition" and frame["@id"].endswith("/public")


async def test_losing_access_is_a_removal(
    baobab_app: BaobabApp, client: BaobabClient, site: str
) -> None:
    await client.post(site, json={"@type": "Folder", "id": "a", "title": "A"})
    await share(client, f"{site}/a", "member", READER)
    path = await doc(client, f"{site}/a", "d")
    async with ws_connect(baobab_app, f"{site}/@ws", headers=user("member")) as ws:
        await ws.subscribe(events=["removed", "added"])
        await share(client, f"{site}/a", "member", READER, False)
        gone = await ws.event()
        assert gone["event"] == "removed" and gone["@id"] == f"http://baobab.test{site}/a"
        assert "changed" not in gone
        await client.patch(path, json={"title": "unseen"})
        await share(client, f"{site}/a", "member", READER)
        await doc(client, f"{site}/a", "fence")
        assert (await ws.event())["@id"].endswith("/a/fence")


async def test_moved_out_of_sight_is_a_removal_at_the_old_place(
    baobab_app: BaobabApp, client: BaobabClient, site: str
) -> None:
    await client.post(site, json={"@type": "Folder", "id": "a", "title": "A"})
    await client.post(site, json={"@type": "Folder", "id": "z", "title": "Z"})
    await share(client, f"{site}/a", "member", READER)
    path = await doc(client, f"{site}/a", "d")
    async with ws_connect(baobab_app, f"{site}/@ws", headers=user("member")) as ws:
        await ws.subscribe()
        resp = await client.post(f"{path}/@move", json={"destination": f"{site}/z"})
        assert resp.status_code in (200, 201), resp.text
        gone = await ws.event()
        assert gone["event"] == "removed" and gone["@id"] == f"http://baobab.test{path}"


async def test_protocol_errors_answer_and_keep_the_socket(
    baobab_app: BaobabApp, client: BaobabClient, site: str
) -> None:
    async with ws_connect(baobab_app, f"{site}/@ws", headers=ROOT) as ws:
        cases: list[tuple[Any, Any, str]] = [
            ("{nope", None, "MalformedJSON"),
            ({"type": "dance", "id": 1}, 1, "BadRequest"),
            ({"type": "ping"}, None, "BadRequest"),
            ({"type": "ping", "id": 2, "extra": True}, 2, "BadRequest"),
            ({"type": "subscribe", "id": 3, "path": "/db"}, 3, "BadRequest"),
            ({"type": "subscribe", "id": 4, "path": "a/../.."}, 4, "BadRequest"),
            ({"type": "subscribe", "id": 5, "since": "yesterday"}, 5, "BadRequest"),
            ({"type": "subscribe", "id": 6, "events": "added"}, 6, "BadRequest"),
            ({"type": "unsubscribe", "id": 7, "subscription": "s99"}, 7, "BadRequest"),
        ]
        for frame, frame_id, kind in cases:
            if isinstance(frame, str):
                await ws.send_text(frame)
            else:
                await ws.send_json(frame)
            answer = await ws.receive_json()
            assert answer["type"] == "error" and answer["id"] == frame_id, (frame, answer)
            assert answer["error"]["type"] == kind and answer["error"]["message"]
        await ws.subscribe()  # still usable
        await doc(client, site, "d")
        assert (await ws.event())["event"] == "added"


async def _own_app(tmp_path: Path, **live: Any) -> BaobabApp:
    app = BaobabApp(make_settings(tmp_path / "own", "filestorage", live=live))
    await app.startup()
    return app


def _root_client(app: BaobabApp) -> BaobabClient:
    return BaobabClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://baobab.test",
        auth=("root", ROOT_PASSWORD),
    )


async def test_limits(tmp_path: Path) -> None:
    app = await _own_app(tmp_path, max_subscriptions=2, max_frame_size=200, max_queued_bytes=200)
    try:
        async with ws_connect(app, "/db/@ws", headers=ROOT) as ws:
            for i in range(2):
                await ws.send_json({"type": "subscribe", "id": i})
                assert (await ws.receive_json())["type"] == "ack"
            await ws.send_json({"type": "subscribe", "id": 9})
            answer = await ws.receive_json()
            assert answer["type"] == "error" and answer["error"]["details"] == {"limit": 2}
            await ws.send_text("[" + " " * 300 + "]")
            await closed_with(ws, 1009)
        async with ws_connect(app, "/db/@ws", headers=ROOT) as ws:
            await ws.subscribe()
            async with _root_client(app) as local:
                resp = await local.post("/db", json={"@type": "Container", "id": "s"})
                assert resp.status_code == 201
            await closed_with(ws, 4008)  # one event frame is over 200 bytes
    finally:
        await app.shutdown()


async def test_since_replays_what_was_missed(
    baobab_app: BaobabApp, client: BaobabClient, site: str
) -> None:
    async with ws_connect(baobab_app, f"{site}/@ws", headers=ROOT) as ws:
        await ws.subscribe()
        await doc(client, site, "a")
        last = (await ws.event())["cursor"]
    for name in ("b", "c"):
        await doc(client, site, name)
    await client.patch(f"{site}/a", json={"title": "again"})
    async with ws_connect(baobab_app, f"{site}/@ws", headers=ROOT) as ws:
        await ws.subscribe(since=last)
        replayed = await ws.frames(3)
        assert [f["@id"].rsplit("/", 1)[1] for f in replayed] == ["b", "c", "a"]
        await doc(client, site, "d")
        assert (await ws.event())["@id"].endswith("/d")
    async with ws_connect(baobab_app, f"{site}/@ws", headers=ROOT) as ws:
        newest = (await ws.subscribe())["cursor"]
        await ws.send_json({"type": "subscribe", "id": 2, "path": "a", "since": newest})
        assert (await ws.receive_json())["type"] == "ack"  # nothing newer: nothing replayed
        await client.patch(f"{site}/a", json={"title": "live"})
        assert (await ws.event())["event"] == "modified"


async def test_gap_when_the_backlog_no_longer_reaches(tmp_path: Path) -> None:
    app = await _own_app(tmp_path, backlog=2)
    try:
        async with _root_client(app) as c:
            await c.post("/db", json={"@type": "Container", "id": "s"})
            async with ws_connect(app, "/db/s/@ws", headers=ROOT) as ws:
                await ws.subscribe()
                await doc(c, "/db/s", "a")
                last = (await ws.event())["cursor"]
            for name in "bcd":
                await doc(c, "/db/s", name)
            async with ws_connect(app, "/db/s/@ws", headers=ROOT) as ws:
                await ws.subscribe(since=last)
                gap = await ws.receive_json()
                assert gap["type"] == "gap" and gap["since"] == last
                assert [f["@id"][-1] for f in await ws.frames(2)] == ["c", "d"]
    finally:
        await app.shutdown()


async def _refused(app: BaobabApp, path: str, status: int, **kwargs: Any) -> dict[str, Any]:
    with pytest.raises(Rejected) as refused:
        async with ws_connect(app, path, **kwargs):
            pass
    assert refused.value.status == status, refused.value.body
    body: dict[str, Any] = refused.value.body
    assert set(body) == {"type", "message", "details", "request_id"}
    return body


async def test_handshake_credentials(
    baobab_app: BaobabApp, client: BaobabClient, site: str
) -> None:
    token = await login(client, "", "editor", TEST_USERS["editor"][0])
    bearer = {"authorization": f"Bearer {token}"}
    async with ws_connect(baobab_app, f"{site}/@ws", headers=bearer) as ws:
        await ws.subscribe()
    # a ticket works once, and only as a ticket
    resp = await client.with_token(token).get(f"{site}/@wstoken")
    assert resp.status_code == 200 and resp.headers["cache-control"] == "no-store"
    ticket = resp.json()["token"]
    async with ws_connect(baobab_app, f"{site}/@ws", query=f"ws_token={ticket}") as ws:
        ack = await ws.subscribe()
        assert ack["path"] == site
    body = await _refused(baobab_app, f"{site}/@ws", 401, query=f"ws_token={ticket}")
    assert "already used" in body["message"]
    assert_envelope(await client.with_token(ticket).get(site), 401)
    await _refused(baobab_app, f"{site}/@ws", 401, query=f"ws_token={token}")
    await _refused(baobab_app, f"{site}/@ws", 401, query=f"ws_token={ticket[:-2]}xx")
    # the login cookie, from this site's pages only
    cookie = {"cookie": f"theme=dark; auth_token={token}"}
    async with ws_connect(baobab_app, f"{site}/@ws", headers=cookie) as ws:
        await ws.subscribe()
    same = {**cookie, "origin": "http://baobab.test"}
    async with ws_connect(baobab_app, f"{site}/@ws", headers=same) as ws:
        await ws.subscribe()
    await _refused(
        baobab_app, f"{site}/@ws", 403, headers={**cookie, "origin": "https://evil.example"}
    )
    # anonymous, wrong password, not a folder, plain HTTP
    await _refused(baobab_app, f"{site}/@ws", 401)
    await _refused(baobab_app, f"{site}/@ws", 401, headers=basic("editor", "wrong"))
    await doc(client, site, "d")
    await _refused(baobab_app, f"{site}/d/@ws", 404, headers=ROOT)
    resp = await client.get(f"{site}/@ws")
    assert_envelope(resp, 426, "UpgradeRequired")
    assert resp.headers["upgrade"] == "websocket"
    assert_envelope(await client.as_user(None).get(f"{site}/@wstoken"), 401)


async def test_notifications_for_reviewers_and_owners(
    baobab_app: BaobabApp, client: BaobabClient, site: str
) -> None:
    await share(client, site, "contributor", CONTRIBUTOR)
    author = client.as_user("contributor")
    path = await doc(author, site, "draft")
    async with (
        ws_connect(baobab_app, f"{site}/@ws", headers=user("reviewer")) as reviewer,
        ws_connect(baobab_app, f"{site}/@ws", headers=user("contributor")) as owner,
        ws_connect(baobab_app, f"{site}/@ws", headers=user("member")) as bystander,
    ):
        assert (await author.post(f"{path}/@workflow/submit")).status_code == 200
        note = await reviewer.event()  # no subscription needed
        assert note["type"] == "notification" and note["reason"] == "review"
        assert note["@id"].endswith("/draft") and note["new_state"] == "pending"
        assert note["actor"] == "contributor"
        reviewers = client.as_user("reviewer")
        assert (await reviewers.post(f"{path}/@workflow/publish")).status_code == 200
        note = await owner.event()
        assert (note["type"], note["reason"]) == ("notification", "published")
        assert (await author.post(f"{path}/@workflow/retract")).status_code == 200
        assert (await author.post(f"{path}/@workflow/submit")).status_code == 200
        assert (await reviewers.post(f"{path}/@workflow/reject")).status_code == 200
        note = await owner.event()  # not for their own retraction: the rejection
        assert (note["reason"], note["transition"]) == ("rejected", "reject")
        note = await reviewer.event()  # the second submission; never its own actions
        assert (note["reason"], note["transition"]) == ("review", "submit")
        assert reviewer.pending() == 0 and bystander.pending() == 0


async def test_roles_changes_reach_open_sockets(
    baobab_app: BaobabApp, client: BaobabClient, site: str
) -> None:
    resp = await client.post(
        f"{site}/@users",
        json={"username": "bob", "password": "bob-password-1", "email": "b@example.org"},
    )
    assert resp.status_code == 201, resp.text
    bob = basic("bob", "bob-password-1")
    async with ws_connect(baobab_app, f"{site}/@ws", headers=bob) as ws:
        await ws.subscribe()
        await doc(client, site, "hidden")
        resp = await client.patch(f"{site}/@users/bob", json={"roles": ["baobab.Reader"]})
        assert resp.status_code == 204, resp.text
        for i in range(50):  # the socket re-reads bob through the database, off this turn
            await doc(client, site, f"probe{i}")
            try:
                frame = await ws.receive_json(timeout=0.2)
            except TimeoutError:
                continue
            break
        else:
            pytest.fail("bob's socket never learned of his new role")
        assert "/probe" in frame["@id"] and frame["event"] == "added"
        resp = await client.patch(f"{site}/@users/bob", json={"disabled": True})
        assert resp.status_code == 204, resp.text
        assert "disabled" in await closed_with(ws, 4001)


async def test_sockets_close_when_their_token_ends(
    baobab_app: BaobabApp, client: BaobabClient, site: str, tmp_path: Path
) -> None:
    token = await login(client, "", "editor", TEST_USERS["editor"][0])
    ticket = (await client.with_token(token).get(f"{site}/@wstoken")).json()["token"]
    async with (
        ws_connect(baobab_app, f"{site}/@ws", headers={"authorization": f"Bearer {token}"}) as a,
        ws_connect(baobab_app, f"{site}/@ws", query=f"ws_token={ticket}") as b,
        ws_connect(baobab_app, f"{site}/@ws", headers=user("editor")) as basic_auth,
    ):
        await basic_auth.subscribe()
        assert (await client.with_token(token).post("/@logout")).status_code == 204
        for ws in (a, b):  # the socket opened with the token, and the one with its ticket
            assert "logged out" in await closed_with(ws, 4001)
        await doc(client, site, "still")  # Basic credentials have no token to end
        assert (await basic_auth.event())["@id"].endswith("/still")
    app = BaobabApp(make_settings(tmp_path / "expiry", "filestorage", auth={"token_expiry": 1}))
    await app.startup()
    try:
        async with _root_client(app) as c:
            short = await login(c, "", "editor", TEST_USERS["editor"][0])
        headers = {"authorization": f"Bearer {short}"}
        async with ws_connect(app, "/db/@ws", headers=headers) as ws:
            assert "expired" in await closed_with(ws, 4001)
    finally:
        await app.shutdown()


async def test_shutdown_closes_sockets_with_1001(tmp_path: Path) -> None:
    app = await _own_app(tmp_path)
    try:
        async with ws_connect(app, "/db/@ws", headers=ROOT) as ws:
            await ws.subscribe()
            await app.shutdown()
            assert "shutting down" in await closed_with(ws, 1001)
    finally:
        await app.shutdown()  # a second shutdown does nothing

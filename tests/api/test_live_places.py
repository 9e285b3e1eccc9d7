"""A pushed frame never names a place its receiver could not View (docs/live.md, "What a
frame names"): live, and in ``since`` replays, judged on what was allowed when the event
committed.

``member`` has no global role that Views private content; ``hq`` is a private folder it may
not see, ``open`` one where it is Reader. "Nothing received" is asserted with a fence: a later
write the socket may see must be the next frame it gets (delivery is in commit order).
"""

from __future__ import annotations

import random
from typing import Any

import pytest

from baobab.asgi.app import BaobabApp
from baobab.testing import TEST_USERS, BaobabClient, add, share, update_sharing
from baobab.testing.websocket import WebSocket, basic, ws_connect

MEMBER = basic("member", TEST_USERS["member"][0])
BASE = "http://baobab.test"


async def places(client: BaobabClient, site: str) -> tuple[str, str]:
    hq = await add(client, site, "Folder", "hq")
    open_ = await add(client, site, "Folder", "open")
    await share(client, open_, "member", "baobab.Reader")
    return hq, open_


async def status(client: BaobabClient, path: str) -> int:
    return (await client.get(path)).status_code


def mentions(frame: dict[str, Any], place: str) -> bool:
    return place in repr(frame)


async def test_a_move_out_of_a_hidden_folder_does_not_name_it(
    baobab_app: BaobabApp, client: BaobabClient, site: str
) -> None:
    hq, open_ = await places(client, site)
    memo = await add(client, hq, "Document", "memo")
    async with ws_connect(baobab_app, f"{site}/@ws", headers=MEMBER) as ws:
        await ws.subscribe()
        resp = await client.post(f"{memo}/@move", json={"destination": open_})
        assert resp.status_code == 200, resp.text
        frame = await ws.event()
    assert (frame["event"], frame["@id"]) == ("moved", f"{BASE}{open_}/memo")
    assert "old_@id" not in frame and not mentions(frame, hq)


async def test_a_move_the_receiver_saw_on_both_sides_keeps_old_id(
    baobab_app: BaobabApp, client: BaobabClient, site: str
) -> None:
    _, open_ = await places(client, site)
    inner = await add(client, open_, "Folder", "inner")
    doc = await add(client, open_, "Document", "doc")
    async with ws_connect(baobab_app, f"{site}/@ws", headers=MEMBER) as ws:
        await ws.subscribe()
        await client.post(f"{doc}/@move", json={"destination": inner})
        frame = await ws.event()
    assert frame["old_@id"] == f"{BASE}{doc}" and frame["@id"] == f"{BASE}{inner}/doc"


async def test_a_subscription_at_a_hidden_place_learns_nothing_leaving_it(
    baobab_app: BaobabApp, client: BaobabClient, site: str
) -> None:
    hq, open_ = await places(client, site)
    memo = await add(client, hq, "Document", "memo")
    fence = await add(client, hq, "Document", "fence")
    await share(client, fence, "member", "baobab.Reader")  # seen, in a folder that is not
    async with ws_connect(baobab_app, f"{site}/@ws", headers=MEMBER) as ws:
        await ws.subscribe(path=hq)  # a guessed path is accepted: it must tell nothing
        await client.post(f"{memo}/@move", json={"destination": open_})
        await client.patch(fence, json={"title": "fence"})
        frame = await ws.event()
    assert (frame["event"], frame["@id"]) == ("modified", f"{BASE}{fence}")


async def test_a_move_into_a_hidden_folder_is_a_removal_naming_only_the_old_place(
    baobab_app: BaobabApp, client: BaobabClient, site: str
) -> None:
    hq, open_ = await places(client, site)
    doc = await add(client, open_, "Document", "doc")
    async with ws_connect(baobab_app, f"{site}/@ws", headers=MEMBER) as ws:
        await ws.subscribe()
        await client.post(f"{doc}/@move", json={"destination": hq})
        frame = await ws.event()
    assert (frame["event"], frame["@id"]) == ("removed", f"{BASE}{doc}")
    assert frame["parent"] == {"@id": f"{BASE}{open_}"}
    assert not mentions(frame, hq)
    assert "review_state" not in frame and "modified" not in frame  # the object afterwards


async def test_a_subscription_at_a_hidden_place_learns_nothing_entering_it(
    baobab_app: BaobabApp, client: BaobabClient, site: str
) -> None:
    hq, open_ = await places(client, site)
    doc = await add(client, open_, "Document", "doc")
    fence = await add(client, hq, "Document", "fence")
    await share(client, fence, "member", "baobab.Reader")
    async with ws_connect(baobab_app, f"{site}/@ws", headers=MEMBER) as ws:
        await ws.subscribe(path=hq)
        await client.post(f"{doc}/@move", json={"destination": hq})
        await client.patch(fence, json={"title": "fence"})
        frame = await ws.event()
    assert (frame["event"], frame["@id"]) == ("modified", f"{BASE}{fence}")


async def test_a_copy_names_its_original_only_to_who_could_view_it(
    baobab_app: BaobabApp, client: BaobabClient, site: str
) -> None:
    hq, open_ = await places(client, site)
    memo = await add(client, hq, "Document", "memo")
    seen = await add(client, open_, "Document", "seen")
    async with ws_connect(baobab_app, f"{site}/@ws", headers=MEMBER) as ws:
        await ws.subscribe()
        resp = await client.post(f"{memo}/@copy", json={"destination": open_})
        assert resp.status_code == 201, resp.text
        hidden_original = await ws.event()
        await client.post(f"{seen}/@copy", json={})
        seen_original = await ws.event()
    assert (hidden_original["event"], hidden_original["@id"]) == ("copied", f"{BASE}{open_}/memo")
    assert "original" not in hidden_original and not mentions(hidden_original, hq)
    assert seen_original["original"] == seen


async def test_since_replays_withhold_the_same_places(
    baobab_app: BaobabApp, client: BaobabClient, site: str
) -> None:
    """A replay judges on the snapshot: hq was hidden from member when memo left it, so the
    replay does not name it, even though member may View hq by the time it replays."""
    hq, open_ = await places(client, site)
    memo = await add(client, hq, "Document", "memo")
    draft = await add(client, hq, "Document", "draft")
    async with ws_connect(baobab_app, f"{site}/@ws", headers=MEMBER) as ws:
        since = (await ws.subscribe())["cursor"]
    await client.post(f"{memo}/@move", json={"destination": open_})
    await client.post(f"{draft}/@copy", json={"destination": open_})
    await share(client, hq, "member", "baobab.Reader")  # too late to count for those events
    async with ws_connect(baobab_app, f"{site}/@ws", headers=MEMBER) as ws:
        await ws.subscribe(since=since)
        moved, copied, shared = await ws.frames(3)
        await ws.send_json({"type": "subscribe", "id": 2, "path": hq, "since": since})
        assert (await ws.receive_json())["type"] == "ack"
        # what the hq subscription replays: the grant on hq, not memo leaving it
        assert (await ws.event())["event"] == "sharing"
        await client.patch(f"{open_}/memo", json={"title": "fence"})
        fence = await ws.event()
    assert (moved["event"], copied["event"]) == ("moved", "copied")
    assert "old_@id" not in moved and "original" not in copied
    assert not mentions(moved, hq) and not mentions(copied, hq)
    assert (shared["event"], shared["@id"]) == ("sharing", f"{BASE}{hq}")
    assert (fence["event"], fence["@id"]) == ("modified", f"{BASE}{open_}/memo")


# -- random moves and copies: every place a frame names was one the receiver could View ------


async def _tree(client: BaobabClient, rng: random.Random, path: str, depth: int) -> None:
    for i in range(rng.randint(1, 3)):
        folder = depth < 3 and rng.random() < 0.6
        child = await add(client, path, "Folder" if folder else "Document", f"n{i}")
        if rng.random() < 0.3:
            await client.post(f"{child}/@workflow/publish")
        if rng.random() < 0.25:
            await update_sharing(client, child, inherit=False)
        if rng.random() < 0.25:
            await share(client, child, "member", "baobab.Reader")
        if folder:
            await _tree(client, rng, child, depth + 1)


async def _paths(client: BaobabClient, path: str) -> list[tuple[str, bool]]:
    """(path, is a folder) of everything below ``path``."""
    found: list[tuple[str, bool]] = []
    for item in (await client.get(path)).json()["items"]:
        child = item["@id"].removeprefix(BASE)
        found.append((child, item["is_folderish"]))
        if item["is_folderish"]:
            found += await _paths(client, child)
    return found


async def _until(ws: WebSocket, fence: str) -> list[dict[str, Any]]:
    got = []
    while (frame := await ws.event())["@id"] != f"{BASE}{fence}":
        got.append(frame)
    return got


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder + "/")


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
async def test_random_moves_and_copies_name_only_places_the_receiver_could_view(
    baobab_app: BaobabApp, client: BaobabClient, site: str, seed: int
) -> None:
    rng = random.Random(seed)
    hq, open_ = await places(client, site)
    fence = await add(client, open_, "Document", "fence")
    for top in (hq, open_):
        await _tree(client, rng, top, 1)
    member = client.as_user("member")
    hidden = [p for p, folder in await _paths(client, site) if folder]
    hidden = [p for p in hidden if await status(member, p) == 404]
    async with (
        ws_connect(baobab_app, f"{site}/@ws", headers=MEMBER) as ws,
        ws_connect(baobab_app, f"{site}/@ws", headers=MEMBER) as guessing,
    ):
        await ws.subscribe()
        for path in [*hidden[:5], fence]:  # guessed hidden folders, and the fence alone
            await guessing.subscribe(path=path)
        for step in range(8):
            everything = [(p, f) for p, f in await _paths(client, site) if p != fence]
            source, _ = rng.choice([(p, f) for p, f in everything if p not in (hq, open_)])
            folders = [p for p, f in everything if f and not _inside(p, source)]
            target = rng.choice(folders)
            copy = rng.random() < 0.5
            saw = await status(member, source) == 200
            resp = await client.post(
                f"{source}/@{'copy' if copy else 'move'}",
                json={"destination": target, "new_id": f"s{step}"},
            )
            assert resp.status_code in (200, 201), resp.text
            new = resp.json()["@id"].removeprefix(BASE)
            sees = await status(member, new) == 200
            await client.patch(fence, json={"title": f"fence {step}"})
            frames, guessed = await _until(ws, fence), await _until(guessing, fence)
            kind = "copied" if copy else "moved"
            if sees:
                (frame,) = frames
                assert (frame["event"], frame["@id"]) == (kind, f"{BASE}{new}")
                named = frame.get("original" if copy else "old_@id")
                assert named == ((source if copy else f"{BASE}{source}") if saw else None)
            elif saw and not copy:
                (frame,) = frames
                assert (frame["event"], frame["@id"]) == ("removed", f"{BASE}{source}")
                assert frame["parent"]["@id"] == f"{BASE}{source.rpartition('/')[0]}"
            else:
                assert frames == []
            for frame in guessed:  # only through a place under it where member saw it
                assert frame in frames
                places_seen = [new] if sees else []
                places_seen += [source] if saw and not copy else []
                assert any(_inside(p, h) for p in places_seen for h in hidden[:5])

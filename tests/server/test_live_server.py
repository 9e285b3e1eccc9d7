"""Live push (issue 5, docs/live.md) with a real WebSocket client against ``baobab serve``.

Every test reads frames with a bounded wait (:data:`FRAME_TIMEOUT`) and never asserts on
timing. That something is *not* delivered is shown with a fence: after the write that must
stay unseen, a later write the socket may see is made through the same server (delivery is
in commit order), and the next frame must be the fence's.

Most tests share one FileStorage server (``live``); each works in a folder of its own, with
users of its own where it changes them. Tests that need other settings (a tiny backlog, a
tiny queue, short tokens, Redis and PostgreSQL) start their own.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import os
import signal
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.typing import Origin

from baobab.testing import (
    content_call,
    delete_redis_keys,
    factories,
    login_call,
    redis_url,
    require_postgres,
    require_redis,
    send_sync,
    user_call,
    zap_postgres,
)
from baobab.testing.server import JWT_SECRET, ROOT_PASSWORD, ServerProcess, Servers

pytestmark = pytest.mark.server

FRAME_TIMEOUT = 10.0  # seconds to wait for one frame (a bound, not an expectation)
PASSWORD = "live-user-password"
READER, CONTRIBUTOR, REVIEWER = "baobab.Reader", "baobab.Contributor", "baobab.Reviewer"
ROOT_BASIC = "Basic " + base64.b64encode(f"root:{ROOT_PASSWORD}".encode()).decode()

# the site users of the shared server; tests that change a user's account make their own
USERS: dict[str, dict[str, Any]] = {
    "alice": {},
    "bob": {},
    "carol": {},  # owns content (Contributor where a test grants it)
    "dave": {"roles": [REVIEWER]},
}


# --- configuration and servers -----------------------------------------------------------


def live_config(servers: Servers, name: str, **sections: Any) -> Path:
    """A configuration on FileStorage with cheap password hashes, plus ``sections``."""
    data: dict[str, Any] = {
        "var_dir": str(servers.tmp_path / f"var-{name}"),
        "auth": {
            "root_password": ROOT_PASSWORD,
            "jwt_secret": JWT_SECRET,
            "argon2": {"time_cost": 1, "memory_cost": 64, "parallelism": 1},
        },
        "server": {"access_log": False},
    }
    for key, value in sections.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    return servers.config(data, name=f"{name}.json")


def make_site(server: ServerProcess, users: dict[str, dict[str, Any]]) -> None:
    """``/db/site`` (published) and its ``users``."""
    with server.root_client() as root:
        send_sync(root, content_call("/db", "Container", "site", title="Site"))
        for name, extra in users.items():
            send_sync(root, user_call("/db/site", name, PASSWORD, **extra))


def login(server: ServerProcess, user: str) -> str:
    """A site user's token (root's at ``/@login``)."""
    where, password = ("", ROOT_PASSWORD) if user == "root" else ("/db/site", PASSWORD)
    with server.client() as client:
        return send_sync(client, login_call(where, user, password))


@dataclass
class LiveSite:
    """A running server with ``/db/site``, and its users' tokens."""

    server: ServerProcess
    tokens: dict[str, str]

    @property
    def url(self) -> str:
        return self.server.url

    def abs(self, path: str) -> str:
        return self.server.url + path

    def add_user(self, user: str, **extra: Any) -> str:
        """Another site user; their token."""
        with self.server.root_client() as root:
            send_sync(root, user_call("/db/site", user, PASSWORD, **extra))
        self.tokens[user] = login(self.server, user)
        return self.tokens[user]


@pytest.fixture(scope="module")
def live(module_servers: Servers) -> LiveSite:
    server = module_servers.serve(live_config(module_servers, "live"))
    make_site(server, USERS)
    tokens = {user: login(server, user) for user in USERS}
    return LiveSite(server, tokens)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


# --- HTTP ------------------------------------------------------------------------------


class Http:
    """An async REST client of one user (root by default), with the writes tests need."""

    def __init__(self, base: str, *, token: str | None = None) -> None:
        auth = None if token is not None else ("root", ROOT_PASSWORD)
        headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
        self.client = httpx.AsyncClient(base_url=base, auth=auth, headers=headers, timeout=20.0)

    async def __aenter__(self) -> Http:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.client.aclose()

    async def ok(self, method: str, path: str, status: int, **kwargs: Any) -> httpx.Response:
        resp = await self.client.request(method, path, **kwargs)
        assert resp.status_code == status, f"{method} {path}: {resp.status_code} {resp.text}"
        return resp

    async def add(self, parent: str, id_: str, type_: str = "Document", **fields: Any) -> str:
        return await factories.add(self.client, parent, type_, id_, **fields)

    async def edit(self, path: str, **fields: Any) -> None:
        await self.ok("PATCH", path, 204, json=fields)

    async def share(self, path: str, user: str, role: str, grant: bool = True) -> None:
        await factories.share(self.client, path, user, role, grant)

    async def block(self, path: str) -> None:
        """Block the inheritance of local roles at ``path``."""
        await factories.update_sharing(self.client, path, inherit=False)

    async def transition(self, path: str, name: str) -> None:
        await factories.transition(self.client, path, name)

    async def move(self, path: str, destination: str) -> str:
        return await factories.move(self.client, path, destination)

    async def delete(self, path: str) -> None:
        await self.ok("DELETE", path, 204)


def root_http(live: LiveSite) -> Http:
    return Http(live.url)


def user_http(live: LiveSite, user: str) -> Http:
    return Http(live.url, token=live.tokens[user])


# --- WebSocket ---------------------------------------------------------------------------


def ws_url(server: ServerProcess, path: str = "/db/site", query: str = "") -> str:
    url = server.url.replace("http", "ws", 1) + path + "/@ws"
    return f"{url}?{query}" if query else url


def cursor_key(cursor: str) -> tuple[int, int]:
    tid, _, index = cursor.partition("-")
    assert len(tid) == 16, cursor
    return int(tid, 16), int(index, 16)


class Socket:
    """One client socket: frames in order, each awaited at most :data:`FRAME_TIMEOUT`."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self._ids = itertools.count(1)

    async def next(self) -> dict[str, Any]:
        raw = await asyncio.wait_for(self.ws.recv(), FRAME_TIMEOUT)
        frame: dict[str, Any] = json.loads(raw)
        return frame

    async def call(self, type_: str, **fields: Any) -> dict[str, Any]:
        """Send a frame; its answer must be the next frame."""
        frame_id = next(self._ids)
        await self.ws.send(json.dumps({"type": type_, "id": frame_id, **fields}))
        answer = await self.next()
        assert answer.get("id") == frame_id, answer
        return answer

    async def subscribe(self, path: str | None = None, **fields: Any) -> str:
        if path is not None:
            fields["path"] = path
        ack = await self.call("subscribe", **fields)
        assert ack["type"] == "ack", ack
        subscription: str = ack["subscription"]
        return subscription

    async def event(self) -> dict[str, Any]:
        """The next frame, which must be an event."""
        frame = await self.next()
        assert frame.get("type") == "event", frame
        return frame

    async def events(self, count: int) -> list[dict[str, Any]]:
        return [await self.event() for _ in range(count)]

    async def close_code(self) -> int:
        """Wait until the server closes the socket, without sending anything first (no other
        frame may come before): its ``close`` frame, then the WebSocket close with the same
        code. Granian sends that close only once the client sends a frame (docs/live.md), so
        the client sends one, as a client that did not close on the frame would."""
        frame = await self.next()
        assert frame.get("type") == "close", f"expected the socket to close, got {frame}"
        code: int = frame["code"]
        try:
            await self.ws.send(json.dumps({"type": "ping", "id": "after-close"}))
            extra = await self.next()
        except ConnectionClosed as closed:
            if closed.rcvd is not None:  # a shutdown may drop the connection instead
                assert (closed.rcvd.code, closed.rcvd.reason) == (code, frame["reason"])
            return code
        except TimeoutError:
            pytest.fail(f"the socket was not closed after its close frame {frame}")
        pytest.fail(f"the socket answered {extra} after its close frame {frame}")

    @staticmethod
    def _code(closed: ConnectionClosed) -> int:
        assert closed.rcvd is not None, "the server closed without a close frame"
        code: int = closed.rcvd.code
        return code


@asynccontextmanager
async def ws(
    server: ServerProcess,
    path: str = "/db/site",
    *,
    token: str | None = None,
    headers: dict[str, str] | None = None,
    query: str = "",
    origin: str | None = None,
) -> AsyncIterator[Socket]:
    """A socket on ``path``/@ws, with a Bearer ``token`` if given."""
    headers = dict(headers or {})
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    async with connect(
        ws_url(server, path, query),
        additional_headers=headers,
        origin=Origin(origin) if origin is not None else None,
        open_timeout=FRAME_TIMEOUT,
        close_timeout=2,
    ) as conn:
        yield Socket(conn)


async def refused(server: ServerProcess, path: str = "/db/site", **kwargs: Any) -> int:
    """The HTTP status of a refused handshake (which must carry the error envelope)."""
    with pytest.raises(InvalidStatus) as denied:
        async with ws(server, path, **kwargs):
            pytest.fail("the handshake was accepted")
    response = denied.value.response
    body = json.loads(response.body or b"{}")
    assert set(body) == {"type", "message", "details", "request_id"}, response.body
    status: int = response.status_code
    return status


def assert_event(
    frame: dict[str, Any], live: LiveSite, kind: str, path: str, actor: str = "root"
) -> None:
    """``frame`` is ``kind`` about ``path``, with the REST-like fields."""
    assert frame["type"] == "event", frame
    assert frame["event"] == kind, frame
    assert frame["@id"] == live.abs(path), frame
    assert frame["parent"] == {"@id": live.abs(path.rpartition("/")[0])}, frame
    assert frame["actor"] == actor, frame
    assert isinstance(frame["UID"], str) and frame["UID"], frame
    assert isinstance(frame["@type"], str), frame
    assert isinstance(frame["review_state"], str), frame
    cursor_key(frame["cursor"])
    for private in ("allowed", "allowed_before", "notices", "path", "old_path", "parent_path"):
        assert private not in frame, frame


def increasing(frames: list[dict[str, Any]]) -> bool:
    keys = [cursor_key(f["cursor"]) for f in frames]
    return all(a < b for a, b in itertools.pairwise(keys))


# --- 1. events, order, shape, filters --------------------------------------------------


async def test_events_in_commit_order_with_rest_fields(live: LiveSite) -> None:
    top = f"/db/site/{unique('order')}"
    async with root_http(live) as root:
        await root.add("/db/site", top.rpartition("/")[2], "Folder")
        sub = await root.add(top, "sub", "Folder")
        other = await root.add(top, "other", "Folder")
        async with (
            ws(live.server, token=live.tokens["carol"]) as nobody,
            ws(live.server, headers={"Authorization": ROOT_BASIC}) as both,
            ws(live.server, headers={"Authorization": ROOT_BASIC}) as filtered,
        ):
            await nobody.subscribe(top)  # carol may see none of it (private, no roles)
            # two overlapping subscriptions on one socket, and one relative path
            first = await both.subscribe(top)
            second = await both.subscribe(sub.removeprefix("/db/site/"))
            assert first != second
            ack = await filtered.call("subscribe", path=top, events=["added", "removed"])
            assert (ack["type"], ack["path"]) == ("ack", top)

            doc = await root.add(sub, "doc", title="Doc")
            await root.edit(doc, title="Changed", description="Also")
            moved = await root.move(doc, other)
            assert moved == f"{other}/doc"
            await root.transition(moved, "publish")
            await root.delete(moved)

            frames = await both.events(5)
            assert [f["event"] for f in frames] == [
                "added",
                "modified",
                "moved",
                "transition",
                "removed",
            ]
            added, modified, move, transition, removed = frames
            assert_event(added, live, "added", doc)
            assert (added["@type"], added["review_state"]) == ("Document", "private")
            assert_event(modified, live, "modified", doc)
            assert sorted(modified["changed"]) == ["description", "title"]
            assert_event(move, live, "moved", moved)
            assert move["old_@id"] == live.abs(doc)
            assert_event(transition, live, "transition", moved)
            assert (transition["transition"], transition["old_state"]) == ("publish", "private")
            assert (transition["new_state"], transition["review_state"]) == ("published",) * 2
            assert_event(removed, live, "removed", moved)
            assert len({f["UID"] for f in frames}) == 1
            assert increasing(frames), [f["cursor"] for f in frames]
            # one frame per event however many subscriptions match: a duplicate would have
            # been queued with the original, before this ping's answer
            pong = await both.call("ping")
            assert pong["type"] == "ack"
            assert pong["cursor"] == removed["cursor"]

            assert [f["event"] for f in await filtered.events(2)] == ["added", "removed"]

            # unsubscribing stops delivery: only the subscription to ``other`` remains
            assert (await both.call("unsubscribe", subscription=first))["type"] == "ack"
            assert (await both.call("unsubscribe", subscription=second))["type"] == "ack"
            await both.subscribe(other)
            await root.add(sub, "unseen")
            fence = await root.add(other, "fence")
            assert_event(await both.event(), live, "added", fence)

            # carol got nothing while the document was private: her first frames are its
            # publication and its removal, then the fence's publication
            await root.transition(fence, "publish")
            seen = [(f["event"], f["@id"]) for f in await nobody.events(3)]
            assert seen == [
                ("transition", live.abs(moved)),
                ("removed", live.abs(moved)),
                ("transition", live.abs(fence)),
            ]


async def test_subscribe_errors(live: LiveSite) -> None:
    top = f"/db/site/{unique('errors')}"
    async with root_http(live) as root:
        await root.add("/db/site", top.rpartition("/")[2], "Folder")
        await root.share(top, "alice", READER)
    async with ws(live.server, top, token=live.tokens["alice"]) as sock:
        for frame in (
            {"path": "/db/site"},  # above the socket
            {"path": "../x"},
            {"since": "not-a-cursor"},
        ):
            answer = await sock.call("subscribe", **frame)
            assert answer["type"] == "error", (frame, answer)
            assert answer["error"]["type"] == "BadRequest", answer
        answer = await sock.call("subscribe", nonsense=1)
        assert (answer["type"], answer["error"]["type"]) == ("error", "BadRequest")
        answer = await sock.call("unsubscribe", subscription="s99")
        assert answer["type"] == "error", answer
        await sock.ws.send("{not json")
        answer = await sock.next()
        assert (answer["type"], answer["id"]) == ("error", None), answer
        # at most live.max_subscriptions (100) per socket
        for _ in range(100):
            await sock.subscribe()
        answer = await sock.call("subscribe")
        assert (answer["type"], answer["error"]["details"]) == ("error", {"limit": 100}), answer
        assert (await sock.call("ping"))["type"] == "ack"


async def test_a_frame_too_large_closes_with_1009(live: LiveSite) -> None:
    async with ws(live.server, token=live.tokens["alice"]) as sock:
        assert (await sock.call("ping"))["type"] == "ack"
        padding = "x" * (64 << 10)  # the frame is over live.max_frame_size (64 KiB)
        await sock.ws.send(json.dumps({"type": "ping", "id": 2, "padding": padding}))
        assert await sock.close_code() == 1009


# --- 2. aborted transactions -------------------------------------------------------------


async def test_an_aborted_transaction_sends_nothing(live: LiveSite) -> None:
    top = f"/db/site/{unique('abort')}"
    async with root_http(live) as root:
        await root.add("/db/site", top.rpartition("/")[2], "Folder")
        doc = await root.add(top, "doc")
        async with ws(live.server, headers={"Authorization": ROOT_BASIC}) as sock:
            await sock.subscribe(top)
            await root.ok("PATCH", doc, 422, json={"title": 5})  # not a string
            await root.ok("PATCH", doc, 422, json={"no_such_field": "x"})
            # a valid field with an invalid one: the valid change is not pushed either
            await root.ok("PATCH", doc, 422, json={"title": "half", "effective": "not a date"})
            await root.ok("POST", top, 409, json={"@type": "Document", "id": "doc"})
            await root.ok("POST", top, 400, json={"@type": "Document", "id": "bad/id"})
            await root.ok("POST", f"{doc}/@workflow/retract", 400)  # not from private
            await root.ok("POST", f"{doc}/@move", 404, json={"destination": f"{top}/nowhere"})
            await root.ok("DELETE", f"{top}/missing", 404)
            fence = await root.add(top, "fence")
            assert_event(await sock.event(), live, "added", fence)


# --- 3. guarded delivery ---------------------------------------------------------------


async def test_local_roles_blocked_inheritance_and_states_guard_delivery(live: LiveSite) -> None:
    """A (alice: local Reader) holds B, where inheritance is blocked; bob has no role."""
    a = f"/db/site/{unique('guard')}"
    b = f"{a}/b"
    async with root_http(live) as root:
        await root.add("/db/site", a.rpartition("/")[2], "Folder")
        await root.add(a, "b", "Folder")
        await root.share(a, "alice", READER)
        await root.block(b)
        async with (
            ws(live.server, token=live.tokens["alice"]) as alice,
            ws(live.server, token=live.tokens["bob"]) as bob,
        ):
            await alice.subscribe(a)
            await bob.subscribe(a)

            in_a = await root.add(a, "in-a", title="A")
            assert_event(await alice.event(), live, "added", in_a)
            in_b = await root.add(b, "in-b", title="B")  # alice: blocked; bob: private
            await root.edit(in_b, title="B2")
            await root.edit(in_a, title="A2")
            assert_event(await alice.event(), live, "modified", in_a)  # nothing of B first

            # published: everybody may view it, bob included; in B too
            await root.transition(in_b, "publish")
            frame = await bob.event()  # his first frame: nothing private came before
            assert_event(frame, live, "transition", in_b)
            assert frame["review_state"] == "published"
            assert_event(await alice.event(), live, "transition", in_b)
            await root.edit(in_b, title="B3")
            assert_event(await bob.event(), live, "modified", in_b)
            assert_event(await alice.event(), live, "modified", in_b)

            # a local role on B itself lets alice in again, below the block
            await root.share(b, "alice", READER)
            frame = await alice.event()
            assert_event(frame, live, "sharing", b)
            other = await root.add(b, "other")
            assert_event(await alice.event(), live, "added", other)
            await root.transition(in_a, "publish")  # fence for bob
            assert_event(await bob.event(), live, "transition", in_a)


# --- 4. losing access ------------------------------------------------------------------


async def test_losing_access_is_a_removal(live: LiveSite) -> None:
    """A (alice: local Reader) holds B (inheritance blocked) and C (blocked, alice: a local
    Reader on C/item only); bob sees only what is published."""
    a = f"/db/site/{unique('lose')}"
    b, c = f"{a}/b", f"{a}/c"
    async with root_http(live) as root:
        await root.add("/db/site", a.rpartition("/")[2], "Folder")
        for blocked in (b, c):
            await root.add(a, blocked.rpartition("/")[2], "Folder")
            await root.block(blocked)
        item = await root.add(c, "item")
        await root.share(item, "alice", READER)
        await root.share(a, "alice", READER)
        to_move = await root.add(a, "to-move")
        public = await root.add(a, "public")
        await root.transition(public, "publish")
        fence = await root.add(a, "fence")
        async with (
            ws(live.server, token=live.tokens["alice"]) as alice,
            ws(live.server, token=live.tokens["bob"]) as bob,
        ):
            await alice.subscribe(a)
            await bob.subscribe(a)
            await root.edit(item, title="seen")
            assert_event(await alice.event(), live, "modified", item)

            # her local role on the item is revoked: she is told it was removed
            await root.share(item, "alice", READER, grant=False)
            frame = await alice.event()
            assert (frame["event"], frame["@id"]) == ("removed", live.abs(item)), frame
            assert frame["parent"] == {"@id": live.abs(c)}, frame
            await root.edit(item, title="unseen")
            await root.edit(fence, title="fence 1")
            assert_event(await alice.event(), live, "modified", fence)

            # moved into B, where inheritance is blocked: a removal at the URL she knew
            new = await root.move(to_move, b)
            frame = await alice.event()
            assert (frame["event"], frame["@id"]) == ("removed", live.abs(to_move)), frame
            assert "old_@id" not in frame
            await root.edit(new, title="unseen")
            await root.edit(fence, title="fence 2")
            assert_event(await alice.event(), live, "modified", fence)

            # retracted: bob could see it published, not any more; alice still can
            await root.transition(public, "retract")
            frame = await bob.event()
            assert (frame["event"], frame["@id"]) == ("removed", live.abs(public)), frame
            assert "new_state" not in frame and "transition" not in frame, frame
            assert_event(await alice.event(), live, "transition", public)
            await root.edit(public, title="unseen by bob")
            assert_event(await alice.event(), live, "modified", public)
            await root.transition(fence, "publish")
            assert_event(await bob.event(), live, "transition", fence)
            assert_event(await alice.event(), live, "transition", fence)

            # her role on A itself is revoked: A is removed for her, what is private in it
            # is no longer delivered, what is published still is
            await root.share(a, "alice", READER, grant=False)
            frame = await alice.event()
            assert (frame["event"], frame["@id"]) == ("removed", live.abs(a)), frame
            await root.edit(public, title="unseen by alice")
            await root.edit(fence, title="fence 3")
            assert_event(await alice.event(), live, "modified", fence)


# --- 5. reconnecting -------------------------------------------------------------------


async def test_reconnect_with_since_loses_nothing(live: LiveSite) -> None:
    top = f"/db/site/{unique('since')}"
    async with root_http(live) as root:
        await root.add("/db/site", top.rpartition("/")[2], "Folder")
        closed = await root.add(top, "closed", "Folder")
        await root.block(closed)
        async with ws(live.server, token=live.tokens["alice"]) as sock:
            await sock.subscribe(top)
            await root.share(top, "alice", READER)
            first = await root.add(top, "first")
            seen = await sock.events(2)
            assert_event(seen[0], live, "sharing", top)  # she may see the folder now
            assert_event(seen[1], live, "added", first)
        last = seen[-1]["cursor"]

        missed = [await root.add(top, f"missed-{i}") for i in range(3)]
        await root.edit(missed[0], title="Edited")
        await root.add("/db/site", unique("elsewhere"))  # not below the subscription
        await root.delete(missed[1])
        await root.add(closed, "secret")  # alice may not see it

        async with ws(live.server, token=live.tokens["alice"]) as sock:
            ack = await sock.call("subscribe", path=top, since=last)
            assert ack["type"] == "ack", ack
            replayed = await sock.events(5)
            expected = [
                ("added", missed[0]),
                ("added", missed[1]),
                ("added", missed[2]),
                ("modified", missed[0]),
                ("removed", missed[1]),
            ]
            assert [(f["event"], f["@id"]) for f in replayed] == [
                (kind, live.abs(path)) for kind, path in expected
            ]
            assert increasing([seen[-1], *replayed])
            assert cursor_key(ack["cursor"]) >= cursor_key(replayed[-1]["cursor"])
            # then live events, with nothing replayed twice
            live_one = await root.add(top, "live")
            frame = await sock.event()
            assert_event(frame, live, "added", live_one)
            assert increasing([replayed[-1], frame])

        # since the newest cursor: nothing to replay, no gap, then live
        async with ws(live.server, token=live.tokens["alice"]) as sock:
            await sock.subscribe(top, since=frame["cursor"])
            after = await root.add(top, "after")
            assert_event(await sock.event(), live, "added", after)


async def test_a_backlog_too_short_is_a_gap(servers: Servers) -> None:
    server = servers.serve(live_config(servers, "gap", live={"backlog": 3}))
    make_site(server, {})
    app = LiveSite(server, {})
    top = "/db/site/f"
    async with root_http(app) as root:
        await root.add("/db/site", "f", "Folder")
        async with ws(server, headers={"Authorization": ROOT_BASIC}) as sock:
            await sock.subscribe(top)
            await root.add(top, "seen")
            cursor = (await sock.event())["cursor"]
        for i in range(5):
            await root.add(top, f"missed-{i}")
        async with ws(server, headers={"Authorization": ROOT_BASIC}) as sock:
            subscription = await sock.subscribe(top, since=cursor)
            gap = await sock.next()
            assert gap == {"type": "gap", "subscription": subscription, "since": cursor}
            rest = await sock.events(3)  # what the backlog still holds, the newest
            assert [f["@id"] for f in rest] == [app.abs(f"{top}/missed-{i}") for i in (2, 3, 4)]
            assert increasing(rest)
            fence = await root.add(top, "fence")
            assert_event(await sock.event(), app, "added", fence)

        # a cursor from before the server started: the backlog cannot answer for it either
        async with ws(server, headers={"Authorization": ROOT_BASIC}) as sock:
            subscription = await sock.subscribe(top, since="0000000000000001-0")
            gap = await sock.next()
            assert (gap["type"], gap["subscription"]) == ("gap", subscription)


async def test_restart_without_redis_is_a_gap(servers: Servers) -> None:
    config = live_config(servers, "restart")
    server = servers.serve(config)
    make_site(server, {})
    top = "/db/site/f"
    async with root_http(LiveSite(server, {})) as root:
        await root.add("/db/site", "f", "Folder")
        async with ws(server, headers={"Authorization": ROOT_BASIC}) as sock:
            await sock.subscribe(top)
            await root.add(top, "seen")
            cursor = (await sock.event())["cursor"]
    assert server.terminate() == 0
    restarted = servers.serve(config)
    app = LiveSite(restarted, {})
    async with root_http(app) as root, ws(restarted, headers={"Authorization": ROOT_BASIC}) as sock:
        subscription = await sock.subscribe(top, since=cursor)
        assert await sock.next() == {"type": "gap", "subscription": subscription, "since": cursor}
        fence = await root.add(top, "fence")
        assert_event(await sock.event(), app, "added", fence)


# --- 6. slow consumers -------------------------------------------------------------------


async def test_an_overflowing_queue_closes_with_4008(servers: Servers) -> None:
    server = servers.serve(live_config(servers, "slow", live={"max_queued_bytes": 300}))
    make_site(server, {})
    app = LiveSite(server, {})
    async with root_http(app) as root:
        await root.add("/db/site", "f", "Folder")
        async with ws(server, headers={"Authorization": ROOT_BASIC}) as sock:
            await sock.subscribe("/db/site/f")
            assert (await sock.call("ping"))["type"] == "ack"  # small frames pass
            # an id long enough that the event's frame alone is over 300 bytes
            await root.add("/db/site/f", "x" * 200)
            assert await sock.close_code() == 4008
        # the server is fine; the client may reconnect
        async with ws(server, headers={"Authorization": ROOT_BASIC}) as sock:
            assert (await sock.call("ping"))["type"] == "ack"


async def test_shutdown_ends_sockets(servers: Servers) -> None:
    """SIGTERM ends open sockets (the client reconnects, with ``since``, elsewhere or later)
    and the server exits cleanly. Granian stops the connections before the application's
    shutdown runs, so the client sees the connection end, not Baobab's 1001 close frame
    (which tests/api/test_live.py checks in process)."""
    server = servers.serve(live_config(servers, "shutdown"))
    async with ws(server, "/db", headers={"Authorization": ROOT_BASIC}) as sock:
        await sock.subscribe()
        os.kill(server.pid, signal.SIGTERM)
        with pytest.raises(ConnectionClosed):
            frame = await sock.next()
            assert (frame["type"], frame["code"]) == ("close", 1001), frame
            await sock.next()
    assert await asyncio.to_thread(server.proc.wait, 30) == 0


# --- 7. authentication ---------------------------------------------------------------


@asynccontextmanager
async def alice_folder(live: LiveSite) -> AsyncIterator[Any]:
    """A folder alice reads; yields ``works(sock)``: the socket receives an event there."""
    top = f"/db/site/{unique('auth')}"
    async with root_http(live) as root:
        await root.add("/db/site", top.rpartition("/")[2], "Folder")
        await root.share(top, "alice", READER)

        async def works(sock: Socket) -> None:
            await sock.subscribe(top)
            doc = await root.add(top, unique("doc"))
            assert_event(await sock.event(), live, "added", doc)

        yield works


async def ticket_for(live: LiveSite, user: str) -> str:
    async with user_http(live, user) as http:
        resp = await http.ok("GET", "/db/site/@wstoken", 200)
    assert resp.headers["cache-control"] == "no-store"
    assert resp.json()["expires"] <= time.time() + 31
    ticket: str = resp.json()["token"]
    return ticket


async def test_handshake_with_a_header_or_nothing(live: LiveSite) -> None:
    server = live.server
    async with alice_folder(live) as works:
        # Bearer (a site user's token; root's from /@login), Basic
        async with ws(server, token=live.tokens["alice"]) as sock:
            await works(sock)
        async with ws(server, token=login(server, "root")) as sock:
            await works(sock)
        alice_basic = "Basic " + base64.b64encode(f"alice:{PASSWORD}".encode()).decode()
        async with ws(server, headers={"Authorization": alice_basic}) as sock:
            await works(sock)
    wrong_basic = "Basic " + base64.b64encode(b"alice:wrong-password").decode()
    assert await refused(server, headers={"Authorization": wrong_basic}) == 401
    assert await refused(server, token=live.tokens["alice"][:-4] + "AAAA") == 401
    # anonymous; a folder that does not exist; a plain GET
    assert await refused(server) == 401
    assert await refused(server, "/db/site/no-such-folder", token=live.tokens["alice"]) == 404
    async with root_http(live) as root:
        resp = await root.client.get("/db/site/@ws")
    assert resp.status_code == 426, resp.text


async def test_handshake_with_a_ticket(live: LiveSite) -> None:
    server = live.server
    async with alice_folder(live) as works:
        ticket = await ticket_for(live, "alice")
        async with ws(server, query=f"ws_token={ticket}") as sock:
            await works(sock)
        assert await refused(server, query=f"ws_token={ticket}") == 401  # used up

        # never as a Bearer token, on HTTP or on the socket; and those do not use it up
        ticket = await ticket_for(live, "alice")
        async with httpx.AsyncClient(base_url=live.url) as anonymous:
            resp = await anonymous.get("/db/site", headers={"Authorization": f"Bearer {ticket}"})
        assert resp.status_code == 401, resp.text
        assert await refused(server, token=ticket) == 401
        async with ws(server, query=f"ws_token={ticket}") as sock:
            await works(sock)

    # a token is not a ticket; expired and forged tickets are refused
    assert await refused(server, query=f"ws_token={live.tokens['alice']}") == 401
    claims = jwt.decode(ticket, JWT_SECRET, algorithms=["HS256"])
    now = time.time()
    expired = {**claims, "jti": uuid.uuid4().hex, "iat": now - 120, "exp": int(now) - 60}
    token = jwt.encode(expired, JWT_SECRET, algorithm="HS256")
    assert await refused(server, query=f"ws_token={token}") == 401
    fresh = {**claims, "jti": uuid.uuid4().hex, "iat": now, "exp": int(now) + 30}
    token = jwt.encode(fresh, "another-secret-that-is-long-enough-for-hs256", algorithm="HS256")
    assert await refused(server, query=f"ws_token={token}") == 401
    token = jwt.encode(fresh, JWT_SECRET, algorithm="HS256")  # the control: well signed
    async with ws(server, query=f"ws_token={token}") as sock:
        assert (await sock.call("ping"))["type"] == "ack"


async def test_handshake_with_the_login_cookie(live: LiveSite) -> None:
    server = live.server
    cookie = {"Cookie": f"other=1; auth_token={live.tokens['alice']}"}
    async with alice_folder(live) as works:
        async with ws(server, headers=cookie) as sock:  # not a browser: no Origin
            await works(sock)
        async with ws(server, headers=cookie, origin=server.url) as sock:  # this site's page
            await works(sock)
    assert await refused(server, headers=cookie, origin="http://evil.example") == 403
    bad = {"Cookie": f"auth_token={live.tokens['alice'][:-4]}AAAA"}
    assert await refused(server, headers=bad) == 401


async def test_a_socket_closes_when_its_token_expires(servers: Servers) -> None:
    config = live_config(servers, "expiry", auth={"token_expiry": 2})
    server = servers.serve(config)
    make_site(server, {"alice": {}})
    token = login(server, "alice")
    async with ws(server, token=token) as sock:
        await sock.subscribe()
        assert await sock.close_code() == 4001


# --- 8. notifications ------------------------------------------------------------------


async def test_review_notifications(live: LiveSite) -> None:
    """carol owns an item; dave is a global Reviewer; eve both owns and reviews."""
    top = f"/db/site/{unique('review')}"
    eve = unique("eve")
    live.add_user(eve, roles=[REVIEWER])
    async with root_http(live) as root:
        await root.add("/db/site", top.rpartition("/")[2], "Folder")
        await root.share(top, "carol", CONTRIBUTOR)
        await root.share(top, eve, CONTRIBUTOR)
    async with (
        root_http(live) as root,
        user_http(live, "carol") as carol,
        user_http(live, "dave") as dave,
        user_http(live, eve) as eve_http,
        ws(live.server, token=live.tokens["carol"]) as carol_ws,
        ws(live.server, token=live.tokens["dave"]) as dave_ws,
        ws(live.server, token=live.tokens[eve]) as eve_ws,
        ws(live.server, token=live.tokens["bob"]) as bob_ws,
    ):
        item = await carol.add(top, "item", title="Item")
        await carol.transition(item, "submit")
        for sock in (dave_ws, eve_ws):  # the reviewers, subscribed to nothing
            note = await sock.next()
            assert note["type"] == "notification", note
            assert (note["reason"], note["event"]) == ("review", "transition"), note
            assert (note["@id"], note["actor"]) == (live.abs(item), "carol"), note
            assert (note["transition"], note["new_state"]) == ("submit", "pending"), note
            assert "allowed" not in note and "notices" not in note, note

        await dave.transition(item, "publish")
        note = await carol_ws.next()  # the owner; not a review notification before it
        assert (note["type"], note["reason"]) == ("notification", "published"), note
        assert (note["@id"], note["actor"], note["new_state"]) == (
            live.abs(item),
            "dave",
            "published",
        )
        await root.transition(item, "retract")  # a Reviewer may not retract
        note = await carol_ws.next()
        assert (note["type"], note["reason"], note["transition"]) == (
            "notification",
            "rejected",
            "retract",
        ), note
        await carol.transition(item, "submit")
        for sock in (dave_ws, eve_ws):
            assert (await sock.next())["reason"] == "review"
        await dave.transition(item, "reject")
        note = await carol_ws.next()
        assert (note["reason"], note["transition"], note["new_state"]) == (
            "rejected",
            "reject",
            "private",
        ), note

        # the actor is not notified: eve submits and publishes her own item
        own = await eve_http.add(top, "own")
        await eve_http.transition(own, "submit")
        note = await dave_ws.next()
        assert (note["reason"], note["@id"], note["actor"]) == ("review", live.abs(own), eve)
        await eve_http.transition(own, "publish")  # eve owns it: no "published" for her
        # fences: carol's item submitted again reaches eve (a reviewer) next; dave, the
        # actor of the rejection, gets nothing for it; bob never got anything
        await carol.transition(item, "submit")
        note = await eve_ws.next()
        assert (note["reason"], note["@id"], note["actor"]) == ("review", live.abs(item), "carol")
        assert (await dave_ws.next())["@id"] == live.abs(item)
        await dave.transition(item, "reject")
        await eve_http.transition(own, "retract")  # eve is the actor; carol is not the owner
        await carol.transition(item, "submit")
        note = await dave_ws.next()  # not "rejected" (his own) nor anything about ``own``
        assert (note["reason"], note["@id"]) == ("review", live.abs(item)), note
        note = await carol_ws.next()
        assert (note["reason"], note["@id"]) == ("rejected", live.abs(item)), note
        note = await eve_ws.next()
        assert (note["reason"], note["@id"]) == ("review", live.abs(item)), note
        # bob is neither owner nor reviewer: his first frame is the answer to his ping
        assert (await bob_ws.call("ping"))["type"] == "ack"


async def test_notifications_only_on_sockets_at_or_above_the_object(live: LiveSite) -> None:
    top = f"/db/site/{unique('notice-scope')}"
    async with root_http(live) as root:
        await root.add("/db/site", top.rpartition("/")[2], "Folder")
        here = await root.add(top, "here", "Folder")
        there = await root.add(top, "there", "Folder")
        await root.share(top, "carol", CONTRIBUTOR)
        await root.share(top, "dave", READER)  # to open sockets on the private folders
    async with (
        user_http(live, "carol") as carol,
        ws(live.server, there, token=live.tokens["dave"]) as elsewhere,
        ws(live.server, here, token=live.tokens["dave"]) as above,
    ):
        item = await carol.add(here, "item")
        await carol.transition(item, "submit")
        assert (await above.next())["reason"] == "review"
        fence = await carol.add(there, "fence")
        await carol.transition(fence, "submit")
        note = await elsewhere.next()
        assert (note["reason"], note["@id"]) == ("review", live.abs(fence)), note


# --- 9. principals re-read ---------------------------------------------------------------


async def test_roles_are_re_read_and_accounts_closed(live: LiveSite) -> None:
    top = f"/db/site/{unique('roles')}"
    frank = unique("frank")
    live.add_user(frank)
    async with root_http(live) as root:
        await root.add("/db/site", top.rpartition("/")[2], "Folder")
        pending = await root.add(top, "pending")
        await root.transition(pending, "submit")
        public = await root.add(top, "public")
        await root.transition(public, "publish")
        async with ws(live.server, token=live.tokens[frank]) as sock:
            await sock.subscribe(top)
            await root.edit(pending, title="unseen")
            await root.edit(public, title="fence")
            assert_event(await sock.event(), live, "modified", public)

            await root.ok("PATCH", f"/db/site/@users/{frank}", 204, json={"roles": [REVIEWER]})
            await root.edit(pending, title="seen")
            frame = await sock.event()
            assert_event(frame, live, "modified", pending)
            assert frame["review_state"] == "pending"

            await root.ok("PATCH", f"/db/site/@users/{frank}", 204, json={"roles": []})
            await root.edit(pending, title="unseen again")
            await root.edit(public, title="fence 2")
            assert_event(await sock.event(), live, "modified", public)

            await root.ok("PATCH", f"/db/site/@users/{frank}", 204, json={"disabled": True})
            assert await sock.close_code() == 4001

    grace = unique("grace")
    live.add_user(grace)
    async with (
        root_http(live) as root,
        ws(live.server, token=live.tokens[grace]) as sock,
        ws(live.server, token=live.tokens["bob"]) as bystander,
    ):
        await sock.subscribe(top)
        await bystander.subscribe(top)
        await root.ok("DELETE", f"/db/site/@users/{grace}", 204)
        assert await sock.close_code() == 4001
        await root.edit(public, title="fence 3")  # others keep their sockets
        assert_event(await bystander.event(), live, "modified", public)
    assert await refused(live.server, token=live.tokens[grace]) == 401


async def test_logout_closes_the_sockets_of_that_token(live: LiveSite) -> None:
    token = login(live.server, "alice")  # a session of its own: the shared one stays valid
    ticket = await ticket_for(LiveSite(live.server, {"alice": token}), "alice")
    async with (
        ws(live.server, token=token) as by_token,
        ws(live.server, query=f"ws_token={ticket}") as by_ticket,
        ws(live.server, token=live.tokens["alice"]) as other_session,
    ):
        for sock in (by_token, by_ticket, other_session):
            await sock.subscribe()
        async with Http(live.url, token=token) as alice:
            await alice.ok("POST", "/db/site/@logout", 204)
        assert await by_token.close_code() == 4001
        assert await by_ticket.close_code() == 4001
        assert (await other_session.call("ping"))["type"] == "ack"
    assert await refused(live.server, token=token) == 401


async def test_group_membership_is_re_read(live: LiveSite) -> None:
    top = f"/db/site/{unique('groups')}"
    group = unique("readers")
    henry = unique("henry")
    live.add_user(henry)
    async with root_http(live) as root:
        await root.add("/db/site", top.rpartition("/")[2], "Folder")
        await root.ok("POST", "/db/site/@groups", 201, json={"groupname": group})
        await root.ok("POST", f"{top}/@sharing", 204, json={
            "entries": [{"id": group, "type": "group", "roles": {READER: True}}]
        })  # fmt: skip
        async with ws(live.server, token=live.tokens[henry]) as sock:
            await sock.subscribe(top)
            await root.add(top, "unseen")
            await root.ok("PATCH", f"/db/site/@users/{henry}", 204, json={"groups": [group]})
            seen = await root.add(top, "seen")
            assert_event(await sock.event(), live, "added", seen)


# --- 10. two processes: PostgreSQL and Redis -------------------------------------------


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    url = require_redis()
    prefix = f"baobab-test-{uuid.uuid4().hex}"
    yield prefix
    delete_redis_keys(url, prefix)


def redis_instance(servers: Servers, dsn: str, prefix: str, name: str) -> ServerProcess:
    """A ``baobab serve`` on RelStorage with a var dir of its own, sharing events via Redis."""
    config = live_config(
        servers,
        name,
        databases={"db": {"storage": "postgresql", "dsn": dsn}},
        pubsub={"redis": redis_url(), "prefix": prefix},
    )
    return servers.serve(config)


@pytest.mark.postgresql
async def test_two_processes_share_events_through_redis(
    servers: Servers, redis_prefix: str
) -> None:
    dsn = require_postgres()
    zap_postgres(dsn)
    first = redis_instance(servers, dsn, redis_prefix, "one")
    make_site(first, {"alice": {}})
    second = redis_instance(servers, dsn, redis_prefix, "two")
    a, b = LiveSite(first, {}), LiveSite(second, {})
    token = login(second, "alice")
    top = "/db/site/f"
    async with root_http(a) as root_a, root_http(b) as root_b:
        await root_a.add("/db/site", "f", "Folder")
        await root_a.share(top, "alice", READER)
        closed = await root_a.add(top, "closed", "Folder")
        await root_a.block(closed)
        async with ws(second, token=token) as sock:
            await sock.subscribe(top)
            doc = await root_a.add(top, "doc")
            frame = await sock.event()
            assert_event(frame, b, "added", doc)  # URLs of the server the socket is on
            secret = await root_a.add(closed, "secret")
            await root_a.edit(secret, title="unseen")
            await root_b.edit(doc, title="From B")  # fence, and B's own commits too
            frame = await sock.event()
            assert_event(frame, b, "modified", doc)
            last = frame["cursor"]

        missed = [await root_a.add(top, f"missed-{i}") for i in range(2)]
        await root_a.edit(missed[0], title="Edited")
        async with ws(second, token=token) as sock:
            await sock.subscribe(top, since=last)
            replayed = await sock.events(3)
            assert [(f["event"], f["@id"]) for f in replayed] == [
                ("added", b.abs(missed[0])),
                ("added", b.abs(missed[1])),
                ("modified", b.abs(missed[0])),
            ]
            assert increasing(replayed)
            fence = await root_a.add(top, "fence")
            fenced = await sock.event()
            assert_event(fenced, b, "added", fence)

        # since on an instance started after the events (it loads the stream's tail)
        third = redis_instance(servers, dsn, redis_prefix, "three")
        c = LiveSite(third, {})
        async with ws(third, token=token) as sock:
            await sock.subscribe(top, since=last)
            again = await sock.events(4)
            assert [f["@id"] for f in again] == [c.abs(p) for p in (*missed, missed[0], fence)]
            assert [f["cursor"] for f in again] == [f["cursor"] for f in (*replayed, fenced)]

        # a ticket used on one instance is used up on every other
        async with Http(first.url, token=token) as alice:
            ticket = (await alice.ok("GET", "/db/site/@wstoken", 200)).json()["token"]
        async with ws(first, query=f"ws_token={ticket}"):
            pass
        assert await refused(second, query=f"ws_token={ticket}") == 401

        # disabling the user through A closes her socket on B
        async with ws(second, token=token) as sock:
            await sock.subscribe(top)
            await root_a.ok("PATCH", "/db/site/@users/alice", 204, json={"disabled": True})
            assert await sock.close_code() == 4001


@pytest.mark.postgresql
async def test_leaving_a_group_on_one_process_holds_for_the_next_commit_on_another(
    servers: Servers, redis_prefix: str
) -> None:
    """The change travels in the stream's order, ahead of the commit its client causes
    next on another instance: that commit is judged without the group, on every instance."""
    dsn = require_postgres()
    zap_postgres(dsn)
    first = redis_instance(servers, dsn, redis_prefix, "one")
    make_site(first, {"alice": {}})
    second = redis_instance(servers, dsn, redis_prefix, "two")
    b = LiveSite(second, {})
    token = login(second, "alice")
    async with root_http(LiveSite(first, {})) as root_a, root_http(b) as root_b:
        group = {"groupname": "staff", "users": ["alice"]}
        await root_a.ok("POST", "/db/site/@groups", 201, json=group)
        top = await root_a.add("/db/site", "f", "Folder")
        await root_a.share(top, "alice", READER)
        staff_only = await root_a.add(top, "staff-only", "Folder")
        await root_a.block(staff_only)
        await root_a.share(staff_only, "staff", READER)
        async with ws(second, token=token) as sock:
            await sock.subscribe(top)
            await root_b.edit(staff_only, title="Seen through staff")
            assert_event(await sock.event(), b, "modified", staff_only)
            left = {"users": {"alice": False}}
            await root_a.ok("PATCH", "/db/site/@groups/staff", 204, json=left)
            await root_b.edit(staff_only, title="Not seen any more")
            fence = await root_b.add(top, "fence")
            assert_event(await sock.event(), b, "added", fence)

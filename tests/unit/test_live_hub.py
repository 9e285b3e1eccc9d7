"""The hub and the @ws session below HTTP: guarded delivery, removals, replay, slow
consumers, revocation, and the client frames a session answers."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from live_support import batch, cursor, event

from baobab.live.backlog import Backlog
from baobab.live.bus import MemoryBus
from baobab.live.hub import CLOSE_AUTH, CLOSE_SLOW, Connection, Hub
from baobab.live.protocol import Session
from baobab.live.wire import RevokedMessage
from baobab.security.principals import Principal

BASE = "http://baobab.test"
ALICE, BOB = "user:alice", "user:bob"


async def _send(frame: bytes) -> None:
    raise AssertionError("the writer is not started in these tests")


async def _close(code: int, reason: str) -> None:
    raise AssertionError("the writer is not started in these tests")


def conn(
    who: str, scope: str = "/db/site", max_queued: int = 1 << 20, token_id: str | None = None
) -> Connection:
    """A connection whose frames stay in its queue (no writer task)."""
    principal = Principal(id=who, token_id=token_id)
    return Connection(principal, scope, BASE, _send, _close, max_queued, max_subscriptions=3)


def frames(c: Connection) -> list[dict[str, Any]]:
    return [orjson.loads(f) for f in c.queue]


@pytest.fixture
def hub() -> Hub:
    bus = MemoryBus(100)
    bus.backlogs["db"] = Backlog(100, (100, 1 << 62))
    return Hub(bus)


# -- delivery -------------------------------------------------------------------------------


def test_only_sockets_whose_tokens_may_view_get_the_event(hub: Hub) -> None:
    alice, bob = conn("alice"), conn("bob")
    for c in (alice, bob):
        hub.subscribe(c, "/db/site", None)
    message = batch(101, event("/db/site/doc", allowed=(ALICE,)))
    hub.deliver(message)
    assert [f["@id"] for f in frames(alice)] == [f"{BASE}/db/site/doc"]
    assert frames(bob) == []
    assert message.frames is None  # the encoded frames are dropped once delivered


def test_subscriptions_match_their_path_and_below(hub: Hub) -> None:
    above, here, elsewhere = conn("a", "/db"), conn("b"), conn("c")
    hub.subscribe(above, "/db", None)
    hub.subscribe(here, "/db/site/folder", None)
    hub.subscribe(elsewhere, "/db/site/other", None)
    hub.deliver(batch(101, event("/db/site/folder/doc", allowed=("baobab.Authenticated",))))
    assert (len(frames(above)), len(frames(here)), len(frames(elsewhere))) == (1, 1, 0)


def test_one_frame_per_socket_and_event_kinds_filter(hub: Hub) -> None:
    c, modified_only = conn("alice"), conn("alice")
    hub.subscribe(c, "/db/site", None)
    hub.subscribe(c, "/db/site/folder", None)  # two matching subscriptions, one frame
    hub.subscribe(modified_only, "/db/site", frozenset({"modified"}))
    hub.deliver(batch(101, event("/db/site/folder/d", allowed=(ALICE,))))
    hub.deliver(batch(102, event("/db/site/folder/d", "modified", allowed=(ALICE,))))
    assert [f["event"] for f in frames(c)] == ["added", "modified"]
    assert [f["event"] for f in frames(modified_only)] == ["modified"]


def test_losing_access_is_delivered_as_a_removal(hub: Hub) -> None:
    bob, carol = conn("bob"), conn("carol")
    for c in (bob, carol):
        hub.subscribe(c, "/db/site", None)
    retracted = event("/db/site/doc", "transition", allowed=(ALICE,), allowed_before=(BOB,))
    hub.deliver(batch(101, retracted))
    assert [(f["event"], f["@id"]) for f in frames(bob)] == [("removed", f"{BASE}/db/site/doc")]
    assert frames(carol) == []  # never saw it: told nothing


def test_a_move_reaches_subscribers_below_the_old_place(hub: Hub) -> None:
    below = conn("bob")
    hub.subscribe(below, "/db/site/a/sub", None)
    moved = event(
        "/db/site/b", "moved", old_path="/db/site/a", allowed=(ALICE,), allowed_before=(BOB,)
    )
    hub.deliver(batch(101, moved))
    assert [(f["event"], f["@id"]) for f in frames(below)] == [("removed", f"{BASE}/db/site/a")]


def test_a_slow_consumer_is_closed_with_only_the_close_frame_left(hub: Hub) -> None:
    slow = conn("alice", max_queued=600)
    hub.subscribe(slow, "/db/site", None)
    for tid in range(101, 110):
        hub.deliver(batch(tid, event(f"/db/site/d{tid}", allowed=(ALICE,))))
    assert slow.closing is not None and slow.closing[0] == CLOSE_SLOW
    assert frames(slow) == [{"type": "close", "code": CLOSE_SLOW, "reason": slow.closing[1]}]
    hub.deliver(batch(120, event("/db/site/late", allowed=(ALICE,))))
    assert len(slow.queue) == 1  # a closed socket gets nothing more


async def test_a_revoked_token_closes_its_sockets_only(hub: Hub) -> None:
    revoked, other = conn("alice", token_id="t1"), conn("alice", token_id="t2")
    hub.connections.update({revoked, other})  # as hub.add does, without starting writers
    hub.deliver(RevokedMessage(db="db", token_id="t1"))
    assert revoked.closing is not None and revoked.closing[0] == CLOSE_AUTH
    assert other.closing is None


def test_replay_applies_the_same_guard_and_path(hub: Hub) -> None:
    backlog = hub.bus.backlogs["db"]
    backlog.append(batch(101, event("/db/site/a", allowed=(ALICE,))))
    backlog.append(batch(102, event("/db/site/b", allowed=(BOB,))))
    backlog.append(batch(103, event("/db/other/c", allowed=(ALICE,))))
    alice = conn("alice")
    sub = hub.subscribe(alice, "/db/site", None)
    replayed, gap = hub.replay(sub, "db", cursor(100, 9))
    assert [orjson.loads(f)["@id"] for f in replayed] == [f"{BASE}/db/site/a"]
    assert gap  # from before the horizon
    assert hub.replay(sub, "nodb", cursor(101)) == ([], True)


# -- the session: client frames -------------------------------------------------------------


@pytest.fixture
def session(hub: Hub) -> Session:
    return Session(hub, conn("alice"), "db")


def answers(session: Session, *sent: Any) -> list[dict[str, Any]]:
    session.conn.queue.clear()
    for frame in sent:
        session.handle(frame if isinstance(frame, str | bytes) else orjson.dumps(frame))
    return frames(session.conn)


def test_ping_answers_the_newest_cursor(session: Session) -> None:
    assert answers(session, {"type": "ping", "id": 1}) == [{"type": "ack", "id": 1, "cursor": None}]
    session.hub.bus.backlogs["db"].append(batch(101))
    assert answers(session, {"type": "ping", "id": "x"})[0]["cursor"] == cursor(101)


def test_subscribe_and_unsubscribe(session: Session) -> None:
    ack = answers(session, {"type": "subscribe", "id": 1, "path": "news"})[0]
    assert ack == {
        "type": "ack",
        "id": 1,
        "subscription": "s1",
        "path": "/db/site/news",
        "cursor": None,
    }
    assert answers(session, {"type": "subscribe", "id": 2})[0]["path"] == "/db/site"
    assert answers(session, {"type": "unsubscribe", "id": 3, "subscription": "s1"}) == [
        {"type": "ack", "id": 3}
    ]
    assert set(session.conn.subscriptions) == {"s2"}


@pytest.mark.parametrize(
    ("frame", "kind", "frame_id"),
    [
        ("{not json", "MalformedJSON", None),
        ({"type": "dance", "id": 7}, "BadRequest", 7),
        ({"type": "ping", "id": 1, "extra": True}, "BadRequest", 1),
        ({"type": "subscribe", "id": 2, "path": "../other"}, "BadRequest", 2),
        ({"type": "subscribe", "id": 3, "path": "/db/other"}, "BadRequest", 3),
        ({"type": "subscribe", "id": 4, "since": "yesterday"}, "BadRequest", 4),
        ({"type": "unsubscribe", "id": 5, "subscription": "s9"}, "BadRequest", 5),
        # ids an answer cannot echo: past 64 bits (orjson refuses to encode them), past what a
        # JSON peer reads exactly, floats, booleans, long strings
        ('{"type": "ping", "id": 18446744073709551616}', "BadRequest", None),
        ('{"type": "ping", "id": 9007199254740992}', "BadRequest", None),
        ('{"type": "dance", "id": 18446744073709551616}', "BadRequest", None),
        ({"type": "ping", "id": 1.5}, "BadRequest", None),
        ({"type": "ping", "id": True}, "BadRequest", None),
        ({"type": "ping", "id": "x" * 257}, "BadRequest", None),
    ],
)
def test_bad_frames_are_answered_with_the_error_envelope(
    session: Session, frame: Any, kind: str, frame_id: Any
) -> None:
    (answer,) = answers(session, frame)
    assert answer["type"] == "error" and answer["id"] == frame_id
    assert answer["error"]["type"] == kind and answer["error"]["message"]
    assert session.conn.subscriptions == {}
    assert answers(session, {"type": "ping", "id": 9})[0]["type"] == "ack"  # still usable


def test_the_subscription_limit(session: Session) -> None:
    for i in range(3):
        assert answers(session, {"type": "subscribe", "id": i})[0]["type"] == "ack"
    (refused,) = answers(session, {"type": "subscribe", "id": 9})
    assert refused["error"]["details"] == {"limit": 3}


def test_subscribe_since_replays_or_reports_a_gap_after_the_ack(session: Session) -> None:
    backlog = session.hub.bus.backlogs["db"]
    for tid in (101, 102):
        backlog.append(batch(tid, event(f"/db/site/d{tid}", allowed=(ALICE,))))
    got = answers(session, {"type": "subscribe", "id": 1, "since": cursor(101)})
    assert [f["type"] for f in got] == ["ack", "event"]
    assert got[0]["cursor"] == cursor(102) and got[1]["cursor"] == cursor(102)
    got = answers(session, {"type": "subscribe", "id": 2, "since": cursor(50)})
    assert [f["type"] for f in got] == ["ack", "gap", "event", "event"]
    assert got[1] == {"type": "gap", "subscription": "s2", "since": cursor(50)}

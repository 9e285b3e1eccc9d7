"""The hub's per-receiver rule on places, live and replayed alike: a subscription counts only
through a place where its receiver could View the object, and a frame names another place
only to whoever could View it when the event committed (docs/live.md, "What a frame names")."""

from __future__ import annotations

from typing import Any

import orjson
from live_support import batch, cursor, event

from baobab.live.backlog import Backlog
from baobab.live.bus import MemoryBus
from baobab.live.hub import Connection, Hub
from baobab.live.wire import withheld_for
from baobab.security.principals import Principal

BASE = "http://baobab.test"
ALICE, BOB = "user:alice", "user:bob"


async def _never(*args: Any) -> None:
    raise AssertionError("the writer is not started in these tests")


def conn(who: str) -> Connection:
    return Connection(Principal(id=who), "/db/site", BASE, _never, _never, 1 << 20, 5)


def fresh_hub() -> Hub:
    bus = MemoryBus(100)
    bus.backlogs["db"] = Backlog(100, (100, 1 << 62))
    return Hub(bus)


MOVED = event(
    "/db/site/open/memo",
    "moved",
    old_path="/db/site/hq/memo",
    allowed=(ALICE, BOB),
    allowed_before=(ALICE,),
)


def received(who: str, sub_path: str) -> list[dict[str, Any]]:
    """What ``who``, subscribed at ``sub_path``, gets of MOVED live and by replay (the same)."""
    hub = fresh_hub()
    live = conn(who)
    hub.subscribe(live, sub_path, None)
    message = batch(101, MOVED)
    hub.bus.backlogs["db"].append(message)
    hub.deliver(message)
    replaying = conn(who)
    sub = hub.subscribe(replaying, sub_path, None)
    replayed, _ = hub.replay(sub, "db", cursor(100))
    got = [orjson.loads(f) for f in live.queue]
    assert got == [orjson.loads(f) for f in replayed]
    return got


def test_old_id_only_for_who_saw_the_old_place() -> None:
    (alice,) = received("alice", "/db/site")
    assert alice["old_@id"] == f"{BASE}/db/site/hq/memo"
    (bob,) = received("bob", "/db/site")
    assert "old_@id" not in bob and "hq" not in repr(bob)


def test_a_place_counts_only_for_who_could_view_the_object_there() -> None:
    assert received("bob", "/db/site/hq") == []  # bob never saw memo in hq
    assert [f["event"] for f in received("alice", "/db/site/hq")] == ["moved"]
    assert received("carol", "/db/site/open") == []  # sees it nowhere


def test_withheld_fields_follow_the_snapshot_tokens() -> None:
    copied = event("/db/site/open/c", "copied", original="/db/hq/o", original_allowed=(ALICE,))
    assert withheld_for(frozenset({ALICE}), copied) == frozenset()
    assert withheld_for(frozenset({BOB}), copied) == {"original"}
    assert withheld_for(frozenset({BOB}), event()) == frozenset()  # nothing to withhold

"""What travels on the bus: cursors, events as dicts, frames, and messages as bytes."""

from __future__ import annotations

import orjson
import pytest
from live_support import batch, event

from baobab.events import (
    Account,
    Notice,
    ObjectAdded,
    ObjectModified,
    ObjectMoved,
    WorkflowTransitioned,
)
from baobab.live.wire import (
    Batch,
    PrincipalsMessage,
    RevokedMessage,
    batch_of,
    cursor_key,
    decode_message,
    encode_message,
    push_shape,
)

BASE = "http://baobab.test"
COMMON = {
    "actor": "root",
    "uid": "u1",
    "type_name": "Document",
    "parent": "/db/site",
    "review_state": "private",
    "modified": "2024-01-01T00:00:00+00:00",
    "allowed": ("baobab.Manager", "user:alice"),
}


def test_cursor_keys_order_like_commits_then_index() -> None:
    assert cursor_key("00000000000000ff-a") == (255, 10)
    cursors = ["0000000000000002-0", "0000000000000001-10", "0000000000000001-2"]
    assert sorted(cursors, key=cursor_key) == cursors[::-1]


@pytest.mark.parametrize("bad", ["", "abc", "ff-1", "00000000000000ff", "000000000000000g-1"])
def test_a_bad_cursor_is_a_value_error(bad: str) -> None:
    with pytest.raises(ValueError):
        cursor_key(bad)


def test_batch_of_numbers_the_events_of_a_transaction() -> None:
    events = [
        ObjectAdded(path="/db/site/a", **COMMON),
        ObjectModified(path="/db/site/a", changed=("title",), **COMMON),
        ObjectMoved(path="/db/site/b", old_path="/db/site/a", **COMMON),
        WorkflowTransitioned(
            path="/db/site/b",
            transition="publish",
            old_state="private",
            new_state="published",
            notices=(Notice("published", ("user:bob",)),),
            allowed_before=("user:carol",),
            **COMMON,
        ),
    ]
    found = batch_of("db", 0x1F, events)
    assert (found.db, found.tid, found.first) == ("db", 0x1F, "000000000000001f-0")
    assert [e["cursor"] for e in found.events] == [f"000000000000001f-{i}" for i in range(4)]
    assert [e["event"] for e in found.events] == ["added", "modified", "moved", "transition"]
    added, modified, moved, transitioned = found.events
    assert added["parent_path"] == "/db/site" and added["allowed"] == COMMON["allowed"]
    assert "allowed_before" not in added and "changed" not in added
    assert modified["changed"] == ("title",)
    assert moved["old_path"] == "/db/site/a"
    assert transitioned["notices"] == (("published", ("user:bob",)),)
    assert transitioned["allowed_before"] == ("user:carol",)
    assert (transitioned["old_state"], transitioned["new_state"]) == ("private", "published")


def test_a_frame_is_the_rest_like_shape_without_guard_tokens() -> None:
    data = batch(1, event("/db/site/a", "moved", old_path="/db/site/old", allowed_before=("x",)))
    frame = orjson.loads(data.frame(0, BASE))
    assert frame["type"] == "event" and frame["event"] == "moved"
    assert frame["@id"] == f"{BASE}/db/site/a"
    assert frame["old_@id"] == f"{BASE}/db/site/old"
    assert frame["parent"] == {"@id": f"{BASE}/db/site"}
    for private in ("allowed", "allowed_before", "notices", "path", "old_path", "parent_path"):
        assert private not in frame
    assert frame["cursor"] == "0000000000000001-0"


def test_as_a_removal_the_frame_names_the_place_the_user_knew() -> None:
    moved = event("/db/site/new", "moved", old_path="/db/site/old", changed=("title",))
    shaped = push_shape(moved, BASE, as_removal=True)
    assert shaped["event"] == "removed"
    assert shaped["@id"] == f"{BASE}/db/site/old"
    assert "old_@id" not in shaped and "changed" not in shaped
    transition = event("/db/site/doc", "transition", transition="retract", new_state="private")
    shaped = push_shape(transition, BASE, as_removal=True)
    assert shaped["event"] == "removed" and "transition" not in shaped
    assert "new_state" not in shaped


def test_frames_are_encoded_once_per_event_url_and_kind() -> None:
    data = batch(1, event("/db/site/a"), event("/db/site/b"))
    first = data.frame(0, BASE)
    assert data.frame(0, BASE) is first
    assert data.frame(0, "https://other") is not first
    assert data.frame(0, BASE, as_removal=True) != first
    assert data.frame(1, BASE) != first
    assert data.frames is not None and len(data.frames) == 4


@pytest.mark.parametrize(
    "message",
    [
        batch(7, event("/db/site/a", changed=("title", "text")), event("/db/site/b")),
        PrincipalsMessage(
            db="db",
            container="/db/site",
            ids=("alice", "staff"),
            accounts=(
                Account(id="alice", title="Alice", roles=("R",), groups=("staff",), active=True),
                Account(id="bob", title="", roles=(), groups=(), active=False),
            ),
        ),
        RevokedMessage(db="db", token_id="jti"),
    ],
    ids=["batch", "principals", "revoked"],
)
def test_messages_survive_encoding(message: Batch | PrincipalsMessage | RevokedMessage) -> None:
    raw = encode_message(message)
    assert isinstance(raw, bytes)
    decoded = decode_message(raw)
    assert decoded == message
    assert type(decoded) is type(message)
    if isinstance(decoded, Batch):  # JSON lists come back as tuples, as batch_of makes them
        assert decoded.events[0]["changed"] == ("title", "text")
        assert decoded.events[0]["allowed"] == ("baobab.Anonymous",)

"""What travels on the bus, and what a socket receives.

A committed transaction becomes one :class:`Batch`: the database, the transaction id, and its
object events as plain dicts (with the tokens that decide who may receive each). Cursors are
``<tid as 16 hex digits>-<index in the transaction>``: ordered like the commits, and naming
each event of a transaction so a client cut off half-way through one resumes exactly there.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson

from baobab.events import Account, ObjectEvent, ObjectModified, ObjectMoved, WorkflowTransitioned

__all__ = [
    "Batch",
    "Message",
    "PrincipalsMessage",
    "RevokedMessage",
    "batch_of",
    "cursor_key",
    "decode_message",
    "encode_message",
    "event_kind",
    "push_shape",
    "withheld_for",
]

# The fields every pushed event has, then those of particular kinds.
_PRIVATE = (
    "allowed",
    "allowed_before",
    "notices",
    "path",
    "old_path",
    "parent_path",
    "original_allowed",
)

# The frame fields that name another place than the object's own (now, or at its old place
# for a removal): (frame field, event field it comes from, the event's tokens allowed to View
# that place when the event committed). A receiver none of whose tokens is among them is not
# told the field (docs/live.md, "What a frame names").
REFERENCES = (
    ("old_@id", "old_path", "allowed_before"),
    ("original", "original", "original_allowed"),
)

# What a removal frame keeps of the event that took the object out of the receiver's sight
# (a move, a transition, a sharing change): what they knew of it, nothing of it afterwards.
_AFTER_THE_CHANGE = (
    "changed",
    "transition",
    "old_state",
    "new_state",
    "original",
    "review_state",
    "modified",
)


def event_kind(event: ObjectEvent) -> str:
    return type(event).kind or type(event).__name__


def cursor_key(cursor: str) -> tuple[int, int]:
    """A cursor as an orderable pair; ValueError if it is not one."""
    tid, sep, index = cursor.partition("-")
    if not sep or len(tid) != 16:
        raise ValueError(cursor)
    return int(tid, 16), int(index, 16)


def _event_dict(event: ObjectEvent, cursor: str) -> dict[str, Any]:
    """Strings and tuples of strings only: the garbage collector stops tracking such dicts,
    so a backlog of 10,000 of them adds nothing to a full collection."""
    data: dict[str, Any] = {
        "event": event_kind(event),
        "path": event.path,
        "@type": event.type_name,
        "UID": event.uid,
        "parent_path": event.parent,
        "review_state": event.review_state,
        "modified": event.modified,
        "actor": event.actor,
        "cursor": cursor,
        "allowed": event.allowed,
    }
    if event.allowed_before:
        data["allowed_before"] = event.allowed_before
    if isinstance(event, ObjectModified):
        data["changed"] = event.changed
    elif isinstance(event, ObjectMoved):
        data["old_path"] = event.old_path
    elif isinstance(event, WorkflowTransitioned):
        data["transition"] = event.transition
        data["old_state"] = event.old_state
        data["new_state"] = event.new_state
        if event.notices:
            data["notices"] = tuple((n.reason, n.tokens) for n in event.notices)
    original = getattr(event, "original", None)
    if original:
        data["original"] = original
        data["original_allowed"] = getattr(event, "original_allowed", ())
    return data


@dataclass(slots=True)
class Batch:
    """The events of one committed transaction in one database."""

    db: str
    tid: int
    events: tuple[dict[str, Any], ...]
    # frames already encoded for a base URL (``@id`` is absolute) and a set of withheld
    # fields: one encoding per batch, URL and set, shared by every socket that receives it;
    # dropped once delivered
    frames: dict[tuple[int, str, str, frozenset[str]], bytes] | None = field(
        default=None, repr=False
    )

    @property
    def first(self) -> str:
        cursor: str = self.events[0]["cursor"]
        return cursor

    def frame(
        self,
        index: int,
        base_url: str,
        as_removal: bool = False,
        withheld: frozenset[str] = frozenset(),
    ) -> bytes:
        """Event ``index`` as the frame a socket on ``base_url`` receives, without the
        ``withheld`` fields (see :func:`withheld_for`)."""
        key = (index, base_url, "removed" if as_removal else "", withheld)
        if self.frames is None:
            self.frames = {}
        frame = self.frames.get(key)
        if frame is None:
            frame = self.frames[key] = orjson.dumps(
                push_shape(self.events[index], base_url, as_removal, withheld)
            )
        return frame


def withheld_for(tokens: frozenset[str], data: dict[str, Any]) -> frozenset[str]:
    """The frame fields of event ``data`` naming a place the holder of ``tokens`` could not
    View when the event committed (judged on the event's own snapshot of the tokens allowed
    there, so a replay decides as the live delivery did)."""
    return frozenset(
        name
        for name, source, allowed in REFERENCES
        if data.get(source) and tokens.isdisjoint(data.get(allowed, ()))
    )


def push_shape(
    data: dict[str, Any],
    base_url: str,
    as_removal: bool = False,
    withheld: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """The REST-like frame for an event dict: URLs made absolute, guard tokens and the
    ``withheld`` fields left out. A user who may no longer see the object (it moved away,
    changed state, or lost a local role) is told it was removed, at the path they knew, with
    nothing of the object after the change."""
    shaped = {k: v for k, v in data.items() if k not in _PRIVATE}
    path, parent = data["path"], data["parent_path"]
    if as_removal:
        if data["event"] != "removed":
            for key in _AFTER_THE_CHANGE:
                shaped.pop(key, None)
        shaped["event"] = "removed"
        if data.get("old_path"):
            path = data["old_path"]
            parent = path.rpartition("/")[0]
    shaped["type"] = "event"
    shaped["@id"] = base_url + path
    shaped["parent"] = {"@id": base_url + parent}
    if "old_path" in data and not as_removal:
        shaped["old_@id"] = base_url + data["old_path"]
    for name in withheld:
        shaped.pop(name, None)
    return shaped


def batch_of(db: str, tid: int, events: Iterable[ObjectEvent]) -> Batch:
    prefix = f"{tid:016x}"
    return Batch(
        db=db,
        tid=tid,
        events=tuple(_event_dict(e, f"{prefix}-{i:x}") for i, e in enumerate(events)),
    )


@dataclass(frozen=True, slots=True)
class PrincipalsMessage:
    """Users or groups of a container changed: ``accounts``, as the commit left them, apply
    to their sockets before any later commit's events are judged. It travels in the
    database's own order, just before the batch of the same commit."""

    db: str
    container: str
    ids: tuple[str, ...]
    accounts: tuple[Account, ...] = ()


@dataclass(frozen=True, slots=True)
class RevokedMessage:
    """A token was logged out: sockets opened with it close."""

    db: str  # the system database (the bus orders messages per database)
    token_id: str


Message = Batch | PrincipalsMessage | RevokedMessage


def encode_message(message: Message) -> bytes:
    if isinstance(message, Batch):
        return orjson.dumps({"k": "tx", "db": message.db, "tid": message.tid, "e": message.events})
    if isinstance(message, RevokedMessage):
        return orjson.dumps({"k": "revoked", "db": message.db, "jti": message.token_id})
    accounts = [[a.id, a.title, a.roles, a.groups, a.active] for a in message.accounts]
    return orjson.dumps(
        {
            "k": "principals",
            "db": message.db,
            "ctr": message.container,
            "ids": list(message.ids),
            "acc": accounts,
        }
    )


def _frozen(value: Any) -> Any:
    """JSON lists as tuples, at any depth (see :func:`_event_dict`)."""
    if isinstance(value, list):
        return tuple(_frozen(v) for v in value)
    if isinstance(value, dict):
        return {k: _frozen(v) for k, v in value.items()}
    return value


def decode_message(raw: bytes) -> Message:
    data = orjson.loads(raw)
    if data["k"] == "tx":
        return Batch(db=data["db"], tid=data["tid"], events=tuple(_frozen(e) for e in data["e"]))
    if data["k"] == "revoked":
        return RevokedMessage(db=data["db"], token_id=data["jti"])
    accounts = tuple(
        Account(id=i, title=t, roles=tuple(r), groups=tuple(g), active=a)
        for i, t, r, g, a in data.get("acc", ())
    )
    return PrincipalsMessage(
        db=data["db"], container=data["ctr"], ids=tuple(data["ids"]), accounts=accounts
    )

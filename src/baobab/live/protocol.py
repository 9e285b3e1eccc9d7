"""The frames a client sends on ``@ws``, and how a session answers them.

Every client frame is a JSON object with a ``type`` and an ``id`` (a string of at most 256
characters or an integer within ±(2**53 - 1), echoed in the answer)::

    {"type": "subscribe", "id": 1, "path": "/db/site/news", "events": ["added"], "since": "…"}
    {"type": "unsubscribe", "id": 2, "subscription": "s1"}
    {"type": "ping", "id": 3}

Answers: ``{"type": "ack", "id": …}`` (with ``subscription`` for a subscribe, and ``cursor``,
the newest cursor the server holds), or ``{"type": "error", "id": …, "error": {envelope}}``
with the same error envelope as HTTP. A subscribe with ``since`` first receives the events it
missed, or ``{"type": "gap", "subscription": …, "since": …}`` when the backlog no longer
reaches back that far (then it should reload what it shows).
"""

from __future__ import annotations

from typing import Annotated

import msgspec

from baobab.errors import BadRequest, BaobabError, MalformedJSON
from baobab.live.hub import Connection, Hub
from baobab.live.wire import cursor_key

__all__ = ["Session"]


# An id is echoed in the answer: an integer a JSON peer reads exactly (RFC 7493's I-JSON
# range, what a JavaScript number holds), or a short string. Anything else is refused with an
# error frame (a number past 64 bits would not even encode).
_SAFE = 2**53 - 1
FrameId = (
    Annotated[int, msgspec.Meta(ge=-_SAFE, le=_SAFE)] | Annotated[str, msgspec.Meta(max_length=256)]
)


class _Frame(msgspec.Struct, tag_field="type", forbid_unknown_fields=True, kw_only=True):
    id: FrameId


class Subscribe(_Frame, tag="subscribe"):
    path: str | None = None  # absolute (/db/…) or relative to the socket's path
    events: list[str] | None = None  # event kinds ("added", "modified", …); None: all
    since: str | None = None  # the last cursor received: replay what came after


class Unsubscribe(_Frame, tag="unsubscribe"):
    subscription: str


class Ping(_Frame, tag="ping"):
    pass


_decoder = msgspec.json.Decoder(Subscribe | Unsubscribe | Ping)


class Session:
    """One socket's conversation: frames in, acks and errors out (through its queue)."""

    def __init__(self, hub: Hub, conn: Connection, db: str) -> None:
        self.hub = hub
        self.conn = conn
        self.db = db

    def handle(self, raw: bytes | str) -> None:
        frame_id: FrameId | None = None
        try:
            try:
                frame = _decoder.decode(raw)
            except msgspec.ValidationError as exc:
                frame_id = _id_of(raw)
                raise BadRequest(f"Invalid frame: {exc}") from None
            except msgspec.DecodeError as exc:
                raise MalformedJSON(f"The frame is not valid JSON: {exc}") from None
            frame_id = frame.id
            if isinstance(frame, Subscribe):
                self._subscribe(frame)
            elif isinstance(frame, Unsubscribe):
                if not self.hub.unsubscribe(self.conn, frame.subscription):
                    raise BadRequest(f"No subscription {frame.subscription!r}")
                self.conn.push_json({"type": "ack", "id": frame.id})
            else:
                self.conn.push_json({"type": "ack", "id": frame.id, "cursor": self._newest()})
        except BaobabError as exc:
            self.conn.push_json({"type": "error", "id": frame_id, "error": exc.to_dict()})

    def _newest(self) -> str | None:
        backlog = self.hub.bus.backlogs.get(self.db)
        return backlog.newest if backlog is not None else None

    def _path(self, given: str | None) -> str:
        scope = self.conn.scope
        if not given:
            return scope
        path = given if given.startswith("/") else f"{scope}/{given}"
        parts = [p for p in path.split("/") if p]
        if any(p in (".", "..") for p in parts):
            raise BadRequest("A subscription path may not contain '.' or '..'")
        path = "/" + "/".join(parts)
        if path != scope and not path.startswith(scope + "/"):
            raise BadRequest(f"Subscribe at or below {scope}, where this socket was opened")
        return path

    def _subscribe(self, frame: Subscribe) -> None:
        path = self._path(frame.path)
        if len(self.conn.subscriptions) >= self.conn.max_subscriptions:
            raise BadRequest(
                f"At most {self.conn.max_subscriptions} subscriptions per connection",
                details={"limit": self.conn.max_subscriptions},
            )
        if frame.since is not None:
            try:
                cursor_key(frame.since)
            except ValueError:
                raise BadRequest(f"{frame.since!r} is not a cursor") from None
        kinds = frozenset(frame.events) if frame.events is not None else None
        sub = self.hub.subscribe(self.conn, path, kinds)
        ack = {"type": "ack", "id": frame.id, "subscription": sub.id, "path": path}
        self.conn.push_json({**ack, "cursor": self._newest()})
        if frame.since is None:
            return
        frames, gap = self.hub.replay(sub, self.db, frame.since)
        if gap:
            self.conn.push_json({"type": "gap", "subscription": sub.id, "since": frame.since})
        for replayed in frames:
            self.conn.push(replayed)


class _AnyId(msgspec.Struct):
    """Only the ``id`` of a frame, to echo it in the error for a frame that failed."""

    id: FrameId | None = None


_id_decoder = msgspec.json.Decoder(_AnyId)


def _id_of(raw: bytes | str) -> str | int | None:
    """The ``id`` of a frame that failed validation, if it has a usable one."""
    try:
        return _id_decoder.decode(raw).id
    except msgspec.MsgspecError:
        return None

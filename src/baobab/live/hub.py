"""Sockets, their subscriptions, and guarded delivery.

The hub indexes subscriptions by path, so an event costs a walk up its path plus the sockets
subscribed there, not a scan of every socket. For each matched socket it checks the guard:
the socket's principal tokens (``Principal.tokens``: user, groups, roles) must intersect the
tokens allowed to View the object *now*; if they do not, but intersect those from *before*
(a transition, move, removal or sharing change took access away), the socket is told the
object was removed. A place counts only for whoever could View the object there: a
subscription reached through a moved object's old place delivers it only to those who saw it
there, one reached through its new place only to those who see it now (else a subscription
at a guessed hidden path would learn what leaves or enters it); and a frame names another
place (``old_@id``, a copy's ``original``) only to whoever could View it then
(``wire.withheld_for``). Frames are encoded once per event, base URL and withheld set, and
shared.

A change of a user's roles, groups or account (:class:`~baobab.live.wire.PrincipalsMessage`,
which carries the accounts as its commit left them) and a logout are applied when the bus
hands them over, synchronously, in its order: every batch of a later commit is judged with
them, with no read of the database and no window. A socket whose handshake was under way
catches up on those delivered meanwhile (:meth:`Hub.mark`, :meth:`Hub.add`).

Each connection has a queue of encoded frames and one writer task; a queue over
``max_queued_bytes`` closes the socket with :data:`CLOSE_SLOW` (the client resumes with
``since``). Everything here runs on the event loop.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import orjson

from baobab.events import Account
from baobab.live.bus import Bus, Message
from baobab.live.wire import (
    Batch,
    PrincipalsMessage,
    RevokedMessage,
    push_shape,
    withheld_for,
)
from baobab.security.principals import Principal
from baobab.telemetry.metrics import instruments

__all__ = [
    "CLOSE_AUTH",
    "CLOSE_GOING_AWAY",
    "CLOSE_SLOW",
    "Connection",
    "Hub",
    "Subscription",
    "ancestors",
]

CLOSE_GOING_AWAY = 1001  # the server is shutting down
CLOSE_TOO_BIG = 1009  # a client frame over live.max_frame_size
CLOSE_AUTH = 4001  # the credentials expired, or the user was disabled or removed
CLOSE_SLOW = 4008  # the socket's queue overflowed: reconnect and subscribe with ``since``

_REMOVAL_KINDS = frozenset({"removed", "moved"})

Send = Callable[[bytes], Awaitable[None]]
Close = Callable[[int, str], Coroutine[Any, Any, None]]
AccountMessage = PrincipalsMessage | RevokedMessage

_RECENT_ACCOUNTS = 256  # account messages kept for sockets still shaking hands


def ancestors(path: str) -> Iterator[str]:
    """``/db/a/b`` → ``/db/a/b``, ``/db/a``, ``/db``."""
    while path:
        yield path
        path = path.rpartition("/")[0]


@dataclass(eq=False, slots=True)
class Subscription:
    id: str
    conn: Connection
    path: str
    kinds: frozenset[str] | None  # None: every kind


@dataclass(eq=False)
class Connection:
    """One accepted socket: who it is, where it is, and its outgoing queue."""

    principal: Principal
    scope: str  # the path of the @ws it was opened on; subscriptions stay at or below
    base_url: str
    send: Send
    close_socket: Close
    max_queued: int
    max_subscriptions: int
    subscriptions: dict[str, Subscription] = field(default_factory=dict)
    queue: deque[bytes] = field(default_factory=deque)
    queued: int = 0
    closing: tuple[int, str] | None = None  # set by close(): the code and reason to send
    gone: bool = False  # the client left, or writing to it failed
    _wake: asyncio.Event = field(default_factory=asyncio.Event)
    _writer: asyncio.Task[None] | None = None
    _next_id: int = 0

    @property
    def closed(self) -> bool:
        return self.closing is not None or self.gone

    def new_subscription_id(self) -> str:
        self._next_id += 1
        return f"s{self._next_id}"

    def push(self, frame: bytes) -> None:
        if self.closed:
            return
        if self.queued + len(frame) > self.max_queued:
            self.close(CLOSE_SLOW, "slow consumer: reconnect and subscribe with since")
            return
        self.queue.append(frame)
        self.queued += len(frame)
        self._wake.set()

    def push_json(self, data: Any) -> None:
        self.push(orjson.dumps(data))

    def start(self) -> None:
        self._writer = asyncio.get_running_loop().create_task(self._write())

    async def _write(self) -> None:
        """Send queued frames in order; after :meth:`close`, the ``close`` frame and then the
        WebSocket close."""
        frames_sent = instruments().frames
        try:
            while not self.gone:
                if self.queue:
                    frame = self.queue.popleft()
                    self.queued -= len(frame)
                    await self.send(frame)
                    frames_sent.inc()
                elif self.closing is not None:
                    await self.close_socket(*self.closing)
                    return
                else:
                    self._wake.clear()
                    await self._wake.wait()
        except asyncio.CancelledError:
            raise
        except Exception:  # the socket went away under us: the reader sees the disconnect
            self.gone = True

    def close(self, code: int, reason: str) -> None:
        """Close the socket (once): frames still queued are dropped; the client first gets
        ``{"type": "close", "code", "reason"}``, then the WebSocket close. The frame says it
        in band because a server may hold the close back while it waits for the client
        (Granian 2.8 sends it only once the client sends something; docs/live.md)."""
        if self.closed:
            return
        self.closing = (code, reason)
        self.queue.clear()
        self.queue.append(orjson.dumps({"type": "close", "code": code, "reason": reason}))
        self.queued = 0
        self._wake.set()

    async def wait_closed(self) -> None:
        """Wait for the writer to have sent what :meth:`close` asked for."""
        if self._writer is not None:
            await asyncio.gather(self._writer, return_exceptions=True)

    async def drain(self) -> None:
        """Stop the writer (the client has gone)."""
        self.gone = True
        self._wake.set()
        if self._writer is not None:
            self._writer.cancel()
            await asyncio.gather(self._writer, return_exceptions=True)


def _covers(sub_path: str, path: str | None, below: bool) -> bool:
    """Whether a subscription at ``sub_path`` covers an event at ``path``: the path is at or
    below it, or (``below``: a removal or a move) the subscription is below the path."""
    if not path:
        return False
    if path == sub_path or path.startswith(sub_path + "/"):
        return True
    return below and sub_path.startswith(path + "/")


Verdict = tuple[bool, frozenset[str]]  # (as a removal, the frame fields withheld)


def _verdict(sub: Subscription, event: dict[str, Any]) -> Verdict | None:
    """Whether ``sub``'s socket gets ``event``: None (not at all), else as a removal or not
    (it may see the object no more, but could before the change), and what to withhold.

    The subscription must cover a place where the receiver could View the object: the new
    (or only) one if it may View it now, the old one if it could View it there before."""
    tokens = sub.conn.principal.tokens
    below = event["event"] in _REMOVAL_KINDS
    at_new = _covers(sub.path, event["path"], below)
    old_path = event.get("old_path")
    at_old = _covers(sub.path, old_path, below) if old_path else at_new
    sees = not tokens.isdisjoint(event["allowed"])
    saw = not tokens.isdisjoint(event.get("allowed_before", ()))
    if sees and (at_new or (at_old and saw)):
        as_removal = False
    elif saw and not sees and at_old:
        as_removal = True
    else:
        return None
    if sub.kinds is not None and ("removed" if as_removal else event["event"]) not in sub.kinds:
        return None
    return as_removal, withheld_for(tokens, event)


class Hub:
    def __init__(self, bus: Bus, recent: int = _RECENT_ACCOUNTS) -> None:
        self.bus = bus
        self.connections: set[Connection] = set()
        self._by_path: dict[str, set[Subscription]] = {}
        self._by_scope: dict[str, set[Connection]] = {}
        # the last account messages, for sockets whose handshake was under way meanwhile
        self._recent: deque[AccountMessage] = deque(maxlen=recent)
        self._accounts_seen = 0

    # connections --------------------------------------------------------------------------
    def add(self, conn: Connection, mark: int | None = None) -> None:
        """Take ``conn`` in. ``mark``: :meth:`mark` from before its principal was read; the
        account messages delivered since then are applied to it first (a change committed
        after that read, delivered before the socket joined, would else be lost to it)."""
        self.connections.add(conn)
        self._by_scope.setdefault(conn.scope, set()).add(conn)
        if mark is not None:
            self._catch_up(conn, mark)
        conn.start()

    def remove(self, conn: Connection) -> None:
        self.connections.discard(conn)
        scoped = self._by_scope.get(conn.scope)
        if scoped is not None:
            scoped.discard(conn)
            if not scoped:
                del self._by_scope[conn.scope]
        for sub in list(conn.subscriptions.values()):
            self.unsubscribe(conn, sub.id)

    def subscribe(self, conn: Connection, path: str, kinds: frozenset[str] | None) -> Subscription:
        sub = Subscription(conn.new_subscription_id(), conn, path, kinds)
        conn.subscriptions[sub.id] = sub
        self._by_path.setdefault(path, set()).add(sub)
        return sub

    def unsubscribe(self, conn: Connection, sub_id: str) -> bool:
        sub = conn.subscriptions.pop(sub_id, None)
        if sub is None:
            return False
        subs = self._by_path.get(sub.path)
        if subs is not None:
            subs.discard(sub)
            if not subs:
                del self._by_path[sub.path]
        return True

    async def close_all(self, code: int, reason: str, grace: float = 1.0) -> None:
        """Close every socket, giving their writers ``grace`` seconds to say so."""
        conns = list(self.connections)
        for conn in conns:
            conn.close(code, reason)
        if conns:
            waiting = [asyncio.ensure_future(conn.wait_closed()) for conn in conns]
            _, late = await asyncio.wait(waiting, timeout=grace)
            for task in late:
                task.cancel()

    # delivery -------------------------------------------------------------------------------
    def deliver(self, message: Message) -> None:
        if not isinstance(message, Batch):
            self._account_message(message)
            return
        for index, event in enumerate(message.events):
            self._deliver_event(message, index, event)
        message.frames = None  # a replay encodes again, for its one socket

    def _matching(self, event: dict[str, Any]) -> Iterator[Subscription]:
        paths = [event["path"]]
        if event.get("old_path"):
            paths.append(event["old_path"])
        seen: set[str] = set()
        for path in paths:
            for ancestor in ancestors(path):
                if ancestor not in seen:
                    seen.add(ancestor)
                    yield from self._by_path.get(ancestor, ())
        if event["event"] in _REMOVAL_KINDS:  # subscribers below a removed or moved object
            for path in paths:
                prefix = path + "/"
                for sub_path, subs in list(self._by_path.items()):
                    if sub_path.startswith(prefix) and sub_path not in seen:
                        seen.add(sub_path)
                        yield from subs

    def _deliver_event(self, batch: Batch, index: int, event: dict[str, Any]) -> None:
        decided: dict[Connection, Verdict] = {}  # connection → how it gets the event
        for sub in self._matching(event):
            conn = sub.conn
            if conn in decided or conn.closed:
                continue
            verdict = _verdict(sub, event)
            if verdict is not None:
                decided[conn] = verdict
        for conn, (as_removal, withheld) in decided.items():
            conn.push(batch.frame(index, conn.base_url, as_removal, withheld))
        for reason, audience in event.get("notices", ()):
            self._notify(batch, index, event, reason, audience)

    def _notify(
        self, batch: Batch, index: int, event: dict[str, Any], reason: str, audience: list[str]
    ) -> None:
        """An explicit notification: to every socket at or above the object whose principal
        is in the audience and may see the object (the actor excepted)."""
        frames: dict[tuple[str, frozenset[str]], bytes] = {}
        for scope in ancestors(event["path"]):
            for conn in self._by_scope.get(scope, ()):
                principal = conn.principal
                if principal.id == event["actor"] or conn.closed:
                    continue
                tokens = principal.tokens
                if tokens.isdisjoint(audience) or tokens.isdisjoint(event["allowed"]):
                    continue
                key = (conn.base_url, withheld_for(tokens, event))
                frame = frames.get(key)
                if frame is None:
                    shaped = push_shape(event, conn.base_url, withheld=key[1])
                    shaped["type"] = "notification"
                    shaped["reason"] = reason
                    frame = frames[key] = orjson.dumps(shaped)
                conn.push(frame)

    def replay(self, sub: Subscription, db: str, since: str) -> tuple[list[bytes], bool]:
        """The frames ``sub`` missed after cursor ``since``, and whether some are lost."""
        backlog = self.bus.backlogs.get(db)
        if backlog is None:
            return [], True
        found = backlog.since(since)
        frames = []
        for batch, index in found.events:
            verdict = _verdict(sub, batch.events[index])
            if verdict is not None:
                frames.append(batch.frame(index, sub.conn.base_url, *verdict))
        return frames, found.gap

    # accounts ----------------------------------------------------------------------------
    def mark(self) -> int:
        """Where delivery stands in account messages (principal changes, logouts): taken
        before a handshake reads its principal, handed to :meth:`add` (see there)."""
        return self._accounts_seen

    def _account_message(self, message: AccountMessage) -> None:
        """A principal change or a logout, applied at once, in bus order: the batches after
        it (later commits) are judged with it, with no window."""
        self._accounts_seen += 1
        self._recent.append(message)
        accounts = _accounts(message)
        for conn in list(self.connections):
            _apply(conn, message, accounts)

    def _catch_up(self, conn: Connection, mark: int) -> None:
        """Apply to a new socket the account messages delivered since ``mark`` (its principal
        was read after it, perhaps before their commits). If some are no longer held, close
        it: whether they concern its user cannot be told."""
        missed = self._accounts_seen - mark
        if missed > len(self._recent):
            conn.close(CLOSE_AUTH, "accounts changed while connecting: connect again")
            return
        for index in range(len(self._recent) - missed, len(self._recent)):
            message = self._recent[index]
            _apply(conn, message, _accounts(message))


def _accounts(message: AccountMessage) -> dict[str, Account]:
    if isinstance(message, RevokedMessage):
        return {}
    return {account.id: account for account in message.accounts}


def _apply(conn: Connection, message: AccountMessage, accounts: dict[str, Account]) -> None:
    """One account message to one socket: its principal as the commit left it, or closing
    it (4001) for a user disabled or removed, or a token logged out."""
    principal = conn.principal
    if conn.closed:
        return
    if isinstance(message, RevokedMessage):
        if principal.token_id == message.token_id:
            conn.close(CLOSE_AUTH, "the token was logged out")
        return
    account = accounts.get(principal.id) if principal.container == message.container else None
    if account is None:
        return
    if not account.active:
        conn.close(CLOSE_AUTH, "the user was disabled or removed")
        return
    # the principal keeps its token (id, expiry); ``replace`` computes its tokens again
    conn.principal = replace(
        principal,
        roles=frozenset(account.roles),
        groups=frozenset(account.groups),
        title=account.title,
    )

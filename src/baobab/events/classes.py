"""Event classes: what happened, as plain values, for subscribers (``@subscriber``).

An object event carries a snapshot taken inside the transaction that caused it — path, UID,
type, parent, review state, modification time, actor, and the principal tokens allowed to View
the object then (and before, for changes that can take access away). Plain subscribers run
inside that transaction and also get the live object (``event.obj``); coroutine subscribers run
on the event loop after the commit and get the snapshot only (``obj`` is None there: the
object belongs to a connection they must not touch).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

__all__ = [
    "Account",
    "Event",
    "LocalRolesChanged",
    "Notice",
    "ObjectAdded",
    "ObjectCopied",
    "ObjectEvent",
    "ObjectModified",
    "ObjectMoved",
    "ObjectRemoved",
    "PrincipalsChanged",
    "TokenRevoked",
    "UserLoggedIn",
    "WorkflowTransitioned",
]


@dataclass(frozen=True, kw_only=True)
class Event:
    """Base of every event; add-ons declare their own as subclasses."""

    actor: str  # the principal id that caused it


@dataclass(frozen=True, kw_only=True)
class ObjectEvent(Event):
    """An event about one object; pushed to WebSocket subscribers under the name ``kind``
    (an add-on's subclass is pushed under its class name unless it sets ``kind``)."""

    kind: ClassVar[str] = ""
    obj: Any = field(default=None, compare=False, repr=False)  # live, inside the transaction
    path: str
    uid: str
    type_name: str
    parent: str  # the parent's path
    review_state: str | None
    modified: str  # ISO 8601
    allowed: tuple[str, ...] = ()  # tokens allowed to View the object now
    allowed_before: tuple[str, ...] = ()  # and before the change (moves, transitions, removal)


@dataclass(frozen=True, kw_only=True)
class ObjectAdded(ObjectEvent):
    kind: ClassVar[str] = "added"


@dataclass(frozen=True, kw_only=True)
class ObjectModified(ObjectEvent):
    kind: ClassVar[str] = "modified"
    changed: tuple[str, ...] = ()  # the field names written


@dataclass(frozen=True, kw_only=True)
class ObjectRemoved(ObjectEvent):
    kind: ClassVar[str] = "removed"


@dataclass(frozen=True, kw_only=True)
class ObjectMoved(ObjectEvent):
    kind: ClassVar[str] = "moved"
    old_path: str = ""


@dataclass(frozen=True, kw_only=True)
class ObjectCopied(ObjectEvent):
    kind: ClassVar[str] = "copied"
    original: str = ""  # the path copied from
    original_allowed: tuple[str, ...] = ()  # the tokens allowed to View the original then


@dataclass(frozen=True, slots=True)
class Notice:
    """An explicit notification carried by an event: ``reason`` for the principals holding
    one of ``tokens`` (``user:<id>`` or role ids), e.g. the reviewers of a pending item."""

    reason: str
    tokens: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class WorkflowTransitioned(ObjectEvent):
    kind: ClassVar[str] = "transition"
    transition: str = ""
    old_state: str | None = None
    new_state: str | None = None
    notices: tuple[Notice, ...] = ()  # see settings ``live.notifications``


@dataclass(frozen=True, kw_only=True)
class LocalRolesChanged(ObjectEvent):
    kind: ClassVar[str] = "sharing"


@dataclass(frozen=True, kw_only=True)
class UserLoggedIn(Event):
    """A principal obtained a token (``@login``); ``container``: the site's path, or ''."""

    container: str = ""


@dataclass(frozen=True, slots=True)
class Account:
    """A user of a container as a transaction left it: what a live socket of theirs is judged
    with from that commit on. ``roles`` are global (its groups' included); ``active`` is
    False for a user disabled or removed."""

    id: str
    title: str
    roles: tuple[str, ...]
    groups: tuple[str, ...]
    active: bool


@dataclass(frozen=True, kw_only=True)
class PrincipalsChanged(Event):
    """Users or groups of a container changed (roles, groups, disabled, removed).

    ``ids``: the user and group ids touched. ``accounts``: every user whose roles, groups or
    account that may have changed (those named, and the members of a group named), as the
    transaction left them, so that sockets apply the change in commit order, before the
    events of any later commit are judged (docs/live.md, "Who receives what")."""

    container: str  # the container's path
    ids: tuple[str, ...]
    accounts: tuple[Account, ...] = ()


@dataclass(frozen=True, kw_only=True)
class TokenRevoked(Event):
    """A token was logged out (``@logout``): sockets opened with it close."""

    token_id: str

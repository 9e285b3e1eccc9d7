"""Events: their classes, how an object's snapshot is taken, how they are raised inside a
transaction (:class:`Outbox`) and delivered after its commit (:class:`Delivery`).

An object event carries a snapshot taken inside the transaction that caused it — path, UID,
type, parent, review state, modification time, actor, and the principal tokens allowed to View
the object then (and before, for changes that can take access away). Plain subscribers run
inside that transaction and also get the live object (``event.obj``); coroutine subscribers run
on the event loop after the commit and get the snapshot only (``obj`` is None there: the
object belongs to a connection they must not touch).
"""

from __future__ import annotations

from baobab.events.classes import (
    Account,
    Event,
    LocalRolesChanged,
    Notice,
    ObjectAdded,
    ObjectCopied,
    ObjectEvent,
    ObjectModified,
    ObjectMoved,
    ObjectRemoved,
    PrincipalsChanged,
    TokenRevoked,
    UserLoggedIn,
    WorkflowTransitioned,
)
from baobab.events.delivery import Delivery, Sink
from baobab.events.outbox import Outbox, Pending
from baobab.events.snapshot import object_event

__all__ = [
    "Account",
    "Delivery",
    "Event",
    "LocalRolesChanged",
    "Notice",
    "ObjectAdded",
    "ObjectCopied",
    "ObjectEvent",
    "ObjectModified",
    "ObjectMoved",
    "ObjectRemoved",
    "Outbox",
    "Pending",
    "PrincipalsChanged",
    "Sink",
    "TokenRevoked",
    "UserLoggedIn",
    "WorkflowTransitioned",
    "object_event",
]

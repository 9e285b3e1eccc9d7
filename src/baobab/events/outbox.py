"""Raising events inside a transaction: plain subscribers now, the rest kept for the commit.

``Outbox.notify`` is the one way an event is raised. Plain subscribers run at once, inside the
transaction (they may change data, or veto by raising: the request fails and nothing is
committed). What must wait for the commit is kept here, with the event's live object removed
(it belongs to a connection nobody may touch afterwards): the coroutine subscribers with their
event, and every event for the sinks (live push). An outbox lives as long as one attempt; a
replayed attempt raises its events again into a fresh one, so nothing is delivered twice.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from baobab.config.registry import Registry
from baobab.events.classes import Event

__all__ = ["Outbox", "Pending"]

# A coroutine subscriber and the (detached) event it is to receive after the commit.
Pending = tuple[Callable[..., Any], Event]


class Outbox:
    """What one attempt raised, for delivery once it has committed.

    Args:
        registry: where the subscribers are looked up (by event class and object class).
    """

    __slots__ = ("events", "pending", "registry")

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.events: list[Event] = []
        self.pending: list[Pending] = []

    def notify(self, event: Event) -> None:
        """Raise ``event``: run the plain subscribers now, keep the rest for the commit."""
        obj = getattr(event, "obj", None)
        # obj is a field of object events only, hence the test before replace
        detached = dataclasses.replace(event, obj=None) if obj is not None else event  # type: ignore[call-arg]
        for info in self.registry.subscribers(type(event), type(obj)):
            if info.is_async:
                self.pending.append((info.handler, detached))
            else:
                info.handler(event)
        self.events.append(detached)

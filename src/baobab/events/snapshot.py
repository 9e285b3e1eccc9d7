"""Object events built from the tree: a snapshot of an object taken inside the transaction."""

from __future__ import annotations

from typing import Any, TypeVar

from baobab.events.classes import ObjectEvent
from baobab.location import resource_path

__all__ = ["object_event"]

E = TypeVar("E", bound=ObjectEvent)


def object_event(cls: type[E], obj: Any, actor: str, **extra: Any) -> E:
    """``cls`` for ``obj`` as it is now: path, UID, type, parent, state, modified, the tokens
    allowed to View it; ``extra`` fills the event's own fields (``changed``, ``old_path``…)
    or overrides these (``allowed`` of a removed object)."""
    parent = obj.__parent__
    fields: dict[str, Any] = {
        "obj": obj,
        "actor": actor,
        "path": resource_path(obj),
        "uid": obj.uid,
        "type_name": obj.type_name,
        "parent": resource_path(parent) if parent is not None else "",
        "review_state": obj.review_state,
        "modified": obj.modified.isoformat(),
        "allowed": tuple(obj._allowed),
    }
    return cls(**{**fields, **extra})

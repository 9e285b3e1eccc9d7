"""Object events → the indexing queue: what each kind of change reindexes.

Called for every object event a request raises (:meth:`baobab.request.Request.notify`).
Changes of who may View are queued where they are computed
(:func:`baobab.security.indexing.reindex`), object by object, so a sharing change or a
transition reindexes exactly the entries whose tokens changed, however deep.
"""

from __future__ import annotations

from typing import Any

from baobab.catalog.queue import container_of, queue_for
from baobab.config.registry import Registry
from baobab.events.classes import (
    Event,
    ObjectAdded,
    ObjectCopied,
    ObjectEvent,
    ObjectMoved,
    ObjectRemoved,
)
from baobab.location import split_path

__all__ = ["follow"]


def follow(event: Event, registry: Registry) -> None:
    if not isinstance(event, ObjectEvent) or event.obj is None:
        return
    obj = event.obj
    queue = queue_for(obj, registry)
    container = container_of(obj)
    if (
        queue is None
        or container is None
        or (obj is container and not isinstance(event, ObjectAdded))
    ):
        return
    if isinstance(event, ObjectRemoved):
        queue.remove(container, event.path)
    elif isinstance(event, ObjectAdded | ObjectCopied):
        queue.index(obj, subtree=True)
    elif isinstance(event, ObjectMoved):
        old = _old_container(container, event.old_path)
        if old is not None and old is not container:
            queue.remove(old, event.old_path)
        queue.index(obj, subtree=True)
    else:
        queue.index(obj)


def _old_container(container: Any, old_path: str) -> Any:
    """The container a moved object came from (another site of the same database)."""
    segments = split_path(old_path)
    if len(segments) < 2 or segments[1] == container.__name__:
        return container
    return container.__parent__.get(segments[1])

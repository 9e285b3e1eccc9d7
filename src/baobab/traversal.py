"""Path → (context, view name, subpath), with no side effects.

Segments starting with ``@`` select a view (service); the segments after it are its subpath.
``_``-prefixed, ``.`` and ``..`` segments never traverse (404), so nothing private is reachable.

:func:`reach` never raises: it says how far the path resolved, so the publish step can decide,
once it knows the principal, what to answer for a missing object and for one the principal
may not see — the same thing (``baobab.security.gate.unseen``). :func:`traverse` raises
``NotFound`` at the first segment that does not resolve.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from baobab.errors import NotFound
from baobab.location import split_path

__all__ = ["Reached", "Traversed", "reach", "split_path", "traverse"]


@dataclass(frozen=True, slots=True)
class Traversed:
    context: Any
    view_name: str
    subpath: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Reached:
    """How far a path resolved: ``context`` is the object at ``depth`` segments below the
    start; ``missing`` is True when ``segments[depth]`` names no reachable child (then
    ``view_name`` and ``subpath`` are empty)."""

    context: Any
    depth: int
    view_name: str
    subpath: tuple[str, ...]
    missing: bool


def reach(start: Any, segments: Sequence[str]) -> Reached:
    context = start
    for index, segment in enumerate(segments):
        first = segment[:1]  # one slice, not two startswith calls: this runs per segment
        if first == "@":
            return Reached(context, index, segment, tuple(segments[index + 1 :]), False)
        child = None
        if first not in ("_", "."):  # private names, "." and ".." never traverse
            try:
                child = context.get(segment) if context.folderish else None
            except AttributeError:  # not a folder-like object
                child = None
        if child is None:
            return Reached(context, index, "", (), True)
        context = child
    return Reached(context, len(segments), "", (), False)


def traverse(start: Any, segments: Sequence[str]) -> Traversed:
    found = reach(start, segments)
    if found.missing:
        segment = segments[found.depth]
        raise NotFound(f"Not found: {segment!r}", details={"path": "/".join(segments)})
    return Traversed(found.context, found.view_name, found.subpath)

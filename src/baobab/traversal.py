"""Path → (context, view name, subpath), with no side effects.

Segments starting with ``@`` select a view (service); the segments after it are its subpath.
``_``-prefixed, ``.`` and ``..`` segments never traverse (404), so nothing private is reachable.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from baobab.errors import NotFound
from baobab.location import split_path

__all__ = ["Traversed", "split_path", "traverse"]


@dataclass(frozen=True, slots=True)
class Traversed:
    context: Any
    view_name: str
    subpath: tuple[str, ...]


def traverse(start: Any, segments: Sequence[str]) -> Traversed:
    context = start
    for index, segment in enumerate(segments):
        first = segment[:1]  # one slice, not two startswith calls: this runs per segment
        if first == "@":
            return Traversed(context, segment, tuple(segments[index + 1 :]))
        if first in ("_", "."):  # private names, "." and ".."
            raise NotFound(f"Not found: {segment!r}")
        try:
            child = context.get(segment) if context.folderish else None
        except AttributeError:  # not a folder-like object
            child = None
        if child is None:
            raise NotFound(f"Not found: {segment!r}", details={"path": "/".join(segments)})
        context = child
    return Traversed(context, "", ())

"""Folder order (placeholder until the ordering work lands): position of a child."""

from __future__ import annotations

from typing import Any

__all__ = ["position_in_parent"]


def position_in_parent(obj: Any) -> int:
    parent = obj.__parent__
    position = getattr(parent, "position_of", None)
    return int(position(obj.__name__)) if position is not None else 0

"""Event dicts and batches for the live unit tests, shaped as ``wire.batch_of`` makes them."""

from __future__ import annotations

from typing import Any

from baobab.live.wire import Batch

ANYONE = ("baobab.Anonymous",)


def event(
    path: str = "/db/site/doc",
    kind: str = "added",
    allowed: tuple[str, ...] = ANYONE,
    **extra: Any,
) -> dict[str, Any]:
    """An event dict without its cursor (:func:`batch` numbers them)."""
    return {
        "event": kind,
        "path": path,
        "@type": "Document",
        "UID": "uid-" + path.rsplit("/", 1)[1],
        "parent_path": path.rsplit("/", 1)[0],
        "review_state": "private",
        "modified": "2024-01-01T00:00:00+00:00",
        "actor": "root",
        "allowed": allowed,
        **extra,
    }


def batch(tid: int, *events: dict[str, Any], db: str = "db") -> Batch:
    """The committed transaction ``tid``: ``events`` (one added event if none) with cursors."""
    found = events or (event(),)
    return Batch(
        db=db,
        tid=tid,
        events=tuple({**e, "cursor": f"{tid:016x}-{i:x}"} for i, e in enumerate(found)),
    )


def cursor(tid: int, index: int = 0) -> str:
    return f"{tid:016x}-{index:x}"

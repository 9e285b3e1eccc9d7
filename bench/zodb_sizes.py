"""What a part of a ZODB database weighs: shared by the catalog benchmarks of Baobab and of
Plone (which run in different virtualenvs; both have ZODB)."""

from __future__ import annotations

from typing import Any

__all__ = ["reachable"]


def reachable(storage: Any, root: bytes) -> dict[bytes, int]:
    """Oids reachable from ``root`` through persistent references, with their pickle size."""
    from ZODB.serialize import referencesf

    sizes: dict[bytes, int] = {}
    todo = [root]
    while todo:
        oid = todo.pop()
        if oid in sizes:
            continue
        data, _ = storage.load(oid)
        sizes[oid] = len(data)
        todo.extend(ref for ref in referencesf(data) if ref not in sizes)
    return sizes

"""Helpers the principal services share: batching a sorted id sequence, strict bodies."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from itertools import islice
from typing import Any
from urllib.parse import urlencode

from baobab.errors import ValidationError
from baobab.request import Request

__all__ = ["batched", "check_keys", "string_field"]


def batched(
    request: Request,
    url: str,
    total: int,
    ids: Iterable[str],
    render: Callable[[str], dict[str, Any]],
) -> dict[str, Any]:
    """``{"@id", "items", "items_total", "batching"?}`` for one page of ``ids``."""
    limits = request.settings.request
    size = request.query_int("b_size", limits.default_batch_size, 1, limits.max_batch_size)
    start = request.query_int("b_start", 0)
    keys = getattr(ids, "keys", None)
    if callable(keys):  # a BTree set or keys view: slice without reading what is skipped
        page = list(keys()[start : start + size])
    else:
        page = list(islice(ids, start, start + size))
    extra = {k: v for k, v in request.query.items() if k not in ("b_start", "b_size")}
    out: dict[str, Any] = {
        "@id": url,
        "items": [render(item) for item in page],
        "items_total": total,
    }
    if total > size or start:

        def link(b_start: int) -> str:
            return f"{url}?{urlencode({**extra, 'b_start': b_start, 'b_size': size})}"

        batching = {
            "@id": link(start),
            "first": link(0),
            "last": link(max(0, (total - 1) // size * size)),
        }
        if start + size < total:
            batching["next"] = link(start + size)
        if start > 0:
            batching["prev"] = link(max(0, start - size))
        out["batching"] = batching
    return out


def check_keys(data: dict[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ValidationError(
            "Unknown keys: " + ", ".join(unknown),
            details=[{"field": k, "message": "is not accepted here"} for k in unknown],
        )


def string_field(data: dict[str, Any], key: str, max_length: int) -> str:
    value = data[key]
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > max_length:
        raise ValidationError(
            f"`{key}` must be a string of at most {max_length} characters",
            details=[{"field": key, "message": f"must be a string (≤ {max_length})"}],
        )
    return value

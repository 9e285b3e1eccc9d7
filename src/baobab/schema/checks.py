"""Strict checks of a JSON body's keys and values, for services that take a fixed shape."""

from __future__ import annotations

from typing import Any

from baobab.errors import ValidationError

__all__ = ["check_keys", "string_field", "string_list"]


def string_list(data: dict[str, Any], key: str, what: str) -> list[str]:
    value = data[key]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValidationError(f"`{key}` must be a list of {what}", details=[{"field": key}])
    return value


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

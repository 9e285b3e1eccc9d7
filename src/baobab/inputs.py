"""Strict readers for the integers and booleans clients send (headers, query parameters).

Python is generous where HTTP is not: ``str.isdigit()`` accepts ``'²'`` and ``'١٢٣'``,
``int()`` accepts signs, spaces, underscores and Arabic-Indic digits, and refuses more than
4,300 digits with a ``ValueError``. An HTTP integer (``Content-Length``, ``Upload-Length``,
``Upload-Offset``, a ``Range`` bound, a query parameter) is ``1*DIGIT`` (RFC 9110 §5.6.1), ASCII
only; one of more than :data:`MAX_DIGITS` digits is larger than any size or offset Baobab
handles. Every integer a client sends is read here, so a malformed one is a 400 (or, where the
caller knows better, another answer), never a 500.
"""

from __future__ import annotations

from baobab.errors import BadRequest

__all__ = ["MAX_DIGITS", "boolean", "decimal", "is_decimal", "non_negative"]

# 18 digits stay below 2**63: every length, offset or count fits a signed 64-bit integer.
MAX_DIGITS = 18
_DIGITS = frozenset("0123456789")


_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


def boolean(raw: object, empty: bool | None = None) -> bool | None:
    """A boolean a client sent: JSON's, or ``1/true/yes/on`` and ``0/false/no/off`` in any
    case; ``""`` is ``empty`` (a bare ``?fullobjects`` means yes); None for anything else."""
    if isinstance(raw, bool):
        return raw
    if not isinstance(raw, str):
        return None
    if not raw:
        return empty
    text = raw.lower()
    return True if text in _TRUE else False if text in _FALSE else None


def is_decimal(raw: str) -> bool:
    """``raw`` is ``1*DIGIT``: ASCII digits only, at least one."""
    return bool(raw) and _DIGITS.issuperset(raw)


def decimal(raw: str) -> int | None:
    """The value of an HTTP non-negative decimal integer, None unless ``raw`` is one of at most
    :data:`MAX_DIGITS` ASCII digits (no sign, space, underscore or other script's digits)."""
    if len(raw) > MAX_DIGITS or not is_decimal(raw):
        return None
    return int(raw)


def non_negative(raw: str | None, what: str) -> int:
    """``raw`` as a non-negative integer; :class:`BadRequest` (naming ``what``) when it is
    absent, malformed or too long."""
    value = decimal(raw) if raw is not None else None
    if value is None:
        raise BadRequest(
            f"{what} must be a non-negative integer of at most {MAX_DIGITS} ASCII digits",
            details={"name": what},
        )
    return value

"""Content ids: what is allowed, and how a missing id is made from a title or a UUID."""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections.abc import Container

from baobab.errors import InvalidId

__all__ = ["MAX_ID_LENGTH", "generate_id", "validate_id"]

MAX_ID_LENGTH = 255
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_SLUG_DROP = re.compile(r"[^a-z0-9]+")


def validate_id(id_: object) -> str:
    """Return ``id_`` if it may name a child; raise :class:`InvalidId` saying why not."""
    if not isinstance(id_, str):
        raise InvalidId("The id must be a string", details={"id": None})
    reason = None
    if not id_ or not id_.strip():
        reason = "The id may not be empty"
    elif len(id_) > MAX_ID_LENGTH:
        reason = f"The id may not be longer than {MAX_ID_LENGTH} characters"
    elif "/" in id_ or "\\" in id_:
        reason = "The id may not contain '/' or '\\'"
    elif id_ in (".", ".."):
        reason = "The id may not be '.' or '..'"
    elif id_.startswith("@"):
        reason = "The id may not start with '@' (reserved for services)"
    elif id_.startswith("_"):
        reason = "The id may not start with '_' (reserved)"
    elif _CONTROL.search(id_):
        reason = "The id may not contain control characters"
    elif id_ != id_.strip():
        reason = "The id may not start or end with white space"
    if reason:
        raise InvalidId(reason, details={"id": id_[:MAX_ID_LENGTH]})
    return id_


def _slug(title: str) -> str:
    ascii_ = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    return _SLUG_DROP.sub("-", ascii_.lower()).strip("-")[:100].rstrip("-")


def generate_id(title: object, taken: Container[str]) -> str:
    """A free id from ``title`` (``my-title``, ``my-title-1``…), else a UUID."""
    base = _slug(title) if isinstance(title, str) else ""
    if not base:
        return uuid.uuid4().hex
    candidate, n = base, 0
    while candidate in taken:
        n += 1
        candidate = f"{base}-{n}"
        if n > 1000:
            return f"{base}-{uuid.uuid4().hex[:8]}"
    return candidate

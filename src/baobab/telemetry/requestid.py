"""The request id: taken from ``X-Request-ID`` when it is safe to repeat, else made.

It travels in a :class:`~contextvars.ContextVar`: set by the HTTP layer for the request's
task, copied into the publish step's thread by the bridge and into the after-commit tasks
:class:`~baobab.events.delivery.Delivery` creates (a task copies the context it is made in),
so every log line written on the request's behalf can carry it.
"""

from __future__ import annotations

import os
import re
from contextvars import ContextVar

__all__ = ["MAX_LENGTH", "REQUEST_ID", "new_request_id", "request_id_of"]

REQUEST_ID: ContextVar[str | None] = ContextVar("baobab_request_id", default=None)

MAX_LENGTH = 128
# What a proxy or client commonly sends (UUIDs, hex, base64url, dotted trace ids), and nothing
# that could break a log line or a header: no spaces, quotes, control characters.
_SAFE = re.compile(r"[A-Za-z0-9._:+/=-]{1,128}")


def new_request_id() -> str:
    """A fresh id: 16 random bytes in hex (what a UUID4 carries, without its formatting)."""
    return os.urandom(16).hex()


def request_id_of(header: bytes | None) -> str:
    """The client's ``X-Request-ID`` if it is 1 to 128 safe ASCII characters, else a new id."""
    if header is not None and len(header) <= MAX_LENGTH:
        try:
            value = header.decode("ascii")
        except UnicodeDecodeError:
            return new_request_id()
        if _SAFE.fullmatch(value):
            return value
    return new_request_id()

"""The request id: taken from ``X-Request-ID`` when it is safe to repeat, else made.

It travels in a :class:`~contextvars.ContextVar`: set by the HTTP layer for the request's
task, copied into the publish step's thread by the bridge and into the after-commit tasks
:class:`~baobab.events.delivery.Delivery` creates (a task copies the context it is made in),
so every log line written on the request's behalf can carry it.
"""

from __future__ import annotations

import itertools
import os
import re
from contextvars import ContextVar

__all__ = ["MAX_LENGTH", "REQUEST_ID", "new_request_id", "request_id_of", "reseed"]

REQUEST_ID: ContextVar[str | None] = ContextVar("baobab_request_id", default=None)

MAX_LENGTH = 128
# What a proxy or client commonly sends (UUIDs, hex, base64url, dotted trace ids), and nothing
# that could break a log line or a header: no spaces, quotes, control characters.
_SAFE = re.compile(r"[A-Za-z0-9._:+/=-]{1,128}")


class _Ids:
    """Ids made by this process: a random 64-bit prefix, then a counter (32 hex digits in
    all). Unique across processes and restarts as random ids are, at a fifth of the cost of
    asking the kernel for 16 random bytes per request. :func:`reseed` after a fork."""

    def __init__(self) -> None:
        self.reseed()

    def reseed(self) -> None:
        self.prefix = os.urandom(8).hex()
        self.counter = itertools.count(int.from_bytes(os.urandom(4), "big"))

    def next(self) -> str:
        return f"{self.prefix}{next(self.counter):016x}"


_ids = _Ids()


def reseed() -> None:
    """A new prefix for this process's ids (a forked worker would repeat its parent's)."""
    _ids.reseed()


def new_request_id() -> str:
    """A fresh id: 32 hex digits."""
    return _ids.next()


def request_id_of(header: str | None) -> str:
    """The client's ``X-Request-ID`` (as the header's bytes decoded as latin-1) if it is 1 to
    128 safe ASCII characters, else a new id."""
    if header is not None and len(header) <= MAX_LENGTH and _SAFE.fullmatch(header):
        return header
    return new_request_id()

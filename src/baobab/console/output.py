"""``print()`` and expression results of a console statement go to its operator, not the server.

A statement runs in its session's console thread, but ``sys.stdout`` is one object for the
whole process: Granian's output, other sessions and other threads all write there. While a
console is open, ``sys.stdout`` and ``sys.stderr`` are replaced by :class:`RoutedStream`, which
sends what a console thread writes to that thread's sink (the SSH channel, or the terminal of
``baobab shell``) and everything else, unchanged, to the stream it replaced.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import Any

__all__ = ["RoutedStream", "bind_sink", "ensure_routed", "routed", "unrouted"]

Sink = Callable[[str], None]

_local = threading.local()
_lock = threading.Lock()
_users = 0


def bind_sink(sink: Sink | None) -> None:
    """Send what this thread writes to ``sys.stdout`` / ``sys.stderr`` to ``sink``."""
    _local.sink = sink


class RoutedStream:
    """A text stream that writes to the current thread's sink, or to ``original``."""

    def __init__(self, original: Any) -> None:
        self.original = original

    def write(self, text: str) -> int:
        sink: Sink | None = getattr(_local, "sink", None)
        if sink is None:
            written: int = self.original.write(text)
            return written
        sink(text)
        return len(text)

    def flush(self) -> None:
        if getattr(_local, "sink", None) is None:
            self.original.flush()

    def isatty(self) -> bool:
        return getattr(_local, "sink", None) is None and bool(self.original.isatty())

    def __getattr__(self, name: str) -> Any:  # encoding, fileno, buffer… of the original
        return getattr(self.original, name)


def routed() -> None:
    """Install the routed streams (counted: each call needs its :func:`unrouted`)."""
    global _users
    with _lock:
        _users += 1
    ensure_routed()


def ensure_routed() -> None:
    """Route again if something replaced ``sys.stdout`` or ``sys.stderr`` since (a test
    runner's capture does, between the phases of a test): called before each statement."""
    with _lock:
        if _users < 1:
            return
        for name in ("stdout", "stderr"):
            stream = getattr(sys, name)
            if not isinstance(stream, RoutedStream):
                setattr(sys, name, RoutedStream(stream))


def unrouted() -> None:
    """Put the original streams back once the last user is gone."""
    global _users
    with _lock:
        _users -= 1
        if _users == 0:
            for name in ("stdout", "stderr"):
                stream = getattr(sys, name)
                if isinstance(stream, RoutedStream):
                    setattr(sys, name, stream.original)

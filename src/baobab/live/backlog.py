"""The bounded memory of recent batches behind ``since``.

Kept per database, in delivery order (the order sockets receive events), at most ``limit``
events. ``horizon`` is the cursor key up to which events are *not* all known: at start the
database's last transaction (what was committed before this process listened is gone), then
the last event evicted. A ``since`` at or after the horizon can be answered completely; one
before it is a gap.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass

from baobab.live.wire import Batch, cursor_key, decode_message, encode_message

__all__ = ["Backlog", "Replay"]


@dataclass(frozen=True, slots=True)
class Replay:
    """What ``since`` finds: the (batch, index) pairs after it, and whether some are lost."""

    events: list[tuple[Batch, int]]
    gap: bool


class Backlog:
    def __init__(self, limit: int, horizon: tuple[int, int]) -> None:
        self.limit = limit
        self.horizon = horizon
        # (sequence, cursors, the batch encoded): bytes, strings and tuples only. A backlog
        # lives long and churns with every write; objects the garbage collector tracks
        # would be promoted to its oldest generation and bring full collections (tens of
        # milliseconds each) every few thousand writes. A replay decodes what it needs.
        self._records: deque[tuple[int, tuple[str, ...], bytes]] = deque()
        self._where: dict[str, tuple[int, int]] = {}  # cursor → (sequence, index)
        self._next = 0
        self._size = 0

    @property
    def newest(self) -> str | None:
        return self._records[-1][1][-1] if self._records else None

    def append(self, batch: Batch) -> None:
        if not batch.events:
            return
        seq = self._next
        self._next += 1
        cursors = tuple(event["cursor"] for event in batch.events)
        self._records.append((seq, cursors, encode_message(batch)))
        for index, cursor in enumerate(cursors):
            self._where[cursor] = (seq, index)
        self._size += len(cursors)
        while self._size > self.limit and len(self._records) > 1:
            _, old, _ = self._records.popleft()
            for cursor in old:
                self._where.pop(cursor, None)
            self._size -= len(old)
            self.horizon = max(self.horizon, cursor_key(old[-1]))

    def since(self, cursor: str) -> Replay:
        """The events after ``cursor`` (ValueError if it is not a cursor)."""
        key = cursor_key(cursor)
        found = self._where.get(cursor)
        if found is not None:
            seq, index = found
            start = seq - self._records[0][0]
            events = [
                (batch, i)
                for position, batch in self._decoded(start)
                for i in range(index + 1 if position == start else 0, len(batch.events))
            ]
            return Replay(events, gap=False)
        # Not held: complete if it is no older than the horizon; then the events after it
        # are those with a greater key (order by cursor is delivery order but for commits
        # that finished at the same moment on different threads or processes).
        events = [
            (batch, i)
            for _, batch in self._decoded(0)
            for i, event in enumerate(batch.events)
            if cursor_key(event["cursor"]) > key
        ]
        return Replay(events, gap=key < self.horizon)

    def _decoded(self, start: int) -> Iterator[tuple[int, Batch]]:
        for position in range(start, len(self._records)):
            message = decode_message(self._records[position][2])
            assert isinstance(message, Batch)
            yield position, message

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

from baobab.live.wire import Batch, cursor_key

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
        self._batches: deque[tuple[int, Batch]] = deque()
        self._where: dict[str, tuple[int, int]] = {}  # cursor → (sequence, index)
        self._next = 0
        self._size = 0

    def __len__(self) -> int:
        return self._size

    @property
    def newest(self) -> str | None:
        return self._batches[-1][1].last if self._batches else None

    def append(self, batch: Batch) -> None:
        if not batch.events:
            return
        seq = self._next
        self._next += 1
        self._batches.append((seq, batch))
        for index, event in enumerate(batch.events):
            self._where[event["cursor"]] = (seq, index)
        self._size += len(batch.events)
        while self._size > self.limit and len(self._batches) > 1:
            _, old = self._batches.popleft()
            for event in old.events:
                self._where.pop(event["cursor"], None)
            self._size -= len(old.events)
            self.horizon = max(self.horizon, cursor_key(old.last))

    def since(self, cursor: str) -> Replay:
        """The events after ``cursor`` (ValueError if it is not a cursor)."""
        key = cursor_key(cursor)
        found = self._where.get(cursor)
        if found is not None:
            seq, index = found
            return Replay(list(self._after(seq, index)), gap=False)
        # Not held: complete if it is no older than the horizon; then the events after it
        # are those with a greater key (order by cursor is delivery order but for commits
        # that finished at the same moment on different threads or processes).
        events = [
            (batch, i)
            for _, batch in self._batches
            for i, event in enumerate(batch.events)
            if cursor_key(event["cursor"]) > key
        ]
        return Replay(events, gap=key < self.horizon)

    def _after(self, seq: int, index: int) -> Iterator[tuple[Batch, int]]:
        start = seq - self._batches[0][0]
        for position in range(start, len(self._batches)):
            batch = self._batches[position][1]
            first = index + 1 if position == start else 0
            for i in range(first, len(batch.events)):
                yield batch, i

"""Delivering a committed transaction's events: coroutine subscribers, then the sinks.

The one path after the commit. The pipeline hands :meth:`Delivery.deliver` the transaction id
and the attempt's :class:`~baobab.events.outbox.Outbox`; each (subscriber, event) pair becomes
a task of its own on the loop (a slow subscriber never delays the answer or the others, and a
failing one is logged and changes nothing: the commit stands), and every sink (live push is
one) receives the events in the order they were raised. Tasks are kept referenced until done;
shutdown gives them a grace period, then cancels them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Any

from baobab.events.classes import Event
from baobab.events.outbox import Outbox

__all__ = ["Delivery", "Sink"]

logger = logging.getLogger(__name__)

# ``sink(tid, events)``: called on the loop with a committed transaction's events.
Sink = Callable[[int, Sequence[Event]], None]


class Delivery:
    def __init__(self, sinks: Sequence[Sink] = ()) -> None:
        self.sinks: list[Sink] = list(sinks)
        self._tasks: set[asyncio.Task[None]] = set()

    def deliver(self, tid: int, outbox: Outbox) -> None:
        """Start the coroutine subscribers of a committed transaction, then feed the sinks."""
        if outbox.pending:
            loop = asyncio.get_running_loop()
            for handler, event in outbox.pending:
                task = loop.create_task(_run(handler, event))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
        if outbox.events:
            for sink in self.sinks:
                sink(tid, outbox.events)

    @property
    def running(self) -> int:
        """Coroutine subscribers still running."""
        return len(self._tasks)

    async def close(self, grace: float = 5.0) -> None:
        """Let running subscribers finish for up to ``grace`` seconds, then cancel them."""
        if not self._tasks:
            return
        _, late = await asyncio.wait(set(self._tasks), timeout=grace)
        for task in late:
            task.cancel()
        if late:
            logger.warning("cancelled %d after-commit subscriber(s) at shutdown", len(late))
            await asyncio.gather(*late, return_exceptions=True)


async def _run(handler: Callable[..., Any], event: Event) -> None:
    try:
        await handler(event)
    except Exception:  # a background-task runner: log, the commit stands
        name = f"{handler.__module__}.{handler.__qualname__}"
        logger.exception("after-commit subscriber %s failed on %s", name, type(event).__name__)

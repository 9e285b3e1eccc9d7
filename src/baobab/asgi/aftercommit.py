"""Coroutine subscribers, run on the event loop once their request's transaction committed.

Each (subscriber, event) pair becomes its own task: a slow subscriber never delays the answer
or the other subscribers, and a failing one is logged and changes nothing (the commit stands).
Tasks are kept referenced until done; shutdown gives them a grace period, then cancels them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from typing import Any

__all__ = ["AfterCommit"]

logger = logging.getLogger(__name__)


class AfterCommit:
    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()

    def dispatch(self, pending: Iterable[tuple[Callable[..., Any], Any]]) -> None:
        for handler, event in pending:
            task = asyncio.get_running_loop().create_task(self._run(handler, event))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    @staticmethod
    async def _run(handler: Callable[..., Any], event: Any) -> None:
        try:
            await handler(event)
        except Exception:
            name = f"{handler.__module__}.{handler.__qualname__}"
            logger.exception("after-commit subscriber %s failed on %s", name, type(event).__name__)

    @property
    def running(self) -> int:
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

"""The one sync↔async bridge: how the event loop reaches the synchronous ZODB.

Modes (``threads.mode``):

- ``inline``: every publish step runs on the loop. A local read is tens of microseconds and a
  thread hop cost ≈95 µs of server CPU here (bench/README.md), so reads are cheapest here; a
  FileStorage commit fsyncs, and while it does the loop waits (0.5 ms measured on this VM).
- ``split``: reads inline, writes on one writer thread. Reads keep their speed and never
  wait behind a commit's fsync; writes stay serialized as they are inline. One writer, not a
  pool: a local storage commits one transaction at a time anyway, and concurrent writers to
  one folder only add conflicts and replays (measured: four writer threads made creates
  slower than inline ones).
- ``pool``: every step in the pool: right for network storages, where even a read waits on a
  PostgreSQL round trip (invalidation poll, loads) that must never stall the loop.
- ``auto`` (default): ``pool`` as soon as any configured database is on the network, else
  ``inline``: measured here, inline matched split on reads and beat it on writes (a create
  757 vs 462 per second), because a local commit's fsync is short and the thread hop is not
  free. ``split`` remains for disks whose fsync is slow.

The measurements behind this are in docs/architecture.md.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from baobab.config.settings import Settings
from baobab.database.storage import is_network_storage

__all__ = ["Bridge"]

T = TypeVar("T")


class Bridge:
    def __init__(self, settings: Settings) -> None:
        mode = settings.threads.mode
        if mode == "auto":
            network = any(is_network_storage(db) for db in settings.databases.values())
            mode = "pool" if network else "inline"
        self.mode = mode
        self._inline_reads = mode in ("inline", "split")
        self._inline_writes = mode == "inline"
        self._executor: ThreadPoolExecutor | None = None
        if mode != "inline":
            workers = 1 if mode == "split" else settings.threads.pool_size
            self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="baobab-db")

    async def run(self, fn: Callable[[], T], *, write: bool) -> T:
        """Run one unit of blocking database work; ``write`` if it may commit."""
        inline = self._inline_writes if write else self._inline_reads
        if inline or self._executor is None:
            return fn()
        # in the caller's context: what it set (the request id) holds on the worker thread too
        # (``run_in_executor`` alone runs ``fn`` in the thread's own, empty context)
        context = contextvars.copy_context()
        return await asyncio.get_running_loop().run_in_executor(self._executor, context.run, fn)

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True)

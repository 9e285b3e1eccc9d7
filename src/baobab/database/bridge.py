"""The one sync↔async bridge: how the event loop reaches the synchronous ZODB.

``inline`` runs a publish step directly on the loop: right for local storages, where a whole
request's database work is ~15 µs and a thread hop costs 60–90 µs. ``pool`` runs it in a
bounded thread pool: right for network storages, so a PostgreSQL round trip never stalls the
loop. ``auto`` picks ``pool`` as soon as any configured database is on the network. The
measurements behind this are in docs/architecture.md.
"""

from __future__ import annotations

import asyncio
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
        self._executor: ThreadPoolExecutor | None = None
        if mode == "pool":
            self._executor = ThreadPoolExecutor(
                max_workers=settings.threads.pool_size, thread_name_prefix="baobab-db"
            )

    async def run(self, fn: Callable[[], T]) -> T:
        """Run one unit of blocking database work without stalling the loop on network I/O."""
        if self._executor is None:
            return fn()
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn)

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True)

"""How committed events travel: in one process, or between processes through Redis.

Both buses keep a :class:`~baobab.live.backlog.Backlog` per database and hand every message to
``deliver`` (the hub) in one order, the bus's: the backlog is that same order, so a ``since``
replay and live delivery never disagree.

- :class:`MemoryBus`: a published message is delivered on the loop's next turn.
- :class:`RedisBus`: a published message is appended (``XADD``) to the database's stream
  ``<prefix>:events:<db>``, trimmed to about the backlog size; every process, the publisher
  included, reads the stream (``XREAD``) and delivers what it reads. Every process therefore
  sees one order, the stream's, and a process that starts loads the stream's tail into its
  backlog, so ``since`` works on an instance the client never talked to. Publishing keeps
  the process's own order (one writer task); Redis outages are retried, with the reader
  resuming from the last entry it saw.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections import deque
from collections.abc import Callable
from typing import Any

from baobab.live.backlog import Backlog
from baobab.live.wire import Batch, Message, cursor_key, decode_message, encode_message

__all__ = ["Bus", "MemoryBus", "Message", "RedisBus", "make_bus"]

logger = logging.getLogger(__name__)

Deliver = Callable[[Message], None]

_QUEUE_LIMIT = 100_000  # messages waiting for Redis before the oldest are dropped
_READ_COUNT = 1000
_READ_BLOCK_MS = 1000  # how long one XREAD waits for new entries
# Explicit, whatever the redis-py default: a command on a dead or stalled connection fails
# instead of waiting forever (above the XREAD block, which Redis answers within).
_SOCKET_TIMEOUT = 10.0
_CONNECT_TIMEOUT = 5.0
_STOP_TIMEOUT = 5.0  # close(): how long the reader and writer may take to stop
_RECANCEL_EVERY = 0.1  # close(): how often a task that has not stopped is cancelled again
_CLIENT_CLOSE_TIMEOUT = 5.0  # close(): how long closing each client's connections may take


class Bus:
    """What both buses share: a backlog per database, and handing each message that
    arrives (in the bus's order) to the backlog and then to ``deliver``."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.backlogs: dict[str, Backlog] = {}
        self._deliver: Deliver | None = None

    async def start(self, deliver: Deliver, last_tids: dict[str, int]) -> None:
        raise NotImplementedError

    def publish(self, message: Message) -> None:
        raise NotImplementedError

    async def written(self, timeout: float) -> bool:
        """Wait (up to ``timeout`` seconds) until what was published so far is in the shared
        order every process delivers; False if it is not yet. Immediate in one process: the
        order is the order of ``publish``."""
        return True

    async def close(self) -> None:
        self._deliver = None

    def _arrived(self, message: Message) -> None:
        try:
            if isinstance(message, Batch):
                backlog = self.backlogs.get(message.db)
                if backlog is None:
                    return
                backlog.append(message)
            if self._deliver is not None:
                self._deliver(message)
        except Exception:  # one bad message must not stop the ones after it
            logger.exception("live: delivering a message failed")


class MemoryBus(Bus):
    def __init__(self, limit: int) -> None:
        super().__init__(limit)
        self._pending: deque[Message] = deque()
        # Flushes run in a context of their own: a callback scheduled in the request's
        # context would keep that context (and what its variables reach) alive with it.
        self._context = contextvars.Context()

    async def start(self, deliver: Deliver, last_tids: dict[str, int]) -> None:
        self._deliver = deliver
        for db, tid in last_tids.items():
            self.backlogs[db] = Backlog(self.limit, (tid, 1 << 62))

    def publish(self, message: Message) -> None:
        """Deliver on the loop's next turn (after the writing request's answer is on its
        way), in publication order; backlog and delivery in the same step, so a socket
        subscribing with ``since`` meanwhile never gets an event twice."""
        if not self._pending:
            asyncio.get_running_loop().call_soon(self._flush, context=self._context)
        self._pending.append(message)

    def _flush(self) -> None:
        while self._pending:
            self._arrived(self._pending.popleft())


class RedisBus(Bus):
    def __init__(self, url: str, prefix: str, limit: int) -> None:
        import redis.asyncio as aioredis

        super().__init__(limit)
        self.url = url
        self.prefix = prefix
        timeouts = {"socket_timeout": _SOCKET_TIMEOUT, "socket_connect_timeout": _CONNECT_TIMEOUT}
        self._redis: Any = aioredis.from_url(url, **timeouts)
        self._reader_redis: Any = aioredis.from_url(url, **timeouts)
        self._queue: asyncio.Queue[Message] = asyncio.Queue()
        self._published = 0  # messages published so far
        self._done = 0  # of them, those appended to their stream (or dropped)
        self._progress = asyncio.Condition()
        self._last: dict[str, str] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._closing = False

    def stream(self, db: str) -> str:
        return f"{self.prefix}:events:{db}"

    async def start(self, deliver: Deliver, last_tids: dict[str, int]) -> None:
        self._deliver = deliver
        try:
            await self._redis.ping()
            for db, tid in last_tids.items():
                await self._load(db, tid)
        except Exception as exc:
            await self._close_clients()
            raise RuntimeError(f"pubsub: cannot use Redis at {self.url}: {exc}") from exc
        self._tasks = [
            asyncio.get_running_loop().create_task(self._read(), name="baobab-bus-read"),
            asyncio.get_running_loop().create_task(self._write(), name="baobab-bus-write"),
        ]

    async def _load(self, db: str, tid: int) -> None:
        """The stream's tail into the backlog; the horizon is where the stream began (kept
        in Redis by the first process) or, if it was trimmed, its oldest entry."""
        horizon_key = f"{self.prefix}:horizon:{db}"
        await self._redis.set(horizon_key, f"{tid:016x}", nx=True)
        raw = await self._redis.get(horizon_key)
        horizon = (int(raw, 16), 1 << 62)
        entries = await self._redis.xrevrange(self.stream(db), count=self.limit)
        backlog = Backlog(self.limit, horizon)
        entries.reverse()
        batches = [m for m in (decode_message(f[b"m"]) for _, f in entries) if isinstance(m, Batch)]
        length = await self._redis.xlen(self.stream(db))
        if length > len(entries) and batches:
            first = cursor_key(batches[0].first)
            backlog.horizon = max(horizon, (first[0], first[1] - 1))
        for batch in batches:
            backlog.append(batch)
        self.backlogs[db] = backlog
        self._last[self.stream(db)] = entries[-1][0].decode() if entries else "0-0"

    def publish(self, message: Message) -> None:
        if self._queue.qsize() >= _QUEUE_LIMIT:
            self._queue.get_nowait()
            self._done += 1
            logger.error("pubsub: Redis is behind; dropped the oldest unsent message")
        self._queue.put_nowait(message)
        self._published += 1

    async def written(self, timeout: float) -> bool:
        """Wait until the messages published so far are appended to their streams: a
        request that changed accounts answers only then, so that a commit its client causes
        next, on any instance, comes after the change in every process's order."""
        target = self._published
        if self._done >= target:
            return True
        try:
            async with asyncio.timeout(timeout), self._progress:
                await self._progress.wait_for(lambda: self._done >= target)
        except TimeoutError:
            return False
        return True

    async def _write(self) -> None:
        while not self._closing:
            message = await self._queue.get()
            data = encode_message(message)
            delay = 0.1
            while True:
                try:
                    await self._redis.xadd(
                        self.stream(message.db), {"m": data}, maxlen=self.limit, approximate=True
                    )
                    break
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    logger.warning("pubsub: XADD failed (%s); retrying in %.1fs", exc, delay)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 5.0)
            self._done += 1
            async with self._progress:
                self._progress.notify_all()

    async def _read(self) -> None:
        delay = 0.1
        while not self._closing:
            try:
                found = await self._reader_redis.xread(
                    dict(self._last), block=_READ_BLOCK_MS, count=_READ_COUNT
                )
                delay = 0.1
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                logger.warning("pubsub: XREAD failed (%s); retrying in %.1fs", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            for stream, entries in found or ():
                name = stream.decode() if isinstance(stream, bytes) else stream
                for entry_id, fields in entries:
                    self._last[name] = entry_id.decode()
                    self._arrived(decode_message(fields[b"m"]))

    async def close(self) -> None:
        """Send what is queued (briefly), then stop reading and writing; bounded, whatever
        Redis or the tasks do."""
        for _ in range(50):
            if self._queue.empty():
                break
            await asyncio.sleep(0.02)
        self._closing = True
        await self._stop_tasks()
        await super().close()
        await self._close_clients()

    async def _stop_tasks(self) -> None:
        """Cancel the reader and writer and wait until they are done, cancelling again until
        they are: one cancellation is not enough. On Python 3.11, ``asyncio.wait_for`` (which
        redis-py wraps around sending every command when the client has a socket timeout)
        swallows a cancellation that arrives just as the send completes (CPython issue
        #86296, fixed in 3.12): the command then goes on as if nothing happened, and a task
        cancelled once and awaited would run on forever (the reader XREADs in a loop)."""
        pending = {task for task in self._tasks if not task.done()}
        deadline = asyncio.get_running_loop().time() + _STOP_TIMEOUT
        while pending:
            for task in pending:
                task.cancel()
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                names = ", ".join(sorted(task.get_name() for task in pending))
                logger.error("pubsub: %s did not stop within %.0fs", names, _STOP_TIMEOUT)
                break
            _, pending = await asyncio.wait(pending, timeout=min(_RECANCEL_EVERY, left))
        for task in self._tasks:
            if task.done() and not task.cancelled() and task.exception() is not None:
                logger.error("pubsub: %s failed", task.get_name(), exc_info=task.exception())
        self._tasks = []

    async def _close_clients(self) -> None:
        for client in (self._redis, self._reader_redis):
            try:
                async with asyncio.timeout(_CLIENT_CLOSE_TIMEOUT):
                    await client.aclose()
            except Exception as exc:  # closing is best effort: never hang or fail shutdown
                logger.warning("pubsub: closing a Redis client failed (%s)", exc)


def make_bus(redis_url: str | None, prefix: str, limit: int) -> Bus:
    if redis_url:
        return RedisBus(redis_url, prefix, limit)
    return MemoryBus(limit)

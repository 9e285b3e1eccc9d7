"""Publishing a request: the publish step through the bridge, what it stops for, delivery.

The publish step (:class:`~baobab.asgi.publish.Publisher`) is one unit of database work. When
it stops with :class:`~baobab.database.transactions.NeedsMore`, the attempt has been aborted;
the :class:`~baobab.request.Need` it carries is provided here, on the loop (a body streamed to
disk or read into memory, a computation run on a worker thread), and the request is published
again. Once an attempt has committed with events, its outbox goes to delivery: coroutine
subscribers and live push. HTTP requests and WebSocket handshakes both come through here.
"""

from __future__ import annotations

import asyncio
import functools

from baobab.asgi.body import read_now, spool
from baobab.asgi.publish import SAFE_METHODS
from baobab.asgi.state import AppState
from baobab.request import NeedsMore, Offload, ReadBody, Request, Response, StreamBody
from baobab.types import Receive

__all__ = ["MAX_STOPS", "provide", "publish"]

# A request needs at most a few things provided (a password check and a new hash, one body),
# each found on one pass; the bound stops a handler that asks for something new every time.
MAX_STOPS = 4


async def publish(state: AppState, request: Request, receive: Receive) -> Response:
    """Publish ``request``, providing what the publish step stops for; deliver its events."""
    step = functools.partial(state.publisher.publish, request)
    write = request.method not in SAFE_METHODS
    for _ in range(MAX_STOPS + 1):
        try:
            response, unit = await state.databases.run(step, write=write)
        except NeedsMore as stop:
            await provide(state, request, receive, stop.need)
            continue
        if unit is not None and unit.committed and unit.outbox is not None:
            state.delivery.deliver(unit.tid, unit.outbox)
            await state.live.settle(unit.outbox.events)
        return response
    raise RuntimeError(f"{request.path}: stopped more than {MAX_STOPS} times")


async def provide(state: AppState, request: Request, receive: Receive, need: object) -> None:
    """Provide what a publish step stopped for (a :data:`~baobab.request.Need`)."""
    match need:
        case Offload(key=key, fn=fn):
            loop = asyncio.get_running_loop()
            request.offloaded[key] = await loop.run_in_executor(None, fn)
        case StreamBody():
            await spool(state, request, receive, need)
        case ReadBody():
            await read_now(state, request, receive)
        case _:
            raise TypeError(f"{request.path}: the publish step stopped for {need!r}")

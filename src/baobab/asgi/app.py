"""The ASGI callable: lifespan, HTTP dispatch, and lazy start-up for servers without lifespan.

``baobab.asgi:app`` reads its settings from the file named by ``BAOBAB_CONFIG`` (defaults when
unset), so it runs unchanged under Granian, uvicorn or hypercorn.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
from typing import Any

from baobab.asgi.http import handle_http
from baobab.asgi.state import AppState, start, stop
from baobab.asgi.websocket import handle_websocket
from baobab.config.settings import Settings
from baobab.console import NamespaceFactory, build_namespace
from baobab.errors import ConfigError
from baobab.events.outbox import Outbox
from baobab.security.secrets import confirm_started
from baobab.telemetry.exposition import mark_dead
from baobab.types import Receive, Scope, Send

__all__ = ["BaobabApp"]

logger = logging.getLogger(__name__)

FLUSH_INTERVAL = 1.0  # seconds between hand-overs of the request tallies to the metrics
SAMPLE_EVERY = 5  # flushes between samples of the ZODB caches


async def _flush_metrics(state: AppState) -> None:
    """Hand the request tallies to prometheus-client every second (see
    :mod:`baobab.telemetry.metrics`), and set the ZODB cache gauges every few seconds
    (``DB.cacheSize()`` walks the open connections)."""
    metrics = state.instruments
    assert metrics is not None
    gauge = metrics.cache_objects
    children = {name: gauge.labels(name) for name in state.databases}
    for tick in itertools.count():
        try:
            metrics.flush()
            if tick % SAMPLE_EVERY == 0:
                for name, child in children.items():
                    child.set(state.databases[name].cacheSize())
        except Exception:  # a background task: log, keep going
            logger.exception("recording metrics failed")
        await asyncio.sleep(FLUSH_INTERVAL)


class BaobabApp:
    def __init__(self, settings: Settings | None = None) -> None:
        self._settings = settings
        self.state: AppState | None = None
        self._lock = asyncio.Lock()
        self._sampler: asyncio.Task[None] | None = None

    async def startup(self) -> AppState:
        async with self._lock:
            if self.state is None:
                # Opening storages blocks (a network storage connects): keep it off the loop.
                loop = asyncio.get_running_loop()
                state = await loop.run_in_executor(None, start, self._settings)
                try:
                    await state.live.start()
                    # their tasks run once this returns
                    await state.utilities.start(
                        settings=state.settings,
                        registry=state.registry,
                        policy=state.policy,
                        databases=state.databases,
                    )
                    if state.settings.console.enabled:
                        # imported here: asyncssh costs 0.3 s of start-up, for nothing if off
                        from baobab.console.server import ConsoleServer

                        state.console = ConsoleServer(state.settings, _console_namespace(state))
                        await state.console.start()
                except BaseException:
                    await state.utilities.stop()
                    await state.live.close()
                    await loop.run_in_executor(None, stop, state)
                    raise
                self.state = state
                if state.instruments is not None:
                    self._sampler = loop.create_task(_flush_metrics(state))
                # started: a generated root password is kept from now on (not replaced)
                await loop.run_in_executor(None, confirm_started, state.settings, state.secrets)
                logger.info("application started (pid %d)", os.getpid())
            return self.state

    async def shutdown(self) -> None:
        async with self._lock:
            if self.state is not None:
                state, self.state = self.state, None
                if state.console is not None:
                    await state.console.close()  # sessions end before their databases do
                if self._sampler is not None:
                    self._sampler.cancel()
                    await asyncio.gather(self._sampler, return_exceptions=True)
                    self._sampler = None
                if state.instruments is not None:
                    state.instruments.flush()
                if state.access_log is not None:
                    state.access_log.flush()
                await state.readiness.close()
                await state.utilities.stop()  # first: a utility may still write on close
                await state.live.close()
                await state.delivery.close()
                await asyncio.get_running_loop().run_in_executor(None, stop, state)
                mark_dead()  # this worker's live gauges leave the summed metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            state = self.state or await self.startup()
            await handle_http(state, scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)
        elif kind == "websocket":
            state = self.state or await self.startup()
            await handle_websocket(state, scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.startup()
                except ConfigError as exc:  # a known cause: one line (a locked FileStorage…)
                    logger.error("start-up failed: %s", exc.message)
                    await send({"type": "lifespan.startup.failed", "message": exc.message})
                    return
                except Exception as exc:  # report start-up failure to the server, then stop
                    logger.exception("start-up failed")
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return


def _console_namespace(state: AppState) -> NamespaceFactory:
    """A session's globals: the application's handles, its database helpers, and event
    delivery handed back to this loop (``Delivery`` runs on the loop that serves)."""
    loop = asyncio.get_running_loop()

    def deliver(tid: int, outbox: Outbox) -> None:  # from a console thread
        loop.call_soon_threadsafe(state.delivery.deliver, tid, outbox)

    def namespace(operator: str) -> dict[str, Any]:
        return build_namespace(
            databases=state.databases,
            settings=state.settings,
            registry=state.registry,
            operator=operator,
            deliver=deliver,
            policy=state.policy,
            app=state,
        )

    return namespace

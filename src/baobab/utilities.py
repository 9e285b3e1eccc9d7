"""Async utilities: long-running coroutines declared in the configuration.

.. code-block:: json

    {"utilities": {"indexer": {"factory": "my_addon.indexer:Indexer", "settings": {"batch": 50}}}}

The contract:

- ``factory`` names a callable as ``"package.module:callable"`` (the attribute may be dotted,
  ``"module:Class.create"``). It is imported at start-up; an unimportable or non-callable
  factory stops start-up with a :class:`~baobab.errors.ConfigError` naming
  ``$.utilities.<name>.factory``.
- ``factory(ctx, settings) -> utility`` is called on the event loop once the application
  state is built, with a :class:`UtilityContext` and the utility's own ``settings`` mapping.
  It should only construct: a factory that raises also stops start-up (``ConfigError`` naming
  ``$.utilities.<name>``), and so does a utility without an ``async def run(self)``.
- ``await utility.run()`` is the long-running coroutine, started as one task per utility
  once every utility is built. A ``run()`` that raises is logged with the utility's name; the
  server keeps serving, and the utility is not restarted.
- ``await utility.close()``, if the utility has it (an ``async def``), is the first thing
  shutdown asks: it should make ``run()`` return. Shutdown gives each utility a grace period
  (5 s by default) for ``close()`` and then for ``run()`` to end, cancels ``run()`` if it is
  still going, and awaits it. Utilities stop concurrently, before anything else shuts down
  (so the database is still there for a last write); an exception from ``close()`` or
  ``run()`` is logged, never raised into the server's shutdown.

A utility reaches the database only through :meth:`UtilityContext.read` and
:meth:`UtilityContext.write`, which go through the application's
:class:`~baobab.database.databases.Databases`: the same bridge, pooled connections and
transaction helpers as requests (so in ``inline`` mode the unit runs on the loop thread, in
``pool`` mode on a database thread). ``fn`` receives the database's content root (``/{db}``)
and must return plain values, never persistent objects: the connection serves other units
afterwards. Writes made this way emit no events.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from baobab.config.registry import Registry
from baobab.config.settings import Settings
from baobab.database.databases import Databases
from baobab.database.transactions import ROOT_KEY
from baobab.errors import ConfigError
from baobab.security.policy import SecurityPolicy

__all__ = ["DEFAULT_GRACE", "Utilities", "UtilityContext", "resolve_factory"]

logger = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_GRACE = 5.0  # seconds each utility gets at shutdown before its run() is cancelled


class UtilityContext:
    """What a utility gets from the application: its name, the settings, the registry, the
    security policy, the database names, and database access through the bridge.

    Attributes:
        name: the utility's key under ``utilities`` in the configuration.
        settings: the application's settings (the utility's own are the factory's argument).
        registry: the application's registry (content types, services, subscribers).
        policy: the security policy.
        database_names: the configured databases, the system (default) one first.
    """

    def __init__(
        self,
        name: str,
        *,
        settings: Settings,
        registry: Registry,
        policy: SecurityPolicy,
        databases: Databases,
    ) -> None:
        self.name = name
        self.settings = settings
        self.registry = registry
        self.policy = policy
        self.database_names: tuple[str, ...] = tuple(databases)
        self._databases = databases

    async def read(self, fn: Callable[[Any], T], *, db: str | None = None) -> T:
        """Run ``fn(root)`` on a fresh read-only snapshot of database ``db`` (default: the
        first one) and return its result. Any write inside ``fn`` is refused."""
        return await self._databases.read(lambda conn: fn(conn.root()[ROOT_KEY]), db=db)

    async def write(self, fn: Callable[[Any], T], *, db: str | None = None) -> T:
        """Run ``fn(root)`` in a transaction on database ``db`` (default: the first one) that
        commits when ``fn`` returns, and return its result.

        ``fn`` raising aborts the transaction and propagates. A ``ConflictError`` replays
        ``fn`` on fresh state, as for requests (``request.conflict_retries`` times), then
        raises :class:`~baobab.errors.Conflict`: ``fn`` may run more than once.
        """
        return await self._databases.write(lambda conn: fn(conn.root()[ROOT_KEY]), db=db)


def resolve_factory(name: str, path: str) -> Callable[..., Any]:
    """Import ``"package.module:callable"``; a ``ConfigError`` naming the key if it fails."""
    key = f"$.utilities.{name}.factory"
    module_name, sep, attr = path.partition(":")
    if not sep or not module_name or not attr:
        raise ConfigError(f"{key}: expected 'package.module:callable', got {path!r}")
    try:
        found: Any = importlib.import_module(module_name)
    except Exception as exc:
        raise ConfigError(f"{key}: cannot import {module_name!r}: {exc}") from exc
    for part in attr.split("."):
        try:
            found = getattr(found, part)
        except AttributeError:
            raise ConfigError(f"{key}: {module_name!r} has no attribute {attr!r}") from None
    if not callable(found):
        raise ConfigError(f"{key}: {path!r} is not callable")
    factory: Callable[..., Any] = found
    return factory


def _build(name: str, path: str, ctx: UtilityContext, settings: dict[str, Any]) -> Any:
    factory = resolve_factory(name, path)
    try:
        utility = factory(ctx, dict(settings))
    except Exception as exc:
        raise ConfigError(
            f"$.utilities.{name}: the factory {path!r} failed: {type(exc).__name__}: {exc}"
        ) from exc
    if not inspect.iscoroutinefunction(getattr(utility, "run", None)):
        raise ConfigError(
            f"$.utilities.{name}.factory: {path!r} returned {type(utility).__name__!r}, "
            "which has no `async def run(self)`"
        )
    close = getattr(utility, "close", None)
    if close is not None and not inspect.iscoroutinefunction(close):
        raise ConfigError(
            f"$.utilities.{name}.factory: {path!r} returned {type(utility).__name__!r}, "
            "whose close() is not an `async def`"
        )
    return utility


class Utilities:
    """The running utilities of one application (name → instance), started and stopped with it."""

    def __init__(self) -> None:
        self._utilities: dict[str, Any] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}

    def get(self, name: str) -> Any | None:
        """The utility configured as ``name`` (None if there is none, or after shutdown)."""
        return self._utilities.get(name)

    @property
    def running(self) -> list[str]:
        """The names of the utilities whose ``run()`` has not ended."""
        return [name for name, task in self._tasks.items() if not task.done()]

    async def start(
        self,
        *,
        settings: Settings,
        registry: Registry,
        policy: SecurityPolicy,
        databases: Databases,
    ) -> None:
        """Build every configured utility, then start each one's ``run()`` as a task.

        All are built before any runs: a failing factory leaves nothing running (the ones
        already built are closed) and raises ``ConfigError``.
        """
        if self._utilities:
            raise RuntimeError("utilities already started")
        built: dict[str, Any] = {}
        try:
            for name, config in settings.utilities.items():
                ctx = UtilityContext(
                    name, settings=settings, registry=registry, policy=policy, databases=databases
                )
                built[name] = _build(name, config.factory, ctx, config.settings)
        except BaseException:
            await asyncio.gather(*(_close(n, u, DEFAULT_GRACE) for n, u in built.items()))
            raise
        loop = asyncio.get_running_loop()
        for name, utility in built.items():
            self._utilities[name] = utility
            self._tasks[name] = loop.create_task(_run(name, utility), name=f"utility:{name}")
            logger.info("utility %s started", name)

    async def stop(self, grace: float = DEFAULT_GRACE) -> None:
        """Ask each utility to close, wait up to ``grace`` seconds, cancel what still runs.

        Never raises (failures are logged); a second call does nothing.
        """
        utilities, self._utilities = self._utilities, {}
        tasks, self._tasks = self._tasks, {}
        await asyncio.gather(
            *(_stop(name, utility, tasks[name], grace) for name, utility in utilities.items())
        )


async def _run(name: str, utility: Any) -> None:
    try:
        await utility.run()
    except Exception:  # a background-task runner: log, keep the server up
        logger.exception("utility %s failed", name)
    else:
        logger.info("utility %s finished", name)


async def _close(name: str, utility: Any, timeout: float) -> None:
    close = getattr(utility, "close", None)
    if close is None:
        return
    try:
        async with asyncio.timeout(timeout):
            await close()
    except TimeoutError:
        logger.warning("utility %s: close() took longer than %.1f s", name, timeout)
    except Exception:
        logger.exception("utility %s: close() failed", name)


async def _stop(name: str, utility: Any, task: asyncio.Task[None], grace: float) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + grace
    closable = getattr(utility, "close", None) is not None
    if closable:
        await _close(name, utility, grace)
        if not task.done():
            # close() asked run() to return: give it what is left of the grace period
            await asyncio.wait({task}, timeout=max(deadline - loop.time(), 0))
    if not task.done():
        # without close(), cancelling is how run() is meant to stop
        level = logging.WARNING if closable else logging.INFO
        logger.log(level, "utility %s still running at shutdown: cancelled", name)
        task.cancel()
        # a run() that swallows the cancellation is abandoned rather than hang shutdown
        await asyncio.wait({task}, timeout=grace)
        if not task.done():
            logger.error("utility %s ignored its cancellation: abandoned", name)
            return
    logger.info("utility %s stopped", name)

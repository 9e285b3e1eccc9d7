"""``GET /@health`` and ``GET /@ready``, answered before authentication and publishing.

A load balancer asks often and must get its answer even when the rest is wrong: so these two
never read a header but ``X-Request-ID``, never authenticate (a bad ``Authorization`` header
changes nothing), never open a database connection's view of content or a site. ``@health``
says the process answers (and its version); ``@ready`` says every configured database and
Redis (when ``pubsub.redis`` is set) answer a probe now: 200, else 503 naming each one that
does not and the error's class (its message, which may name hosts and users, goes to the log
only). Every probe is bounded (:data:`PROBE_TIMEOUT`) and the blocking ones run on a thread
of their own, so a database that stopped answering is reported within two seconds.

The probes: a PostgreSQL database gets ``SELECT 1`` on a connection of the prober's own, kept
open between probes (a new one after a failure; connecting is bounded by
``connect_timeout``); a local storage (FileStorage, memory) is asked ``lastTransaction()``,
which is what it answers from memory while its file is open; Redis gets ``PING``.

The services of the same names (:mod:`baobab.services.health`) describe these endpoints in
the OpenAPI document and answer the other methods (405); a ``GET`` or ``HEAD`` of ``/@health``
or ``/@ready`` never reaches them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import orjson

from baobab import __version__
from baobab.config.settings import Settings
from baobab.database.databases import Databases
from baobab.location import split_path
from baobab.request import Response

__all__ = ["FAST_VIEWS", "PROBE_TIMEOUT", "Readiness", "fast_answer", "is_fast"]

logger = logging.getLogger(__name__)

FAST_VIEWS = frozenset({"@health", "@ready"})
PROBE_TIMEOUT = 1.5  # seconds per probe; probes run concurrently, so @ready answers within 2 s
_NO_STORE = [(b"cache-control", b"no-store")]


def _reason(exc: BaseException, what: str) -> str:
    """The answer's reason: the error's class only. Its message (a host, a port, a user
    name of the database server) is for the operator's log, not for whoever asks: the
    probes answer without credentials."""
    logger.warning("readiness: %s does not answer: %s", what, exc)
    return f"unavailable: {type(exc).__name__}"


class Readiness:
    """Probes of every dependency a request may need; one per application."""

    def __init__(self, settings: Settings, databases: Databases) -> None:
        self._databases = databases
        self._dsns = {
            name: db.dsn
            for name, db in settings.databases.items()
            if db.storage == "postgresql" and db.dsn
        }
        self._redis_url = settings.pubsub.redis
        self._redis: Any = None
        self._pg: dict[str, Any] = {}
        self._pending: dict[str, asyncio.Future[Any]] = {}
        # a thread per PostgreSQL database: a probe stuck on a dead network holds only its own
        self._executor = ThreadPoolExecutor(
            max_workers=max(1, len(self._dsns)), thread_name_prefix="baobab-probe"
        )

    async def check(self) -> dict[str, Any]:
        """``{"status": "ok" | "unavailable", "databases": {name: "ok" | reason},
        "redis": "ok" | reason}`` (``redis`` only when configured)."""
        names = list(self._databases)
        probes = [self._database(name) for name in names]
        if self._redis_url:
            probes.append(self._ping_redis())
        results = await asyncio.gather(*probes)
        body: dict[str, Any] = {
            "status": "ok",
            "databases": dict(zip(names, results, strict=False)),
        }
        if self._redis_url:
            body["redis"] = results[-1]
        if any(result != "ok" for result in results):
            body["status"] = "unavailable"
        return body

    async def _database(self, name: str) -> str:
        if name not in self._dsns:
            try:
                self._databases[name].storage.lastTransaction()
            except Exception as exc:  # a probe reports, it never raises
                return _reason(exc, f"database {name!r}")
            return "ok"
        pending = self._pending.get(name)
        if pending is not None and not pending.done():
            # the last probe is still waiting on the network: that is the answer
            return f"no answer within {PROBE_TIMEOUT:g} s"
        loop = asyncio.get_running_loop()
        future = self._pending[name] = loop.run_in_executor(self._executor, self._select, name)
        try:
            async with asyncio.timeout(PROBE_TIMEOUT):
                await asyncio.shield(future)
        except TimeoutError:
            return f"no answer within {PROBE_TIMEOUT:g} s"
        except Exception as exc:
            return _reason(exc, f"database {name!r}")
        return "ok"

    def _select(self, name: str) -> None:
        """``SELECT 1`` on the prober's connection (a thread of the prober's executor)."""
        import psycopg2

        conn = self._pg.get(name)
        if conn is None or conn.closed:
            conn = self._pg[name] = psycopg2.connect(
                self._dsns[name], connect_timeout=max(2, int(PROBE_TIMEOUT + 0.5))
            )
            conn.autocommit = True
        try:
            with conn.cursor() as cursor:
                cursor.execute("SELECT 1")
                cursor.fetchone()
        except Exception:
            self._pg.pop(name, None)
            with contextlib.suppress(Exception):
                conn.close()
            raise

    async def _ping_redis(self) -> str:
        from redis import asyncio as aioredis

        if self._redis is None:
            assert self._redis_url is not None  # probed only when configured
            self._redis = aioredis.Redis.from_url(
                self._redis_url,
                socket_connect_timeout=PROBE_TIMEOUT,
                socket_timeout=PROBE_TIMEOUT,
            )
        try:
            async with asyncio.timeout(PROBE_TIMEOUT):
                await self._redis.ping()
        except TimeoutError:
            return f"no answer within {PROBE_TIMEOUT:g} s"
        except Exception as exc:
            return _reason(exc, "Redis")
        return "ok"

    async def close(self) -> None:
        if self._redis is not None:
            with contextlib.suppress(Exception):
                await self._redis.aclose()
        self._executor.shutdown(wait=False, cancel_futures=True)
        for conn in list(self._pg.values()):
            with contextlib.suppress(Exception):
                conn.close()
        self._pg.clear()


def is_fast(method: str, view: str, path: str) -> bool:
    """A ``GET``/``HEAD`` of ``/@health`` or ``/@ready`` (``view`` from ``view_of``)."""
    return view in FAST_VIEWS and method in ("GET", "HEAD") and split_path(path) == (view,)


async def fast_answer(view: str, readiness: Readiness) -> Response:
    if view == "@health":
        body: dict[str, Any] = {"status": "ok", "version": __version__}
        return Response(status=200, body=orjson.dumps(body), headers=list(_NO_STORE))
    report = await readiness.check()
    status = 200 if report["status"] == "ok" else 503
    if status != 200:
        logger.warning("not ready: %s", orjson.dumps(report).decode())
    return Response(status=status, body=orjson.dumps(report), headers=list(_NO_STORE))

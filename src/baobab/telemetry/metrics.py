"""The server's metrics, as prometheus-client objects, and cheap ways to record them.

Made once per process on first use (:func:`instruments`), never at import: prometheus-client
picks, when it is first imported, whether values live in memory or in files under
``PROMETHEUS_MULTIPROC_DIR`` (one file per metric kind and process), which ``baobab serve``
sets before Granian forks its workers. In that mode the values of every worker are summed
by whoever reads the directory (:mod:`baobab.telemetry.exposition`); gauges say how
(``livesum``: the live workers' values added up).

Labels are bounded by construction: ``service`` is a view name the registry knows (or
``(object)`` for a path without one, ``(other)`` for a view nobody registered: a client
cannot mint label values by inventing paths), ``method`` one of HTTP's usual methods or
``OTHER``. The request path records through :meth:`Instruments.request`, which keeps the
labelled children it made (``labels()`` takes a lock and builds a key on every call).

The request path does not touch prometheus-client at all: in multiprocess mode every
``inc()`` takes a lock and writes the value into its memory-mapped file (about 2 µs, and a
request's counter, histogram and in-flight gauge make five of them: 10 µs, 5 % of a 190 µs
GET). :meth:`Instruments.request` adds to plain per-key tallies instead (the event loop's
thread is the only writer), and :meth:`Instruments.flush` hands them to prometheus-client
once a second (``baobab.asgi.app`` runs it, and once more at shutdown), so a scrape sees
values at most a second old. The tallies go into the histogram's own bucket and sum values
(``_buckets``, ``_sum``: the only private attributes used here; prometheus-client has no
call to observe a value *n* times).
"""

from __future__ import annotations

import threading
from bisect import bisect_left
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported lazily below: see the module's docstring
    from prometheus_client import CollectorRegistry

__all__ = ["METHODS", "Instruments", "instruments"]

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
OBJECT_VIEW = "(object)"
OTHER_VIEW = "(other)"

# seconds: a warm GET is well under a millisecond of server time, an upload may take minutes
_LATENCY = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_COMMIT = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0)
_QUERY = (0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1.0, 5.0)


class Instruments:
    """Every metric Baobab records (see docs/observability.md for the list)."""

    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.registry: CollectorRegistry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(
            "baobab_http_requests",
            "HTTP requests answered, by service (view name), method and status",
            ["service", "method", "status"],
            registry=r,
        )
        self.latency = Histogram(
            "baobab_http_request_duration_seconds",
            "Time from a request's arrival to the end of its answer, by service and method",
            ["service", "method"],
            buckets=_LATENCY,
            registry=r,
        )
        self.in_progress = Gauge(
            "baobab_http_requests_in_progress",
            "HTTP requests being handled",
            multiprocess_mode="livesum",
            registry=r,
        )
        self.conflicts = Counter(
            "baobab_conflicts",
            "ZODB write conflicts met by publish attempts, by database",
            ["database"],
            registry=r,
        )
        self.replays = Counter(
            "baobab_replays",
            "Publish attempts run again after a conflict, by database",
            ["database"],
            registry=r,
        )
        self.loads = Counter(
            "baobab_zodb_loads",
            "Objects loaded from the storage by publish attempts (cache misses), by database",
            ["database"],
            registry=r,
        )
        self.stores = Counter(
            "baobab_zodb_stores",
            "Objects stored by publish attempts, by database",
            ["database"],
            registry=r,
        )
        self.cache_objects = Gauge(
            "baobab_zodb_cache_objects",
            "Non-ghost objects held in the connection caches (sampled), by database",
            ["database"],
            multiprocess_mode="livesum",
            registry=r,
        )
        self.commit = Histogram(
            "baobab_commit_duration_seconds",
            "Time a request's commit takes (catalog indexing and two-phase commit), by database",
            ["database"],
            buckets=_COMMIT,
            registry=r,
        )
        self.websockets = Gauge(
            "baobab_websockets_open",
            "WebSockets accepted and not yet closed",
            multiprocess_mode="livesum",
            registry=r,
        )
        self.frames = Counter(
            "baobab_websocket_frames_sent", "Frames sent to WebSocket clients", registry=r
        )
        self.upload_bytes = Counter(
            "baobab_upload_bytes",
            "Bytes of request bodies streamed to spool files (uploads, forms, TUS parts)",
            registry=r,
        )
        self.catalog = Histogram(
            "baobab_catalog_query_duration_seconds",
            "Time a catalog query takes (index lookups, the permission filter, sorting)",
            buckets=_QUERY,
            registry=r,
        )
        self.info = Gauge(
            "baobab_build_info",
            "Always 1; the version of Baobab serving",
            ["version"],
            multiprocess_mode="max",
            registry=r,
        )
        self.in_flight = 0  # requests being handled (set as the gauge at each flush)
        self._views: frozenset[str] = frozenset()
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}
        self._lock = threading.Lock()
        # (view, method, status) → [count, seconds in all, count per latency bucket]
        self._pending: dict[tuple[str, str, int], list[Any]] = {}

    def know_views(self, views: Iterable[str]) -> None:
        """The view names requests may be labelled with (the registry's)."""
        self._views = self._views | frozenset(views)

    def service_label(self, view: str) -> str:
        if not view:
            return OBJECT_VIEW
        return view if view in self._views else OTHER_VIEW

    def request(self, view: str, method: str, status: int, seconds: float) -> None:
        """One request answered: counted and timed (on the event loop's thread only; handed
        to prometheus-client by :meth:`flush`)."""
        key = (view, method, status)
        tally = self._pending.get(key)
        if tally is None:
            tally = self._pending[key] = [0, 0.0, [0] * (len(_LATENCY) + 1)]
        tally[0] += 1
        tally[1] += seconds
        # the first bucket whose upper bound is >= seconds (the last one is +Inf)
        tally[2][bisect_left(_LATENCY, seconds)] += 1

    def flush(self) -> None:
        """Hand the requests tallied since the last flush to prometheus-client, and the
        number in flight to its gauge (on the event loop's thread, like :meth:`request`)."""
        pending, self._pending = self._pending, {}
        for key, (count, seconds, buckets) in pending.items():
            pair = self._children.get(key)
            if pair is None:
                pair = self._child(key)
            counter, histogram = pair
            counter.inc(count)
            histogram._sum.inc(seconds)
            for index, hits in enumerate(buckets):
                if hits:
                    histogram._buckets[index].inc(hits)
        self.in_progress.set(self.in_flight)

    def _child(self, key: tuple[str, str, int]) -> tuple[Any, Any]:
        view, method, status = key
        service = self.service_label(view)
        method = method if method in METHODS else "OTHER"
        pair = (
            self.requests.labels(service, method, str(status)),
            self.latency.labels(service, method),
        )
        with self._lock:
            # bounded: known views × methods × statuses; unknown ones share a label, but
            # their keys are the client's: stop keeping children past a generous bound
            if len(self._children) < 4096:
                self._children[key] = pair
        return pair


_instruments: Instruments | None = None
_made = threading.Lock()


def instruments() -> Instruments:
    """This process's instruments, made on first use."""
    global _instruments
    made = _instruments
    if made is None:
        with _made:
            if _instruments is None:
                _instruments = Instruments()
            made = _instruments
    return made

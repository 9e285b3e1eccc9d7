"""Reading the metrics out: the text format, from this process or from every worker.

With ``PROMETHEUS_MULTIPROC_DIR`` set (``baobab serve`` sets it in the parent before Granian
forks the workers, and empties it), each worker writes its values to files there and whoever
reads, the parent's metrics port or a worker answering ``GET /@metrics``, sums the files of
all workers (prometheus-client's ``MultiProcessCollector``). A worker that ends cleanly marks
itself dead (its live gauges are dropped); one that died without doing so is noticed at the
next read (its pid is gone) and marked dead then. Its counters stay: what it served was
served.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any

__all__ = [
    "MULTIPROC_ENV",
    "mark_dead",
    "prepare_directory",
    "render",
    "serve_metrics",
    "sweep_dead_workers",
]

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
_PID = re.compile(r"_(\d+)\.db$")


def prepare_directory(directory: Path) -> Path:
    """An empty directory for the workers' value files (left-overs of a previous run would
    be summed with this one's)."""
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    return directory


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep_dead_workers(directory: str) -> list[int]:
    """Mark dead the processes whose value files are there but which are gone."""
    from prometheus_client import multiprocess

    pids = {int(m.group(1)) for name in os.listdir(directory) if (m := _PID.search(name))}
    dead = [pid for pid in pids if not _alive(pid)]
    for pid in dead:
        multiprocess.mark_process_dead(pid, directory)  # type: ignore[no-untyped-call]  # untyped upstream
        # mark_process_dead drops live gauges only; the rest stay to be summed
    return dead


def mark_dead() -> None:
    """This worker is ending: drop its live gauges (no-op outside multiprocess mode)."""
    directory = os.environ.get(MULTIPROC_ENV)
    if directory:
        from prometheus_client import multiprocess

        with contextlib.suppress(OSError):
            multiprocess.mark_process_dead(os.getpid(), directory)  # type: ignore[no-untyped-call]  # untyped upstream


class _Workers:
    """Every worker's values, after marking the dead ones."""

    def __init__(self, directory: str) -> None:
        from prometheus_client.multiprocess import MultiProcessCollector

        self.directory = directory
        # untyped upstream
        self._inner: Any = MultiProcessCollector(None, path=directory)  # type: ignore[no-untyped-call]

    def collect(self) -> Iterable[Any]:
        sweep_dead_workers(self.directory)
        found: Iterable[Any] = self._inner.collect()
        return found


def _registry(local: Any) -> Any:
    from prometheus_client import CollectorRegistry

    directory = os.environ.get(MULTIPROC_ENV)
    if not directory:
        return local
    registry = CollectorRegistry()
    registry.register(_Workers(directory))
    return registry


def render(local: Any) -> tuple[bytes, str]:
    """The text exposition and its content type: every worker's values in multiprocess
    mode, else ``local`` (this process's registry)."""
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    return generate_latest(_registry(local)), CONTENT_TYPE_LATEST


def serve_metrics(host: str, port: int) -> Any:
    """Serve ``GET /metrics`` (any path, in fact) on ``host:port`` from a daemon thread of
    this process (``baobab serve``'s parent): the workers' values, summed."""
    from prometheus_client import CollectorRegistry, start_http_server

    directory = os.environ.get(MULTIPROC_ENV)
    registry = _registry(CollectorRegistry()) if directory else CollectorRegistry()
    server, _thread = start_http_server(port, addr=host, registry=registry)
    return server

"""Structured logs: one JSON line per request, and every log record as JSON, when asked.

``server.log_format = "json"``: the request lines (:class:`AccessLog`) are written straight
to standard output by ``os.write``, in batches of whole lines under the pipe buffer's size
(so the lines of several workers sharing the descriptor never interleave); the logging
module's record, lock and formatter (several microseconds a line) stay off the hot path. Other log
records go through :mod:`logging` as usual, formatted by :class:`JsonFormatter`. In both
formats every record gets ``request_id`` (None outside a request) from
:data:`~baobab.telemetry.requestid.REQUEST_ID`, so what the publish step and the after-commit
work log can be matched with the request that caused it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
import time
from typing import Any, Literal

import orjson

from baobab.telemetry.requestid import REQUEST_ID

__all__ = ["AccessLog", "JsonFormatter", "RequestIdFilter", "configure_logging"]

_STDOUT = 1
dumps = orjson.dumps
_LINE = (
    b'{"time":"%s.%03dZ","type":"access","method":%s,"path":%s,"view":%s,"status":%d,'
    b'"duration_ms":%.3f,"principal":%s,"request_id":"%s","conflicts":%d,"pid":%d}\n'
)
_pid = os.getpid()  # this process's (set again by configure_logging in each worker)


def _timestamp(created: float) -> str:
    """RFC 3339 in UTC with milliseconds (what log shippers parse without configuration)."""
    seconds = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(created))
    return f"{seconds}.{int(created % 1 * 1000):03d}Z"


class RequestIdFilter(logging.Filter):
    """Gives every record ``request_id``: the request it was written for, or None."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = REQUEST_ID.get()
        return True


class JsonFormatter(logging.Formatter):
    """A record as one JSON object: time, level, logger, message, request_id (and the
    traceback as ``exc_info`` text when there is one)."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "time": _timestamp(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or REQUEST_ID.get(),
        }
        if record.exc_info:
            data["exc_info"] = self.formatException(record.exc_info)
        return orjson.dumps(data).decode()


def configure_logging(log_format: Literal["text", "json"]) -> None:
    """Put the request id on the root logger's handlers (one added if there is none); JSON
    formatting too with ``json``. Idempotent: applications built again in one process (tests)
    do not stack filters."""
    global _pid
    _pid = os.getpid()
    root = logging.getLogger()
    if not root.handlers:
        handler: logging.Handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
        root.addHandler(handler)
        if root.level == logging.NOTSET or root.level > logging.INFO:
            root.setLevel(logging.INFO)
    for handler in root.handlers:
        if not any(isinstance(f, RequestIdFilter) for f in handler.filters):
            handler.addFilter(RequestIdFilter())
        if log_format == "json" and not isinstance(handler.formatter, JsonFormatter):
            handler.setFormatter(JsonFormatter())


class AccessLog:
    """The JSON request lines of one process, written to a file descriptor (standard output).

    A request only notes its fields (:meth:`write`: a tuple appended); the lines are made
    and written together by :meth:`flush`, :data:`DELAY` seconds after the first of a batch
    or once :data:`PENDING` wait, in ``os.write`` calls of at most :data:`BATCH` bytes (whole
    lines only). Making lines in one loop saves the per-call overhead a line made per request
    pays, and a system call per line cost as much as the rest of it; a write of up to
    ``PIPE_BUF`` (4096) bytes to a pipe is atomic, so the lines of several workers sharing the
    descriptor never interleave. Lines are filled into a template rather than made by
    ``orjson.dumps`` of a dict (a fifth cheaper); what a client chose (method, path, view,
    principal) is still encoded by orjson, the request id is safe as it is
    (:mod:`.requestid`). Used from the event loop's thread only; :meth:`flush` at shutdown.
    """

    BATCH = 4096
    DELAY = 0.1
    PENDING = 256

    def __init__(self, fd: int = _STDOUT) -> None:
        self.fd = fd
        self._pending: list[tuple[Any, ...]] = []
        self._timer: asyncio.TimerHandle | None = None
        self._second = -1
        self._stamp = b""

    def write(
        self,
        *,
        method: str,
        path: str,
        status: int,
        seconds: float,
        principal: str | None,
        request_id: str,
        replays: int,
        view: str,
    ) -> None:
        """Note one request's line: method, path, view, status, duration (ms), principal
        (None before authentication), request id, conflicts (replays), the worker's pid."""
        pending = self._pending
        pending.append(
            (time.time_ns(), method, path, view, status, seconds, principal, request_id, replays)
        )
        if len(pending) >= self.PENDING:
            self.flush()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self.DELAY, self.flush)

    def _lines(self, pending: list[tuple[Any, ...]]) -> list[bytes]:
        lines = []
        line, stamp, second_was, pid = _LINE, self._stamp, self._second, _pid
        for ns, method, path, view, status, seconds, principal, request_id, replays in pending:
            second, millis = divmod(ns // 1_000_000, 1000)
            if second != second_was:  # one strftime a second, not one a line
                second_was = second
                stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second)).encode()
            lines.append(
                line
                % (
                    stamp,
                    millis,
                    dumps(method),
                    dumps(path),
                    dumps(view),
                    status,
                    seconds * 1000,
                    dumps(principal),
                    request_id.encode(),
                    replays,
                    pid,
                )
            )
        self._stamp, self._second = stamp, second_was
        return lines

    def flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self._pending:
            return
        pending, self._pending = self._pending, []
        batch: list[bytes] = []
        size = 0
        for line in self._lines(pending):
            if size + len(line) > self.BATCH and batch:
                self._send(b"".join(batch))
                batch, size = [], 0
            batch.append(line)
            size += len(line)
        self._send(b"".join(batch))

    def _send(self, data: bytes) -> None:
        view = memoryview(data)
        with contextlib.suppress(OSError):  # standard output closed: lines are not worth an error
            while view:
                view = view[os.write(self.fd, view) :]

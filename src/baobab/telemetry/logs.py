"""Structured logs: one JSON line per request, and every log record as JSON, when asked.

``server.log_format = "json"``: the request line (:func:`access_line`) is written straight to
standard output with one ``os.write`` — a line under the pipe buffer's size is written whole,
so the lines of several workers sharing the descriptor never interleave, and the logging
module's record, lock and formatter (several microseconds) stay off the hot path. Other log
records go through :mod:`logging` as usual, formatted by :class:`JsonFormatter`. In both
formats every record gets ``request_id`` (None outside a request) from
:data:`~baobab.telemetry.requestid.REQUEST_ID`, so what the publish step and the after-commit
work log can be matched with the request that caused it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import time
from typing import Any, Literal

import orjson

from baobab.telemetry.requestid import REQUEST_ID

__all__ = ["JsonFormatter", "RequestIdFilter", "access_line", "configure_logging"]

_STDOUT = 1
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


def access_line(
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
    """Write one request's JSON line to standard output (see the module's docstring)."""
    now = time.time()
    line = orjson.dumps(
        {
            "time": _timestamp(now),
            "type": "access",
            "method": method,
            "path": path,
            "view": view,
            "status": status,
            "duration_ms": round(seconds * 1000, 3),
            "principal": principal,
            "request_id": request_id,
            "conflicts": replays,
            "pid": _pid,
        },
        option=orjson.OPT_APPEND_NEWLINE,
    )
    with contextlib.suppress(OSError):  # standard output closed: a line is not worth an error
        os.write(_STDOUT, line)

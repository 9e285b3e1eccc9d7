"""What an operator watches: metrics (Prometheus), request ids and structured logs.

The metric objects are made on first use (:func:`~baobab.telemetry.metrics.instruments`), not
at import: prometheus-client decides at its own import whether values live in memory or in
the multiprocess directory that ``baobab serve`` sets up before Granian forks its workers.
"""

from __future__ import annotations

from baobab.telemetry.logs import AccessLog, JsonFormatter, configure_logging
from baobab.telemetry.metrics import Instruments, instruments
from baobab.telemetry.requestid import REQUEST_ID, request_id_of

__all__ = [
    "REQUEST_ID",
    "AccessLog",
    "Instruments",
    "JsonFormatter",
    "configure_logging",
    "instruments",
    "request_id_of",
]

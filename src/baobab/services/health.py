"""``@health``, ``@ready`` and ``@metrics`` on the application (``/``).

``GET``/``HEAD`` of ``/@health`` and ``/@ready`` are answered by the ASGI layer before
authentication and publishing (:mod:`baobab.asgi.health`): a probe must not depend on a
header, a site or a database connection's snapshot. They are declared here too, so that the
OpenAPI description lists them and other methods get the registry's 405 with ``Allow``; the
handlers below are what a request reaching the publisher would get, which a ``GET`` of these
exact paths never does.

``GET /@metrics`` is the Prometheus text format on the API's own port, for Managers, when
``metrics.enabled`` and ``metrics.public`` are set (else 404): the values of every worker,
read from the multiprocess directory (:mod:`baobab.telemetry.exposition`).
"""

from __future__ import annotations

from typing import Any

from baobab import __version__
from baobab.config.declarations import service
from baobab.content.interfaces import IApplication
from baobab.errors import NotFound
from baobab.request import Request, Response, json_response
from baobab.security.vocabulary import PUBLIC, VIEW_METRICS
from baobab.telemetry.exposition import render
from baobab.telemetry.metrics import instruments

__all__ = ["get_health", "get_metrics", "get_ready"]

HEALTH: dict[str, Any] = {
    "type": "object",
    "required": ["status", "version"],
    "properties": {"status": {"const": "ok"}, "version": {"type": "string"}},
}
READY: dict[str, Any] = {
    "type": "object",
    "required": ["status", "databases"],
    "properties": {
        "status": {"enum": ["ok", "unavailable"]},
        "databases": {
            "type": "object",
            "description": 'Each database: "ok", or why its probe failed',
            "additionalProperties": {"type": "string"},
        },
        "redis": {"type": "string", "description": 'Only with pubsub.redis: "ok", or why not'},
    },
}
_CHEAP = "Answered before authentication (no credentials needed; bad ones are ignored), "


@service(
    method="GET",
    context=IApplication,
    name="@health",
    permission=PUBLIC.id,
    summary="The process answers (liveness), and its version",
    description=_CHEAP + "never reading content.",
    responses={200: HEALTH},
)
def get_health(request: Request) -> Response:
    return json_response({"status": "ok", "version": __version__})


@service(
    method="GET",
    context=IApplication,
    name="@ready",
    permission=PUBLIC.id,
    summary="Every database, and Redis when configured, answers a probe now (readiness)",
    description=_CHEAP + "never reading content. 503 names what failed; each probe is bounded, "
    "so the answer comes within two seconds.",
    responses={200: READY, 503: READY},
)
def get_ready(request: Request) -> Response:
    # Never reached by GET or HEAD of /@ready (the ASGI layer answers them); kept honest for
    # a publisher that would reach it: it cannot probe from here, so it does not claim to.
    raise NotFound("Ask GET /@ready")


@service(
    method="GET",
    context=IApplication,
    name="@metrics",
    permission=VIEW_METRICS.id,
    summary="Prometheus metrics, on the API's port (metrics.public)",
    description="Off (404) unless metrics.enabled and metrics.public are set; the metrics' "
    "own port (metrics.port) is the default place to scrape.",
    responses={200: {"text/plain": {"type": "string"}}},
)
def get_metrics(request: Request) -> Response:
    settings = request.settings.metrics
    if not (settings.enabled and settings.public):
        raise NotFound("Metrics are not served on this port (metrics.public)")
    # what the workers flushed (each once a second: see baobab.telemetry.metrics)
    body, content_type = render(instruments().registry)
    return Response(status=200, body=body, content_type=content_type.encode("latin-1"))

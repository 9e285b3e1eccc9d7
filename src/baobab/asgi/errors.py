"""The one table from errors to HTTP: status, envelope, and extra headers."""

from __future__ import annotations

import logging
import traceback
from typing import Any

import orjson

from baobab import errors
from baobab.request import Response
from baobab.telemetry.requestid import REQUEST_ID

__all__ = ["STATUS", "error_response", "internal_error", "internal_error_response"]

logger = logging.getLogger(__name__)

STATUS: dict[type[errors.BaobabError], int] = {
    errors.BadRequest: 400,
    errors.Unauthorized: 401,
    errors.Forbidden: 403,
    errors.NotFound: 404,
    errors.MethodNotAllowed: 405,
    errors.RequestTimeout: 408,
    errors.AlreadyExists: 409,
    errors.Conflict: 409,
    errors.Gone: 410,
    errors.PreconditionFailed: 412,
    errors.PayloadTooLarge: 413,
    errors.RangeNotSatisfiable: 416,
    errors.UpgradeRequired: 426,
    errors.UnsupportedMediaType: 415,
    errors.ValidationError: 422,
    errors.TooManyRequests: 429,
    errors.ChecksumMismatch: 460,
    errors.InsufficientStorage: 507,
    errors.ConfigError: 500,
}


def _status(exc: errors.BaobabError) -> int:
    for klass in type(exc).__mro__:
        status = STATUS.get(klass)
        if status is not None:
            return status
    return 500


def error_response(exc: errors.BaobabError) -> Response:
    status = _status(exc)
    headers: list[tuple[bytes, bytes]] = []
    if status == 401:
        headers.append((b"www-authenticate", b'Bearer realm="baobab", Basic realm="baobab"'))
    if isinstance(exc, errors.PreconditionFailed) and exc.etag:
        headers.append((b"etag", exc.etag.encode()))
    if isinstance(exc, errors.RangeNotSatisfiable):
        headers.append((b"content-range", f"bytes */{exc.size}".encode()))
    if isinstance(exc, errors.TooManyRequests):
        headers.append((b"retry-after", str(exc.retry_after).encode()))
    if isinstance(exc, errors.UpgradeRequired):
        headers += [(b"upgrade", b"websocket"), (b"connection", b"Upgrade")]
    if isinstance(exc, errors.MethodNotAllowed) and exc.allow:
        headers.append((b"allow", ", ".join(exc.allow).encode()))
    headers += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in exc.headers.items()]
    return Response(status=status, body=orjson.dumps(_envelope(exc.to_dict())), headers=headers)


def _envelope(data: dict[str, Any]) -> dict[str, Any]:
    """The envelope with the request's id, when there is a request (see
    :mod:`baobab.telemetry.requestid`): a client quotes it, an operator finds the log lines."""
    request_id = REQUEST_ID.get()
    if request_id is not None:
        data["request_id"] = request_id
    return data


def internal_error(exc: BaseException, *, debug: bool) -> dict[str, Any]:
    """Log an unexpected exception with its traceback; its envelope (the traceback in
    ``details`` only with ``debug``)."""
    logger.error("unhandled error", exc_info=exc)
    details = None
    if debug:
        details = {"traceback": traceback.format_exception(exc)}
    return _envelope(
        {"type": "InternalServerError", "message": "Internal server error", "details": details}
    )


def internal_error_response(exc: BaseException, *, debug: bool) -> Response:
    return Response(status=500, body=orjson.dumps(internal_error(exc, debug=debug)))

"""The one error root and every domain error.

Domain code raises these; it never builds HTTP responses. The ASGI layer owns the single
table that maps each class to a status code (``baobab.asgi.errors``). Each error carries a
stable ``type`` (its class name), a human ``message`` and JSON ``details``; where a builtin
exception means the same thing, the error inherits it too (``NotFound`` is a ``KeyError``), as
ZODB does with ``POSKeyError``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = [
    "AlreadyExists",
    "ArchiveError",
    "BackupError",
    "BadRequest",
    "BaobabError",
    "ChecksumMismatch",
    "ConfigError",
    "Conflict",
    "Forbidden",
    "Gone",
    "IncompleteBody",
    "InsufficientStorage",
    "InvalidId",
    "InvalidQuery",
    "MaintenanceRunning",
    "MalformedJSON",
    "MethodNotAllowed",
    "NotAllowedType",
    "NotFound",
    "OffsetMismatch",
    "PayloadTooLarge",
    "PreconditionFailed",
    "RangeNotSatisfiable",
    "RegistrationConflict",
    "RequestTimeout",
    "TooManyRequests",
    "Unauthorized",
    "UnknownType",
    "UnsupportedMediaType",
    "UpgradeRequired",
    "ValidationError",
]


class BaobabError(Exception):
    """Root of every error Baobab raises on purpose."""

    default_message = "Error"

    def __init__(
        self,
        message: str | None = None,
        details: Any = None,
        *,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.message = message or self.default_message
        self.details = details
        # what a protocol asks to accompany this error (TUS's Tus-Version on its 412)
        self.headers: Mapping[str, str] = headers or {}
        super().__init__(self.message)

    @property
    def type(self) -> str:
        return type(self).__name__

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "message": self.message, "details": self.details}


class ConfigError(BaobabError, ValueError):
    """The configuration is invalid; the message names the key path."""


class BackupError(BaobabError):
    """A backup or restore cannot be made as asked (a missing tool, a database in the way, a
    repository without the files); the message says what to do."""


class RegistrationConflict(ConfigError):
    """Two registrations claim the same slot; the message names both places."""


class BadRequest(BaobabError, ValueError):
    default_message = "Bad request"


class InvalidQuery(BadRequest):
    """A catalog query the server cannot run as asked; ``details["parameter"]`` names the
    query parameter (or querystring criterion) at fault."""

    default_message = "Invalid query"

    def __init__(self, message: str, parameter: str) -> None:
        super().__init__(message, details={"parameter": parameter})
        self.parameter = parameter


class MalformedJSON(BadRequest):
    default_message = "The request body is not valid JSON"


class InvalidId(BadRequest):
    default_message = "Invalid id"


class UnknownType(BadRequest):
    default_message = "Unknown content type"


class NotAllowedType(BadRequest):
    default_message = "This type may not be added here"


class ArchiveError(BadRequest):
    """An export archive is malformed, truncated or of an unknown format (``baobab import``)."""


class ValidationError(BaobabError, ValueError):
    """The body is well-formed but does not fit the schema; ``details`` lists each field."""

    default_message = "The data does not fit the schema"


class Unauthorized(BaobabError):
    """No valid credentials were given (missing, wrong, expired, forged or revoked)."""

    default_message = "Authentication required"


class Forbidden(BaobabError):
    """The authenticated principal lacks the permission."""

    default_message = "Forbidden"


class NotFound(BaobabError, KeyError):
    default_message = "Not found"

    def __str__(self) -> str:  # KeyError would repr-quote the message
        return self.message


class MethodNotAllowed(BaobabError):
    default_message = "Method not allowed"

    def __init__(
        self, message: str | None = None, details: Any = None, allow: list[str] | None = None
    ) -> None:
        super().__init__(message, details)
        self.allow = allow or []


class AlreadyExists(BaobabError):
    default_message = "An object with this id already exists"


class Conflict(BaobabError):
    """A write kept conflicting with concurrent writes after every retry."""

    default_message = "The request conflicted with concurrent writes; try again"


class OffsetMismatch(Conflict):
    """A TUS PATCH named an ``Upload-Offset`` other than the upload's current one."""

    default_message = "Upload-Offset does not match the upload's offset"


class MaintenanceRunning(Conflict):
    """A pack (or a backup) of this database is already running; try again once it is done."""

    default_message = "A pack of this database is already running"


class Gone(BaobabError):
    """The resource existed and is gone for good (an expired TUS upload)."""

    default_message = "Gone"


class PreconditionFailed(BaobabError):
    """``If-Match`` named a stale version; ``details.existing`` holds the current copy."""

    default_message = "The resource was modified meanwhile"

    def __init__(
        self,
        message: str | None = None,
        details: Any = None,
        etag: str | None = None,
        *,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message, details, headers=headers)
        self.etag = etag


class PayloadTooLarge(BaobabError):
    default_message = "The request body is too large"


class RangeNotSatisfiable(BaobabError):
    """A byte range that lies wholly past the end of the file; ``size`` goes in the
    ``Content-Range: bytes */size`` header of the 416."""

    default_message = "The requested range is not satisfiable"

    def __init__(self, message: str | None = None, details: Any = None, *, size: int) -> None:
        super().__init__(message, details if details is not None else {"size": size})
        self.size = size


class ChecksumMismatch(BaobabError):
    """An uploaded body does not match the checksum the client sent (TUS's 460)."""

    default_message = "The body does not match its checksum"


class InsufficientStorage(BaobabError):
    """The disk is full (or the file too large for it): nothing was kept."""

    default_message = "Not enough storage to keep the upload"


class IncompleteBody(BadRequest, ConnectionError):
    """The request body ended before it was complete: the client went away, or the server
    gave up on a malformed body (a broken chunked encoding looks the same to the app). It is
    answered with a 400 in case the connection can still carry it."""

    default_message = "The request body is incomplete: the connection ended or it is malformed"


class RequestTimeout(BaobabError):
    """The request body stalled: no part of it arrived within ``request.body_timeout``
    seconds, or an in-memory body took longer than ``request.memory_body_timeout``."""

    default_message = "The request body did not arrive in time"


class TooManyRequests(BaobabError):
    """Too many failed password checks for a login name or from an address: nothing is
    checked for ``retry_after`` seconds (the ``Retry-After`` header of the 429)."""

    default_message = "Too many failed logins; try again later"

    def __init__(self, message: str | None = None, *, retry_after: int) -> None:
        super().__init__(message, {"retry_after": retry_after})
        self.retry_after = retry_after


class UnsupportedMediaType(BaobabError):
    default_message = "Unsupported media type"


class UpgradeRequired(BaobabError):
    """A WebSocket endpoint (``@ws``) reached by a plain HTTP request."""

    default_message = "This endpoint speaks WebSocket: send an Upgrade request"

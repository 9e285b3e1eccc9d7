"""What a service receives (:class:`Request`) and returns (:class:`Response`)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from baobab.blobs.checksums import Checksum
from baobab.blobs.multipart import Form
from baobab.blobs.spool import Spooled
from baobab.config.registry import Registry
from baobab.config.settings import Settings
from baobab.content.events import object_event
from baobab.database.transactions import committed_tid
from baobab.errors import BadRequest, MalformedJSON, UnsupportedMediaType
from baobab.events import Event, ObjectEvent, PrincipalsChanged, TokenRevoked
from baobab.security.authentication import Authenticator, Credentials
from baobab.security.policy import Checker, SecurityPolicy
from baobab.security.principals import ANONYMOUS_PRINCIPAL, Principal

__all__ = [
    "FileBody",
    "NeedsMore",
    "OffloadNeeded",
    "Request",
    "Response",
    "UploadNeeded",
    "json_response",
    "media_of",
]


_PUSHED = (ObjectEvent, PrincipalsChanged, TokenRevoked)  # what live push needs to hear of


def media_of(content_type: str | None) -> str:
    """The lower-case media type of a Content-Type value, without parameters."""
    return (content_type or "").split(";", 1)[0].strip().lower()


class NeedsMore(Exception):
    """The publish step stops here: the HTTP layer provides something, then publishes again."""


class OffloadNeeded(NeedsMore):
    """The publish step needs ``fn()`` computed off its thread (argon2); see Request.offload."""

    def __init__(self, key: Any, fn: Callable[[], Any]) -> None:
        super().__init__(key)
        self.key = key
        self.fn = fn


@dataclass
class UploadNeeded(NeedsMore):
    """The service needs the body streamed to disk; see Request.body_file / Request.form."""

    form: bool = False
    limit: int | None = None  # below the configured maximum (a TUS upload's remaining bytes)
    checksum: Checksum | None = None  # what the client says the body hashes to
    keep_partial: bool = False  # keep what arrived before a disconnect (TUS)


@dataclass(frozen=True, slots=True)
class FileBody:
    """A response body sent from a file: ``length`` bytes from ``start`` (pathsend when it is
    the whole file and the server offers it)."""

    path: str
    start: int
    length: int
    whole: bool


@dataclass(slots=True)
class Response:
    status: int = 200
    body: bytes = b""
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    content_type: bytes | None = b"application/json"
    commit: bool | None = None  # None: a write commits unless it answers an error; reads never
    offload: Any = None  # a NeedsMore: the pipeline provides it and publishes again
    file: FileBody | None = None  # sent after the database is released


def json_response(
    data: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    extra = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in (headers or {}).items()]
    return Response(status=status, body=orjson.dumps(data), headers=extra)


@dataclass(slots=True)
class Request:
    """One HTTP request as the publish step and services see it."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: bytes
    base_url: str
    credentials: Credentials
    registry: Registry
    policy: SecurityPolicy
    settings: Settings
    auth: Authenticator
    principal: Principal = ANONYMOUS_PRINCIPAL  # set by the publish step from credentials
    offloaded: dict[Any, Any] = field(default_factory=dict)
    context: Any = None
    view_name: str = ""
    subpath: tuple[str, ...] = ()
    conn: Any = None
    streamed: bool = False  # the body was left unread for a service to stream to disk
    spooled: Spooled | None = None
    form_data: Form | None = None
    # events emitted by this attempt, for the coroutine subscribers once it has committed
    after_commit: list[tuple[Callable[..., Any], Any]] = field(default_factory=list)
    committed: bool = False
    # object events of this attempt for live push (baobab.live), and the committed tid
    outbox: list[Event] = field(default_factory=list)
    tid: int = 0
    websocket: bool = False  # the handshake of a WebSocket (``@ws``), not an HTTP request
    _hooked: bool = False
    _json: Any = None
    _checker: Checker | None = None

    @property
    def security(self) -> Checker:
        """The policy's checker for this request's principal (caches for the request)."""
        checker = self._checker
        if checker is None or checker.principal is not self.principal:
            checker = self._checker = self.policy.checker(self.principal)
        return checker

    def offload(self, key: Any, fn: Callable[[], Any]) -> Any:
        """``fn()``'s result, computed on a worker thread.

        The publish step runs on the event loop in inline mode, where an argon2 hash or check
        (tens of milliseconds) would stall every connection. The first call raises
        :class:`OffloadNeeded`; the pipeline aborts the transaction, runs ``fn`` in a thread,
        stores the result under ``key`` and publishes the request again, when this returns it.
        """
        if key in self.offloaded:
            return self.offloaded[key]
        raise OffloadNeeded(key, fn)

    def notify(self, event: Any) -> None:
        """Emit ``event``: plain subscribers run now, inside the transaction (a raise vetoes
        the request); coroutine subscribers are kept for after the commit, with the event's
        live object removed (see :mod:`baobab.events`). Object events are also kept for
        live push: the pipeline publishes them with the transaction id once committed."""
        obj = getattr(event, "obj", None)
        detached = dataclasses.replace(event, obj=None) if obj is not None else event
        for info in self.registry.subscribers(type(event), type(obj)):
            if info.is_async:
                self._hook()
                self.after_commit.append((info.handler, detached))
            else:
                info.handler(event)
        if isinstance(event, _PUSHED):
            self._hook()
            self.outbox.append(detached)

    def notify_object(self, event: type[ObjectEvent], obj: Any, **extra: Any) -> None:
        """Emit an object event about ``obj`` by the request's principal."""
        self.notify(object_event(event, obj, self.principal.id, **extra))

    def reset_events(self) -> None:
        """Forget what an attempt emitted (a replayed attempt emits its events again)."""
        self.after_commit.clear()
        self.outbox.clear()
        self._hooked = False

    def _hook(self) -> None:
        """Learn of this attempt's commit (once per attempt)."""
        if not self._hooked:
            self._hooked = True
            self.conn.transaction_manager.get().addAfterCommitHook(self._mark_committed)

    def _mark_committed(self, status: bool) -> None:
        self.committed = status
        if status:
            self.tid = committed_tid(self.conn)

    def body_file(
        self,
        *,
        limit: int | None = None,
        checksum: Checksum | None = None,
        keep_partial: bool = False,
    ) -> Spooled:
        """The body as a spool file: like :meth:`offload`, the first call stops the publish
        step; the pipeline streams the body to disk (on the loop, with the upload limits) and
        publishes again. Call it once permissions are checked: nothing is read before."""
        if self.spooled is not None:
            return self.spooled
        raise UploadNeeded(limit=limit, checksum=checksum, keep_partial=keep_partial)

    def form(self, *, checksum: Checksum | None = None) -> Form:
        """The ``multipart/form-data`` body, files spooled to disk (as :meth:`body_file`)."""
        if self.form_data is not None:
            return self.form_data
        raise UploadNeeded(form=True, checksum=checksum)

    def json(self) -> Any:
        """The body as JSON (cached); 415 unless it is sent as JSON, 400 if malformed."""
        if self._json is None:
            if self.streamed:
                raise UnsupportedMediaType(
                    "This body was sent as a file (multipart or Content-Disposition); "
                    "send a JSON object"
                )
            media = media_of(self.headers.get("content-type", "application/json"))
            if media != "application/json" and not media.endswith("+json"):
                raise UnsupportedMediaType(
                    f"Send the body as application/json, not {media or 'nothing'}"
                )
            if not self.body:
                raise MalformedJSON("The request body is empty; a JSON object is expected")
            try:
                self._json = orjson.loads(self.body)
            except orjson.JSONDecodeError as exc:
                raise MalformedJSON(f"The request body is not valid JSON: {exc}") from None
        return self._json

    def json_object(self) -> dict[str, Any]:
        data = self.json()
        if not isinstance(data, dict):
            raise BadRequest("The request body must be a JSON object")
        return data

    def query_int(
        self, name: str, default: int, minimum: int = 0, maximum: int | None = None
    ) -> int:
        raw = self.query.get(name)
        if not raw:  # absent, or given empty (``?b_size=``)
            return default
        try:
            value = int(raw)
        except ValueError:
            raise BadRequest(f"Query parameter {name!r} must be an integer") from None
        if value < minimum or (maximum is not None and value > maximum):
            upper = "" if maximum is None else f" and at most {maximum}"
            raise BadRequest(f"Query parameter {name!r} must be at least {minimum}{upper}")
        return value

    def url_for(self, path: str) -> str:
        return self.base_url + path

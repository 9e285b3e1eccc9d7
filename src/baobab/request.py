"""What a service receives (:class:`Request`) and returns (:class:`Response`), and what it may
ask the pipeline for before it can finish (a :class:`Need`).

A :class:`Request` is what came over HTTP (method, path, headers, the body once read or
spooled), who sent it (the principal) and what traversal found (the context). The database
side of one publish attempt — the connection, the events raised, the committed transaction
id — is the attempt's :class:`~baobab.database.unit.UnitOfWork` (``request.unit``), made
afresh for every attempt and thrown away with it.

Stop and replay: a service that needs its body streamed to disk (``request.body_file()``,
``request.form()``) or a computation kept off the loop (``request.offload()``, an argon2
hash) raises :class:`~baobab.database.transactions.NeedsMore` with a :class:`Need`. The
transaction runner aborts the attempt and lets it through, like a conflict it cannot replay by
itself; the pipeline provides what is needed and publishes the request again. **Everything the
publish step did before that point runs twice**: traversal, authentication, the permission
checks and the service's own code up to the call. That code must change nothing outside the
transaction (external effects go through events, delivered after the commit).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from baobab.blobs.checksums import Checksum
from baobab.blobs.multipart import Form
from baobab.blobs.spool import Spooled
from baobab.catalog.follow import follow
from baobab.config.registry import Registry
from baobab.config.settings import Settings
from baobab.database.transactions import NeedsMore
from baobab.database.unit import UnitOfWork
from baobab.errors import BadRequest, MalformedJSON, NotFound, UnsupportedMediaType
from baobab.events import Event, ObjectEvent, PrincipalsChanged, object_event
from baobab.inputs import decimal
from baobab.location import resource_path
from baobab.security.accounts import accounts_after
from baobab.security.authentication import Authenticator, Credentials
from baobab.security.gate import require
from baobab.security.policy import Checker, SecurityPolicy
from baobab.security.principals import ANONYMOUS_PRINCIPAL, Principal
from baobab.security.users import user_folder

__all__ = [
    "FileBody",
    "Need",
    "NeedsMore",
    "Offload",
    "ReadBody",
    "Request",
    "Response",
    "StreamBody",
    "is_file",
    "json_response",
    "media_of",
]


def media_of(content_type: str | None) -> str:
    """The lower-case media type of a Content-Type value, without parameters."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def is_file(headers: Mapping[str, str]) -> bool:
    """A body sent as a file: a multipart form, or a non-JSON body named by
    ``Content-Disposition`` (what a ``body="negotiate"`` service streams)."""
    media = media_of(headers.get("content-type"))
    if media == "multipart/form-data":
        return True
    json = media == "application/json" or media.endswith("+json")
    return "content-disposition" in headers and not json


@dataclass(frozen=True, slots=True)
class Offload:
    """``fn()`` computed on a worker thread, kept under ``key`` (see Request.offload)."""

    key: Any
    fn: Callable[[], Any]


@dataclass(frozen=True, slots=True)
class StreamBody:
    """The body streamed to a spool file (or, with ``form``, parsed as multipart with its
    files spooled), with the upload limits; see Request.body_file / Request.form."""

    form: bool = False
    limit: int | None = None  # below the configured maximum (a TUS upload's remaining bytes)
    checksum: Checksum | None = None  # what the client says the body hashes to
    keep_partial: bool = False  # keep what arrived before a disconnect (TUS)


@dataclass(frozen=True, slots=True)
class ReadBody:
    """The body read into memory (capped): a service that takes JSON was reached with the
    body left unread, because another service of that name streams its body."""


# What a publish step may stop for; the pipeline provides it and publishes again.
Need = Offload | StreamBody | ReadBody


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
    query: dict[str, str]  # the last value of each name; ``query_items``: all, in order
    headers: dict[str, str]  # lower-case names
    body: bytes
    base_url: str
    credentials: Credentials
    registry: Registry
    policy: SecurityPolicy
    settings: Settings
    auth: Authenticator
    principal: Principal = ANONYMOUS_PRINCIPAL  # set by the publish step from credentials
    # what traversal found (set by the publish step)
    context: Any = None
    view_name: str = ""
    subpath: tuple[str, ...] = ()
    # the body when it was left unread for a service to stream (``streamed``), once provided
    streamed: bool = False
    spooled: Spooled | None = None
    form_data: Form | None = None
    offloaded: dict[Any, Any] = field(default_factory=dict)  # Offload results by key
    websocket: bool = False  # the handshake of a WebSocket (``@ws``), not an HTTP request
    client: str = ""  # the client's address (the peer, or a trusted proxy's X-Forwarded-For)
    query_items: tuple[tuple[str, str], ...] = ()
    replays: int = 0  # publish attempts run again after a conflict (metrics, the JSON log)
    _unit: UnitOfWork | None = None
    _json: Any = None
    _checker: Checker | None = None

    @property
    def security(self) -> Checker:
        """The policy's checker for this request's principal (caches for the request)."""
        checker = self._checker
        if checker is None or checker.principal is not self.principal:
            checker = self._checker = self.policy.checker(self.principal)
        return checker

    def require(self, permission: str, context: Any) -> None:
        """Raise unless the principal has ``permission`` on ``context``: 401 for anonymous,
        the 404 of a missing object for what the principal cannot see, else 403 (see
        :func:`baobab.security.gate.require`)."""
        require(self, permission, context)

    @property
    def unit(self) -> UnitOfWork:
        """The current attempt's unit of work (its connection, its events)."""
        unit = self._unit
        if unit is None:
            raise RuntimeError(f"{self.path}: no unit of work outside the publish step")
        return unit

    def begin(self, unit: UnitOfWork) -> None:
        """A publish attempt starts with ``unit``: what earlier attempts found is forgotten."""
        self._unit = unit
        self.context = None
        self.view_name = ""
        self.subpath = ()
        self.principal = ANONYMOUS_PRINCIPAL

    def end(self) -> UnitOfWork | None:
        """The attempt is over: its unit, handed back once and no longer the request's."""
        unit, self._unit = self._unit, None
        return unit

    @property
    def body_pending(self) -> bool:
        """A body left unread for its service (``streamed``), not yet spooled or read."""
        return self.streamed and self.spooled is None and self.form_data is None

    @property
    def body_unread(self) -> bool:
        """A pending body that says it is not empty (Content-Length, or chunked)."""
        if not self.body_pending:
            return False
        length = self.headers.get("content-length")
        return length not in (None, "0") or "transfer-encoding" in self.headers

    def offload(self, key: Any, fn: Callable[[], Any]) -> Any:
        """``fn()``'s result, computed on a worker thread.

        The publish step runs on the event loop in inline mode, where an argon2 hash or check
        (tens of milliseconds) would stall every connection. The first call stops the publish
        step (:class:`Offload`); the pipeline runs ``fn`` in a thread, keeps the result under
        ``key`` and publishes the request again, when this returns it.
        """
        if key in self.offloaded:
            return self.offloaded[key]
        raise NeedsMore(Offload(key, fn))

    def notify(self, event: Event) -> None:
        """Raise ``event`` in this attempt (see :class:`~baobab.events.outbox.Outbox`); an
        object event also queues what it changed for the catalog (:mod:`baobab.catalog`)."""
        self.unit.notify(event)
        follow(event, self.registry)

    def notify_object(self, event: type[ObjectEvent], obj: Any, **extra: Any) -> None:
        """Raise an object event about ``obj`` by the request's principal."""
        self.notify(object_event(event, obj, self.principal.id, **extra))

    def notify_principals(self, *ids: str, accounts: Iterable[str] | None = None) -> None:
        """Raise :class:`~baobab.events.PrincipalsChanged` for these users or groups of the
        context (a container), once their roles, groups or accounts are changed: it carries
        the accounts as they are now, which live sockets apply from this commit on.

        ``accounts``: the users and groups whose accounts the change may touch, when fewer
        than ``ids`` (a group's title changes no member's account: its members are not read);
        a removed group's former members must be named here, the group no longer lists them.
        """
        container = resource_path(self.context)
        changed = accounts_after(user_folder(self.context), ids if accounts is None else accounts)
        event = PrincipalsChanged(
            actor=self.principal.id, container=container, ids=ids, accounts=changed
        )
        self.notify(event)

    def body_file(
        self,
        *,
        limit: int | None = None,
        checksum: Checksum | None = None,
        keep_partial: bool = False,
    ) -> Spooled:
        """The body as a spool file. Like :meth:`offload`, the first call stops the publish
        step; the pipeline streams the body to disk (on the loop, with the upload limits) and
        publishes again. Only for a service declared with ``body="stream"`` (or
        ``"negotiate"``); call it once permissions are checked: nothing is read before."""
        if self.spooled is not None:
            return self.spooled
        raise NeedsMore(StreamBody(limit=limit, checksum=checksum, keep_partial=keep_partial))

    def form(self, *, checksum: Checksum | None = None) -> Form:
        """The ``multipart/form-data`` body, files spooled to disk (as :meth:`body_file`)."""
        if self.form_data is not None:
            return self.form_data
        raise NeedsMore(StreamBody(form=True, checksum=checksum))

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
        value = decimal(raw)
        if value is None:
            raise BadRequest(
                f"Query parameter {name!r} must be a non-negative integer",
                details={"name": name},
            )
        if value < minimum or (maximum is not None and value > maximum):
            upper = "" if maximum is None else f" and at most {maximum}"
            raise BadRequest(f"Query parameter {name!r} must be at least {minimum}{upper}")
        return value

    def refuse_unknown_query(self, known: Iterable[str]) -> None:
        """400 naming the first query parameter not in ``known``: a parameter a service does
        not read (``?sort_on=`` on a listing) is an error, not silently ignored."""
        unknown = sorted(set(self.query) - set(known))
        if unknown:
            raise BadRequest(
                f"Unknown query parameter {unknown[0]!r} (known: {', '.join(sorted(known))})",
                details={"name": unknown[0]},
            )

    def url_for(self, path: str) -> str:
        return self.base_url + path

    def view_url(self, view: str, item: str = "") -> str:
        """``…/{view}`` (or ``…/{view}/{item}``) on the request's context."""
        base = self.url_for(self.path.split(f"/{view}", 1)[0] + f"/{view}")
        return f"{base}/{item}" if item else base

    def subpath_id(self) -> str:
        """The one id after the view (``…/@users/{id}``); 404 for none or more."""
        if len(self.subpath) != 1:
            raise NotFound("Not found")
        return self.subpath[0]

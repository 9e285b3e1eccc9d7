"""The publish step: one unit of database work per request attempt, run through the bridge.

A new :class:`~baobab.database.unit.UnitOfWork` on the thread's connection → traverse →
finish authentication (users stored in the container) → check token revocation → find the
service → check its permission → take the body as the service declared it → call it →
commit (writes) or abort (reads and errors); replay on ``ConflictError`` with a fresh unit.
A step that stops for more input raises ``NeedsMore``: the runner aborts the attempt and the
exception reaches the pipeline (``baobab.asgi.pipeline``), which provides what is needed and
publishes again. Everything in here is synchronous; the bridge decides on which thread it runs.
"""

from __future__ import annotations

from time import perf_counter
from typing import Any

from baobab.asgi.errors import error_response, internal_error_response
from baobab.config.declarations import ServiceInfo
from baobab.config.registry import Registry
from baobab.content.interfaces import IContainer
from baobab.content.resources import Application
from baobab.database.databases import Databases
from baobab.database.transactions import ROOT_KEY, run_in_transaction, run_read
from baobab.database.unit import UnitOfWork
from baobab.errors import (
    BaobabError,
    Conflict,
    MethodNotAllowed,
    NotFound,
    Unauthorized,
    UnsupportedMediaType,
)
from baobab.request import NeedsMore, ReadBody, Request, Response, is_file
from baobab.security.authentication import Authenticator
from baobab.security.gate import deepest_known, knows, require, unseen
from baobab.security.tokens import is_revoked
from baobab.security.vocabulary import PUBLIC
from baobab.telemetry.metrics import Instruments
from baobab.traversal import Reached, reach, split_path

__all__ = ["SAFE_METHODS", "Publisher"]

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

Published = tuple[Response, UnitOfWork | None]


class Publisher:
    def __init__(
        self,
        databases: Databases,
        registry: Registry,
        auth: Authenticator,
        *,
        debug: bool,
        metrics: Instruments | None = None,
    ) -> None:
        self.databases = databases
        self.registry = registry
        self.auth = auth
        self.debug = debug
        self.metrics = metrics
        self.application = Application(list(databases))

    def publish(self, request: Request) -> Published:
        """The answer, and the unit of the attempt that produced it (None if no attempt
        ran). Raises ``NeedsMore`` when the request must be given more first."""
        segments = split_path(request.path)
        if not segments or segments[0].startswith("@"):
            db_name, rest, at_top = self.databases.system, segments, True
        else:
            db_name, rest, at_top = segments[0], segments[1:], False
        db = self.databases.get(db_name)
        if db is None:
            return error_response(NotFound(f"No database named {db_name!r}")), None
        registry, system, metrics = self.registry, self.databases.system, self.metrics
        attempts = 0

        def attempt(conn: Any) -> Response:
            nonlocal attempts
            attempts += 1
            # a new unit of work per attempt; the request keeps the last one (see end())
            request.begin(UnitOfWork(conn, registry, system))
            try:
                return self._run(request, conn, rest, at_top)
            except BaobabError as exc:
                return error_response(exc)

        def write(conn: Any) -> tuple[Response, bool]:
            response = attempt(conn)
            # a write commits unless it failed or its service said otherwise
            commit = response.commit if response.commit is not None else response.status < 400
            if commit and metrics is not None:
                _time_commit(conn, metrics, db_name)
            return response, commit

        def on_error(exc: Exception) -> Response:
            return internal_error_response(exc, debug=self.debug)

        connections = self.databases.connections
        conflicted = False
        try:
            if request.method in SAFE_METHODS:  # never commits: no transaction at all
                response = run_read(db, attempt, on_error=on_error, connections=connections)
            else:
                response = run_in_transaction(
                    db,
                    write,
                    retries=self.databases.retries,
                    on_error=on_error,
                    connections=connections,
                )
        except Conflict as exc:
            conflicted = True
            response = error_response(exc)
        finally:
            unit = request.end()  # also when NeedsMore goes out: the attempt is over
            replays = max(0, attempts - 1)  # each replay follows a conflict
            request.replays += replays
            if metrics is not None:
                _record(metrics, db_name, unit, replays, conflicted)
        return response, unit

    def _run(self, request: Request, conn: Any, rest: tuple[str, ...], at_top: bool) -> Response:
        start: Any = self.application if at_top else conn.root()[ROOT_KEY]
        found = reach(start, rest)
        container = None
        if not at_top and found.depth and found.context is not start:
            # the container is the database root's child on the way (never a walk up)
            candidate = start.get(rest[0])
            if IContainer.providedBy(candidate):
                container = candidate
        principal = self.auth.resolve(request.credentials, container, request.offload)
        request.principal = principal
        if principal.token_id is not None and is_revoked(
            request.unit.system_conn, principal.token_id
        ):
            raise Unauthorized("The token has been revoked (logged out)")
        request.context = found.context
        request.view_name = found.view_name
        request.subpath = found.subpath
        info = self._service(request, found, rest)
        if found.subpath and not info.allow_subpath:
            raise NotFound(f"Not found: {'/'.join(found.subpath)}")
        assert info.permission is not None  # the registry refuses services without one
        require(request, info.permission, found.context)
        if request.streamed and (
            info.body == "memory" or (info.body == "negotiate" and not is_file(request.headers))
        ):
            # left unread because another service of this name streams, but this one takes
            # it as JSON: read it now (an HTTP/2 body may come without Content-Length, so
            # always ask). A service thus sees ``request.streamed`` only for what it streams.
            raise NeedsMore(ReadBody())
        response: Response = info.handler(request)
        if response.status < 400 and request.body_unread:
            # a body sent as a file that the service never asked for: success would drop it
            raise UnsupportedMediaType("This service takes no file; send a JSON object")
        return response

    def _service(self, request: Request, found: Reached, rest: tuple[str, ...]) -> ServiceInfo:
        """The service the request names on what traversal reached, or the error to answer.

        Missing, or there but unknown to the principal: one answer for both, before any
        service is looked up, whatever the method, view or rest of the path. Only a public
        service (``@login`` on a container) is reached on an unknown object."""
        method = "GET" if request.method == "HEAD" else request.method
        checker = request.security
        unknown = found.missing or not knows(checker, found.context)
        info = None
        if not found.missing:
            info = self.registry.lookup_service(found.context, method, found.view_name)
        if unknown and (info is None or info.permission != PUBLIC.id):
            view = next((segment for segment in rest if segment[:1] == "@"), "")
            public = bool(view) and PUBLIC.id in self.registry.permissions_of(method, view)
            depth = deepest_known(checker, found.context, found.depth)
            raise unseen(checker, rest, depth, public=public)
        if info is None:
            allowed = self.registry.allowed_methods(found.context, found.view_name)
            if not allowed:
                raise NotFound(f"Not found: {found.view_name or request.path}")
            if "GET" in allowed:
                allowed.append("HEAD")
            raise MethodNotAllowed(
                f"{request.method} is not allowed here", details={"allow": allowed}, allow=allowed
            )
        return info


def _time_commit(conn: Any, metrics: Instruments, database: str) -> None:
    """Time the commit that follows (its before-commit hooks, catalog indexing among them,
    and the two-phase commit) with an after-commit hook: nothing to undo if it fails."""
    start = perf_counter()

    def done(_ok: bool) -> None:
        metrics.commit.labels(database).observe(perf_counter() - start)

    conn.transaction_manager.get().addAfterCommitHook(done)


def _record(
    metrics: Instruments, database: str, unit: UnitOfWork | None, replays: int, conflicted: bool
) -> None:
    """Conflicts and replays of one publish step; the objects its last attempt loaded and
    stored (ZODB's transfer counts of the thread's connection, reset as they are read)."""
    if replays or conflicted:
        metrics.conflicts.labels(database).inc(replays + conflicted)
        if replays:
            metrics.replays.labels(database).inc(replays)
    if unit is not None:
        loads, stores = unit.conn.getTransferCounts(True)
        if loads:
            metrics.loads.labels(database).inc(loads)
        if stores:
            metrics.stores.labels(database).inc(stores)

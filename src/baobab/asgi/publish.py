"""The publish step: one unit of database work per request, run through the bridge.

open a connection (own transaction manager) → traverse → finish authentication (users stored
in the container) → check token revocation → find the service → check its permission → call
it → commit (writes) or abort (reads and errors) → replay on ConflictError → close. A step that
needs an argon2 computation raises ``OffloadNeeded``: the unit is aborted and answered with a
marker the HTTP layer resolves (compute off-thread, publish again). Everything in here is
synchronous; the caller decides on which thread it runs (``baobab.database.bridge``).
"""

from __future__ import annotations

from typing import Any

from baobab.asgi.errors import error_response, internal_error_response
from baobab.config.registry import Registry
from baobab.content.interfaces import IContainer
from baobab.content.resources import Application
from baobab.database.transactions import ROOT_KEY, Connections, run_in_transaction, run_read
from baobab.errors import (
    BaobabError,
    Conflict,
    MethodNotAllowed,
    NotFound,
    Unauthorized,
    UnsupportedMediaType,
)
from baobab.request import NeedsMore, Request, Response
from baobab.security.authentication import Authenticator
from baobab.security.tokens import is_revoked
from baobab.services.guards import require
from baobab.traversal import split_path, traverse

__all__ = ["Publisher"]

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _file_ignored(request: Request) -> bool:
    """A body sent as a file (left unread for an upload service) that the service never
    asked for: answering success would drop it silently."""
    if not request.streamed or request.spooled is not None or request.form_data is not None:
        return False
    length = request.headers.get("content-length")
    return length not in (None, "0") or "transfer-encoding" in request.headers


class Publisher:
    def __init__(
        self,
        databases: dict[str, Any],
        registry: Registry,
        auth: Authenticator,
        *,
        retries: int,
        debug: bool,
    ) -> None:
        self.databases = databases
        self.registry = registry
        self.auth = auth
        self.retries = retries
        self.debug = debug
        self.system = next(iter(databases))
        self.application = Application(list(databases))
        self.connections = Connections()

    def close(self) -> None:
        self.connections.close_all()

    def publish(self, request: Request) -> Response:
        segments = split_path(request.path)
        if not segments or segments[0].startswith("@"):
            db_name, rest, at_top = self.system, segments, True
        else:
            db_name, rest, at_top = segments[0], segments[1:], False
            if db_name not in self.databases:
                return error_response(NotFound(f"No database named {db_name!r}"))

        def work(conn: Any) -> tuple[Response, bool]:
            request.conn = conn
            request.reset_events()
            try:
                response = self._run(request, conn, rest, at_top)
            except BaobabError as exc:
                return error_response(exc), False
            except NeedsMore as needed:
                return Response(status=0, offload=needed), False
            # Safe methods run through run_read and never commit; a write commits unless it
            # failed or its service said otherwise.
            commit = response.commit if response.commit is not None else response.status < 400
            return response, commit

        try:
            if request.method in SAFE_METHODS:
                return run_read(
                    self.databases[db_name],
                    lambda conn: work(conn)[0],
                    on_error=lambda exc: internal_error_response(exc, debug=self.debug),
                    connections=self.connections,
                )
            return run_in_transaction(
                self.databases[db_name],
                work,
                retries=self.retries,
                on_error=lambda exc: internal_error_response(exc, debug=self.debug),
                connections=self.connections,
            )
        except Conflict as exc:
            return error_response(exc)
        finally:
            request.conn = None

    def _run(self, request: Request, conn: Any, rest: tuple[str, ...], at_top: bool) -> Response:
        start: Any = self.application if at_top else conn.root()[ROOT_KEY]
        found = traverse(start, rest)
        container = None
        if not at_top and rest and found.context is not start:
            # the container is the database root's child on the way (never a walk up)
            candidate = start.get(rest[0])
            if IContainer.providedBy(candidate):
                container = candidate
        principal = self.auth.resolve(request.credentials, container, request.offload)
        request.principal = principal
        if principal.token_id is not None:
            system = conn.get_connection(self.system)
            if is_revoked(system, principal.token_id):
                raise Unauthorized("The token has been revoked (logged out)")
        request.context = found.context
        request.view_name = found.view_name
        request.subpath = found.subpath
        method = "GET" if request.method == "HEAD" else request.method
        info = self.registry.lookup_service(found.context, method, found.view_name)
        if info is None:
            allowed = self.registry.allowed_methods(found.context, found.view_name)
            if not allowed:
                raise NotFound(f"Not found: {found.view_name or request.path}")
            if "GET" in allowed:
                allowed.append("HEAD")
            raise MethodNotAllowed(
                f"{request.method} is not allowed here", details={"allow": allowed}, allow=allowed
            )
        if found.subpath and not info.allow_subpath:
            raise NotFound(f"Not found: {'/'.join(found.subpath)}")
        assert info.permission is not None  # the registry refuses services without one
        require(request, info.permission, found.context)
        response: Response = info.handler(request)
        if response.status < 400 and _file_ignored(request):
            raise UnsupportedMediaType("This service takes no file; send a JSON object")
        return response

"""What a console statement finds ready: the application's handles and database helpers.

Every helper is a coroutine awaited in the session's console thread (top-level ``await``).
Their database work is a unit run by :class:`~baobab.database.databases.Databases` — the same
runner, conflict replay and pooled connections as requests — from that thread: in ``inline``
mode the unit runs in the console thread itself (with that thread's own ZODB connection), in
``pool`` mode on a database thread. Never on the event loop that serves HTTP, so a slow
``fn`` blocks the operator, not the site.

- ``await read(fn, db=None)``: ``fn(root)`` on a read-only snapshot (``root`` is ``/{db}``);
- ``await write(fn, db=None)``: ``fn(root)`` in a transaction that commits when it returns;
  inside it, ``modified(obj, *fields)`` raises the event a PATCH raises (catalog, live push);
- ``await get(path)``: the object at ``/db/site/doc`` as a plain dict;
- ``await patch(path, **fields)``: fields set as ``PATCH`` sets them (validated, ``modified``
  and contributors touched, ``ObjectModified`` raised: the catalog reindexes in the same
  transaction, live subscribers are pushed the change once it has committed).

Results must be plain values, never persistent objects: the connection serves other units
afterwards (a result of ``get`` is a dict for that reason).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

from baobab.catalog.follow import follow
from baobab.config.registry import Registry
from baobab.config.settings import Settings
from baobab.content.files import NamedFile
from baobab.content.interfaces import IDatabaseRoot
from baobab.content.operations import update
from baobab.content.resources import Folder, Resource
from baobab.content.typeinfo import type_fields
from baobab.database.databases import Databases
from baobab.database.transactions import ROOT_KEY
from baobab.database.unit import UnitOfWork
from baobab.errors import BadRequest, NotFound
from baobab.events import Event, ObjectModified, object_event
from baobab.events.outbox import Outbox
from baobab.location import find, resource_path, split_path

__all__ = ["Deliver", "Helpers", "NamespaceFactory", "build_namespace", "plain"]

T = TypeVar("T")

# ``deliver(tid, outbox)``: hand a committed unit's events to the application (thread-safe).
Deliver = Callable[[int, Outbox], None]
# operator → the globals of that operator's new session
NamespaceFactory = Callable[[str], dict[str, Any]]


class Helpers:
    """The database helpers of one session, acting as ``actor`` (``console:<operator>``)."""

    def __init__(
        self,
        databases: Databases,
        registry: Registry,
        *,
        actor: str,
        deliver: Deliver | None,
    ) -> None:
        self.databases = databases
        self.registry = registry
        self.actor = actor
        self._deliver = deliver
        self._local = threading.local()  # the unit of the write running in this thread

    async def read(self, fn: Callable[[Any], T], *, db: str | None = None) -> T:
        """``fn(root)`` on a fresh read-only snapshot of database ``db`` (default: the
        first); any write inside ``fn`` is refused."""
        return await self.databases.read(lambda conn: fn(_content_root(conn)), db=db)

    async def write(self, fn: Callable[[Any], T], *, db: str | None = None) -> T:
        """``fn(root)`` in a transaction on database ``db`` that commits when ``fn`` returns
        (``fn`` raising aborts). A conflict replays ``fn`` on fresh state, as for requests:
        ``fn`` may run more than once. Events raised inside (``modified``, ``notify``) are
        delivered after the commit."""
        units: list[UnitOfWork] = []
        system = self.databases.system

        def work(conn: Any) -> T:
            unit = UnitOfWork(conn, self.registry, system)
            units.append(unit)  # the last one is the attempt that committed
            self._local.unit = unit
            try:
                return fn(_content_root(conn))
            finally:
                self._local.unit = None

        result = await self.databases.write(work, db=db)
        unit = units[-1]
        if unit.committed and unit.outbox is not None and self._deliver is not None:
            self._deliver(unit.tid, unit.outbox)
        return result

    def notify(self, event: Event) -> None:
        """Raise ``event`` in the running ``write`` (as a request's ``notify``: the plain
        subscribers now, the catalog queue, the rest after the commit)."""
        self._unit().notify(event)
        follow(event, self.registry)

    def modified(self, obj: Any, *fields: str) -> None:
        """Say that ``obj``'s ``fields`` were changed (``ObjectModified``, as PATCH raises)."""
        self._unit()  # outside a write: said before anything else goes wrong
        self.notify(object_event(ObjectModified, obj, self.actor, changed=tuple(sorted(fields))))

    def _unit(self) -> UnitOfWork:
        unit: UnitOfWork | None = getattr(self._local, "unit", None)
        if unit is None:
            raise RuntimeError("notify() and modified() work inside a write(fn) only")
        return unit

    async def get(self, path: str) -> dict[str, Any]:
        """The object at ``path`` (``/db/site/doc``) as a plain dict."""
        db, _ = _database_of(path)
        return await self.read(lambda root: plain(self.registry, _find(root, path)), db=db)

    async def patch(self, path: str, **fields: Any) -> dict[str, Any]:
        """Set ``fields`` of the object at ``path`` as PATCH does; the object afterwards."""
        db, _ = _database_of(path)

        def work(root: Any) -> dict[str, Any]:
            obj = _find(root, path)
            if IDatabaseRoot.providedBy(obj) or not isinstance(obj, Resource):
                raise BadRequest(f"{path}: only content objects have fields")
            update(self.registry, obj, fields, self.actor)
            self.modified(obj, *fields)
            return plain(self.registry, obj)

        return await self.write(work, db=db)


def _content_root(conn: Any) -> Any:
    root = conn.root().get(ROOT_KEY)
    if root is None:
        raise NotFound("This database has no content root yet: start the server once")
    return root


def _database_of(path: str) -> tuple[str, tuple[str, ...]]:
    segments = split_path(path)
    if not segments:
        raise NotFound("A path starts with a database name: /db/site/doc")
    return segments[0], segments[1:]


def _find(root: Any, path: str) -> Any:
    obj = find(root, "/" + "/".join(split_path(path)))
    if obj is None:
        raise NotFound(f"Nothing at {path}", details={"path": path})
    return obj


def plain(registry: Registry, obj: Any) -> dict[str, Any]:
    """``obj``'s identity and fields as plain values (files as plone.restapi describes
    them, a folder's children as their ids)."""
    path = resource_path(obj)
    if IDatabaseRoot.providedBy(obj) or not isinstance(obj, Resource):
        return {"@id": path, "@type": "Database", "items": list(obj.keys())}
    data: dict[str, Any] = {
        "@id": path,
        "@type": obj.type_name,
        "id": obj.__name__,
        "UID": obj.uid,
        "review_state": obj.review_state,
    }
    for name, field in type_fields(registry, obj.type_name).items():
        value = getattr(obj, name, field.default)
        if isinstance(value, NamedFile):
            value = {
                "filename": value.filename,
                "content-type": value.content_type,
                "size": value.size,
            }
        data[name] = value
    if isinstance(obj, Folder):
        data["items"] = list(obj.keys())
    return data


def build_namespace(
    *,
    databases: Databases,
    settings: Settings,
    registry: Registry,
    operator: str,
    deliver: Deliver | None,
    **extra: Any,
) -> dict[str, Any]:
    """The globals of a new session's statements."""
    helpers = Helpers(databases, registry, actor=f"console:{operator}", deliver=deliver)
    return {
        "__name__": "__console__",
        "__doc__": None,
        "databases": databases,
        "settings": settings,
        "registry": registry,
        "read": helpers.read,
        "write": helpers.write,
        "get": helpers.get,
        "patch": helpers.patch,
        "notify": helpers.notify,
        "modified": helpers.modified,
        **extra,
    }

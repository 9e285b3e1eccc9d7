"""Inert declarations: decorators that only annotate, and vocabulary records.

Nothing here registers anything. ``@content_type``, ``@behaviour`` and ``@service`` attach a
:class:`Declaration` to the object they decorate; :func:`baobab.config.scan.scan` finds those
(and module-level :class:`Permission` / :class:`Role` records) and fills a registry. Importing an
add-on therefore changes nothing until the configuration lists it.
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

__all__ = [
    "BODY_MODES",
    "DECLARATIONS_ATTR",
    "INDEX_KINDS",
    "BehaviourInfo",
    "ColumnInfo",
    "ContentTypeInfo",
    "Declaration",
    "IndexInfo",
    "Permission",
    "Role",
    "ServiceInfo",
    "SubscriberInfo",
    "behaviour",
    "catalog_index",
    "content_type",
    "metadata_column",
    "service",
    "subscriber",
]

DECLARATIONS_ATTR = "__baobab_declarations__"

# How a service takes its request body (``@service(body=...)``):
# - "memory": read into memory by the pipeline before the publish step, capped at
#   ``request.max_body_size`` (JSON bodies);
# - "stream": left unread until the service, its checks done, asks for it
#   (``request.body_file()`` or ``request.form()``); streamed to disk, never into memory;
# - "negotiate": streamed when it is a file (a multipart form, or a non-JSON body named by
#   ``Content-Disposition``), read into memory otherwise.
BODY_MODES = ("memory", "stream", "negotiate")

T = TypeVar("T")


@dataclass(frozen=True)
class Permission:
    """A permission id (dotted, namespaced) and the roles that hold it by default."""

    id: str
    title: str = ""
    default_roles: tuple[str, ...] = ()


@dataclass(frozen=True)
class Role:
    """A role id and title; ``delegate`` is the permission needed to grant it through
    ``@sharing`` (None: the role cannot be shared, only given globally or by the server)."""

    id: str
    title: str = ""
    delegate: str | None = None


@dataclass(frozen=True)
class ContentTypeInfo:
    name: str
    factory: type[Any]
    schema: type[Any] | None = None
    behaviours: tuple[str, ...] = ()
    allowed_types: tuple[str, ...] | None = None  # None: every globally addable type
    add_permission: str = ""  # "" until the scan fills in the type's own permission
    global_allow: bool = True
    title: str = ""
    description: str = ""
    workflow: str | None = ""  # "": the configured default; None: no workflow


@dataclass(frozen=True)
class BehaviourInfo:
    name: str
    schema: type[Any]
    title: str = ""


@dataclass(frozen=True)
class ServiceInfo:
    handler: Callable[..., Any]
    method: str
    name: str  # "" for the object itself, "@types" for a view
    context: Any  # a zope.interface interface or a class
    permission: str | None
    allow_subpath: bool = False
    summary: str = ""
    body: str = "memory"  # one of BODY_MODES
    headers: tuple[tuple[str, str], ...] = ()  # on every answer to a request for this name
    # What the API description (``GET /@openapi``) says of the service; nothing at run time
    # reads these. Each shape is a JSON Schema (a dict) or a msgspec type (a Struct), or for
    # a body of another kind a mapping ``{media type: shape}``.
    description: str = ""
    params: tuple[Mapping[str, Any], ...] = field(default=(), compare=False)  # OpenAPI params
    request: Any = field(default=None, compare=False)  # the body's shape; None: no body
    responses: tuple[tuple[int, Any], ...] = field(default=(), compare=False)  # status, shape
    errors: tuple[int, ...] = ()  # error statuses beyond those every service may answer
    subpaths: tuple[str, ...] = ()  # templates of the subpaths it answers ("{user}")


@dataclass(frozen=True)
class SubscriberInfo:
    handler: Callable[..., Any]
    event: type[Any]  # the event class (and its subclasses)
    context: Any  # an interface or a class the event's object must provide; None: any
    is_async: bool  # a coroutine function: runs on the loop after the commit


# The kinds of catalog index (``@catalog_index(kind=...)``) and what a query may ask of them:
# - "field": one value per object (str, int, bool, datetime), equality, ranges and sorting;
# - "keyword": a list of values per object, matched by any or all of them;
# - "date": a datetime per object, indexed to the minute, ranges and sorting;
# - "text": full text, word split and case folded, with AND/OR/NOT, phrases and globs.
INDEX_KINDS = ("field", "keyword", "date", "text")


@dataclass(frozen=True)
class IndexInfo:
    """A catalog index: ``value(obj)`` is what it holds for ``obj`` (None: not indexed)."""

    name: str
    kind: str
    value: Callable[[Any, Any], Any]  # value(obj, registry)
    title: str = ""
    description: str = ""
    type: type = str  # of a field index's values (str, int, float or bool): query values
    # are converted to it, and refused with a 400 when they do not convert


@dataclass(frozen=True)
class ColumnInfo:
    """A catalog metadata column: ``value(obj)``, stored with each entry (JSON-serializable)
    so search results serialize without loading the objects."""

    name: str
    value: Callable[[Any, Any], Any]  # value(obj, registry)


@dataclass(frozen=True)
class Declaration:
    """What a decorator recorded, and where (for conflict reports)."""

    kind: str  # "content_type" | "behaviour" | "service"
    info: Any
    where: str = field(default="", compare=False)


def _where(depth: int = 2) -> str:
    frame = sys._getframe(depth)
    return f"{frame.f_code.co_filename}:{frame.f_lineno}"


def _attach(obj: T, declaration: Declaration) -> T:
    existing = obj.__dict__.get(DECLARATIONS_ATTR, ())
    setattr(obj, DECLARATIONS_ATTR, (*existing, declaration))
    return obj


def content_type(
    name: str,
    *,
    schema: type[Any] | None = None,
    behaviours: Sequence[str] = ("baobab.dublincore",),
    allowed_types: Sequence[str] | None = None,
    add_permission: str = "",
    global_allow: bool = True,
    title: str = "",
    description: str = "",
    workflow: str | None = "",
) -> Callable[[type[T]], type[T]]:
    """Declare a content type on a persistent class (a subclass of ``Item`` or ``Folder``).

    ``add_permission`` defaults to a permission of the type's own, ``baobab.Add<name>``, held
    by the roles of ``baobab.AddContent``; the scan declares it unless it already exists.
    ``workflow`` names the type's workflow ("" for the configured default, None for none);
    ``workflows.types`` in the configuration overrides it.
    """
    where = _where()

    def decorate(cls: type[T]) -> type[T]:
        info = ContentTypeInfo(
            name=name,
            factory=cls,
            schema=schema,
            behaviours=tuple(behaviours),
            allowed_types=None if allowed_types is None else tuple(allowed_types),
            add_permission=add_permission,
            global_allow=global_allow,
            title=title or name,
            description=description,
            workflow=workflow,
        )
        return _attach(cls, Declaration("content_type", info, where))

    return decorate


def subscriber(event: type[Any], *, context: Any = None) -> Callable[[T], T]:
    """Declare a subscriber to ``event`` (and its subclasses), for objects providing
    ``context`` (an interface or class; None: every object, and events without one).

    A plain function runs inside the transaction that emits the event: it may change data,
    or veto by raising (the request fails and nothing is committed). A coroutine function
    runs on the event loop once the transaction has committed (never if it aborted); its
    failure is logged and changes nothing else.
    """
    where = _where()

    def decorate(handler: T) -> T:
        info = SubscriberInfo(
            handler=handler,  # type: ignore[arg-type]  # T is a callable by contract
            event=event,
            context=context,
            is_async=inspect.iscoroutinefunction(handler),
        )
        return _attach(handler, Declaration("subscriber", info, where))

    return decorate


def catalog_index(
    name: str,
    *,
    kind: str = "field",
    title: str = "",
    description: str = "",
    type: type = str,
) -> Callable[[T], T]:
    """Declare a catalog index named ``name`` on a function ``value(obj, registry)``.

    ``kind`` is one of :data:`INDEX_KINDS`. Every container's catalog gets the index (an
    existing catalog gains it empty: ``baobab reindex-catalog`` fills it)."""
    where = _where()

    def decorate(fn: T) -> T:
        info = IndexInfo(name, kind, fn, title or name, description, type)  # type: ignore[arg-type]
        return _attach(fn, Declaration("index", info, where))

    return decorate


def metadata_column(name: str) -> Callable[[T], T]:
    """Declare a catalog metadata column named ``name`` on a function ``value(obj,
    registry)``; its values must be JSON (str, numbers, bools, None, lists, dicts)."""
    where = _where()

    def decorate(fn: T) -> T:
        info = ColumnInfo(name, fn)  # type: ignore[arg-type]
        return _attach(fn, Declaration("column", info, where))

    return decorate


def behaviour(name: str, *, title: str = "") -> Callable[[type[T]], type[T]]:
    """Declare a reusable field set: a plain class whose attributes are schema fields."""
    where = _where()

    def decorate(cls: type[T]) -> type[T]:
        return _attach(cls, Declaration("behaviour", BehaviourInfo(name, cls, title), where))

    return decorate


def service(
    *,
    method: str,
    permission: str | None,
    context: Any,
    name: str = "",
    allow_subpath: bool = False,
    summary: str = "",
    body: str = "memory",
    headers: Sequence[tuple[str, str]] = (),
    description: str = "",
    params: Sequence[Mapping[str, Any]] = (),
    request: Any = None,
    responses: Mapping[int, Any] | None = None,
    errors: Sequence[int] = (),
    subpaths: Sequence[str] = (),
) -> Callable[[T], T]:
    """Declare a service: ``handler(request) -> Response`` for ``method`` on ``context``.

    ``permission`` is required; ``None`` is accepted here only so that the scan can refuse it
    with a message naming the handler, instead of failing at import time.

    ``body`` says how the service takes its request body (one of :data:`BODY_MODES`): a
    ``"memory"`` body is read before the publish step, so before the permission check; a
    ``"stream"`` body is read only when the service asks for it, after its checks. ``headers``
    are added to every answer to a request for this view name, whatever its method (a
    protocol's version header), errors included, even those given before the service is
    found.

    The rest only describes the service for ``GET /@openapi``: ``params`` (OpenAPI parameter
    objects: query and header parameters), ``request`` (the body's shape), ``responses``
    (``{status: shape}``, ``None`` for no body), ``errors`` (the error statuses it adds to
    those every service may answer), and ``subpaths`` (with ``allow_subpath``, templates of
    what may follow the view name, such as ``"{user}"``).
    """
    where = _where()

    def decorate(handler: T) -> T:
        info = ServiceInfo(
            handler=handler,  # type: ignore[arg-type]  # T is a callable by contract
            method=method.upper(),
            name=name,
            context=context,
            permission=permission,
            allow_subpath=allow_subpath,
            summary=summary,
            body=body,
            headers=tuple(headers),
            description=description,
            params=tuple(params),
            request=request,
            responses=tuple((responses or {}).items()),
            errors=tuple(errors),
            subpaths=tuple(subpaths),
        )
        return _attach(handler, Declaration("service", info, where))

    return decorate

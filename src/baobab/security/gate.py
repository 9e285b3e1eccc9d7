"""The permission gate: what a request may do here, answered as 401, 404 or 403.

The publish step checks a service's declared permission here before calling it; services ask
through ``request.require`` and the functions below. The checks that come before a create of
an upload's object (add permission, allowed type, the fields written, the id) are here too,
so a refusal comes before a byte of the body is read. Each takes the request as
:class:`Asking`: the little of it the gate reads (``baobab.request`` is a layer above).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from baobab.config.registry import Registry
from baobab.content.creation import type_for
from baobab.content.ids import validate_id
from baobab.content.typeinfo import (
    addable_types,
    check_addable,
    file_fields,
    type_fields,
    type_info,
)
from baobab.errors import AlreadyExists, BaobabError, Forbidden, NotFound, Unauthorized
from baobab.location import split_path
from baobab.security.policy import Checker
from baobab.security.vocabulary import ACCESS_CONTENT, PUBLIC

__all__ = [
    "Asking",
    "check_create",
    "check_field_writes",
    "deepest_known",
    "file_types",
    "knows",
    "require",
    "unseen",
    "upload_type",
]

logger = logging.getLogger(__name__)

ACCESS = ACCESS_CONTENT.id


class Asking(Protocol):
    """What the gate reads of a request (a :class:`baobab.request.Request`)."""

    registry: Registry
    path: str
    context: Any

    @property
    def security(self) -> Checker: ...


def knows(checker: Checker, obj: Any) -> bool:
    """Whether the principal may know that ``obj`` exists: it may View it or *Access contents
    information* on it. The top of a tree (the application, a database root) is always known:
    its name comes from the configuration, not from content."""
    if getattr(obj, "__parent__", None) is None or checker.sees(obj):
        return True
    return bool(checker.permits(ACCESS, obj))


def deepest_known(checker: Checker, obj: Any, depth: int) -> int:
    """The depth of the deepest object the principal knows on the way from the top to ``obj``
    (itself at ``depth``): an unknown object and everything it leads to are, to the
    principal, as missing as a name that resolves to nothing."""
    while depth > 0 and not knows(checker, obj):
        obj = obj.__parent__
        depth -= 1
    return depth


def unseen(
    checker: Checker, segments: Sequence[str], depth: int, *, public: bool = False
) -> BaobabError:
    """The one answer for a path whose segment at ``depth`` names nothing the principal
    knows of, whether it is missing or hidden: built from the path alone, so the two are
    identical byte for byte. 401 for anonymous (logging in may reveal it), else 404; 404 for
    everyone when the path names a ``public`` view (``@login``: no login is needed for it)."""
    path = "/".join(segments)
    if not checker.principal.authenticated and not public:
        return Unauthorized("Authentication required", details={"path": path})
    return NotFound(f"Not found: {segments[depth]!r}", details={"path": path})


def require(request: Asking, permission: str, context: Any) -> None:
    """Raise unless the request's principal has ``permission`` on ``context``.

    Anonymous gets 401 (authenticating may help). An authenticated principal that may not
    *Access contents information* on the object gets a 404 naming it — checked first, so no
    permission held elsewhere (sharing, say) reaches an object its holder cannot see. The
    publish step has already answered an unknown *published* object as a missing one
    (:func:`unseen`); this branch concerns the other objects a service checks (a parent).
    Otherwise 403 naming the permission.
    """
    checker = request.security
    hidden = (
        permission != PUBLIC.id
        and getattr(context, "__parent__", None) is not None
        and not checker.sees(context)  # who may View it may know it exists
        and not checker.permits(ACCESS, context)
    )
    if not hidden:
        allowed = checker.permits(permission, context)
        if allowed:
            return
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("%s: %s", request.path, allowed.reason)
    principal = checker.principal
    if not principal.authenticated:
        raise Unauthorized("Authentication required", details={"permission": permission})
    if hidden:
        segments = split_path(request.path)[1:]
        raise NotFound(f"Not found: {context.__name__!r}", details={"path": "/".join(segments)})
    raise Forbidden(f"{principal.id} may not do this here", details={"permission": permission})


def check_field_writes(
    request: Asking, data: Mapping[str, Any], type_name: str, context: Any
) -> None:
    """403 naming the fields in ``data`` whose write permission the principal lacks."""
    checker = request.security
    fields = type_fields(request.registry, type_name)
    refused = [
        name
        for name in data
        if (field := fields.get(name)) is not None
        and field.write_permission is not None
        and not checker.permits(field.write_permission, context)
    ]
    if refused:
        raise Forbidden(
            f"{checker.principal.id} may not change " + ", ".join(refused),
            details={"fields": refused},
        )


def file_types(request: Asking) -> list[str]:
    """The types with a file field the principal may add in the request's context (File and
    Image, and add-ons' types)."""
    registry, folder, checker = request.registry, request.context, request.security
    return [
        info.name
        for info in addable_types(registry, folder)
        if file_fields(registry, info.name) and checker.permits(info.add_permission, folder)
    ]


def upload_type(request: Asking, asked: str | None, media: str) -> str:
    """The type an upload to the request's context becomes: ``asked``, else the one for its
    media type among the file types the principal may add there (``creation.type_for``)."""
    candidates = () if asked else file_types(request)
    return type_for(request.registry, asked, media, candidates)


def check_create(
    request: Asking, type_name: str, *, file_field: str, data: Mapping[str, Any]
) -> None:
    """Everything a create of ``type_name`` in the request's context is refused for that is
    known before its file: the add permission, the folder's allowed types, the fields written
    (the file field included), and an ``id`` that is invalid or taken."""
    registry, folder = request.registry, request.context
    info = type_info(registry, type_name)
    require(request, info.add_permission, folder)
    check_addable(registry, folder, info)
    check_field_writes(request, {**data, file_field: None}, type_name, folder)
    if data.get("id"):
        id_ = validate_id(data["id"])
        if id_ in folder:
            raise AlreadyExists(f"{id_!r} already exists here", details={"id": id_})

"""The permission gate: what a request may do here, answered as 401, 404 or 403.

Services and the publish step ask through ``Request.require`` (the permission a service
declares is checked here before it is called); the checks that come before a create of an
upload's object (add permission, allowed type, the fields written, the id) are here too, so
a refusal comes before a byte of the body is read.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

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
from baobab.errors import AlreadyExists, Forbidden, NotFound, Unauthorized
from baobab.security.policy import Checker
from baobab.security.vocabulary import ACCESS_CONTENT, PUBLIC

__all__ = ["check_create", "check_field_writes", "file_types", "require", "upload_type"]

logger = logging.getLogger(__name__)

ACCESS = ACCESS_CONTENT.id


def require(checker: Checker, permission: str, context: Any, *, path: str) -> None:
    """Raise unless ``checker``'s principal has ``permission`` on ``context``.

    Anonymous gets 401 (authenticating may help). An authenticated principal that may not
    *Access contents information* on the object gets the 404 a missing object gets — checked
    first, so no permission held elsewhere (sharing, say) reaches an object its holder cannot
    see; ``path`` is the request's, for the same details traversal gives. Otherwise 403
    naming the permission.
    """
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
            logger.debug("%s: %s", path, allowed.reason)
    principal = checker.principal
    if not principal.authenticated:
        raise Unauthorized("Authentication required", details={"permission": permission})
    if hidden:
        # Word for word what traversal says about a missing object.
        segments = [segment for segment in path.split("/") if segment][1:]
        raise NotFound(f"Not found: {context.__name__!r}", details={"path": "/".join(segments)})
    raise Forbidden(f"{principal.id} may not do this here", details={"permission": permission})


def check_field_writes(
    checker: Checker, registry: Registry, data: Mapping[str, Any], type_name: str, context: Any
) -> None:
    """403 naming the fields in ``data`` whose write permission the principal lacks."""
    fields = type_fields(registry, type_name)
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


def file_types(checker: Checker, registry: Registry, folder: Any) -> list[str]:
    """The types with a file field the principal may add in ``folder`` (File and Image, and
    add-ons' types)."""
    return [
        info.name
        for info in addable_types(registry, folder)
        if file_fields(registry, info.name) and checker.permits(info.add_permission, folder)
    ]


def upload_type(
    checker: Checker, registry: Registry, folder: Any, asked: str | None, media: str
) -> str:
    """The type an upload to ``folder`` becomes: ``asked``, else the one for its media type
    among the file types the principal may add there (see ``content.creation.type_for``)."""
    candidates = () if asked else file_types(checker, registry, folder)
    return type_for(registry, asked, media, candidates)


def check_create(
    checker: Checker,
    registry: Registry,
    folder: Any,
    type_name: str,
    *,
    file_field: str,
    data: Mapping[str, Any],
    path: str,
) -> None:
    """Everything a create of ``type_name`` in ``folder`` is refused for that is known
    before its file: the add permission, the folder's allowed types, the fields written (the
    file field included), and an ``id`` that is invalid or taken."""
    info = type_info(registry, type_name)
    require(checker, info.add_permission, folder, path=path)
    check_addable(registry, folder, info)
    check_field_writes(checker, registry, {**data, file_field: None}, type_name, folder)
    if data.get("id"):
        id_ = validate_id(data["id"])
        if id_ in folder:
            raise AlreadyExists(f"{id_!r} already exists here", details={"id": id_})

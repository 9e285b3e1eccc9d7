"""``@move`` and ``@copy``: POST on the object, ``{"destination": path, "new_id": id}``.

``destination`` is a path inside the same database (``/db/site/folder``) or a full URL of this
server; omitted, it is the current parent (a rename, or a copy beside the original).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from baobab.config.declarations import service
from baobab.content import operations
from baobab.content.interfaces import IResource
from baobab.content.resources import Resource
from baobab.content.typeinfo import type_info
from baobab.errors import BadRequest, NotFound, Unauthorized, ValidationError
from baobab.events import ObjectCopied, ObjectMoved
from baobab.location import resource_path, resource_path_tuple
from baobab.request import Request, Response
from baobab.security import lifecycle
from baobab.security.gate import knows
from baobab.security.subtree import CopyFilter, check_movable
from baobab.security.vocabulary import ADD_CONTENT, DELETE_OBJECTS, VIEW
from baobab.serialization.content import representation
from baobab.serialization.preconditions import check_if_match
from baobab.services import shapes
from baobab.traversal import reach, split_path

__all__ = ["copy_object", "move_object"]


def _parse(request: Request) -> tuple[Any, Any]:
    data = request.json_object()
    unknown = set(data) - {"destination", "new_id"}
    if unknown:
        raise ValidationError(
            "Unknown keys: " + ", ".join(sorted(unknown)),
            details=[{"field": k, "message": "is not accepted here"} for k in sorted(unknown)],
        )
    obj = request.context
    if not isinstance(obj, Resource) or obj.__parent__ is None:
        raise BadRequest("This object cannot be moved or copied")
    destination = data.get("destination")
    if destination is None:
        target = obj.__parent__
    else:
        if not isinstance(destination, str):
            raise ValidationError(
                "`destination` must be a path",
                details=[{"field": "destination", "message": "must be a string"}],
            )
        target = _resolve(request, destination)
    return target, data.get("new_id")


def _resolve(request: Request, destination: str) -> Any:
    try:
        path = split_path(urlparse(destination).path)
    except ValueError:  # "http://[": an invalid IPv6 host
        raise BadRequest("`destination` is neither a path nor a URL") from None
    here = resource_path_tuple(request.context)
    if not path or path[0] != here[0]:
        raise BadRequest("The destination must be in the same database")
    root = request.context
    while root.__parent__ is not None:
        root = root.__parent__
    found = reach(root, path[1:])
    if found.missing or found.view_name or not knows(request.security, found.context):
        # a hidden destination is answered as a missing one, word for word
        if not request.principal.authenticated:
            raise Unauthorized("Authentication required", details={"destination": destination})
        raise NotFound(f"Destination not found: {destination}")
    return found.context


def _guard_destination(request: Request, target: Any) -> None:
    request.require(ADD_CONTENT.id, target)
    request.require(type_info(request.registry, request.context.type_name).add_permission, target)


@service(
    method="POST",
    context=IResource,
    name="@move",
    permission=DELETE_OBJECTS.id,
    summary="Move or rename an object",
    params=(shapes.IF_MATCH,),
    request=shapes.Destination,
    responses={200: shapes.CONTENT},
    errors=(412,),
)
def move_object(request: Request) -> Response:
    target, new_id = _parse(request)
    request.require(DELETE_OBJECTS.id, request.context.__parent__)  # taken from there
    check_if_match(request, request.context)
    _guard_destination(request, target)
    old_path, before = resource_path(request.context), tuple(request.context._allowed)
    guard = check_movable(request.security, request.context)
    obj = operations.move(
        request.registry, request.context, target, new_id, request.principal.id, guard=guard
    )
    lifecycle.moved(request.policy, obj)
    request.notify_object(ObjectMoved, obj, old_path=old_path, allowed_before=before)
    response = representation(request, obj)
    response.headers.append((b"location", request.url_for(resource_path(obj)).encode()))
    return response


@service(
    method="POST",
    context=IResource,
    name="@copy",
    permission=VIEW.id,
    summary="Copy an object (with everything below it that the copier may View)",
    request=shapes.Destination,
    responses={201: shapes.CONTENT},
)
def copy_object(request: Request) -> Response:
    target, new_id = _parse(request)
    _guard_destination(request, target)
    original = request.context
    only = CopyFilter(request.security, request.registry)  # what the copier may View
    obj = operations.copy(
        request.registry, original, target, new_id, request.principal.id, only=only
    )
    lifecycle.copied(request.policy, obj, request.principal.id)
    only.log(original, obj)
    request.notify_object(
        ObjectCopied,
        obj,
        original=resource_path(original),
        original_allowed=tuple(original._allowed),
    )
    response = representation(request, obj, status=201)
    response.headers.append((b"location", request.url_for(resource_path(obj)).encode()))
    return response

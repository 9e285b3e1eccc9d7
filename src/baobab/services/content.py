"""GET, POST, PATCH and DELETE on every object of the tree."""

from __future__ import annotations

import logging
from typing import Any

from baobab.catalog.queue import reindex_positions
from baobab.config.declarations import service
from baobab.content import operations, ordering
from baobab.content.creation import file_field
from baobab.content.interfaces import IContainer, IDatabaseRoot, IFolderish, IResource
from baobab.content.resources import Folder
from baobab.content.typeinfo import file_fields, type_info
from baobab.errors import BadRequest, MethodNotAllowed
from baobab.events import ObjectAdded, ObjectModified, ObjectRemoved
from baobab.location import resource_path
from baobab.request import Request, Response
from baobab.security import lifecycle
from baobab.security.gate import check_field_writes
from baobab.security.vocabulary import ADD_CONTENT, DELETE_OBJECTS, MODIFY_CONTENT, VIEW
from baobab.serialization.content import representation
from baobab.serialization.downloads import download
from baobab.serialization.preconditions import check_if_match, current_etag
from baobab.services import files, shapes

__all__ = ["create_child", "delete_object", "get_object", "patch_object"]

logger = logging.getLogger(__name__)

_GET_PARAMS = (
    shapes.IF_NONE_MATCH,
    shapes.RANGE,
    {"name": "b_start", "in": "query", "schema": {"type": "integer", "minimum": 0}},
    {"name": "b_size", "in": "query", "schema": {"type": "integer", "minimum": 1}},
    {
        "name": "inline",
        "in": "query",
        "description": "With the bytes of a file: `Content-Disposition: inline` if it is safe",
        "schema": {"type": "string"},
    },
)
# what GET reads from the query: anything else is a 400, not silently ignored
_GET_QUERY = frozenset(str(p["name"]) for p in _GET_PARAMS if p["in"] == "query")


def _wants_file(request: Request) -> bool:
    """An ``Accept`` that names neither JSON nor ``*/*`` asks for the bytes of a file."""
    accept = request.headers.get("accept")
    return accept is not None and "json" not in accept and "*/*" not in accept


@service(
    method="GET",
    context=IResource,
    permission=VIEW.id,
    summary="Read an object",
    description="JSON by default; an object with a file field answers its bytes to an "
    "`Accept` that names neither JSON nor `*/*` (with `Range`, as `@download`).",
    params=_GET_PARAMS,
    responses={
        200: {"application/json": shapes.CONTENT, **shapes.FILE_BYTES},
        206: shapes.FILE_BYTES,
    },
    errors=(416,),
)
def get_object(request: Request) -> Response:
    request.refuse_unknown_query(_GET_QUERY)
    context = request.context
    typed = context.type_name in request.registry.types  # not the database root
    if typed and file_fields(request.registry, context.type_name):
        if _wants_file(request):
            name, field = file_field(request.registry, context.type_name, None)
            response = download(request, context, name, field)
        else:
            response = representation(request, context)
        response.headers.append((b"vary", b"Accept"))  # the URL answers JSON or the file
        return response
    return representation(request, context)


@service(
    method="POST",
    context=IFolderish,
    permission=ADD_CONTENT.id,
    summary="Create a child object",
    body="negotiate",  # JSON, or a file (raw with Content-Disposition, or a form)
    description="A JSON object naming its `@type`, or a file: a multipart form, or the raw "
    "bytes with `Content-Disposition` (the query may name `@type`, `id`, `title`).",
    params=tuple(
        {"name": name, "in": "query", "schema": {"type": "string"}}
        for name in ("@type", "id", "title", "description", "filename")
    ),
    request={
        "application/json": shapes.CONTENT_CREATE,
        "multipart/form-data": {"type": "object", "additionalProperties": True},
        "application/octet-stream": {"type": "string", "format": "binary"},
    },
    responses={201: shapes.CONTENT},
    errors=(409, 460, 507),
)
def create_child(request: Request) -> Response:
    if request.streamed:  # a file, raw or in a form (body="negotiate" streams only those)
        obj = files.create_from_upload(request)
    else:
        data = request.json_object()
        type_name = data.get("@type")
        if isinstance(type_name, str):
            info = type_info(request.registry, type_name)
            request.require(info.add_permission, request.context)
            check_field_writes(request, data, type_name, request.context)
        obj = operations.create(request.registry, request.context, data, request.principal.id)
    lifecycle.created(request.policy, obj, request.principal.id)
    request.notify_object(ObjectAdded, obj)
    response = representation(request, obj, status=201)
    response.headers.append((b"location", request.url_for(resource_path(obj)).encode()))
    return response


def _not_on_database(request: Request) -> None:
    if IDatabaseRoot.providedBy(request.context):
        raise MethodNotAllowed("A database cannot be changed or deleted over the API")


def _prefers_representation(request: Request) -> bool:
    prefer = request.headers.get("prefer", "")
    return any(p.strip() == "return=representation" for p in prefer.split(","))


_ORDERING_KEYS = frozenset({"obj_id", "delta", "subset_ids"})


def _invalid(field: str, message: str) -> BadRequest:
    return BadRequest(
        f"Invalid ordering: {field} {message}",
        details=[{"field": field, "message": message}],
    )


def _ordering_request(value: Any) -> tuple[str, ordering.Delta, list[str] | None]:
    """``(obj_id, delta, subset_ids)`` from a PATCH's ``ordering`` (plone.restapi's shape),
    every type checked here so the content layer only judges ids and order."""
    if not isinstance(value, dict):
        raise _invalid("ordering", "must be an object with obj_id and delta")
    unknown = sorted(set(value) - _ORDERING_KEYS)
    if unknown:
        raise _invalid(f"ordering.{unknown[0]}", "is not a key of ordering")
    obj_id, delta, subset = value.get("obj_id"), value.get("delta"), value.get("subset_ids")
    if not isinstance(obj_id, str) or not obj_id:
        raise _invalid("ordering.obj_id", "must be a child's id (a string)")
    wrong = isinstance(delta, bool) or not isinstance(delta, int | str)
    if wrong or delta == 0 or (isinstance(delta, str) and delta not in ("top", "bottom")):
        raise _invalid("ordering.delta", 'must be "top", "bottom" or a non-zero integer')
    if subset is not None and (
        not isinstance(subset, list) or not all(isinstance(i, str) for i in subset)
    ):
        raise _invalid("ordering.subset_ids", "must be a list of child ids")
    assert isinstance(delta, int | str)
    return obj_id, delta, subset or None  # [] means the whole folder, as in plone.restapi


def _reorder(request: Request, value: Any) -> list[str]:
    """Apply a PATCH's ``ordering`` to the context; the ids whose position key changed."""
    obj_id, delta, subset_ids = _ordering_request(value)
    folder = request.context
    if not isinstance(folder, Folder):
        raise _invalid("ordering", "applies to a folder: this object has no children")
    # a child the principal may not View is unknown, as in a listing of this folder
    tokens = None if request.security.is_manager() else request.principal.tokens
    return ordering.move_child(folder, obj_id, delta, subset_ids, tokens=tokens)


@service(
    method="PATCH",
    context=IResource,
    permission=MODIFY_CONTENT.id,
    summary="Update fields",
    description="204 with the new ETag, or the object with `Prefer: return=representation`. "
    'A folder also takes `ordering`, as plone.restapi: `{"obj_id": id, "delta": "top" | '
    '"bottom" | n, "subset_ids": [ids as the client shows them]}` moves one child.',
    params=(
        shapes.IF_MATCH,
        {"name": "Prefer", "in": "header", "schema": {"type": "string"}},
    ),
    request=shapes.CONTENT_PATCH,
    responses={200: shapes.CONTENT, 204: None},
    errors=(412,),
)
def patch_object(request: Request) -> Response:
    _not_on_database(request)
    data = request.json_object()
    check_if_match(request, request.context)
    context = request.context
    fields = {k: v for k, v in data.items() if k != "ordering"}
    check_field_writes(request, fields, context.type_name, context)
    if fields or "ordering" not in data:  # a reorder alone changes no field, nor `modified`
        operations.update(request.registry, context, fields, request.principal.id)
    reordered_ids: list[str] = []  # whose getObjPositionInParent changed: to reindex
    if "ordering" in data:
        reordered_ids = _reorder(request, data["ordering"])
        logger.debug("%s: reordered %s", resource_path(context), ", ".join(reordered_ids))
        reindex_positions(context, reordered_ids, request.registry)
    request.notify_object(ObjectModified, context, changed=tuple(sorted(data)))
    if _prefers_representation(request):
        response = representation(request, context)
        response.headers.append((b"preference-applied", b"return=representation"))
        return response
    etag, _ = current_etag(request, context)
    return Response(status=204, headers=[(b"etag", etag.encode())], content_type=None)


@service(
    method="DELETE",
    context=IResource,
    permission=DELETE_OBJECTS.id,
    summary="Delete an object",
    params=(shapes.IF_MATCH,),
    responses={204: None},
    errors=(412,),
)
def delete_object(request: Request) -> Response:
    _not_on_database(request)
    parent = request.context.__parent__
    request.require(DELETE_OBJECTS.id, parent)
    if IContainer.providedBy(request.context):
        # a whole site goes only by the hand of whoever may create sites (Manager)
        request.require(
            type_info(request.registry, request.context.type_name).add_permission, parent
        )
    check_if_match(request, request.context)
    before = tuple(request.context._allowed)
    operations.delete(request.context)  # keeps __parent__: the snapshot still has its path
    request.notify_object(ObjectRemoved, request.context, allowed=(), allowed_before=before)
    return Response(status=204, content_type=None)

"""``@types``: the types addable here, and each type's JSON Schema."""

from __future__ import annotations

from baobab.config.declarations import service
from baobab.content.interfaces import IResource
from baobab.content.typeinfo import addable_types, type_fields, type_info
from baobab.errors import NotFound
from baobab.location import resource_path
from baobab.request import Request, Response, json_response
from baobab.schema.schemas import json_schema
from baobab.security.vocabulary import VIEW
from baobab.services import shapes

__all__ = ["get_types"]


@service(
    method="GET",
    context=IResource,
    name="@types",
    permission=VIEW.id,
    allow_subpath=True,
    summary="Addable types, or one type's JSON Schema",
    subpaths=("{type}",),
    responses={
        200: {"anyOf": [{"type": "array", "items": shapes.TypeListing}, shapes.TYPE_SCHEMA]}
    },
)
def get_types(request: Request) -> Response:
    registry = request.registry
    base = request.url_for(resource_path(request.context)) + "/@types"
    if request.subpath:
        if len(request.subpath) > 1:
            raise NotFound("Not found")
        info = type_info(registry, request.subpath[0])
        schema = json_schema(type_fields(registry, info.name), title=info.title)
        schema["description"] = info.description
        return json_response(schema)
    listing = []
    for info in addable_types(registry, request.context):
        allowed = request.security.permits(info.add_permission, request.context)
        listing.append(
            {
                "@id": f"{base}/{info.name}",
                "id": info.name,
                "title": info.title,
                "description": info.description,
                "addable": bool(allowed),
            }
        )
    return json_response(listing)

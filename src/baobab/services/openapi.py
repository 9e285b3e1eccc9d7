"""``GET /@openapi``: the OpenAPI 3.1 description of this server's API (public)."""

from __future__ import annotations

import functools
from typing import Any

from baobab import __version__
from baobab.config.declarations import service
from baobab.config.registry import Registry
from baobab.content.interfaces import IApplication
from baobab.openapi import describe
from baobab.request import Request, Response, json_response
from baobab.security.vocabulary import PUBLIC

__all__ = ["get_openapi"]

OPENAPI: dict[str, Any] = {
    "type": "object",
    "required": ["openapi", "info", "paths", "components"],
    "properties": {"openapi": {"const": "3.1.0"}},
}


@functools.lru_cache(maxsize=8)
def _document(registry: Registry, server_url: str, databases: tuple[str, ...]) -> dict[str, Any]:
    return describe(registry, server_url=server_url, databases=databases, version=__version__)


@service(
    method="GET",
    context=IApplication,
    name="@openapi",
    permission=PUBLIC.id,
    summary="This description (OpenAPI 3.1)",
    description="Generated from the registry: every service of this server, each content "
    "type's schema, the one error envelope. The same for every database and container: "
    "types and services are the application's.",
    responses={200: OPENAPI},
)
def get_openapi(request: Request) -> Response:
    names = tuple(request.context.database_names)
    return json_response(_document(request.registry, request.url_for("/"), names))

"""The OpenAPI 3.1 description of the API, generated from the registry.

Services are views on objects, found by traversal, so a path template stands for a kind of
object: the application (``/``), a database (``/{db}``), a container (``/{db}/{container}``)
and any object below it (``/{db}/{container}/{path}``, where ``path`` is one or more segments).
For each kind the generator asks the registry which service each (method, view name) would
reach on every class of that kind, exactly as a request's lookup does; a view with a subpath
adds a path per template it declares (``…/@users/{user}``). Each operation names the services
it stands for (``x-baobab-services``) and the permission they check
(``x-baobab-permission``). Content types become schemas: their fields as ``@types`` shows
them, and what GET answers, POST creates and PATCH changes.
"""

from __future__ import annotations

import http
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import msgspec

from baobab.config.declarations import ServiceInfo
from baobab.config.registry import Registry
from baobab.content import resources
from baobab.content.interfaces import IContainer
from baobab.content.typeinfo import type_fields
from baobab.schema.fields import File
from baobab.schema.schemas import json_schema

__all__ = ["COMMON_ERRORS", "KINDS", "describe", "operation_services", "service_id"]

# What any request may be answered, whatever its service: a malformed request or header (400),
# wrong credentials (401), a refusal (403), nothing visible there (404), a method the object
# does not take (405), a body not sent in time (408), one too large (413), too many failed
# logins (429).
COMMON_ERRORS = (400, 401, 403, 404, 405, 408, 413, 429)
# What an unsafe method may add: conflicting writes after every retry (409).
WRITE_ERRORS = (409,)
# What a JSON body may add: not JSON where JSON was expected (415), not fitting (422).
BODY_ERRORS = (415, 422)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

# (kind, path prefix, path parameters)
KINDS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("application", "", ()),
    ("database", "/{db}", ("db",)),
    ("container", "/{db}/{container}", ("db", "container")),
    ("resource", "/{db}/{container}/{path}", ("db", "container", "path")),
)

_PATH_PARAMS = {
    "db": "A database of this server (GET / lists them)",
    "container": "A container (a site) in the database",
    "path": "An object below the container: one or more ids joined by `/`",
}


def _classes(registry: Registry, kind: str) -> list[type[Any]]:
    """The classes whose instances a path of ``kind`` reaches."""
    if kind == "application":
        return [resources.Application]
    if kind == "database":
        return [resources.DatabaseRoot]
    containers = [i.factory for i in registry.types.values() if IContainer.implementedBy(i.factory)]
    if kind == "container":
        return containers
    return [i.factory for i in registry.types.values() if i.factory not in containers]


def service_id(info: ServiceInfo) -> str:
    """``module.function METHOD @name on IContext``: one registration, as the document
    names it."""
    handler = f"{info.handler.__module__}.{info.handler.__qualname__}"
    context = getattr(info.context, "__identifier__", None) or repr(info.context)
    return f"{handler} {info.method} {info.name or '(object)'} on {context}"


def operation_services(document: Mapping[str, Any]) -> set[str]:
    """Every service the description names (for comparing it with the registry)."""
    found: set[str] = set()
    for item in document["paths"].values():
        for operation in item.values():
            if isinstance(operation, dict) and "x-baobab-services" in operation:
                found.update(operation["x-baobab-services"])
    return found


class _Shapes:
    """Turns the shapes services declare into JSON Schema, msgspec types into components."""

    def __init__(self) -> None:
        self.types: list[Any] = []

    def note(self, shape: Any) -> None:
        if isinstance(shape, type):
            if shape not in self.types:
                self.types.append(shape)
        elif isinstance(shape, Mapping):
            for value in shape.values():
                self.note(value)
        elif isinstance(shape, list | tuple):
            for value in shape:
                self.note(value)

    def components(self) -> tuple[dict[Any, Any], dict[str, Any]]:
        if not self.types:
            return {}, {}
        schemas, components = msgspec.json.schema_components(
            self.types, ref_template="#/components/schemas/{name}"
        )
        return dict(zip(self.types, schemas, strict=True)), components


def _is_media_map(shape: Mapping[str, Any]) -> bool:
    return bool(shape) and all("/" in key for key in shape)


def _schema(shape: Any, by_type: Mapping[Any, Any]) -> Any:
    """``shape`` as JSON Schema: msgspec types (anywhere inside) by their schema."""
    if isinstance(shape, type):
        return by_type[shape]
    if isinstance(shape, Mapping):
        return {key: _schema(value, by_type) for key, value in shape.items()}
    if isinstance(shape, list | tuple):
        return [_schema(value, by_type) for value in shape]
    return shape


def _content(shape: Any, by_type: Mapping[Any, Any]) -> dict[str, Any]:
    if isinstance(shape, Mapping) and _is_media_map(shape):
        return {media: {"schema": _schema(s, by_type)} for media, s in shape.items()}
    return {"application/json": {"schema": _schema(shape, by_type)}}


def _error_responses(statuses: Iterable[int]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for status in sorted(set(statuses)):
        out[str(status)] = {"$ref": f"#/components/responses/Error{status}"}
    return out


def _error_components(statuses: Iterable[int]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for status in sorted(set(statuses)):
        try:
            phrase = http.HTTPStatus(status).phrase
        except ValueError:
            phrase = "Checksum Mismatch" if status == 460 else "Error"
        response: dict[str, Any] = {
            "description": phrase,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
        headers = _ERROR_HEADERS.get(status)
        if headers:
            response["headers"] = headers
        out[f"Error{status}"] = response
    return out


_STRING = {"schema": {"type": "string"}}
_ERROR_HEADERS: dict[int, dict[str, Any]] = {
    401: {"WWW-Authenticate": {**_STRING, "description": "The schemes accepted"}},
    405: {"Allow": {**_STRING, "description": "The methods the object takes"}},
    412: {"ETag": {**_STRING, "description": "The current version"}},
    416: {"Content-Range": {**_STRING, "description": "bytes */{size}"}},
    429: {"Retry-After": {**_STRING, "description": "Seconds to wait"}},
}


def _errors_of(infos: Sequence[ServiceInfo], method: str) -> set[int]:
    statuses = set(COMMON_ERRORS)
    if method not in SAFE_METHODS:
        statuses.update(WRITE_ERRORS)
    for info in infos:
        statuses.update(info.errors)
        if info.request is not None:
            statuses.update(BODY_ERRORS)
    return statuses


def _permission_text(registry: Registry, permission: str) -> str:
    declared = registry.permissions.get(permission)
    roles = ", ".join(declared.default_roles) if declared and declared.default_roles else "none"
    return f"Permission `{permission}` (held by default by: {roles})."


def _parameter(name: str, databases: Sequence[str]) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string", "minLength": 1}
    if name == "db" and databases:
        schema = {"type": "string", "enum": list(databases)}
    description = _PATH_PARAMS.get(name, f"The `{name}` of the view")
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": schema,
    }


def _operation(
    registry: Registry,
    infos: Sequence[ServiceInfo],
    *,
    method: str,
    operation_id: str,
    path_params: Sequence[str],
    databases: Sequence[str],
    by_type: Mapping[Any, Any],
) -> dict[str, Any]:
    first = infos[0]
    permissions = sorted({info.permission or "" for info in infos})
    summary = first.summary or (first.handler.__doc__ or "").strip().split("\n")[0]
    description = [first.description] if first.description else []
    description += [_permission_text(registry, p) for p in permissions]
    parameters = [_parameter(name, databases) for name in path_params]
    seen = {(p["name"], "path") for p in parameters}
    for info in infos:
        for param in info.params:
            key = (param["name"], param["in"])
            if key not in seen:
                seen.add(key)
                parameters.append(dict(param))
    operation: dict[str, Any] = {
        "operationId": operation_id,
        "summary": summary,
        "description": "\n\n".join(description),
        "tags": [first.name or "content"],
        "x-baobab-permission": permissions[0] if len(permissions) == 1 else permissions,
        "x-baobab-services": sorted(service_id(info) for info in infos),
    }
    if parameters:
        operation["parameters"] = parameters
    request = next((info.request for info in infos if info.request is not None), None)
    if request is not None:
        operation["requestBody"] = {"required": True, "content": _content(request, by_type)}
    responses: dict[str, Any] = {}
    for info in infos:
        for status, shape in info.responses:
            if str(status) in responses:
                continue
            described: dict[str, Any] = {"description": http.HTTPStatus(status).phrase}
            if shape is not None:
                described["content"] = _content(shape, by_type)
            responses[str(status)] = described
    if not responses:
        responses["204"] = {"description": "No Content"}
    if method == "GET":
        responses.setdefault("304", {"description": "Not Modified (If-None-Match)"})
    responses.update(_error_responses(_errors_of(infos, method)))
    operation["responses"] = dict(sorted(responses.items()))
    return operation


def _routes(registry: Registry) -> dict[str, dict[str, list[ServiceInfo]]]:
    """``{path template: {method: [services]}}`` and, per template, its path parameters."""
    keys = sorted({(info.method, info.name) for info in registry.services()})
    routes: dict[str, dict[str, list[ServiceInfo]]] = {}
    for kind, prefix, _ in KINDS:
        classes = _classes(registry, kind)
        for method, name in keys:
            found: list[ServiceInfo] = []
            for cls in classes:
                info = registry.service_for(cls, method, name)
                if info is not None and info not in found:
                    found.append(info)
            if not found:
                continue
            base = f"{prefix}/{name}" if name else prefix or "/"
            routes.setdefault(base, {})[method] = found
            for info in found:
                if not info.allow_subpath:
                    continue
                for template in info.subpaths or ("{subpath}",):
                    path = f"{base}/{template}"
                    at = routes.setdefault(path, {}).setdefault(method, [])
                    if info not in at:
                        at.append(info)
    return routes


def _path_params(path: str) -> list[str]:
    return [part[1:-1] for part in path.split("/") if part.startswith("{") and part.endswith("}")]


def _operation_id(method: str, path: str) -> str:
    words = [method.lower()]
    for part in path.strip("/").split("/"):
        if not part:
            continue
        words.append(part.strip("{}@").replace("-", "_"))
    return "_".join(words) if len(words) > 1 else f"{method.lower()}_root"


def _content_schemas(registry: Registry) -> dict[str, Any]:
    """Per content type: its fields (``Type_X``, as ``@types/X`` shows them), what GET
    answers (``Content_X``), what POST takes to create one and PATCH to change one."""
    schemas: dict[str, Any] = {}
    contents, creates, patches = [], [], []
    for name in sorted(registry.types):
        info = registry.types[name]
        fields = type_fields(registry, name)
        declared = json_schema(fields, title=info.title)
        declared["description"] = info.description
        schemas[f"Type_{name}"] = declared
        readable = {
            key: _file_value(value) if isinstance(fields[key], File) else value
            for key, value in declared["properties"].items()
        }
        schemas[f"Content_{name}"] = {
            "allOf": [
                {"$ref": "#/components/schemas/Resource"},
                {"type": "object", "properties": {"@type": {"const": name}, **readable}},
            ]
        }
        writable = {k: v for k, v in declared["properties"].items() if not v.get("readOnly")}
        schemas[f"Create_{name}"] = {
            "type": "object",
            "required": ["@type", *[k for k in declared["required"] if k in writable]],
            "additionalProperties": False,
            "properties": {"@type": {"const": name}, "id": {"type": "string"}, **writable},
        }
        if issubclass(info.factory, resources.Folder):  # a folder's PATCH may also reorder it
            writable = {**writable, "ordering": {"$ref": "#/components/schemas/Ordering"}}
        schemas[f"Patch_{name}"] = {
            "type": "object",
            "additionalProperties": False,
            "properties": writable,
        }
        contents.append({"$ref": f"#/components/schemas/Content_{name}"})
        creates.append({"$ref": f"#/components/schemas/Create_{name}"})
        patches.append({"$ref": f"#/components/schemas/Patch_{name}"})
    schemas["Content"] = {"anyOf": [{"$ref": "#/components/schemas/Database"}, *contents]}
    schemas["ContentCreate"] = {"anyOf": creates}
    schemas["ContentPatch"] = {"anyOf": patches}
    return schemas


def _file_value(schema: Mapping[str, Any]) -> dict[str, Any]:
    """A file field as GET shows it (``FileValue``) or null."""
    return {"anyOf": [{"$ref": "#/components/schemas/FileValue"}, {"type": "null"}]}


_BASE_SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "description": "The one error envelope, from every layer",
        "required": ["type", "message", "details"],
        "additionalProperties": False,
        "properties": {
            "type": {"type": "string", "description": "The error's class (NotFound, …)"},
            "message": {"type": "string"},
            "details": {"description": "What the error says of itself (JSON), or null"},
            "request_id": {
                "type": "string",
                "description": "The request's id (X-Request-ID): quote it to find the log lines",
            },
        },
    },
    "Summary": {
        "type": "object",
        "required": ["@id", "@type", "id", "is_folderish"],
        "properties": {
            "@id": {"type": "string"},
            "@type": {"type": "string"},
            "id": {"type": "string"},
            "UID": {"type": "string"},
            "title": {"type": ["string", "null"]},
            "description": {"type": ["string", "null"]},
            "review_state": {"type": ["string", "null"]},
            "is_folderish": {"type": "boolean"},
        },
    },
    "Batching": {
        "type": "object",
        "required": ["@id", "first", "last"],
        "properties": {key: {"type": "string"} for key in ("@id", "first", "last", "next", "prev")},
    },
    "Ordering": {
        "type": "object",
        "description": "Move one child (plone.restapi's ordering): by `delta` places among "
        "the children the client may see, or among `subset_ids` (the ids it shows, in the "
        "folder's order: otherwise 400 `Client/server ordering mismatch`)",
        "required": ["obj_id", "delta"],
        "additionalProperties": False,
        "properties": {
            "obj_id": {"type": "string"},
            "delta": {
                "anyOf": [
                    {"type": "string", "enum": ["top", "bottom"]},
                    {"type": "integer", "not": {"const": 0}},
                ]
            },
            "subset_ids": {"type": "array", "items": {"type": "string"}},
        },
    },
    "Resource": {
        "type": "object",
        "required": ["@id", "@type", "id", "UID", "parent", "review_state", "is_folderish"],
        "properties": {
            "@id": {"type": "string"},
            "@type": {"type": "string"},
            "id": {"type": "string"},
            "UID": {"type": "string"},
            "parent": {"$ref": "#/components/schemas/Summary"},
            "review_state": {"type": ["string", "null"]},
            "is_folderish": {"type": "boolean"},
            "items": {"type": "array", "items": {"$ref": "#/components/schemas/Summary"}},
            "items_total": {"type": "integer"},
            "batching": {"$ref": "#/components/schemas/Batching"},
        },
    },
    "Database": {
        "type": "object",
        "required": ["@id", "@type", "id", "is_folderish", "items", "items_total"],
        "properties": {
            "@id": {"type": "string"},
            "@type": {"const": "Database"},
            "id": {"type": "string"},
            "is_folderish": {"const": True},
            "items": {"type": "array", "items": {"$ref": "#/components/schemas/Summary"}},
            "items_total": {"type": "integer"},
            "batching": {"$ref": "#/components/schemas/Batching"},
        },
    },
}


def describe(
    registry: Registry,
    *,
    server_url: str = "/",
    databases: Sequence[str] = (),
    version: str = "",
) -> dict[str, Any]:
    """The OpenAPI 3.1 document of every service in ``registry``."""
    routes = _routes(registry)
    shapes = _Shapes()
    for info in registry.services():
        shapes.note(info.request)
        for _, shape in info.responses:
            shapes.note(shape)
    by_type, components = shapes.components()
    paths: dict[str, Any] = {}
    statuses: set[int] = set()
    for path in sorted(routes):
        item: dict[str, Any] = {}
        for method in sorted(routes[path]):
            infos = routes[path][method]
            operation = _operation(
                registry,
                infos,
                method=method,
                operation_id=_operation_id(method, path),
                path_params=_path_params(path),
                databases=databases,
                by_type=by_type,
            )
            statuses.update(_errors_of(infos, method))
            item[method.lower()] = operation
        paths[path] = item
    _link(paths)
    schemas = {**_BASE_SCHEMAS, **components, **_content_schemas(registry)}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Baobab",
            "version": version or "0",
            "description": (
                "An asynchronous, API-first content server. Every path below a database is "
                "found by traversal; a view (`@name`) applies to the object before it. Errors "
                "are the one envelope `Error`."
            ),
        },
        "servers": [{"url": server_url}],
        "security": [{}, {"basic": []}, {"bearer": []}],
        "paths": paths,
        "components": {
            "schemas": dict(sorted(schemas.items())),
            "responses": _error_components(statuses),
            "securitySchemes": {
                "basic": {"type": "http", "scheme": "basic"},
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
            },
        },
    }


def _link(paths: dict[str, Any]) -> None:
    """OpenAPI links from a create in a container to what may follow on the new object:
    read, change, move, copy, delete (what a stateful client, or fuzzer, chains)."""
    create = paths.get("/{db}/{container}", {}).get("post")
    target = paths.get("/{db}/{container}/{path}")
    if create is None or target is None:
        return
    parameters = {
        "db": "$request.path.db",
        "container": "$request.path.container",
        "path": "$response.body#/id",
    }
    links: dict[str, Any] = {}
    followers = [(method, "/{db}/{container}/{path}") for method in target]
    for view in ("@move", "@copy", "@workflow", "@sharing"):
        for method in paths.get(f"/{{db}}/{{container}}/{{path}}/{view}", {}):
            followers.append((method, f"/{{db}}/{{container}}/{{path}}/{view}"))
    for method, path in followers:
        operation = paths[path][method]
        links[operation["operationId"]] = {
            "operationId": operation["operationId"],
            "parameters": parameters,
        }
    created = create["responses"].get("201")
    if created is not None:
        created["links"] = links

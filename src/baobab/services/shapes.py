"""Shapes of request and response bodies, for the API description (``GET /@openapi``).

Services name these in ``@service(request=..., responses=...)``; nothing at run time validates
against them (each service checks its own input and says why in a 422). Structs become JSON
Schema through msgspec; the dicts are JSON Schema as is. ``CONTENT``, ``CONTENT_CREATE`` and
``CONTENT_PATCH`` refer to what the generator derives from the registered content types.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

__all__ = [
    "APPLICATION",
    "BATCHING",
    "CONTENT",
    "CONTENT_CREATE",
    "CONTENT_PATCH",
    "DIGITS",
    "FILE_BYTES",
    "GROUP",
    "GROUP_CREATE",
    "GROUP_LIST",
    "GROUP_PATCH",
    "IF_MATCH",
    "IF_NONE_MATCH",
    "RANGE",
    "SEARCH_RESULTS",
    "SUMMARY",
    "TUS_RESUMABLE",
    "TYPE_SCHEMA",
    "USER",
    "USER_CREATE",
    "USER_LIST",
    "USER_PATCH",
    "CurrentUser",
    "Destination",
    "FileValue",
    "Login",
    "PasswordReset",
    "PrincipalSearch",
    "PrincipalSummary",
    "RoleInfo",
    "SharingChange",
    "SharingInfo",
    "Token",
    "TransitionComment",
    "TransitionDone",
    "TypeListing",
    "WorkflowInfo",
    "WsTicket",
]


def ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


# Filled in by the generator from the content types of the registry.
CONTENT = ref("Content")
CONTENT_CREATE = ref("ContentCreate")
CONTENT_PATCH = ref("ContentPatch")
SUMMARY = ref("Summary")
BATCHING = ref("Batching")
TYPE_SCHEMA = {"type": "object", "description": "A JSON Schema", "additionalProperties": True}
APPLICATION: dict[str, Any] = {
    "type": "object",
    "required": ["@id", "@type", "databases"],
    "properties": {
        "@id": {"type": "string"},
        "@type": {"const": "Application"},
        "databases": {"type": "array", "items": {"type": "string"}},
    },
}
FILE_BYTES: dict[str, Any] = {"*/*": {"type": "string", "format": "binary"}}

# headers ---------------------------------------------------------------------------------
IF_MATCH: dict[str, Any] = {
    "name": "If-Match",
    "in": "header",
    "required": False,
    "description": "Refuse with 412 unless the object's current ETag is one of these",
    "schema": {"type": "string"},
}
IF_NONE_MATCH: dict[str, Any] = {
    "name": "If-None-Match",
    "in": "header",
    "required": False,
    "description": "Answer 304 if the current ETag is one of these",
    "schema": {"type": "string"},
}
RANGE: dict[str, Any] = {
    "name": "Range",
    "in": "header",
    "required": False,
    "description": "Byte ranges of a file (206, or 416 wholly past its end)",
    "schema": {"type": "string", "pattern": r"^bytes=\d*-\d*(,\s*\d*-\d*)*$"},
}
DIGITS: dict[str, Any] = {"type": "string", "pattern": r"^\d+$"}
TUS_RESUMABLE: dict[str, Any] = {
    "name": "Tus-Resumable",
    "in": "header",
    "required": True,
    "description": "The TUS protocol version (412 for any other)",
    "schema": {"type": "string", "enum": ["1.0.0"]},
}


# authentication ------------------------------------------------------------------------------
class Login(msgspec.Struct, forbid_unknown_fields=True):
    login: str
    password: str


class Token(msgspec.Struct):
    token: str
    expires: int
    user: str


class WsTicket(msgspec.Struct):
    token: str
    expires: int


# moving and copying -------------------------------------------------------------------------
class Destination(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """Where to (a path in the same database, or a URL of this server; default: the
    current parent) and under which id (default: the current one, or a free one)."""

    destination: str | msgspec.UnsetType = msgspec.UNSET
    new_id: str | msgspec.UnsetType = msgspec.UNSET


# types, roles and principals ---------------------------------------------------------------
class TypeListing(msgspec.Struct, rename={"at_id": "@id"}):
    at_id: str
    id: str
    title: str
    description: str
    addable: bool


class RoleInfo(msgspec.Struct, rename={"at_id": "@id", "at_type": "@type"}):
    at_id: str
    at_type: str
    id: str
    title: str


class CurrentUser(msgspec.Struct, rename={"at_id": "@id"}):
    at_id: str
    id: str | None
    title: str | None
    authenticated: bool
    groups: list[str]
    roles: list[str]
    local_roles: list[str]
    roles_here: list[str]
    permissions: dict[str, bool] | msgspec.UnsetType = msgspec.UNSET


class PrincipalSummary(msgspec.Struct):
    """A user or group as anyone who may share sees it; a user manager also gets the record's
    properties (``username``, ``email``…, see docs/security.md "Personal data")."""

    id: str
    type: Literal["user", "group"]
    title: str | None = None


class PrincipalSearch(msgspec.Struct):
    users: list[PrincipalSummary]
    groups: list[PrincipalSummary]


# sharing ------------------------------------------------------------------------------------
class SharingEntry(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    id: str
    roles: dict[str, bool] | msgspec.UnsetType = msgspec.UNSET
    type: str | msgspec.UnsetType = msgspec.UNSET
    title: str | msgspec.UnsetType | None = msgspec.UNSET
    login: str | msgspec.UnsetType | None = msgspec.UNSET


class SharingChange(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    entries: list[SharingEntry] | msgspec.UnsetType = msgspec.UNSET
    inherit: bool | msgspec.UnsetType | None = msgspec.UNSET


class SharingInfo(msgspec.Struct):
    available_roles: list[dict[str, Any]]
    entries: list[dict[str, Any]]
    inherit: bool


# workflow -----------------------------------------------------------------------------------
class WorkflowInfo(msgspec.Struct, rename={"at_id": "@id"}):
    at_id: str
    workflow: str | None
    state: dict[str, Any] | None
    transitions: list[dict[str, Any]]
    history: list[dict[str, Any]]


class TransitionComment(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    comment: str | msgspec.UnsetType | None = msgspec.UNSET


TransitionDone: dict[str, Any] = {
    "type": "object",
    "description": "The new entry of the object's workflow history",
    "properties": {
        "action": {"type": ["string", "null"]},
        "actor": {"type": ["string", "null"]},
        "review_state": {"type": "string"},
        "title": {"type": "string"},
        "comments": {"type": "string"},
        "time": {"type": "string"},
    },
}


# files --------------------------------------------------------------------------------------
class FileValue(msgspec.Struct):
    """A file field's value (images add ``width`` and ``height``)."""

    download: str
    filename: str | None
    content_type: str | None = msgspec.field(name="content-type")
    size: int
    width: int | msgspec.UnsetType | None = msgspec.UNSET
    height: int | msgspec.UnsetType | None = msgspec.UNSET


# users and groups ---------------------------------------------------------------------------
_STRINGS = {"type": "array", "items": {"type": "string"}}
USER: dict[str, Any] = {
    "type": "object",
    "required": ["@id", "id", "type", "username", "roles", "groups", "disabled"],
    "properties": {
        "@id": {"type": "string"},
        "id": {"type": "string"},
        "type": {"const": "user"},
        "title": {"type": ["string", "null"]},
        "username": {"type": "string"},
        "fullname": {"type": ["string", "null"]},
        "email": {"type": ["string", "null"]},
        "description": {"type": ["string", "null"]},
        "roles": _STRINGS,
        "groups": {
            "type": "object",
            "properties": {"items": {"type": "array"}, "items_total": {"type": "integer"}},
        },
        "disabled": {"type": "boolean"},
    },
}
_USER_PROPERTIES = {
    "fullname": {"type": "string", "maxLength": 500},
    "email": {"type": "string", "maxLength": 500},
    "description": {"type": "string", "maxLength": 500},
    "roles": _STRINGS,
    "groups": _STRINGS,
}
USER_CREATE: dict[str, Any] = {
    "type": "object",
    "required": ["username", "password"],
    "additionalProperties": False,
    "properties": {
        "username": {"type": "string"},
        "id": {"type": "string"},
        "password": {"type": "string", "minLength": 8},
        **_USER_PROPERTIES,
    },
}
USER_PATCH: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        **_USER_PROPERTIES,
        "password": {"type": "string", "minLength": 8},
        "disabled": {"type": "boolean"},
    },
}


class PasswordReset(msgspec.Struct, forbid_unknown_fields=True):
    old_password: str
    new_password: str


def _listing(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["items", "items_total"],
        "properties": {
            "@id": {"type": "string"},
            "items": {"type": "array", "items": item},
            "items_total": {"type": "integer"},
            "batching": BATCHING,
        },
    }


USER_LIST = _listing(USER)
GROUP: dict[str, Any] = {
    "type": "object",
    "required": ["@id", "id", "type", "groupname", "roles", "users"],
    "properties": {
        "@id": {"type": "string"},
        "id": {"type": "string"},
        "type": {"const": "group"},
        "groupname": {"type": "string"},
        "title": {"type": ["string", "null"]},
        "description": {"type": ["string", "null"]},
        "email": {"type": ["string", "null"]},
        "roles": _STRINGS,
        "users": {
            "type": "object",
            "properties": {"items": _STRINGS, "items_total": {"type": "integer"}},
        },
    },
}
GROUP_LIST = _listing(GROUP)
# a search result: the summary's keys, plus the metadata columns asked for (any JSON), or
# with ``fullobjects`` the object as GET shows it
SEARCH_RESULTS = _listing({"type": "object", "required": ["@id"], "additionalProperties": True})
_GROUP_PROPERTIES = {
    "title": {"type": "string", "maxLength": 500},
    "description": {"type": "string", "maxLength": 500},
    "email": {"type": "string", "maxLength": 500},
    "roles": _STRINGS,
}
GROUP_CREATE: dict[str, Any] = {
    "type": "object",
    "required": ["groupname"],
    "additionalProperties": False,
    "properties": {
        "groupname": {"type": "string"},
        "id": {"type": "string"},
        **_GROUP_PROPERTIES,
        "users": {
            "anyOf": [_STRINGS, {"type": "object", "additionalProperties": {"type": "boolean"}}]
        },
    },
}
GROUP_PATCH: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        **_GROUP_PROPERTIES,
        "users": {
            "anyOf": [_STRINGS, {"type": "object", "additionalProperties": {"type": "boolean"}}]
        },
    },
}

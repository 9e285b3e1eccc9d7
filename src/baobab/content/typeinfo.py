"""Per-type derived data: the resolved field set and which types a folder accepts."""

from __future__ import annotations

from typing import Any

from baobab.config.declarations import ContentTypeInfo, Permission
from baobab.config.registry import Registry
from baobab.content.interfaces import IDatabaseRoot
from baobab.content.resources import Container, Resource
from baobab.errors import ConfigError, NotAllowedType, UnknownType
from baobab.schema.fields import Field, File
from baobab.schema.schemas import fields_of

__all__ = [
    "RESERVED_FIELD_NAMES",
    "addable_types",
    "check_addable",
    "file_fields",
    "type_fields",
    "type_info",
    "validate_registry",
]

# Names that the JSON shape or the persistence machinery already uses.
RESERVED_FIELD_NAMES = frozenset(
    {
        "id",
        "uid",
        "UID",
        "type_name",
        "review_state",
        "items",
        "items_total",
        "parent",
        "batching",
        "is_folderish",
        "folderish",
        "keys",
        "values",
        "get",
    }
)


def type_info(registry: Registry, type_name: str) -> ContentTypeInfo:
    try:
        return registry.types[type_name]
    except KeyError:
        raise UnknownType(f"Unknown content type {type_name!r}") from None


def type_fields(registry: Registry, type_name: str) -> dict[str, Field]:
    """Behaviour fields then the type's own schema fields, flat, cached on the registry."""
    key = ("fields", type_name)
    cached: dict[str, Field] | None = registry.cache.get(key)
    if cached is not None:
        return cached
    info = type_info(registry, type_name)
    fields: dict[str, Field] = {}
    sources: list[tuple[str, type[Any]]] = []
    for name in info.behaviours:
        behaviour = registry.behaviours.get(name)
        if behaviour is None:
            raise ConfigError(f"Type {type_name!r} names unknown behaviour {name!r}")
        sources.append((f"behaviour {name!r}", behaviour.schema))
    if info.schema is not None:
        sources.append(("its schema", info.schema))
    for origin, schema in sources:
        for field_name, field in fields_of(schema).items():
            if field_name in RESERVED_FIELD_NAMES or field_name.startswith(("_", "@")):
                raise ConfigError(
                    f"Type {type_name!r}: field {field_name!r} from {origin} uses a reserved name"
                )
            if field_name in fields:
                raise ConfigError(
                    f"Type {type_name!r}: field {field_name!r} from {origin} is defined twice"
                )
            fields[field_name] = field
    registry.cache[key] = fields
    return fields


def file_fields(registry: Registry, type_name: str) -> dict[str, File]:
    """The type's file and image fields, in field order (the first is its primary file)."""
    return {
        name: field
        for name, field in type_fields(registry, type_name).items()
        if isinstance(field, File)
    }


def _is_container_type(info: ContentTypeInfo) -> bool:
    return issubclass(info.factory, Container)


def addable_types(registry: Registry, parent: Any) -> list[ContentTypeInfo]:
    """The types that may be created inside ``parent`` (before permission checks)."""
    if IDatabaseRoot.providedBy(parent):
        return [info for info in registry.types.values() if _is_container_type(info)]
    if not isinstance(parent, Resource) or not parent.folderish:
        return []
    parent_info = registry.types.get(parent.type_name)
    allowed = parent_info.allowed_types if parent_info is not None else None
    if allowed is not None:
        return [registry.types[name] for name in allowed if name in registry.types]
    return [
        info
        for info in registry.types.values()
        if info.global_allow and not _is_container_type(info)
    ]


def check_addable(registry: Registry, parent: Any, info: ContentTypeInfo) -> None:
    if not any(candidate.name == info.name for candidate in addable_types(registry, parent)):
        where = getattr(parent, "type_name", "this object")
        raise NotAllowedType(
            f"A {info.name} may not be added to a {where}",
            details={
                "@type": info.name,
                "allowed": [i.name for i in addable_types(registry, parent)],
            },
        )


def _declare_add_permission(registry: Registry, info: ContentTypeInfo) -> None:
    """A type's own add permission (``baobab.Add<name>``) held by AddContent's roles; any
    other undeclared add permission is refused by ``Registry.check_permissions``."""
    if info.add_permission in registry.permissions:
        return
    if info.add_permission != f"baobab.Add{info.name}":
        return
    base = registry.permissions.get("baobab.AddContent")
    roles = base.default_roles if base is not None else ("baobab.Manager",)
    registry.add_permission(
        Permission(info.add_permission, f"Add {info.title or info.name}", roles),
        f"derived from content type {info.name!r}",
    )


def _check_field_permissions(registry: Registry) -> None:
    """Refuse a field whose ``read_permission``/``write_permission`` no scan declared."""
    schemas = [info.schema for info in registry.types.values() if info.schema is not None]
    schemas += [behaviour.schema for behaviour in registry.behaviours.values()]
    for schema in schemas:
        for name, field in fields_of(schema).items():
            for kind in ("read_permission", "write_permission"):
                permission: str | None = getattr(field, kind)
                if permission is not None:
                    what = f"field {name!r} of {schema.__qualname__} ({kind})"
                    registry.check_permission(permission, what, field.where)


def validate_registry(registry: Registry) -> None:
    """Resolve every type once at start-up so a bad declaration stops the server early:
    unknown behaviours, types and permission ids, reserved or doubled field names."""
    for info in list(registry.types.values()):
        _declare_add_permission(registry, info)
    registry.check_permissions()
    _check_field_permissions(registry)
    for name, info in registry.types.items():
        type_fields(registry, name)
        for allowed in info.allowed_types or ():
            if allowed not in registry.types:
                raise ConfigError(f"Type {name!r} allows unknown type {allowed!r}")
        if not issubclass(info.factory, Resource):
            raise ConfigError(f"Type {name!r}: {info.factory!r} is not a Resource subclass")

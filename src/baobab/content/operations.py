"""Changing the tree: create, update, delete, move and copy, with their invariants.

These functions assume the caller checked permissions; they enforce what must hold whoever
asks (valid and free ids, allowed types, no folder moved into itself) and keep the server-kept
Dublin Core fields (created, modified, creators, contributors).
"""

from __future__ import annotations

import copy as copy_
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any, cast

from baobab.config.registry import Registry
from baobab.content.files import file_from_bytes
from baobab.content.ids import generate_id, validate_id
from baobab.content.interfaces import IDatabaseRoot
from baobab.content.resources import Folder, Resource, utcnow
from baobab.content.typeinfo import check_addable, type_fields, type_info
from baobab.errors import AlreadyExists, BadRequest, ValidationError
from baobab.location import lineage
from baobab.schema.fields import Field, File, InlineFile
from baobab.schema.schemas import validate_data

__all__ = ["CopyFilter", "copy", "create", "delete", "move", "set_field", "update"]

_CREATE_KEYS = ("@type", "id")


def _require_folder(obj: Any) -> Folder:
    if not isinstance(obj, Folder):
        raise BadRequest("This object cannot contain other objects")
    return obj


def _store_files(fields: Mapping[str, Field], values: dict[str, Any], near: Any) -> None:
    """Files sent inside JSON become blobs, staged in the storage of ``near`` (an object
    already stored: the folder or the object itself), so committing them is a rename."""
    for name, value in values.items():
        field = fields[name]
        if isinstance(value, InlineFile) and isinstance(field, File):
            values[name] = file_from_bytes(
                value.data,
                filename=value.filename,
                content_type=value.content_type,
                image_field=name if field.image else None,
                conn=getattr(near, "_p_jar", None),
            )


def create(
    registry: Registry,
    parent: Any,
    data: Mapping[str, Any],
    principal_id: str,
    files: Mapping[str, Any] | None = None,
) -> Resource:
    """Create a child of ``parent`` from a JSON object with ``@type``, optional ``id``, fields;
    ``files``: file field values already stored (uploaded ``NamedFile``s)."""
    folder = _require_folder(parent)
    type_name = data.get("@type")
    if not isinstance(type_name, str):
        raise ValidationError(
            "`@type` is required", details=[{"field": "@type", "message": "is required"}]
        )
    info = type_info(registry, type_name)
    check_addable(registry, folder, info)
    fields = type_fields(registry, type_name)
    files = files or {}
    values = validate_data(fields, data, create=True, ignore=_CREATE_KEYS, present=files)
    _store_files(fields, values, folder)
    values.update(files)
    if data.get("id") is None:
        id_ = generate_id(values.get("title"), folder)
    else:
        id_ = validate_id(data["id"])
        if id_ in folder:
            raise AlreadyExists(f"{id_!r} already exists here", details={"id": id_})
    obj: Resource = info.factory(id_, type_name)
    for name, field in fields.items():
        if not field.readonly:
            setattr(obj, name, values.get(name, copy_.deepcopy(field.default)))
    obj.creators = [principal_id]  # Dublin Core, server-kept
    obj.contributors = []
    folder._set_child(id_, obj)
    return obj


def _touch(obj: Resource, principal_id: str) -> None:
    obj.modified = utcnow()
    people = list(getattr(obj, "creators", ())) + list(getattr(obj, "contributors", ()))
    if principal_id not in people:
        obj.contributors = [*getattr(obj, "contributors", ()), principal_id]


def update(registry: Registry, obj: Resource, data: Mapping[str, Any], principal_id: str) -> None:
    """Apply a validated partial update."""
    fields = type_fields(registry, obj.type_name)
    values = validate_data(fields, data, create=False)
    _store_files(fields, values, obj)
    for name, value in values.items():
        setattr(obj, name, value)
    _touch(obj, principal_id)


def set_field(obj: Resource, name: str, value: Any, principal_id: str) -> None:
    """Store a value made by the server (an uploaded file) and mark the object modified."""
    setattr(obj, name, value)
    _touch(obj, principal_id)


def delete(obj: Any) -> None:
    parent = getattr(obj, "__parent__", None)
    if not isinstance(obj, Resource) or not isinstance(parent, Folder):
        raise BadRequest("This object cannot be deleted")
    parent._del_child(obj.__name__)


def _target(registry: Registry, obj: Resource, destination: Any, new_id: Any) -> tuple[Folder, str]:
    folder = _require_folder(destination)
    if IDatabaseRoot.providedBy(obj) or not isinstance(obj.__parent__, Folder):
        raise BadRequest("This object cannot be moved or copied")
    if any(node is obj for node in lineage(folder)):
        raise BadRequest("An object cannot be moved or copied into itself")
    check_addable(registry, folder, type_info(registry, obj.type_name))
    id_ = obj.__name__ if new_id is None else validate_id(new_id)
    if id_ in folder:
        raise AlreadyExists(f"{id_!r} already exists at the destination", details={"id": id_})
    return folder, id_


def move(
    registry: Registry,
    obj: Resource,
    destination: Any,
    new_id: Any,
    principal_id: str,
    *,
    guard: Callable[[Folder], None] | None = None,
) -> Resource:
    """Move (or rename, when ``destination`` is the current parent) ``obj``; ``guard`` is
    called with the destination once the move is known to be valid, before anything changes
    (a caller's last refusal)."""
    parent: Folder = obj.__parent__
    if destination is parent and (new_id is None or new_id == obj.__name__):
        return obj
    folder, id_ = _target(registry, obj, destination, new_id)
    if guard is not None:
        guard(folder)
    if folder is parent:  # a rename keeps the child's place
        parent._rename_child(obj.__name__, id_)
    else:  # elsewhere it goes last
        parent._del_child(obj.__name__)
        folder._set_child(id_, obj)
    _touch(obj, principal_id)
    return obj


class CopyFilter:
    """What a copy takes of each object: ``keep(obj)``, whether ``obj`` and what is below it
    are copied; ``unreadable(obj)``, its field names copied as their defaults instead."""

    def keep(self, obj: Resource) -> bool:
        return True

    def unreadable(self, obj: Resource) -> Iterable[str]:
        return ()


def _clone(registry: Registry, obj: Resource, principal_id: str, only: CopyFilter) -> Resource:
    state: dict[str, Any] = cast(dict[str, Any], obj.__getstate__())
    skip = {"_children", "_count", "_order", "_positions", "_visible_at", "_visible", "__parent__"}
    fresh = {k: copy_.deepcopy(v) for k, v in state.items() if k not in skip}
    unreadable = set(only.unreadable(obj))
    if unreadable:
        fields = type_fields(registry, obj.type_name)
        for name in unreadable:
            fresh[name] = copy_.deepcopy(fields[name].default)
    clone: Resource = type(obj).__new__(type(obj))
    clone.__setstate__(fresh)
    clone.__parent__ = None
    clone.uid = uuid.uuid4().hex
    clone.created = clone.modified = utcnow()
    clone.creators = [principal_id]
    clone.contributors = []
    if isinstance(obj, Folder) and isinstance(clone, Folder):
        clone._init_children()
        for name, child in obj.ordered_items():  # appended in order: the copy keeps it
            if only.keep(child):
                clone._set_child(name, _clone(registry, child, principal_id, only))
    return clone


def copy(
    registry: Registry,
    obj: Resource,
    destination: Any,
    new_id: Any,
    principal_id: str,
    *,
    only: CopyFilter | None = None,
) -> Resource:
    """Copy ``obj`` (and, for a folder, everything below it that ``only`` keeps) into
    ``destination``."""
    if destination is obj.__parent__ and new_id is None:
        new_id = generate_id(obj.__name__, destination)
    folder, id_ = _target(registry, obj, destination, new_id)
    clone = _clone(registry, obj, principal_id, only or CopyFilter())
    folder._set_child(id_, clone)
    return clone

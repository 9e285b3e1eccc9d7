"""One content object ↔ its archive record: plone.restapi's shape plus what a restore needs.

The record is what ``GET`` shows (``@id``, ``@type``, ``id``, ``UID``, ``parent``,
``review_state``, ``is_folderish``, every field of the type, files in
:func:`~baobab.serialization.content.file_json`'s shape), with ``created`` and ``modified``
at the top level as plone.restapi has them, and under ``@baobab`` what the API does not show
but an exact restore needs: the path below the container, the position key in the parent's
order, local roles and their inheritance, the permission map the workflow state set, the
workflow history, and each file's blob member, checksum and dates. ``@id`` and ``parent``
hold paths (``/db/site/doc``), not URLs: an archive is not tied to a host name.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from baobab.config.registry import Registry
from baobab.content.files import NamedFile
from baobab.content.resources import Folder, Resource
from baobab.content.typeinfo import type_fields, type_info
from baobab.errors import ArchiveError, BaobabError
from baobab.location import resource_path
from baobab.schema.fields import FieldError, File
from baobab.serialization.content import file_json
from baobab.transfer.archive import blob_member

__all__ = ["FileMeta", "build_object", "file_meta", "record_of"]

FileMeta = dict[str, Any]  # a file's metadata in ``@baobab.files``


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date) else value


def file_meta(value: NamedFile, member: str) -> FileMeta:
    return {
        "member": member,
        "filename": value.filename,
        "content_type": value.content_type,
        "size": value.size,
        "sha256": value.sha256,
        "modified": _iso(value.modified),
        "width": value.width,
        "height": value.height,
    }


def record_of(
    obj: Resource, registry: Registry, seq: int, path: str
) -> tuple[dict[str, Any], list[tuple[str, NamedFile]]]:
    """(``obj``'s record, its files as (member name, value) to write after it); ``path``:
    below the container, ``""`` for the container itself."""
    own = resource_path(obj)
    parent = obj.__parent__
    record: dict[str, Any] = {
        "@id": own,
        "@type": obj.type_name,
        "id": obj.__name__,
        "UID": obj.uid,
        "parent": {"@id": resource_path(parent)},
        "review_state": obj.review_state,
        "is_folderish": obj.folderish,
        "created": _iso(obj.created),
        "modified": _iso(obj.modified),
    }
    files: list[tuple[str, NamedFile]] = []
    metas: dict[str, FileMeta] = {}
    for name, field in type_fields(registry, obj.type_name).items():
        value = getattr(obj, name, field.default)
        if isinstance(value, NamedFile):
            member = blob_member(seq, name)
            files.append((member, value))
            metas[name] = file_meta(value, member)
            record[name] = file_json(value, member)
        else:
            record[name] = field.to_json(value)
    position = parent.position_of(obj.__name__) if path and isinstance(parent, Folder) else None
    record["@baobab"] = {
        "path": path,
        "position": position,
        "local_roles": {pid: list(roles) for pid, roles in obj._local_roles.items()},
        "inherit_roles": obj._inherit_roles,
        "permissions": {
            perm: [list(roles), acquire] for perm, (roles, acquire) in obj._permission_roles.items()
        },
        "workflow_history": list(obj.workflow_history),
        "files": metas,
    }
    return record, files


def _datetime(value: Any, what: str) -> dt.datetime:
    try:
        return dt.datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise ArchiveError(f"{what}: not an ISO 8601 date-time: {value!r}") from None


def _strings(value: Any, what: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ArchiveError(f"{what}: expected a list of strings")
    return tuple(value)


def _security(obj: Resource, extra: dict[str, Any], where: str) -> None:
    roles = extra.get("local_roles") or {}
    if not isinstance(roles, dict):
        raise ArchiveError(f"{where}: local_roles is not an object")
    obj._local_roles = {pid: _strings(r, f"{where}: local_roles") for pid, r in roles.items()}
    obj._inherit_roles = bool(extra.get("inherit_roles", True))
    permissions: dict[str, tuple[tuple[str, ...], bool]] = {}
    for perm, entry in (extra.get("permissions") or {}).items():
        if not isinstance(entry, list) or len(entry) != 2:
            raise ArchiveError(f"{where}: permission {perm!r} is not [roles, acquire]")
        permissions[perm] = (_strings(entry[0], f"{where}: {perm}"), bool(entry[1]))
    obj._permission_roles = permissions
    history = extra.get("workflow_history") or []
    if not isinstance(history, list) or not all(isinstance(e, dict) for e in history):
        raise ArchiveError(f"{where}: workflow_history is not a list of objects")
    obj.workflow_history = tuple(history)


def build_object(registry: Registry, record: dict[str, Any], where: str) -> Resource:
    """A new object from ``record``, not yet in any folder; its files are left None (their
    blobs follow in the archive)."""
    type_name = record.get("@type")
    id_ = record.get("id")
    uid = record.get("UID")
    if not isinstance(type_name, str) or not isinstance(id_, str) or not isinstance(uid, str):
        raise ArchiveError(f"{where}: a record needs @type, id and UID strings")
    try:
        info = type_info(registry, type_name)
        fields = type_fields(registry, type_name)
    except BaobabError as exc:
        raise ArchiveError(f"{where}: {exc.message} (is its add-on configured?)") from None
    obj: Resource = info.factory(id_, type_name)
    obj.uid = uid
    for name, field in fields.items():
        value = record.get(name, field.to_json(field.default))
        if isinstance(field, File) or value is None:
            value = None  # a file's blob comes next; None is kept as stored, unchecked
        else:
            try:
                value = field.validate(value)
            except FieldError as exc:
                raise ArchiveError(f"{where}: field {name!r} {exc.message}") from None
        setattr(obj, name, value)
    state = record.get("review_state")
    obj.review_state = state if isinstance(state, str) else None
    obj.created = _datetime(record.get("created"), f"{where}: created")
    obj.modified = _datetime(record.get("modified"), f"{where}: modified")
    extra = record.get("@baobab")
    if not isinstance(extra, dict):
        raise ArchiveError(f"{where}: no @baobab section")
    _security(obj, extra, where)
    return obj

"""Content made from uploads: which file field takes the file, which type an upload becomes,
storing a spooled file in a field, and creating an object around a file.

The permission side of the same operations (may this principal add that type here, write that
field) is :mod:`baobab.security.gate`; the HTTP side (where the file and the fields come from)
is the upload services.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from baobab.blobs.multipart import UploadedFile
from baobab.config.registry import Registry
from baobab.content import operations
from baobab.content.files import NamedFile, file_from_spool
from baobab.content.typeinfo import file_fields, type_info
from baobab.errors import BadRequest, NotFound
from baobab.schema.fields import File

__all__ = ["CREATE_FIELDS", "create_with_file", "file_field", "store_file", "type_for"]

CREATE_FIELDS = ("id", "title", "description")  # what a file upload may say of a new object


def file_field(registry: Registry, type_name: str, name: str | None) -> tuple[str, File]:
    """The named file field of ``type_name`` (its first one when ``name`` is empty)."""
    fields = file_fields(registry, type_name)
    if not name:
        if not fields:
            raise NotFound(f"A {type_name} has no file field")
        name = next(iter(fields))
    field = fields.get(name)
    if field is None:
        raise NotFound(f"A {type_name} has no file field {name!r}")
    return name, field


def type_for(registry: Registry, asked: str | None, media: str, candidates: Sequence[str]) -> str:
    """The type an upload becomes: ``asked`` (400 unless it has a file field), else Image for
    an image when it is among ``candidates`` (the file types the principal may add there),
    else File."""
    if asked:
        type_info(registry, asked)  # 400 for an unknown type
        if not file_fields(registry, asked):
            raise BadRequest(
                f"A {asked} has no file field to hold the upload", details={"@type": asked}
            )
        return asked
    if media.startswith("image/") and "Image" in candidates:
        return "Image"
    return "File" if "File" in candidates or not candidates else candidates[0]


def store_file(
    obj: Any, name: str, field: File, upload: UploadedFile, *, actor: str, conn: Any
) -> NamedFile:
    """Keep ``upload``'s spooled bytes as file field ``name`` of ``obj`` (a blob, committed
    by a rename)."""
    value = file_from_spool(
        upload.spooled,
        filename=upload.filename,
        content_type=upload.content_type,
        conn=conn,
        image_field=name if field.image else None,
    )
    operations.set_field(obj, name, value, actor)
    return value


def create_with_file(
    registry: Registry,
    folder: Any,
    data: dict[str, Any],
    *,
    name: str,
    field: File,
    upload: UploadedFile,
    actor: str,
    conn: Any,
) -> Any:
    """Create the object in ``folder`` (its file field written by the server) and store
    ``upload`` in it; the caller checked the create (``security.gate.check_create``) before
    the bytes were read. The title defaults to the file name."""
    if "title" not in data and upload.filename:
        data["title"] = upload.filename
    obj = operations.create(registry, folder, data, actor, files={name: None})
    store_file(obj, name, field, upload, actor=actor, conn=conn)
    return obj

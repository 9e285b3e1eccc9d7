"""Resumable uploads: the TUS 1.0 protocol (core, creation, termination, expiration, checksum).

- ``OPTIONS …/@tus``: what the server supports;
- ``POST …/@tus`` (``Upload-Length``, ``Upload-Metadata``): a new upload, ``201`` with its
  ``Location`` ``…/@tus/{id}``. On a folder it will create a File or Image (metadata
  ``filename``, ``filetype``/``content-type``, and optionally ``@type``, ``id``, ``title``);
  on an item, or with metadata ``field``, it will replace that file field;
- ``HEAD …/@tus/{id}``: ``Upload-Offset`` and ``Upload-Length``, to resume;
- ``PATCH …/@tus/{id}`` (``application/offset+octet-stream``, ``Upload-Offset``, optional
  ``Upload-Checksum: sha256 …``): appends the body; the PATCH that completes the upload stores
  the file and answers with the object's ``Location``. A PATCH cut off by a disconnect keeps
  what arrived (unless a checksum was sent), so the client resumes from there;
- ``DELETE …/@tus/{id}``: abandons the upload.

Only the principal who created an upload may continue it, and every request checks again the
permission the upload needs (Add on the folder, or Modify and the field's write permission).
"""

from __future__ import annotations

from email.utils import format_datetime
from typing import Any

from baobab.blobs.checksums import TUS_ALGORITHMS, upload_checksum
from baobab.blobs.multipart import UploadedFile
from baobab.blobs.spool import Spooled, spool_bytes
from baobab.blobs.tus import join_files, parse_metadata
from baobab.config.declarations import service
from baobab.content.creation import CREATE_FIELDS, create_with_file, file_field, store_file
from baobab.content.files import blob_from_spool
from baobab.content.interfaces import IResource
from baobab.content.uploads import TusUpload, purge_expired, uploads
from baobab.errors import (
    BadRequest,
    Gone,
    NotFound,
    OffsetMismatch,
    PayloadTooLarge,
    PreconditionFailed,
    UnsupportedMediaType,
)
from baobab.events import ObjectAdded, ObjectModified
from baobab.inputs import non_negative
from baobab.location import resource_path
from baobab.request import Request, Response, media_of
from baobab.security import lifecycle
from baobab.security.gate import check_create, check_field_writes, upload_type
from baobab.security.vocabulary import ACCESS_CONTENT, ADD_CONTENT, MODIFY_CONTENT
from baobab.services import shapes

__all__ = ["tus_create", "tus_delete", "tus_head", "tus_options", "tus_patch"]

VERSION = "1.0.0"
# Every TUS answer names the protocol version, errors included (TUS 1.0, "Tus-Resumable").
TUS_HEADERS = (("Tus-Resumable", VERSION),)
_OFFSET_TYPE = "application/offset+octet-stream"


def _header(name: str, value: object) -> tuple[bytes, bytes]:
    return name.encode(), str(value).encode("latin-1")


def _check_version(request: Request) -> None:
    if request.headers.get("tus-resumable") != VERSION:
        raise PreconditionFailed(
            f"Send Tus-Resumable: {VERSION}",
            details={"tus_version": [VERSION]},
            headers={"Tus-Version": VERSION},  # the versions this server speaks
        )


def _non_negative(request: Request, name: str) -> int:
    return non_negative(request.headers.get(name.lower()), name)


@service(
    method="OPTIONS",
    context=IResource,
    name="@tus",
    permission=ACCESS_CONTENT.id,
    summary="TUS: what this server supports",
    headers=TUS_HEADERS,
    responses={204: None},
)
def tus_options(request: Request) -> Response:
    files = request.settings.files
    return Response(
        status=204,
        content_type=None,
        headers=[
            _header("tus-version", VERSION),
            _header("tus-extension", "creation,termination,expiration,checksum"),
            _header("tus-max-size", files.max_upload_size),
            _header("tus-checksum-algorithm", ",".join(TUS_ALGORITHMS)),
        ],
    )


def _target(request: Request, metadata: dict[str, str], *, with_id: bool = True) -> str | None:
    """Check what the upload needs (permissions, allowed type, fields written, and with
    ``with_id`` an ``id`` still free); the field it replaces (None: a new child)."""
    context = request.context
    field = metadata.get("field")
    if field is None and context.folderish:
        media = metadata.get("filetype") or metadata.get("content-type") or ""
        type_name = upload_type(request, metadata.get("@type"), media)
        name, _ = file_field(request.registry, type_name, None)
        request.require(ADD_CONTENT.id, context)
        keys = CREATE_FIELDS if with_id else CREATE_FIELDS[1:]
        data = {k: metadata[k] for k in keys if k in metadata}
        check_create(request, type_name, file_field=name, data=data)
        return None
    name, _ = file_field(request.registry, context.type_name, field)
    request.require(MODIFY_CONTENT.id, context)
    check_field_writes(request, {name: None}, context.type_name, context)
    return name


def _expires(upload: TusUpload) -> tuple[bytes, bytes]:
    return _header("upload-expires", format_datetime(upload.expires, usegmt=True))


@service(
    method="POST",
    context=IResource,
    name="@tus",
    permission=ACCESS_CONTENT.id,
    summary="TUS: a new upload",
    body="stream",  # creation-with-upload is refused unread
    headers=TUS_HEADERS,
    description="A new child (a file type by `Upload-Metadata`'s `filetype` or `@type`) when "
    "sent to a folder, else the file field named by `field` (or the type's only one).",
    params=(
        shapes.TUS_RESUMABLE,
        {"name": "Upload-Length", "in": "header", "required": True, "schema": shapes.DIGITS},
        {"name": "Upload-Metadata", "in": "header", "schema": {"type": "string"}},
    ),
    responses={201: None},
    errors=(409, 412, 415, 422),
)
def tus_create(request: Request) -> Response:
    _check_version(request)
    if "upload-defer-length" in request.headers:
        raise BadRequest("Upload-Defer-Length is not supported; send Upload-Length")
    length = _non_negative(request, "Upload-Length")
    limit = request.settings.files.max_upload_size
    if length > limit:
        raise PayloadTooLarge(
            f"The upload is {length} bytes; at most {limit} are accepted",
            details={"limit": limit},
        )
    if request.headers.get("content-length", "0") != "0":
        raise BadRequest("Send the bytes with PATCH (creation-with-upload is not supported)")
    raw = request.headers.get("upload-metadata", "")
    # blank values count as absent (a blank id or title is none); HEAD echoes the header
    metadata = {k: v for k, v in parse_metadata(raw).items() if v}
    field = _target(request, metadata)
    tree = uploads(request.unit.conn)
    purge_expired(tree)
    upload = TusUpload(
        length=length,
        metadata=metadata,
        raw_metadata=raw,
        owner=request.principal.id,
        context_uid=request.context.uid,
        field=field,
        expiry=request.settings.files.tus_expiry,
    )
    if length == 0:  # complete as created: there will be no PATCH (tuspy sends none)
        empty = spool_bytes(b"", request.settings.spool_path)
        try:
            location = _finish(request, upload, empty)
        finally:
            empty.release()
        headers = [_header("location", location), _header("upload-offset", 0)]
        return Response(status=201, content_type=None, headers=headers)
    tree[upload.id] = upload
    location = request.url_for(resource_path(request.context)) + f"/@tus/{upload.id}"
    return Response(
        status=201,
        content_type=None,
        headers=[_header("location", location), _expires(upload), _header("upload-offset", 0)],
    )


def _upload(request: Request) -> TusUpload:
    """The upload the URL names, if it is this principal's and still fresh; and the
    permission it needs, checked again."""
    if len(request.subpath) != 1:
        raise NotFound("Name an upload: …/@tus/{id}")
    upload: TusUpload | None = uploads(request.unit.conn).get(request.subpath[0])
    mine = upload is not None and (
        upload.owner == request.principal.id or request.security.is_manager()
    )
    if upload is None or not mine or upload.context_uid != request.context.uid:
        raise NotFound("No such upload", details={"upload": request.subpath[0]})
    if upload.expired():
        raise Gone("The upload has expired", details={"expires": upload.expires.isoformat()})
    if not upload.complete:  # a finished one only reports its offset
        field = {"field": upload.field} if upload.field else {}
        _target(request, {**upload.metadata, **field}, with_id=False)
    return upload


@service(
    method="GET",
    context=IResource,
    name="@tus",
    permission=ACCESS_CONTENT.id,
    allow_subpath=True,
    summary="TUS: an upload's offset (HEAD)",
    headers=TUS_HEADERS,
    subpaths=("{upload}",),
    params=(shapes.TUS_RESUMABLE,),
    responses={200: None},
    errors=(410, 412),
)
def tus_head(request: Request) -> Response:
    _check_version(request)
    upload = _upload(request)
    headers = [
        _header("upload-offset", upload.offset),
        _header("upload-length", upload.length),
        _header("cache-control", "no-store"),
        _expires(upload),
    ]
    if upload.raw_metadata:
        headers.append(_header("upload-metadata", upload.raw_metadata))
    return Response(status=200, headers=headers, content_type=None)


@service(
    method="DELETE",
    context=IResource,
    name="@tus",
    permission=ACCESS_CONTENT.id,
    allow_subpath=True,
    summary="TUS: abandon an upload",
    headers=TUS_HEADERS,
    subpaths=("{upload}",),
    params=(shapes.TUS_RESUMABLE,),
    responses={204: None},
    errors=(410, 412),
)
def tus_delete(request: Request) -> Response:
    _check_version(request)
    upload = _upload(request)
    del uploads(request.unit.conn)[upload.id]
    return Response(status=204, content_type=None)


@service(
    method="PATCH",
    context=IResource,
    name="@tus",
    permission=ACCESS_CONTENT.id,
    allow_subpath=True,
    summary="TUS: append bytes",
    body="stream",
    headers=TUS_HEADERS,
    subpaths=("{upload}",),
    params=(
        shapes.TUS_RESUMABLE,
        {"name": "Upload-Offset", "in": "header", "required": True, "schema": shapes.DIGITS},
        {"name": "Upload-Checksum", "in": "header", "schema": {"type": "string"}},
    ),
    request={"application/offset+octet-stream": {"type": "string", "format": "binary"}},
    responses={204: None},
    errors=(409, 410, 412, 415, 422, 460, 507),
)
def tus_patch(request: Request) -> Response:
    _check_version(request)
    if media_of(request.headers.get("content-type")) != _OFFSET_TYPE:
        raise UnsupportedMediaType(f"Send the bytes as {_OFFSET_TYPE}")
    upload = _upload(request)
    offset = _non_negative(request, "Upload-Offset")
    if offset != upload.offset:
        raise OffsetMismatch(
            f"The upload is at offset {upload.offset}, not {offset}",
            details={"offset": upload.offset},
        )
    if upload.complete:  # a repeated last PATCH whose answer was lost: already done
        headers = [_header("upload-offset", upload.offset), _header("location", upload.location)]
        return Response(status=204, headers=headers, content_type=None)
    if upload.field is None:  # the id may have been taken since the upload was created
        _target(request, upload.metadata)
    spooled = request.body_file(
        limit=upload.length - upload.offset,
        checksum=upload_checksum(request.headers.get("upload-checksum")),
        keep_partial=True,
    )
    headers = [_expires(upload)]
    if spooled.size and upload.offset + spooled.size == upload.length:
        location = _finish(request, upload, spooled)
        upload.finish(location)  # kept until it expires: HEAD still answers
        headers.append(_header("location", location))
    elif spooled.size:
        upload.append(blob_from_spool(spooled, request.unit.conn), spooled.size)
    headers.append(_header("upload-offset", upload.offset))
    return Response(status=204, headers=headers, content_type=None)


def _finish(request: Request, upload: TusUpload, last: Spooled) -> str:
    """Store the completed file (joining the parts off the loop if there are several); the
    URL of the object that holds it."""
    whole = last
    if upload.parts:
        paths = [str(part.committed()) for part in upload.parts] + [str(last.path)]
        directory = request.settings.spool_path
        whole = request.offload(
            ("tus", upload.id, upload.offset), lambda: join_files(paths, directory)
        )
    metadata = upload.metadata
    filename = metadata.get("filename") or metadata.get("name") or ""
    media = metadata.get("filetype") or metadata.get("content-type") or ""
    file = UploadedFile(whole, filename, media)
    context: Any = request.context
    actor, conn = request.principal.id, request.unit.conn
    if upload.field is None:
        type_name = upload_type(request, metadata.get("@type"), media)
        name, field = file_field(request.registry, type_name, None)
        data: dict[str, Any] = {k: metadata[k] for k in CREATE_FIELDS if k in metadata}
        data["@type"] = type_name
        obj = create_with_file(
            request.registry,
            context,
            data,
            name=name,
            field=field,
            upload=file,
            actor=actor,
            conn=conn,
        )
        lifecycle.created(request.policy, obj, request.principal.id)
        request.notify_object(ObjectAdded, obj)
        return request.url_for(resource_path(obj))
    name, field = file_field(request.registry, context.type_name, upload.field)
    store_file(context, name, field, file, actor=actor, conn=conn)
    request.notify_object(ObjectModified, context, changed=(name,))
    return request.url_for(resource_path(context))

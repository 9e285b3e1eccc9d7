"""File fields over HTTP: streamed uploads (raw and multipart) and zero-copy downloads.

- ``PUT``/``PATCH …/@upload/{field}``: the raw body is the file (``Content-Type``, the name in
  ``Content-Disposition: attachment; filename*=…`` or ``?filename=``);
- ``POST …/@upload/{field}``: a ``multipart/form-data`` body whose file part is the file;
- ``POST`` to a folder with a file creates a File or Image from it: raw (named by
  ``Content-Disposition``), or multipart with the other fields as form fields;
- ``GET``/``HEAD …/@download/{field}``: the bytes, with ranges and validators.

Permissions are checked before a byte of the body is read (``request.body_file()`` stops the
publish step until the pipeline has streamed the body to disk). ``{field}`` defaults to the
type's first file field.
"""

from __future__ import annotations

from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

from baobab.blobs.checksums import Checksum, content_digest
from baobab.blobs.multipart import Form, UploadedFile
from baobab.blobs.ranges import content_disposition, disposition_params, parse_range
from baobab.blobs.spool import Spooled
from baobab.config.declarations import service
from baobab.content import operations
from baobab.content.files import NamedFile, file_from_spool
from baobab.content.ids import validate_id
from baobab.content.interfaces import IResource
from baobab.content.typeinfo import addable_types, check_addable, file_fields, type_info
from baobab.errors import AlreadyExists, BadRequest, Forbidden, NotFound
from baobab.events import ObjectModified
from baobab.location import resource_path
from baobab.request import FileBody, Request, Response, json_response, media_of
from baobab.schema.fields import File
from baobab.security.vocabulary import MODIFY_CONTENT, VIEW
from baobab.serialization.content import file_json
from baobab.serialization.etags import etag_matches
from baobab.services.guards import check_field_writes, check_if_match, require

__all__ = [
    "CREATE_FIELDS",
    "check_create",
    "create_from_upload",
    "create_with_file",
    "download",
    "download_field",
    "file_field",
    "is_file_upload",
    "store_file",
    "type_for",
    "upload_form",
    "upload_raw",
]

# What ?inline may show inline: media a browser displays without running anything in it
# (HTML, SVG, XML and everything else stay attachments).
_INLINE = frozenset(
    {"image/png", "image/jpeg", "image/gif", "image/webp", "image/avif", "application/pdf"}
)
_INLINE_PREFIXES = ("audio/", "video/", "text/plain")
CREATE_FIELDS = ("id", "title", "description")  # what a file upload may say of a new object
_CREATE_PARAMS = ("@type", *CREATE_FIELDS)


def _media(request: Request) -> str:
    return media_of(request.headers.get("content-type"))


def _inline(value: NamedFile) -> bool:
    media = media_of(value.content_type)
    return media in _INLINE or media.startswith(_INLINE_PREFIXES)


def file_field(request: Request, type_name: str, name: str | None) -> tuple[str, File]:
    """The named file field of ``type_name`` (its first one when ``name`` is empty)."""
    fields = file_fields(request.registry, type_name)
    if not name:
        if not fields:
            raise NotFound(f"A {type_name} has no file field")
        name = next(iter(fields))
    field = fields.get(name)
    if field is None:
        raise NotFound(f"A {type_name} has no file field {name!r}")
    return name, field


def _field_from_path(request: Request) -> tuple[str, File]:
    if len(request.subpath) > 1:
        raise NotFound(f"Not found: {'/'.join(request.subpath)}")
    name = request.subpath[0] if request.subpath else None
    return file_field(request, request.context.type_name, name)


def _header_filename(request: Request) -> str | None:
    header = request.headers.get("content-disposition")
    name = disposition_params(header).get("filename") if header else None
    return name or request.query.get("filename")


def _stored(request: Request, obj: Any, name: str, value: NamedFile) -> Response:
    request.notify_object(ObjectModified, obj, changed=(name,))
    url = request.url_for(resource_path(obj)) + f"/@download/{name}"
    return json_response(file_json(value, url), headers={"Location": url})


def store_file(
    request: Request, obj: Any, name: str, field: File, upload: UploadedFile
) -> NamedFile:
    value = file_from_spool(
        upload.spooled,
        filename=upload.filename,
        content_type=upload.content_type,
        conn=request.unit.conn,
        image_field=name if field.image else None,
    )
    operations.set_field(obj, name, value, request.principal.id)
    return value


def _check_upload(request: Request, name: str) -> None:
    context = request.context
    check_field_writes(request, {name: None}, context.type_name, context)
    check_if_match(request, context)


def _digest(request: Request) -> Checksum | None:
    return content_digest(request.headers.get("content-digest"))


@service(
    method="PUT",
    context=IResource,
    name="@upload",
    permission=MODIFY_CONTENT.id,
    allow_subpath=True,
    body="stream",
)
@service(
    method="PATCH",
    context=IResource,
    name="@upload",
    permission=MODIFY_CONTENT.id,
    allow_subpath=True,
    body="stream",
)
def upload_raw(request: Request) -> Response:
    """Replace a file field with the raw body."""
    name, field = _field_from_path(request)
    _check_upload(request, name)
    if _media(request) == "multipart/form-data":
        raise BadRequest("Send a form with POST; PUT and PATCH take the file as the raw body")
    spooled = request.body_file(checksum=_digest(request))
    current = getattr(request.context, name, None)
    filename = _header_filename(request) or (current.filename if current else name)
    upload = UploadedFile(spooled, filename, request.headers.get("content-type", ""))
    return _stored(
        request, request.context, name, store_file(request, request.context, name, field, upload)
    )


def _file_part(form: Form, names: tuple[str, ...]) -> UploadedFile:
    for name in names:
        if name in form.files:
            return form.files[name]
    if len(form.files) == 1:
        return next(iter(form.files.values()))
    wanted = " or ".join(repr(n) for n in dict.fromkeys(names))
    raise BadRequest(
        f"The form has no file part named {wanted}", details={"parts": list(form.files)}
    )


@service(
    method="POST",
    context=IResource,
    name="@upload",
    permission=MODIFY_CONTENT.id,
    allow_subpath=True,
    body="stream",
)
def upload_form(request: Request) -> Response:
    """Replace a file field with the file part of a ``multipart/form-data`` body."""
    name, field = _field_from_path(request)
    _check_upload(request, name)
    form = request.form(checksum=_digest(request))
    if form.fields:
        raise BadRequest(
            "@upload takes one file part; change other fields with PATCH",
            details={"fields": sorted(form.fields)},
        )
    upload = _file_part(form, (name, "file"))
    return _stored(
        request, request.context, name, store_file(request, request.context, name, field, upload)
    )


def _file_types(request: Request) -> list[str]:
    """Types with a file field the principal may add here (File and Image, and add-ons')."""
    return [
        info.name
        for info in addable_types(request.registry, request.context)
        if file_fields(request.registry, info.name)
        and request.security.permits(info.add_permission, request.context)
    ]


def type_for(request: Request, asked: str | None, media: str) -> str:
    """The type to create: asked for (400 unless it has a file field), else Image for an
    image when allowed, else File."""
    if asked:
        type_info(request.registry, asked)  # 400 for an unknown type
        if not file_fields(request.registry, asked):
            raise BadRequest(
                f"A {asked} has no file field to hold the upload", details={"@type": asked}
            )
        return asked
    candidates = _file_types(request)
    if media.startswith("image/") and "Image" in candidates:
        return "Image"
    return "File" if "File" in candidates or not candidates else candidates[0]


def is_file_upload(request: Request) -> bool:
    """A POST whose body is a file: a multipart form, or a raw body named by
    ``Content-Disposition`` (without it, a non-JSON body is a 415 as anywhere else)."""
    if not request.streamed:
        return False
    return _media(request) == "multipart/form-data" or "content-disposition" in request.headers


def check_create(request: Request, type_name: str, name: str, data: dict[str, Any]) -> None:
    """Everything a create of ``type_name`` is refused for that is known before its file:
    the add permission, the folder's allowed types, the fields written (the file field
    included), and an ``id`` that is invalid or taken."""
    info = type_info(request.registry, type_name)
    require(request, info.add_permission, request.context)
    check_addable(request.registry, request.context, info)
    check_field_writes(request, {**data, name: None}, type_name, request.context)
    if data.get("id"):
        id_ = validate_id(data["id"])
        if id_ in request.context:
            raise AlreadyExists(f"{id_!r} already exists here", details={"id": id_})


def create_from_upload(request: Request) -> Any:
    """``POST`` to a folder with a file as the body (raw) or in a form: a new File/Image
    (returned; the caller answers as for any create).

    ``@type``, ``id``, ``title`` and ``description`` come from the query (and, for a form,
    from its text fields); the title defaults to the file name. What the query says is
    checked before the body is read; what the form says, once it is.
    """
    multipart = _media(request) == "multipart/form-data"
    params = {k: v for k in _CREATE_PARAMS if (v := request.query.get(k))}
    media = "" if multipart else _media(request)
    if "@type" in params or not multipart:
        type_name = type_for(request, params.get("@type"), media)
        name, field = file_field(request, type_name, None)
        check_create(request, type_name, name, params)
    elif not _file_types(request):
        raise Forbidden(
            f"{request.principal.id} may not add files here",
            details={"permission": "baobab.AddFile"},
        )
    upload: UploadedFile
    if multipart:
        form = request.form(checksum=_digest(request))
        fields = {**params, **form.fields}
        first = next(iter(form.files.values()), None)
        type_name = type_for(request, fields.get("@type"), first.content_type if first else "")
        name, field = file_field(request, type_name, None)
        check_create(request, type_name, name, fields)
        upload = _file_part(form, (name, "file"))
    else:
        fields = params
        spooled: Spooled = request.body_file(checksum=_digest(request))
        upload = UploadedFile(spooled, _header_filename(request) or name, media)
    return create_with_file(request, {**fields, "@type": type_name}, name, field, upload)


def create_with_file(
    request: Request, data: dict[str, Any], name: str, field: File, upload: UploadedFile
) -> Any:
    """Create the object (its file field written by the server) and store ``upload`` in it;
    the caller checked :func:`check_create` before the bytes were read."""
    if "title" not in data and upload.filename:
        data["title"] = upload.filename
    obj = operations.create(
        request.registry, request.context, data, request.principal.id, files={name: None}
    )
    store_file(request, obj, name, field, upload)
    return obj


def _not_modified(request: Request, value: NamedFile) -> bool:
    inm = request.headers.get("if-none-match")
    if inm is not None:
        return etag_matches(inm, value.etag)
    ims = request.headers.get("if-modified-since")
    if ims is None:
        return False
    try:
        since = parsedate_to_datetime(ims)
    except (TypeError, ValueError):
        return False
    return since.tzinfo is not None and value.modified.replace(microsecond=0) <= since


def _range_applies(request: Request, value: NamedFile, last_modified: str) -> bool:
    """``If-Range``: serve the range only if the file is still the one the client has."""
    if_range = request.headers.get("if-range")
    if if_range is None:
        return True
    if if_range.startswith(('"', "W/")):
        return if_range == value.etag  # strong comparison, as RFC 9110 asks
    return if_range == last_modified


def download(request: Request, obj: Any, name: str, field: File) -> Response:
    """The bytes of file field ``name`` (with the field's read permission): headers here,
    the body sent by the pipeline from the blob file once the database is released."""
    if field.read_permission is not None:
        require(request, field.read_permission, obj)
    value = getattr(obj, name, None)
    if not isinstance(value, NamedFile):
        raise NotFound(f"The field {name!r} holds no file")
    last_modified = format_datetime(value.modified, usegmt=True)
    inline = "inline" in request.query and _inline(value)
    headers = [
        (b"etag", value.etag.encode()),
        (b"last-modified", last_modified.encode()),
        (b"accept-ranges", b"bytes"),
        (b"x-content-type-options", b"nosniff"),
        (b"content-disposition", content_disposition(value.filename, inline=inline).encode()),
    ]
    if _not_modified(request, value):
        return Response(status=304, headers=headers[:2], content_type=None)
    path = value.path()
    status, start, length = 200, 0, value.size
    header = request.headers.get("range") if request.method == "GET" else None  # not HEAD
    applies = header is not None and _range_applies(request, value, last_modified)
    wanted = parse_range(header, value.size) if header and applies else None
    if wanted is not None:
        status, start, length = 206, wanted.start, wanted.length
        headers.append((b"content-range", wanted.content_range.encode()))
    return Response(
        status=status,
        headers=headers,
        content_type=value.content_type.encode("latin-1", "replace"),
        file=FileBody(path, start, length, whole=status == 200),
    )


@service(
    method="GET",
    context=IResource,
    name="@download",
    permission=VIEW.id,
    allow_subpath=True,
    summary="Download a file field",
)
def download_field(request: Request) -> Response:
    name, field = _field_from_path(request)
    return download(request, request.context, name, field)

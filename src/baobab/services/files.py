"""File fields over HTTP: streamed uploads (raw and multipart) and zero-copy downloads.

- ``PUT``/``PATCH …/@upload/{field}``: the raw body is the file (``Content-Type``, the name in
  ``Content-Disposition: attachment; filename*=…`` or ``?filename=``);
- ``POST …/@upload/{field}``: a ``multipart/form-data`` body whose file part is the file;
- ``POST`` to a folder with a file creates a File or Image from it: raw (named by
  ``Content-Disposition``), or multipart with the other fields as form fields;
- ``GET``/``HEAD …/@download/{field}``: the bytes, with ranges and validators.

The upload services declare ``body="stream"`` (creating in a folder, ``"negotiate"``):
permissions are checked before a byte of the body is read (``request.body_file()`` stops the
publish step until the pipeline has streamed the body to disk). ``{field}`` defaults to the
type's first file field. What an upload becomes is :mod:`baobab.content.creation`; who may
make it, :mod:`baobab.security.gate`; how a download is answered,
:mod:`baobab.serialization.downloads`.
"""

from __future__ import annotations

from typing import Any

from baobab.blobs.checksums import Checksum, content_digest
from baobab.blobs.multipart import Form, UploadedFile
from baobab.blobs.ranges import disposition_params
from baobab.blobs.spool import Spooled
from baobab.config.declarations import service
from baobab.content.creation import CREATE_FIELDS, create_with_file, file_field, store_file
from baobab.content.files import NamedFile
from baobab.content.interfaces import IResource
from baobab.errors import BadRequest, Forbidden, NotFound
from baobab.events import ObjectModified
from baobab.location import resource_path
from baobab.request import Request, Response, json_response, media_of
from baobab.schema.fields import File
from baobab.security.gate import check_create, check_field_writes, file_types, upload_type
from baobab.security.vocabulary import MODIFY_CONTENT, VIEW
from baobab.serialization.content import file_json
from baobab.serialization.downloads import download
from baobab.serialization.preconditions import check_if_match
from baobab.services import shapes

__all__ = [
    "create_from_upload",
    "download_field",
    "upload_form",
    "upload_raw",
]

_CREATE_PARAMS = ("@type", *CREATE_FIELDS)


def _media(request: Request) -> str:
    return media_of(request.headers.get("content-type"))


def _field_from_path(request: Request) -> tuple[str, File]:
    if len(request.subpath) > 1:
        raise NotFound(f"Not found: {'/'.join(request.subpath)}")
    name = request.subpath[0] if request.subpath else None
    return file_field(request.registry, request.context.type_name, name)


def _header_filename(request: Request) -> str | None:
    header = request.headers.get("content-disposition")
    name = disposition_params(header).get("filename") if header else None
    return name or request.query.get("filename")


def _store(request: Request, obj: Any, name: str, field: File, upload: UploadedFile) -> NamedFile:
    return store_file(obj, name, field, upload, actor=request.principal.id, conn=request.unit.conn)


def _stored(request: Request, obj: Any, name: str, value: NamedFile) -> Response:
    request.notify_object(ObjectModified, obj, changed=(name,))
    url = request.url_for(resource_path(obj)) + f"/@download/{name}"
    return json_response(file_json(value, url), headers={"Location": url})


def _check_upload(request: Request, name: str) -> None:
    context = request.context
    check_field_writes(request, {name: None}, context.type_name, context)
    check_if_match(request, context)


def _digest(request: Request) -> Checksum | None:
    return content_digest(request.headers.get("content-digest"))


_UPLOAD_PARAMS = (
    shapes.IF_MATCH,
    {"name": "Content-Disposition", "in": "header", "schema": {"type": "string"}},
    {"name": "Content-Digest", "in": "header", "schema": {"type": "string"}},
    {"name": "filename", "in": "query", "schema": {"type": "string"}},
)
_RAW: dict[str, Any] = {
    "summary": "Replace a file field with the raw body",
    "subpaths": ("{field}",),
    "params": _UPLOAD_PARAMS,
    "request": {"*/*": {"type": "string", "format": "binary"}},
    "responses": {200: shapes.FileValue},
    "errors": (412, 415, 422, 460, 507),
}


@service(
    method="PUT",
    context=IResource,
    name="@upload",
    permission=MODIFY_CONTENT.id,
    allow_subpath=True,
    body="stream",
    **_RAW,
)
@service(
    method="PATCH",
    context=IResource,
    name="@upload",
    permission=MODIFY_CONTENT.id,
    allow_subpath=True,
    body="stream",
    **_RAW,
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
        request, request.context, name, _store(request, request.context, name, field, upload)
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
    summary="Replace a file field with the file part of a form",
    subpaths=("{field}",),
    params=_UPLOAD_PARAMS,
    request={"multipart/form-data": {"type": "object", "additionalProperties": True}},
    responses={200: shapes.FileValue},
    errors=(412, 415, 422, 460, 507),
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
        request, request.context, name, _store(request, request.context, name, field, upload)
    )


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
        type_name = upload_type(request, params.get("@type"), media)
        name, field = file_field(request.registry, type_name, None)
        check_create(request, type_name, file_field=name, data=params)
    elif not file_types(request):
        raise Forbidden(
            f"{request.principal.id} may not add files here",
            details={"permission": "baobab.AddFile"},
        )
    upload: UploadedFile
    if multipart:
        form = request.form(checksum=_digest(request))
        fields = {**params, **form.fields}
        first = next(iter(form.files.values()), None)
        type_name = upload_type(request, fields.get("@type"), first.content_type if first else "")
        name, field = file_field(request.registry, type_name, None)
        check_create(request, type_name, file_field=name, data=fields)
        upload = _file_part(form, (name, "file"))
    else:
        fields = params
        spooled: Spooled = request.body_file(checksum=_digest(request))
        upload = UploadedFile(spooled, _header_filename(request) or name, media)
    data = {**fields, "@type": type_name}
    return create_with_file(
        request.registry,
        request.context,
        data,
        name=name,
        field=field,
        upload=upload,
        actor=request.principal.id,
        conn=request.unit.conn,
    )


@service(
    method="GET",
    context=IResource,
    name="@download",
    permission=VIEW.id,
    allow_subpath=True,
    summary="Download a file field",
    subpaths=("{field}",),
    params=(
        shapes.IF_NONE_MATCH,
        shapes.RANGE,
        {"name": "If-Range", "in": "header", "schema": {"type": "string"}},
        {"name": "If-Modified-Since", "in": "header", "schema": {"type": "string"}},
        {"name": "inline", "in": "query", "schema": {"type": "string"}},
    ),
    responses={200: shapes.FILE_BYTES, 206: shapes.FILE_BYTES},
    errors=(416,),
)
def download_field(request: Request) -> Response:
    name, field = _field_from_path(request)
    return download(request, request.context, name, field)

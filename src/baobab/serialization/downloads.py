"""A file field as an HTTP answer: validators, conditional requests, ranges and the file
body the pipeline sends once the database is released (pathsend where offered)."""

from __future__ import annotations

from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

from baobab.blobs.ranges import content_disposition, parse_range
from baobab.content.files import NamedFile
from baobab.errors import NotFound
from baobab.request import FileBody, Request, Response, media_of
from baobab.schema.fields import File
from baobab.serialization.etags import etag_matches

__all__ = ["download"]

# What ?inline may show inline: media a browser displays without running anything in it
# (HTML, SVG, XML and everything else stay attachments).
_INLINE = frozenset(
    {"image/png", "image/jpeg", "image/gif", "image/webp", "image/avif", "application/pdf"}
)
_INLINE_PREFIXES = ("audio/", "video/", "text/plain")


def _inline(value: NamedFile) -> bool:
    media = media_of(value.content_type)
    return media in _INLINE or media.startswith(_INLINE_PREFIXES)


def _not_modified(request: Request, value: NamedFile) -> bool:
    inm = request.headers.get("if-none-match")
    if inm is not None:
        return etag_matches(inm, value.etag)
    ims = request.headers.get("if-modified-since")
    if ims is None:
        return False
    try:
        since = parsedate_to_datetime(ims)
    except (TypeError, ValueError, OverflowError):  # OverflowError: a year of 20 digits
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
        request.require(field.read_permission, obj)
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

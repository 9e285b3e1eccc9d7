"""``multipart/form-data`` bodies streamed to disk: each file part into its own spool file.

python-multipart's push parser is fed the body chunk by chunk as the server hands it over;
file parts are written straight into locked spool files (so committing one is a rename), the
few text fields are kept in memory under ``form_limit``. As with raw bodies, any failure —
malformed or truncated body, disconnect, limit, checksum, full disk — removes every file
spooled so far before the error leaves.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, cast

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from baobab.blobs.checksums import Checksum
from baobab.blobs.ranges import disposition_params, safe_filename
from baobab.blobs.spool import (
    Spooled,
    check_body,
    discarding,
    hashers,
    new_spool_file,
    stream_body,
    too_large,
)
from baobab.errors import BadRequest, PayloadTooLarge
from baobab.types import Receive

__all__ = ["MAX_FILES", "MAX_PARTS", "Form", "UploadedFile", "boundary_of", "spool_form"]

# RFC 2046 §5.1.1: 1 to 70 characters, none of them a space at the end
_MAX_BOUNDARY = 70
_BOUNDARY = re.compile(rb"[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]")
MAX_PARTS = 100  # a create sends a few fields and a file; @upload one file
MAX_FILES = 10


@dataclass
class UploadedFile:
    """One file part: spooled content, the client's file name and media type."""

    spooled: Spooled
    filename: str
    content_type: str


@dataclass
class Form:
    fields: dict[str, str] = field(default_factory=dict)
    files: dict[str, UploadedFile] = field(default_factory=dict)

    def release(self) -> None:
        for upload in self.files.values():
            upload.spooled.release()


def boundary_of(content_type: str) -> bytes | None:
    """The boundary of a ``multipart/form-data`` media type, else None."""
    media, params = parse_options_header(content_type)
    if media != b"multipart/form-data":
        return None
    boundary = params.get(b"boundary")
    if not boundary:
        raise BadRequest("multipart/form-data needs a boundary parameter")
    if not _BOUNDARY.fullmatch(boundary):
        raise BadRequest(
            "The multipart boundary must be 1 to 70 characters of RFC 2046's set "
            "(letters, digits, '()+_,-./:=? and inner spaces)",
            details={"limit": _MAX_BOUNDARY},
        )
    return boundary


def _text(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


class _Collector:
    """The parser's callbacks: route each part's bytes to memory or to a spool file."""

    def __init__(self, directory: Path, form_limit: int) -> None:
        self.directory = directory
        self.form_limit = form_limit
        self.form = Form()
        self.ended = False
        self._field_bytes = 0
        self._parts = 0
        self._header: list[bytes] = []
        self._value: list[bytes] = []
        self._headers: dict[bytes, bytes] = {}
        self._text: bytearray | None = None
        self._out: BinaryIO | None = None
        self._spooled: Spooled | None = None
        self._digest: Any = None
        self._name = ""
        self._filename = ""
        self._open: list[Spooled] = []  # spooled, including a part not finished yet

    def callbacks(self) -> dict[str, Any]:
        return {
            "on_part_begin": self._begin,
            "on_header_field": lambda d, s, e: self._header.append(d[s:e]),
            "on_header_value": lambda d, s, e: self._value.append(d[s:e]),
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._data,
            "on_part_end": self._part_end,
            "on_end": self._end,
        }

    def _begin(self) -> None:
        self._headers = {}

    def _header_end(self) -> None:
        name = b"".join(self._header).strip().lower()
        self._headers[name] = b"".join(self._value).strip()
        self._header, self._value = [], []

    def _headers_finished(self) -> None:
        params = disposition_params(_text(self._headers.get(b"content-disposition", b"")))
        name = params.get("name")
        if name is None:
            raise BadRequest("A multipart part has no name (Content-Disposition: form-data)")
        self._parts += 1
        if self._parts > MAX_PARTS:
            raise BadRequest(f"A form has at most {MAX_PARTS} parts", details={"limit": MAX_PARTS})
        self._count(len(name))  # names are held in memory too
        self._name = name
        if name in self.form.fields or name in self.form.files:
            raise BadRequest(f"The form field {name!r} is sent twice")
        filename = params.get("filename")
        if filename is None:
            self._text = bytearray()
            return
        self._filename = safe_filename(filename)
        if len(self._open) >= MAX_FILES:  # each holds a file descriptor until the request ends
            raise BadRequest(f"A form has at most {MAX_FILES} files", details={"limit": MAX_FILES})
        fd, path = new_spool_file(self.directory)
        self._spooled = Spooled(path, 0, b"", fd=fd)
        self._open.append(self._spooled)
        self._out = os.fdopen(os.dup(fd), "wb")
        self._digest = hashlib.sha256()

    def _data(self, data: bytes, start: int, end: int) -> None:
        chunk = data[start:end]
        if self._out is not None:
            self._out.write(chunk)
            self._digest.update(chunk)
        elif self._text is not None:
            self._count(len(chunk))
            self._text.extend(chunk)

    def _count(self, size: int) -> None:
        self._field_bytes += size
        if self._field_bytes > self.form_limit:
            raise PayloadTooLarge(
                f"The form's text fields exceed {self.form_limit} bytes",
                details={"limit": self.form_limit},
            )

    def _part_end(self) -> None:
        if self._out is not None and self._spooled is not None:
            self._out.close()
            self._out = None
            self._spooled.size = os.stat(self._spooled.path).st_size
            self._spooled.sha256 = self._digest.digest()
            media = _text(self._headers.get(b"content-type", b"application/octet-stream"))
            self.form.files[self._name] = UploadedFile(self._spooled, self._filename, media)
            self._spooled = None
        elif self._text is not None:
            self.form.fields[self._name] = _text(bytes(self._text))
            self._text = None

    def _end(self) -> None:
        self.ended = True

    def discard(self) -> None:
        if self._out is not None:
            self._out.close()
        for spooled in self._open:
            spooled.release()


async def spool_form(
    receive: Receive,
    directory: Path,
    *,
    boundary: bytes,
    limit: int,
    form_limit: int,
    declared: int | None = None,
    checksum: Checksum | None = None,
) -> Form:
    """Stream a ``multipart/form-data`` body: files to spool files, text fields to memory.

    Limits and checks as for :func:`baobab.blobs.spool.spool_body`; ``checksum`` is the whole
    body's (``Content-Digest``), each file's own SHA-256 is on its :class:`Spooled`.
    """
    if declared is not None and declared > limit:
        raise too_large(limit, declared)
    collector = _Collector(directory, form_limit)
    parser = MultipartParser(boundary, cast(Any, collector.callbacks()))
    # the whole body is hashed only to check a Content-Digest (each file part has its own)
    digests = hashers(checksum, None)
    with discarding(collector.discard):
        try:
            size = await stream_body(receive, parser.write, limit, digests)
        except MultipartParseError as exc:
            raise BadRequest(f"The multipart body is malformed: {exc}") from None
        if not collector.ended:
            raise BadRequest("The multipart body ends before its closing boundary")
        check_body(size, declared, checksum, digests[-1] if digests else None)
    return collector.form

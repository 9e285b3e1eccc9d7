"""The stored value of a file field: a ZODB blob and what is known about it.

A :class:`NamedFile` is persistent and immutable once committed: an upload always makes a new
one around a new :class:`ZODB.blob.Blob`, so a copy of an object may share its blobs (copying
a gigabyte would be a gigabyte written for nothing) and a reader holding the old file's path
keeps reading the old bytes. Committed blob files live in the storage's blob directory; the
spool file of an upload becomes one by ``Blob.consumeFile`` — a rename.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import mimetypes
import os
import re
import shutil
import uuid
from pathlib import Path
from typing import Any, BinaryIO

from persistent import Persistent
from ZODB.blob import Blob

from baobab.blobs.ranges import safe_filename
from baobab.blobs.spool import SPOOL_SUFFIX, Spooled
from baobab.errors import ValidationError

__all__ = ["NamedFile", "blob_from_spool", "file_from_bytes", "file_from_spool", "media_type"]

_TOKEN = r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}"
_MEDIA = re.compile(rf"{_TOKEN}/{_TOKEN}", re.ASCII)
_CHARSET = re.compile(r"""\s*charset\s*=\s*"?([A-Za-z0-9_.:-]{1,40})"?\s*""", re.ASCII | re.I)
_GENERIC = frozenset({"", "application/octet-stream", "binary/octet-stream"})


def media_type(declared: str | None, filename: str) -> str:
    """The media type to store, lower-case: the client's if well-formed and specific, else
    guessed from the file name, else ``application/octet-stream``. Of its parameters only a
    well-formed ``charset`` is kept: the value goes back out as a header."""
    base, _, params = (declared or "").partition(";")
    base = base.strip().lower()
    if base in _GENERIC or not _MEDIA.fullmatch(base):
        guessed, _ = mimetypes.guess_type(filename, strict=False)
        return guessed or "application/octet-stream"
    for param in params.split(";"):
        charset = _CHARSET.fullmatch(param)
        if charset:
            return f"{base}; charset={charset.group(1).lower()}"
    return base


def _image_size(source: Path | BinaryIO) -> tuple[int, int] | None:
    """Width and height from the image's header (Pillow reads no pixels), or None."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(source) as image:
            return int(image.width), int(image.height)
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        return None


class NamedFile(Persistent):
    """A file field's value (an image's too: then ``width`` and ``height`` are set)."""

    def __init__(
        self, blob: Blob, *, filename: str, content_type: str, size: int, sha256: str
    ) -> None:
        self.blob = blob
        self.filename = filename
        self.content_type = content_type
        self.size = size
        self.sha256 = sha256
        self.modified = dt.datetime.now(dt.UTC)
        self.width: int | None = None  # an image's, else None
        self.height: int | None = None

    @property
    def etag(self) -> str:
        """A strong validator: the content's SHA-256."""
        return f'"{self.sha256[:40]}"'

    def path(self) -> str:
        """The committed blob file (fetched into the local blob cache on RelStorage)."""
        return str(self.blob.committed())

    def __deepcopy__(self, memo: dict[int, Any]) -> NamedFile:
        # a copied object shares the immutable blob: no bytes are copied
        clone = NamedFile(
            self.blob,
            filename=self.filename,
            content_type=self.content_type,
            size=self.size,
            sha256=self.sha256,
        )
        clone.modified = self.modified
        clone.width, clone.height = self.width, self.height
        return clone


def _measure(source: Path | BinaryIO, image_field: str | None) -> tuple[int | None, int | None]:
    """An image's width and height (a file Pillow cannot read is refused: 422); for a file
    that is not an image field, ``(None, None)``."""
    if image_field is None:
        return None, None
    size = _image_size(source)
    if size is None:
        raise ValidationError(
            f"Invalid data for: {image_field}",
            details=[{"field": image_field, "message": "is not an image in a known format"}],
        )
    return size


def file_from_spool(
    spooled: Spooled,
    *,
    filename: str,
    content_type: str | None,
    conn: Any,
    image_field: str | None = None,
) -> NamedFile:
    """A new value holding ``spooled``'s bytes, moved (renamed) into a new blob.

    The blob is added to ``conn`` first, so its uncommitted file is made in the storage's
    temporary directory, on the same file system as the spool: ``consumeFile`` is a rename
    (of a hard link to the spool file, see :func:`_link`).
    ``image_field`` names the field when it holds an image (its size is read, or 422).
    """
    name = safe_filename(filename) or "file"
    size = _measure(spooled.path, image_field)  # before a blob exists: a refusal leaves none
    value = NamedFile(
        blob_from_spool(spooled, conn),
        filename=name,
        content_type=media_type(content_type, name),
        size=spooled.size,
        sha256=spooled.sha256.hex(),
    )
    value.width, value.height = size
    return value


def blob_from_spool(spooled: Spooled, conn: Any) -> Blob:
    """A new blob in ``conn`` holding the spool file's bytes, by rename of a hard link."""
    blob = Blob()
    conn.add(blob)
    blob.consumeFile(str(_link(spooled.path)))
    return blob


def _link(path: Path) -> Path:
    """A second name for the spool file, for the blob to consume. The spool file itself stays
    until its request ends, so a transaction replayed after a conflict consumes it again (a
    hard link: no bytes copied); where links are not possible, a copy."""
    target = path.with_name(f"{path.stem}-{uuid.uuid4().hex[:8]}{SPOOL_SUFFIX}")
    try:
        os.link(path, target)
    except OSError:
        shutil.copyfile(path, target)
    return target


def file_from_bytes(
    data: bytes,
    *,
    filename: str,
    content_type: str | None,
    image_field: str | None = None,
    conn: Any = None,
) -> NamedFile:
    """A new value from bytes already in memory (a JSON upload, at most the body limit);
    with ``conn``, written in its storage's temporary directory (committed by a rename)."""
    name = safe_filename(filename) or "file"
    blob = Blob()
    value = NamedFile(
        blob,
        filename=name,
        content_type=media_type(content_type, name),
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
    )
    value.width, value.height = _measure(io.BytesIO(data), image_field)
    if conn is not None:
        conn.add(blob)
    with blob.open("w") as out:
        out.write(data)
    return value

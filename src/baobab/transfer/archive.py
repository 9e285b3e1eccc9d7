"""The archive of ``baobab export``: a tar stream of JSON records and blob files.

A tar file is read and written strictly in order (tarfile's stream modes ``w|``/``r|``, gzip
when the file name ends in ``.gz`` or ``.tgz``), so neither side ever seeks, holds more than
one member, or needs the archive on a disk that can seek (a pipe works). The members, in this
order (the reader refuses any other):

1. ``manifest.json``: format, version, Baobab's version, the source, the expected counts;
2. ``content/000000000.json``: the container's record (its user folder hangs on it);
3. ``principals/groups/<id>.json`` then ``principals/users/<id>.json``;
4. ``content/<seq>.json`` for every other object, parents before children, each followed
   by its blobs, ``blobs/<seq>/<field>`` (the bytes; their metadata is in the record);
5. ``end.json``: the counts actually written. An archive without it is truncated.

The record format is in docs/export.md.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
import tarfile
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

import orjson

from baobab.errors import ArchiveError

__all__ = [
    "CHUNK",
    "FORMAT",
    "VERSION",
    "ArchiveReader",
    "ArchiveWriter",
    "Member",
    "blob_member",
    "check_manifest",
    "content_member",
    "copy_blob",
    "manifest",
]

FORMAT = "baobab-export"
VERSION = 1
CHUNK = 1 << 20  # bytes copied at a time between a blob and the archive
MANIFEST = "manifest.json"
END = "end.json"
MAX_RECORD = 256 << 20  # a JSON record larger than this is not one Baobab wrote

_CONTENT = re.compile(r"^content/(\d{9})\.json$")
_BLOB = re.compile(r"^blobs/(\d{9})/([A-Za-z_][A-Za-z0-9_]*)$")
_PRINCIPAL = re.compile(r"^principals/(groups|users)/([A-Za-z0-9][A-Za-z0-9._@+-]{0,99})\.json$")


def content_member(seq: int) -> str:
    return f"content/{seq:09d}.json"


def blob_member(seq: int, field: str) -> str:
    return f"blobs/{seq:09d}/{field}"


def _compression(name: str) -> str:
    return "gz" if name.endswith((".gz", ".tgz")) else ""


def _forget(tar: tarfile.TarFile) -> None:
    """Drop the headers tarfile keeps of every member read or written (for random access,
    which a stream has not): else memory grows with the number of members, 100,000 and
    more. ``members`` is tarfile's own list, which its stream modes only ever append to."""
    tar.members.clear()  # type: ignore[attr-defined]  # an attribute typeshed leaves out


class ArchiveWriter:
    """Writes members in order to ``fileobj`` (compressed when ``name`` says so)."""

    def __init__(self, fileobj: IO[bytes], name: str) -> None:
        if _compression(name):
            self._tar = tarfile.open(fileobj=fileobj, mode="w|gz")  # noqa: SIM115 (close())
        else:
            self._tar = tarfile.open(fileobj=fileobj, mode="w|")  # noqa: SIM115 (close())
        self._mtime = time.time()

    def json(self, name: str, value: Any) -> None:
        data = orjson.dumps(value)
        info = tarfile.TarInfo(name)
        info.size, info.mtime, info.mode = len(data), self._mtime, 0o644
        self._tar.addfile(info, io.BytesIO(data))
        _forget(self._tar)

    def stream(self, name: str, source: IO[bytes], size: int) -> None:
        """Copy ``size`` bytes of ``source`` in as ``name`` (tarfile copies in chunks)."""
        info = tarfile.TarInfo(name)
        info.size, info.mtime, info.mode = size, self._mtime, 0o644
        self._tar.addfile(info, source)
        _forget(self._tar)

    def close(self) -> None:
        self._tar.close()


@dataclass
class Member:
    """One member as the reader hands it over: a record (``data``) or a blob (``file``, to
    be read before asking for the next member)."""

    name: str
    kind: str  # manifest, content, group, user, blob, end
    seq: int = -1  # content and blob: the object's number
    key: str = ""  # blob: the field; group, user: the id
    data: Any = None
    file: IO[bytes] | None = None
    size: int = 0


def _classify(name: str) -> tuple[str, int, str]:
    if name == MANIFEST:
        return "manifest", -1, ""
    if name == END:
        return "end", -1, ""
    if found := _CONTENT.match(name):
        return "content", int(found[1]), ""
    if found := _BLOB.match(name):
        return "blob", int(found[1]), found[2]
    if found := _PRINCIPAL.match(name):
        return found[1][:-1], -1, found[2]
    raise ArchiveError(f"unexpected member {name!r} in the archive")


class ArchiveReader:
    """Reads the members of an archive in order; every tar or gzip fault, and a record that
    is not JSON, becomes an :class:`ArchiveError` naming what is wrong."""

    def __init__(self, fileobj: IO[bytes]) -> None:
        try:
            self._tar = tarfile.open(fileobj=fileobj, mode="r|*")  # noqa: SIM115 (close())
        except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
            raise ArchiveError(f"not a Baobab export archive (not a tar file: {exc})") from None

    def members(self) -> Iterator[Member]:
        try:
            while (info := self._tar.next()) is not None:
                _forget(self._tar)
                yield self._member(info)
        except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
            raise ArchiveError(f"the archive is truncated or damaged: {exc}") from None

    def _member(self, info: tarfile.TarInfo) -> Member:
        if not info.isfile():
            raise ArchiveError(f"unexpected member {info.name!r} in the archive (not a file)")
        kind, seq, key = _classify(info.name)
        source = self._tar.extractfile(info)
        assert source is not None  # a regular file
        if kind == "blob":
            return Member(info.name, kind, seq, key, file=source, size=info.size)
        if info.size > MAX_RECORD:
            raise ArchiveError(f"{info.name}: a record of {info.size} bytes is too large")
        raw = source.read()
        if len(raw) != info.size:
            raise ArchiveError(f"the archive is truncated in {info.name}")
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise ArchiveError(f"{info.name} is not valid JSON: {exc}") from None
        if not isinstance(data, dict):
            raise ArchiveError(f"{info.name} is not a JSON object")
        return Member(info.name, kind, seq, key, data=data)

    def close(self) -> None:
        self._tar.close()


def copy_blob(source: IO[bytes], target: IO[bytes], size: int, name: str) -> tuple[int, str]:
    """Copy a blob member in chunks; (bytes copied, their SHA-256)."""
    digest = hashlib.sha256()
    copied = 0
    try:
        while chunk := source.read(CHUNK):
            digest.update(chunk)
            target.write(chunk)
            copied += len(chunk)
    except (tarfile.TarError, EOFError, zlib.error) as exc:
        raise ArchiveError(f"the archive is truncated or damaged in {name}: {exc}") from None
    if copied != size:
        raise ArchiveError(f"the archive is truncated in {name}")
    return copied, digest.hexdigest()


def manifest(
    *, database: str, container: str, path: str, storage: str, counts: dict[str, int]
) -> dict[str, Any]:
    from baobab import __version__

    return {
        "format": FORMAT,
        "version": VERSION,
        "baobab": __version__,
        "created": dt.datetime.now(dt.UTC).isoformat(),
        "source": {"database": database, "container": container, "path": path, "storage": storage},
        "counts": counts,
    }


def check_manifest(member: Member) -> dict[str, Any]:
    if member.kind != "manifest":
        raise ArchiveError(f"not a Baobab export archive: it starts with {member.name!r}")
    data: dict[str, Any] = member.data
    if data.get("format") != FORMAT:
        raise ArchiveError(f"not a Baobab export archive (format {data.get('format')!r})")
    if data.get("version") != VERSION:
        raise ArchiveError(
            f"archive format version {data.get('version')!r} is not supported (this Baobab "
            f"reads version {VERSION})"
        )
    return data

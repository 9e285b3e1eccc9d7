"""HTTP byte ranges (RFC 9110 §14) and Content-Disposition filenames (RFC 6266, RFC 8187).

Written by hand: each is a few dozen lines, and the libraries that offer them (Werkzeug,
Starlette's FileResponse) come with a framework around them.

One range per request is served. A request for several ranges gets the whole file (200), which
RFC 9110 allows ("a server MAY ignore the Range header field") and spares multipart/byteranges,
which browsers and download managers do not need. A Range header that does not parse is
ignored the same way, as the RFC asks; a well-formed range that starts past the end is a 416.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.message import Message
from email.utils import collapse_rfc2231_value
from urllib.parse import quote

from baobab.errors import RangeNotSatisfiable

__all__ = [
    "ByteRange",
    "content_disposition",
    "disposition_params",
    "parse_range",
    "safe_filename",
]


@dataclass(frozen=True)
class ByteRange:
    """Bytes ``start`` to ``end`` inclusive of a representation of ``size`` bytes."""

    start: int
    end: int
    size: int

    @property
    def length(self) -> int:
        return self.end - self.start + 1

    @property
    def content_range(self) -> str:
        return f"bytes {self.start}-{self.end}/{self.size}"


def _bounds(spec: str, size: int) -> tuple[int, int] | None:
    """(start, end) of one ``first-last`` / ``first-`` / ``-suffix`` spec; None if malformed."""
    first, dash, last = spec.strip().partition("-")
    if not dash or not (first.isdigit() or (not first and last.isdigit())):
        return None
    if last and not last.isdigit():
        return None
    if not first:  # the last N bytes
        suffix = int(last)
        if suffix == 0:
            raise RangeNotSatisfiable(size=size)
        return max(0, size - suffix), size - 1
    start = int(first)
    if last and int(last) < start:
        return None
    end = min(int(last), size - 1) if last else size - 1
    return start, end


def parse_range(header: str | None, size: int) -> ByteRange | None:
    """The range to send for ``Range: header``, or None to send everything (200).

    Raises :class:`RangeNotSatisfiable` (416) when the one range asked for lies wholly past
    the end (or the file is empty).
    """
    if not header:
        return None
    unit, eq, specs = header.partition("=")
    if not eq or unit.strip().lower() != "bytes" or "," in specs:
        return None
    bounds = _bounds(specs, size)
    if bounds is None:
        return None
    start, end = bounds
    if size == 0 or start >= size:
        raise RangeNotSatisfiable(size=size)
    return ByteRange(start, end, size)


def _ascii_fallback(filename: str) -> str:
    kept = []
    for char in filename:
        if char in '"\\/' or not (0x20 <= ord(char) < 0x7F):
            kept.append("_")
        else:
            kept.append(char)
    return "".join(kept).strip() or "download"


def content_disposition(filename: str, *, inline: bool = False) -> str:
    """``attachment; filename="…"; filename*=UTF-8''…`` for any Unicode ``filename``.

    Old clients read the ASCII ``filename`` (non-ASCII, quotes, slashes and control characters
    become ``_``); RFC 6266 clients read ``filename*``, the exact name percent-encoded.
    """
    base = safe_filename(filename) or "download"  # never a path
    kind = "inline" if inline else "attachment"
    value = f'{kind}; filename="{_ascii_fallback(base)}"'
    if _ascii_fallback(base) != base:
        value += f"; filename*=UTF-8''{quote(base, safe='')}"
    return value


def safe_filename(filename: str) -> str:
    """The last path segment of a client's file name, without control characters."""
    base = filename.replace("\\", "/").rsplit("/", 1)[-1]
    return "".join(ch for ch in base if ord(ch) >= 0x20 and ord(ch) != 0x7F).strip()


def disposition_params(header: str) -> dict[str, str]:
    """The parameters of a Content-Disposition header (``name``, ``filename``…), lower-case
    keys; an RFC 8187 ``filename*`` wins over ``filename`` as RFC 6266 asks. The stdlib's
    MIME parser does the quoting and RFC 2231/8187 decoding."""
    message = Message()
    message["content-disposition"] = header
    out: dict[str, str] = {}
    extended: set[str] = set()
    for raw_key, value in (message.get_params(header="content-disposition") or [])[1:]:
        key = raw_key.lower()
        if isinstance(value, tuple):
            out[key] = collapse_rfc2231_value(value)
            extended.add(key)
        elif key not in extended:
            out[key] = value
    return out

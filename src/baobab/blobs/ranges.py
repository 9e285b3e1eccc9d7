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
from urllib.parse import quote

from baobab.errors import BadRequest, RangeNotSatisfiable
from baobab.inputs import MAX_DIGITS, decimal, is_decimal

__all__ = [
    "ByteRange",
    "content_disposition",
    "disposition_params",
    "parse_range",
    "safe_filename",
]

_PAST_ANY_END: int = 10**MAX_DIGITS  # a position of more digits than a file size has


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


def _position(raw: str) -> int | None:
    """A byte position (``1*DIGIT``), None if malformed; one of more digits than any size
    has is past every end (so it parses, and a first byte there is a 416)."""
    if len(raw) > MAX_DIGITS and is_decimal(raw):
        return _PAST_ANY_END
    return decimal(raw)


def _bounds(spec: str, size: int) -> tuple[int, int] | None:
    """(start, end) of one ``first-last`` / ``first-`` / ``-suffix`` spec; None if malformed."""
    first_raw, dash, last_raw = spec.strip().partition("-")
    if not dash:
        return None
    first = _position(first_raw) if first_raw else None
    last = _position(last_raw) if last_raw else None
    if (first_raw and first is None) or (last_raw and last is None) or (first is last is None):
        return None
    if first is None:  # the last N bytes
        assert last is not None
        if last == 0:
            raise RangeNotSatisfiable(size=size)
        return max(0, size - last), size - 1
    if last is not None and last < first:
        return None
    end = min(last, size - 1) if last is not None else size - 1
    return first, end


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


_CHARSETS = {"utf-8": "utf-8", "": "utf-8", "iso-8859-1": "latin-1", "us-ascii": "ascii"}


def _extended(name: str, charset: str | None, text: str) -> str:
    """An RFC 8187 value (``filename*=UTF-8''caf%C3%A9``), its bytes decoded strictly.

    RFC 8187 asks for UTF-8 and allows ISO-8859-1; the stdlib would decode with any codec
    Python knows (``utf-7`` or ``unicode_escape`` make lone surrogates, which no JSON encoder
    takes; ``idna`` raises), so anything else is a 400."""
    codec = _CHARSETS.get((charset or "").lower())
    if codec is None:
        raise BadRequest(
            f"Content-Disposition {name}*: use the UTF-8 charset (RFC 8187), not {charset!r}",
            details={"parameter": f"{name}*"},
        )
    try:
        # the stdlib left each percent-decoded byte as one character (see collapse_rfc2231_value)
        return text.encode("raw-unicode-escape").decode(codec)
    except UnicodeError:
        raise BadRequest(
            f"Content-Disposition {name}*: the value is not valid {codec}",
            details={"parameter": f"{name}*"},
        ) from None


def disposition_params(header: str) -> dict[str, str]:
    """The parameters of a Content-Disposition header (``name``, ``filename``…), lower-case
    keys; an RFC 8187 ``filename*`` wins over ``filename`` as RFC 6266 asks. The stdlib's
    MIME parser does the quoting and RFC 2231/8187 splitting; 400 for an extended value in a
    charset other than UTF-8 or ISO-8859-1, or whose bytes do not decode in it."""
    message = Message()
    message["content-disposition"] = header
    out: dict[str, str] = {}
    extended: set[str] = set()
    for raw_key, value in (message.get_params(header="content-disposition") or [])[1:]:
        key = raw_key.lower()
        if isinstance(value, tuple):
            charset, _, text = value
            out[key] = _extended(key, charset, text)
            extended.add(key)
        elif key not in extended:
            out[key] = value
    return out

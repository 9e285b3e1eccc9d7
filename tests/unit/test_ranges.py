"""Byte ranges (RFC 9110 §14) and Content-Disposition filenames (RFC 6266)."""

from __future__ import annotations

from urllib.parse import unquote

import pytest

from baobab.asgi.errors import error_response
from baobab.blobs import ByteRange, content_disposition, parse_range
from baobab.errors import RangeNotSatisfiable

SIZE = 1000


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("bytes=0-99", (0, 99)),
        ("bytes=100-", (100, 999)),
        ("bytes=-100", (900, 999)),
        ("bytes=-5000", (0, 999)),  # a suffix longer than the file is the whole file
        ("bytes=990-5000", (990, 999)),  # an end past the file is clipped
        ("bytes=999-999", (999, 999)),
        ("BYTES = 5-9", (5, 9)),
        ("bytes=-" + "9" * 5000, (0, 999)),  # 5,000 digits: longer than any file
        ("bytes=10-" + "9" * 5000, (10, 999)),
    ],
)
def test_satisfiable_ranges(header: str, expected: tuple[int, int]) -> None:
    found = parse_range(header, SIZE)
    assert found == ByteRange(*expected, SIZE)
    assert found.length == expected[1] - expected[0] + 1
    assert found.content_range == f"bytes {expected[0]}-{expected[1]}/{SIZE}"


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "bytes=0-9,20-29",  # several ranges: the whole file
        "items=0-9",  # another unit
        "bytes=9-0",  # last before first: invalid, ignored
        "bytes=a-b",
        "bytes=-",
        "bytes=1-2-3",
        "bytes 0-9",
        # what isdigit() or int() accept and HTTP does not (1*DIGIT, ASCII)
        "bytes=\u00b2-",  # '²'
        "bytes=\u0661\u0662\u0663-",  # Arabic-Indic digits
        "bytes=0-\u0661",
        "bytes=-\u00b2",
        "bytes=+5-9",
        "bytes=1_0-20",
        "bytes=0x1-2",
    ],
)
def test_ignored_range_headers_send_everything(header: str | None) -> None:
    assert parse_range(header, SIZE) is None


@pytest.mark.parametrize(
    ("header", "size"),
    [("bytes=1000-", 1000), ("bytes=-0", 1000), ("bytes=0-", 0), ("bytes=" + "9" * 5000 + "-", 10)],
)
def test_unsatisfiable_is_416_with_the_size(header: str, size: int) -> None:
    with pytest.raises(RangeNotSatisfiable) as info:
        parse_range(header, size)
    response = error_response(info.value)
    assert response.status == 416
    assert (b"content-range", f"bytes */{size}".encode()) in response.headers
    assert b'"type":"RangeNotSatisfiable"' in response.body


def test_ascii_filename() -> None:
    assert content_disposition("report.pdf") == 'attachment; filename="report.pdf"'
    assert content_disposition("report.pdf", inline=True) == 'inline; filename="report.pdf"'


def test_utf8_filename_has_a_fallback_and_the_exact_name() -> None:
    value = content_disposition("Übersicht 2026 – café.pdf")
    kind, fallback, exact = value.split("; ")
    assert kind == "attachment"
    assert fallback == 'filename="_bersicht 2026 _ caf_.pdf"'
    assert exact.startswith("filename*=UTF-8''")
    assert unquote(exact.removeprefix("filename*=UTF-8''")) == "Übersicht 2026 – café.pdf"


@pytest.mark.parametrize(
    ("name", "fallback"),
    [
        ('say "hi".txt', "say _hi_.txt"),
        ("../../etc/passwd", "passwd"),
        ("C:\\\\temp\\\\a.txt", "a.txt"),
        ("line\r\nbreak.txt", "linebreak.txt"),
        ("", "download"),
    ],
)
def test_hostile_filenames_are_neutralised(name: str, fallback: str) -> None:
    value = content_disposition(name)
    assert f'filename="{fallback}"' in value
    assert "\r" not in value and "\n" not in value

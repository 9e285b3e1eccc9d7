"""Multipart streaming, checksum headers and TUS metadata: the parsers uploads rely on."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from baobab.blobs import SPOOL_SUFFIX
from baobab.blobs.checksums import Checksum, content_digest, upload_checksum
from baobab.blobs.multipart import boundary_of, spool_form
from baobab.blobs.ranges import disposition_params
from baobab.blobs.tus import join_files, parse_metadata
from baobab.errors import BadRequest, ChecksumMismatch, IncompleteBody, PayloadTooLarge

FILE = bytes(range(256)) * 400  # 100 KiB, every byte value, boundary-like runs included


def body(*parts: bytes, end: bool = True) -> bytes:
    out = b"".join(b"--XyZ\r\n" + part + b"\r\n" for part in parts)
    return out + (b"--XyZ--\r\n" if end else b"")


def file_part(name: str = "file", filename: str = "a.bin", data: bytes = FILE) -> bytes:
    head = f'Content-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
    return head.encode() + b"Content-Type: application/x-test\r\n\r\n" + data


def text_part(name: str, value: str) -> bytes:
    return f'Content-Disposition: form-data; name="{name}"\r\n\r\n{value}'.encode()


def receiver(
    data: bytes, chunk: int = 1000, disconnect: bool = False
) -> Callable[[], Awaitable[dict[str, Any]]]:
    messages: list[dict[str, Any]] = [
        {"type": "http.request", "body": data[i : i + chunk], "more_body": True}
        for i in range(0, len(data), chunk)
    ]
    if disconnect:
        messages.append({"type": "http.disconnect"})
    else:
        messages.append({"type": "http.request", "body": b"", "more_body": False})

    async def receive() -> dict[str, Any]:
        return messages.pop(0)

    return receive


def spooled(directory: Path) -> list[Path]:
    return sorted(directory.glob(f"*{SPOOL_SUFFIX}"))


async def form_of(data: bytes, directory: Path, **kw: Any) -> Any:
    options: dict[str, Any] = {"limit": 1 << 20, "form_limit": 1000, **kw}
    return await spool_form(receiver(data), directory, boundary=b"XyZ", **options)


async def test_form_files_go_to_disk_fields_to_memory(tmp_path: Path) -> None:
    data = body(text_part("title", "Été"), file_part(filename="C:\\docs\\ré.bin"))
    form = await form_of(data, tmp_path)
    assert form.fields == {"title": "Été"}
    upload = form.files["file"]
    assert upload.filename == "ré.bin"  # the client's path is dropped
    assert upload.content_type == "application/x-test"
    assert upload.spooled.path.read_bytes() == FILE
    assert upload.spooled.sha256 == hashlib.sha256(FILE).digest()
    form.release()
    assert spooled(tmp_path) == []


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (body(file_part(), end=False), BadRequest),  # truncated: no closing boundary
        (body(file_part(), file_part()), BadRequest),  # the same name twice
        (body(b"Content-Type: text/plain\r\n\r\nno name"), BadRequest),
        (body(text_part("t", "x" * 2000)), PayloadTooLarge),  # text fields over form_limit
    ],
)
async def test_bad_forms_leave_nothing(tmp_path: Path, data: bytes, error: type) -> None:
    with pytest.raises(error):
        await form_of(data, tmp_path)
    assert spooled(tmp_path) == []


async def test_form_limits_checksum_and_disconnect(tmp_path: Path) -> None:
    data = body(file_part())
    with pytest.raises(PayloadTooLarge):
        await form_of(data, tmp_path, limit=len(data) - 1)
    with pytest.raises(PayloadTooLarge):
        await form_of(data, tmp_path, limit=10, declared=len(data))
    with pytest.raises(ChecksumMismatch):
        await form_of(
            data, tmp_path, checksum=Checksum("sha256", hashlib.sha256(b"other").digest())
        )
    with pytest.raises(IncompleteBody):
        await spool_form(
            receiver(data[:5000], disconnect=True),
            tmp_path,
            boundary=b"XyZ",
            limit=1 << 20,
            form_limit=1000,
        )
    assert spooled(tmp_path) == []
    form = await form_of(data, tmp_path, checksum=Checksum("sha512", hashlib.sha512(data).digest()))
    assert form.files["file"].spooled.size == len(FILE)
    form.release()


def test_boundary_of() -> None:
    assert boundary_of('multipart/form-data; boundary="a b"') == b"a b"
    assert boundary_of("application/json") is None
    with pytest.raises(BadRequest):
        boundary_of("multipart/form-data")
    assert boundary_of("multipart/form-data; boundary=" + "b" * 70) == b"b" * 70


@pytest.mark.parametrize(
    "boundary",
    ["b" * 71, "b" * 300, '"ends with a space "', '"semi;colon"', '"\u00e9t\u00e9"'],
)
def test_boundaries_outside_rfc_2046_are_400(boundary: str) -> None:
    with pytest.raises(BadRequest, match="multipart boundary"):
        boundary_of(f"multipart/form-data; boundary={boundary}")


@pytest.mark.parametrize(
    "header",
    [
        "attachment; filename*=utf-7''%2B2AA-",  # decodes to a lone surrogate
        "attachment; filename*=unicode_escape''%5Cud800",
        "attachment; filename*=idna''abc",  # the codec itself raises
        "attachment; filename*=utf-16''%00a",
        "attachment; filename*=UTF-8''%ff",  # not UTF-8
        "attachment; filename*=UTF-8''%ED%A0%80",  # an encoded surrogate
    ],
)
def test_extended_names_in_other_charsets_or_undecodable_are_400(header: str) -> None:
    with pytest.raises(BadRequest, match="filename\\*"):
        disposition_params(header)


def test_extended_names_in_latin_1_and_continuations() -> None:
    assert disposition_params("attachment; filename*=ISO-8859-1''caf%E9") == {"filename": "café"}
    continued = "form-data; name=a; filename*0*=UTF-8''caf; filename*1*=%C3%A9"
    assert disposition_params(continued) == {"name": "a", "filename": "café"}


def test_disposition_params_prefer_the_extended_name() -> None:
    both = "attachment; filename=\"plain.txt\"; filename*=UTF-8''%E2%82%AC%20rates.txt"
    assert disposition_params(both) == {"filename": "€ rates.txt"}
    assert disposition_params('form-data; name="f"; filename="a;b.txt"') == {
        "name": "f",
        "filename": "a;b.txt",
    }
    assert disposition_params("attachment") == {}


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_content_digest() -> None:
    digest = hashlib.sha256(b"abc").digest()
    sha512 = hashlib.sha512(b"abc").digest()
    both = f"sha-512=:{b64(sha512)}:, sha-256=:{b64(digest)}:"
    assert content_digest(both) == Checksum("sha256", digest)  # SHA-256 preferred
    assert content_digest(f"sha-512=:{b64(sha512)}:") == Checksum("sha512", sha512)
    assert content_digest("md5=:AAAA:") is None  # only unknown algorithms: ignored
    assert content_digest(None) is None
    for bad in (f"sha-256={b64(digest)}", "sha-256=:!!:", f"sha-256=:{b64(b'short')}:"):
        with pytest.raises(BadRequest):
            content_digest(bad)


def test_upload_checksum() -> None:
    sha1 = hashlib.sha1(b"abc").digest()
    assert upload_checksum(f"sha1 {b64(sha1)}") == Checksum("sha1", sha1)  # tuspy's default
    digest = hashlib.sha256(b"abc").digest()
    assert upload_checksum(f"sha256 {b64(digest)}") == Checksum("sha256", digest)
    with pytest.raises(BadRequest) as info:
        upload_checksum(f"md5 {b64(b'x' * 16)}")
    assert info.value.details == {"supported": ["sha1", "sha256", "sha512"]}
    with pytest.raises(BadRequest):
        upload_checksum(f"sha1 {b64(digest)}")  # 32 bytes is not a SHA-1


def test_tus_metadata() -> None:
    header = f"filename {b64('ré.bin'.encode())},is_confidential,filetype {b64(b'text/plain')}"
    assert parse_metadata(header) == {
        "filename": "ré.bin",
        "is_confidential": "",
        "filetype": "text/plain",
    }
    assert parse_metadata(None) == {}
    for bad in ("filename !!!", f"a {b64(b'x')},a {b64(b'y')}", "a b c"):
        with pytest.raises(BadRequest):
            parse_metadata(bad)


def test_join_files(tmp_path: Path) -> None:
    parts = []
    for i, data in enumerate((b"abc", b"", b"defg")):
        part = tmp_path / f"part{i}"
        part.write_bytes(data)
        parts.append(str(part))
    joined = join_files(parts, tmp_path / "spool")
    assert joined.path.read_bytes() == b"abcdefg"
    assert joined.size == 7 and joined.sha256 == hashlib.sha256(b"abcdefg").digest()
    joined.release()
    assert spooled(tmp_path / "spool") == []

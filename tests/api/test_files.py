"""File and Image content: uploads (raw, multipart, JSON base64), downloads (validators,
ranges), who may do what, and faults that must leave nothing behind.

Every refused or failed upload checks its status and error envelope, that no transaction was
committed and root reads the same as before (``unchanged``), and that no file is left in the
spool directory or in the storage's temporary blob directory (:func:`leftovers`). The suite
runs with ``files.max_upload_size`` = 64 KiB, so oversize bodies stay small.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
from collections.abc import AsyncIterator
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any
from urllib.parse import quote

import orjson
import pytest
from files_support import (
    BASE,
    FILE_OVERRIDES,
    FORM_LIMIT,
    LIMIT,
    Exchange,
    b64,
    call_app,
    leftovers,
    path_of,
    payload,
    sha256,
)

from baobab.asgi import BaobabApp
from baobab.testing import BaobabClient, Unchanged, assert_envelope, last_commit

DATA = payload(5000)
SITE = "/db/site"
WATCHED = (SITE,)
RAW_CREATE = {"content-type": "application/octet-stream", "content-disposition": "attachment"}


@pytest.fixture
def baobab_overrides() -> dict[str, Any]:
    return FILE_OVERRIDES


def png(width: int = 3, height: int = 2) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


def attachment(filename: str) -> str:
    return f"attachment; filename*=UTF-8''{quote(filename, safe='')}"


async def create_raw(
    client: BaobabClient,
    folder: str,
    data: bytes = DATA,
    filename: str = "data.bin",
    content_type: str = "application/octet-stream",
    **params: str,
) -> str:
    """POST the raw bytes to ``folder``; the path of the new object."""
    resp = await client.post(
        folder,
        content=data,
        params=params,
        headers={"content-type": content_type, "content-disposition": attachment(filename)},
    )
    assert resp.status_code == 201, resp.text
    return path_of(resp.headers["location"])


@pytest.fixture
async def doc_file(client: BaobabClient, site: str) -> str:
    """A private File owned by root holding ``DATA`` as ``data.bin``."""
    return await create_raw(client, site, id="f")


async def fetch(client: BaobabClient, path: str, **headers: str) -> Any:
    return await client.get(f"{path}/@download", headers=headers)


# creating ------------------------------------------------------------------------------------


async def test_create_raw(client: BaobabClient, site: str, baobab_app: BaobabApp) -> None:
    resp = await client.post(
        site,
        content=DATA,
        params={"id": "report", "title": "The report"},
        headers={"content-type": "application/pdf", "content-disposition": attachment("r.pdf")},
    )
    assert resp.status_code == 201, resp.text
    assert resp.headers["location"] == f"{BASE}{site}/report"
    body = resp.json()
    assert body["@type"] == "File"
    assert body["title"] == "The report"
    assert body["file"] == {
        "download": f"{BASE}{site}/report/@download/file",
        "filename": "r.pdf",
        "content-type": "application/pdf",
        "size": len(DATA),
    }
    assert (await client.get(f"{site}/report")).json()["file"] == body["file"]
    download = await client.get(body["file"]["download"])
    assert download.status_code == 200
    assert sha256(download.content) == sha256(DATA)
    assert leftovers(baobab_app) == []


async def test_create_raw_defaults(client: BaobabClient, site: str) -> None:
    """Without ``id`` or ``title`` the title is the file name and the id comes from it; a
    generic media type is guessed from the file name."""
    path = await create_raw(client, site, b"col1,col2\n", "Q3 figures.csv")
    body = (await client.get(path)).json()
    assert body["title"] == "Q3 figures.csv"
    assert body["id"] == path.rsplit("/", 1)[1]
    assert body["file"]["content-type"] == "text/csv"


async def test_create_multipart(client: BaobabClient, site: str, baobab_app: BaobabApp) -> None:
    resp = await client.post(
        site,
        files={"file": ("notes.txt", DATA, "text/plain")},
        data={"id": "notes", "title": "Notes", "description": "Meeting notes"},
    )
    assert resp.status_code == 201, resp.text
    assert resp.headers["location"] == f"{BASE}{site}/notes"
    body = (await client.get(f"{site}/notes")).json()
    assert (body["@type"], body["title"], body["description"]) == ("File", "Notes", "Meeting notes")
    assert body["file"] == {
        "download": f"{BASE}{site}/notes/@download/file",
        "filename": "notes.txt",
        "content-type": "text/plain",
        "size": len(DATA),
    }
    assert sha256((await fetch(client, f"{site}/notes")).content) == sha256(DATA)
    assert leftovers(baobab_app) == []


async def test_create_json_base64(client: BaobabClient, site: str) -> None:
    resp = await client.post(
        site,
        json={
            "@type": "File",
            "id": "inline",
            "file": {
                "data": b64(DATA),
                "encoding": "base64",
                "filename": "inline.bin",
                "content-type": "application/x-thing",
            },
        },
    )
    assert resp.status_code == 201, resp.text
    assert resp.json()["file"] == {
        "download": f"{BASE}{site}/inline/@download/file",
        "filename": "inline.bin",
        "content-type": "application/x-thing",
        "size": len(DATA),
    }
    download = await fetch(client, f"{site}/inline")
    assert download.headers["content-type"] == "application/x-thing"
    assert sha256(download.content) == sha256(DATA)


async def test_refused_json_file_leaves_nothing_staged(
    client: BaobabClient, site: str, unchanged: Unchanged, baobab_app: BaobabApp
) -> None:
    """A JSON file is staged in the storage's temporary directory; a create refused after
    that (a taken id) leaves no staged file behind."""
    await client.post(site, json={"@type": "Document", "id": "taken"})
    file = {"data": b64(DATA), "encoding": "base64", "filename": "a.bin"}
    async with unchanged(site):
        resp = await client.post(site, json={"@type": "File", "id": "taken", "file": file})
        assert_envelope(resp, 409, "AlreadyExists")
        resp = await client.patch(f"{site}/taken", json={"file": file})  # not a field here
        assert_envelope(resp, 422, "ValidationError")
    assert leftovers(baobab_app) == []


async def test_raw_post_without_content_disposition_is_415(
    client: BaobabClient, site: str, unchanged: Unchanged, baobab_app: BaobabApp
) -> None:
    async with unchanged(*WATCHED):
        resp = await client.post(site, content=DATA, headers={"content-type": "application/pdf"})
        assert_envelope(resp, 415, "UnsupportedMediaType")
    assert leftovers(baobab_app) == []


async def test_image_upload_has_width_and_height(client: BaobabClient, site: str) -> None:
    image = png(7, 5)
    # an image/* body becomes an Image without being asked
    path = await create_raw(client, site, image, "dot.png", "image/png")
    body = (await client.get(path)).json()
    assert body["@type"] == "Image"
    assert body["image"] == {
        "download": f"{BASE}{path}/@download/image",
        "filename": "dot.png",
        "content-type": "image/png",
        "size": len(image),
        "width": 7,
        "height": 5,
    }
    assert (await fetch(client, path)).content == image
    # multipart, asking for the type
    resp = await client.post(
        site, files={"image": ("pic.png", png(4, 9), "image/png")}, data={"@type": "Image"}
    )
    assert resp.status_code == 201, resp.text
    assert (resp.json()["image"]["width"], resp.json()["image"]["height"]) == (4, 9)


async def test_non_image_to_image_is_422(
    client: BaobabClient, site: str, unchanged: Unchanged, baobab_app: BaobabApp
) -> None:
    async with unchanged(*WATCHED):
        resp = await client.post(
            site,
            content=b"not a picture",
            params={"@type": "Image", "id": "img"},
            headers={"content-type": "image/png", "content-disposition": attachment("x.png")},
        )
        body = assert_envelope(resp, 422, "ValidationError")
        assert body["details"] == [
            {"field": "image", "message": "is not an image in a known format"}
        ]
        resp = await client.post(
            site, files={"image": ("x.png", b"GIF89a-nope", "image/gif")}, data={"@type": "Image"}
        )
        assert_envelope(resp, 422, "ValidationError")
        resp = await client.post(
            site,
            json={"@type": "Image", "id": "img", "image": {"data": b64("nope"), "filename": "x"}},
        )
        assert_envelope(resp, 422, "ValidationError")
    assert (await client.get(f"{site}/img")).status_code == 404
    assert leftovers(baobab_app) == []


async def test_replacing_an_image_with_a_non_image_is_422(
    client: BaobabClient, site: str, unchanged: Unchanged, baobab_app: BaobabApp
) -> None:
    path = await create_raw(client, site, png(), "p.png", "image/png", id="pic")
    async with unchanged(path):
        resp = await client.put(f"{path}/@upload/image", content=b"text", params={"filename": "t"})
        assert_envelope(resp, 422, "ValidationError")
        resp = await client.post(f"{path}/@upload", files={"image": ("t.png", b"text")})
        assert_envelope(resp, 422, "ValidationError")
    assert (await fetch(client, path)).content == png()
    assert leftovers(baobab_app) == []


async def test_duplicate_id_is_409(
    client: BaobabClient, doc_file: str, site: str, unchanged: Unchanged, baobab_app: BaobabApp
) -> None:
    async with unchanged(doc_file, *WATCHED):
        resp = await client.post(site, content=b"x", params={"id": "f"}, headers=RAW_CREATE)
        assert_envelope(resp, 409, "AlreadyExists")
        resp = await client.post(site, files={"file": ("a", b"x")}, data={"id": "f"})
        assert_envelope(resp, 409, "AlreadyExists")
    assert (await fetch(client, doc_file)).content == DATA
    assert leftovers(baobab_app) == []


async def test_utf8_filename_round_trip(client: BaobabClient, site: str) -> None:
    name = "Résumé – 2024 ✓ «final».txt"
    path = await create_raw(client, site, b"hello", name, "text/plain", id="cv")
    body = (await client.get(path)).json()
    assert body["file"]["filename"] == name
    assert body["title"] == name
    disposition = (await fetch(client, path)).headers["content-disposition"]
    assert disposition == (
        'attachment; filename="R_sum_ _ 2024 _ _final_.txt"; '
        f"filename*=UTF-8''{quote(name, safe='')}"
    )
    # a name sent with ?filename= on a replace round-trips too
    resp = await client.put(f"{path}/@upload/file", content=b"x", params={"filename": "ü.txt"})
    assert resp.status_code == 200, resp.text
    assert resp.json()["filename"] == "ü.txt"


async def test_client_paths_are_not_kept_in_file_names(client: BaobabClient, site: str) -> None:
    path = await create_raw(client, site, b"x", "../../etc/passwd", "text/plain", id="p")
    assert (await client.get(path)).json()["file"]["filename"] == "passwd"
    resp = await client.post(site, files={"file": ("C:\\Users\\me\\evil.txt", b"y", "text/plain")})
    assert resp.status_code == 201, resp.text
    assert resp.json()["file"]["filename"] == "evil.txt"


# replacing -----------------------------------------------------------------------------------


async def test_put_upload_replaces_the_file(
    client: BaobabClient, doc_file: str, baobab_app: BaobabApp
) -> None:
    before = await fetch(client, doc_file)
    new = payload(3000, seed=1)
    resp = await client.put(
        f"{doc_file}/@upload/file",
        content=new,
        headers={"content-type": "text/plain", "content-disposition": attachment("new.txt")},
    )
    assert resp.status_code == 200, resp.text
    download_url = f"{BASE}{doc_file}/@download/file"
    assert resp.headers["location"] == download_url
    assert resp.json() == {
        "download": download_url,
        "filename": "new.txt",
        "content-type": "text/plain",
        "size": len(new),
    }
    after = await fetch(client, doc_file)
    assert after.content == new
    assert after.headers["etag"] != before.headers["etag"]
    assert after.headers["etag"] == f'"{sha256(new)[:40]}"'
    assert (await client.get(doc_file)).json()["file"] == resp.json()
    assert leftovers(baobab_app) == []


async def test_patch_upload_and_default_field(client: BaobabClient, doc_file: str) -> None:
    """PATCH works as PUT; without a field name the type's first file field is meant; the
    name is kept when none is sent."""
    resp = await client.patch(f"{doc_file}/@upload", content=b"patched")
    assert resp.status_code == 200, resp.text
    assert resp.json()["filename"] == "data.bin"
    assert resp.json()["size"] == 7
    assert (await fetch(client, doc_file)).content == b"patched"


async def test_post_upload_multipart(
    client: BaobabClient, doc_file: str, baobab_app: BaobabApp
) -> None:
    resp = await client.post(
        f"{doc_file}/@upload/file", files={"file": ("form.txt", b"from a form", "text/plain")}
    )
    assert resp.status_code == 200, resp.text
    assert resp.json()["filename"] == "form.txt"
    assert (await fetch(client, doc_file)).content == b"from a form"
    assert leftovers(baobab_app) == []


async def test_upload_bad_requests(
    client: BaobabClient, doc_file: str, unchanged: Unchanged, baobab_app: BaobabApp
) -> None:
    async with unchanged(doc_file):
        resp = await client.put(f"{doc_file}/@upload/nope", content=b"x")
        assert_envelope(resp, 404, "NotFound")
        resp = await client.put(f"{doc_file}/@upload/file/more", content=b"x")
        assert_envelope(resp, 404, "NotFound")
        resp = await client.put(f"{doc_file}/@upload", files={"file": ("a", b"x", "text/plain")})
        assert_envelope(resp, 400, "BadRequest")  # a form goes with POST
        resp = await client.post(
            f"{doc_file}/@upload", files={"file": ("a", b"x", "text/plain")}, data={"title": "t"}
        )
        assert_envelope(resp, 400, "BadRequest")  # other fields go with PATCH
        resp = await client.post(f"{doc_file}/@upload", files={"a": ("a", b"x"), "b": ("b", b"y")})
        body = assert_envelope(resp, 400, "BadRequest")
        assert body["details"] == {"parts": ["a", "b"]}
    assert leftovers(baobab_app) == []
    # the one file part is the file, whatever its name
    resp = await client.post(f"{doc_file}/@upload", files={"other": ("a", b"x")})
    assert resp.status_code == 200, resp.text


async def test_upload_honours_if_match(
    client: BaobabClient, doc_file: str, unchanged: Unchanged, baobab_app: BaobabApp
) -> None:
    etag = (await client.get(doc_file)).headers["etag"]
    async with unchanged(doc_file):
        resp = await client.put(
            f"{doc_file}/@upload/file", content=b"x", headers={"if-match": '"stale"'}
        )
        assert_envelope(resp, 412, "PreconditionFailed")
    assert leftovers(baobab_app) == []
    resp = await client.put(f"{doc_file}/@upload/file", content=b"x", headers={"if-match": etag})
    assert resp.status_code == 200, resp.text


def digest_header(data: bytes) -> str:
    return f"sha-256=:{b64(hashlib.sha256(data).digest())}:"


async def test_content_digest_verified(
    client: BaobabClient, doc_file: str, site: str, unchanged: Unchanged, baobab_app: BaobabApp
) -> None:
    new = b"checked bytes"
    resp = await client.put(
        f"{doc_file}/@upload/file", content=new, headers={"content-digest": digest_header(new)}
    )
    assert resp.status_code == 200, resp.text
    assert (await fetch(client, doc_file)).content == new
    # a form's digest is the whole body's; other algorithms are ignored (RFC 9530)
    form = GOOD_PART + b"--B--\r\n"
    resp = await client.post(
        f"{doc_file}/@upload/file",
        content=form,
        headers={
            "content-type": MULTIPART,
            "content-digest": f"md5=:{b64(b'x' * 16)}:, {digest_header(form)}",
        },
    )
    assert resp.status_code == 200, resp.text
    assert (await fetch(client, doc_file)).content == b"hello"
    resp = await client.put(
        f"{doc_file}/@upload/file", content=new, headers={"content-digest": digest_header(new)}
    )
    assert resp.status_code == 200, resp.text
    wrong = {"content-digest": digest_header(b"something else")}
    async with unchanged(doc_file, *WATCHED):
        resp = await client.put(f"{doc_file}/@upload/file", content=b"tampered", headers=wrong)
        body = assert_envelope(resp, 460, "ChecksumMismatch")
        assert body["details"] == {"sha256": sha256(b"tampered")}
        resp = await client.post(
            f"{doc_file}/@upload/file", files={"file": ("a", b"tampered")}, headers=wrong
        )
        assert_envelope(resp, 460, "ChecksumMismatch")
        resp = await client.post(
            site,
            content=b"tampered",
            headers={**wrong, "content-type": "text/plain", "content-disposition": attachment("t")},
        )
        assert_envelope(resp, 460, "ChecksumMismatch")
        resp = await client.put(
            f"{doc_file}/@upload/file", content=new, headers={"content-digest": "sha-256=abc"}
        )
        assert_envelope(resp, 400, "BadRequest")
    assert (await fetch(client, doc_file)).content == new
    assert leftovers(baobab_app) == []


# downloading ---------------------------------------------------------------------------------


async def test_download_headers(client: BaobabClient, site: str) -> None:
    path = await create_raw(client, site, DATA, "report.pdf", "application/pdf", id="r")
    resp = await client.get(f"{path}/@download/file")
    assert resp.status_code == 200
    assert resp.content == DATA
    headers = resp.headers
    assert headers["content-type"] == "application/pdf"
    assert headers["content-length"] == str(len(DATA))
    assert headers["content-disposition"] == 'attachment; filename="report.pdf"'
    assert headers["etag"] == f'"{sha256(DATA)[:40]}"'
    assert headers["accept-ranges"] == "bytes"
    assert headers["x-content-type-options"] == "nosniff"
    modified = parsedate_to_datetime(headers["last-modified"])
    assert abs(modified - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=5)
    # the field name may be left out
    assert (await client.get(f"{path}/@download")).content == DATA


async def test_head_has_the_headers_and_no_body(client: BaobabClient, doc_file: str) -> None:
    got = await client.get(f"{doc_file}/@download/file")
    head = await client.head(f"{doc_file}/@download/file")
    assert head.status_code == 200
    assert head.content == b""
    for name in ("content-type", "content-length", "etag", "last-modified", "accept-ranges"):
        assert head.headers[name] == got.headers[name], name
    # ranges are defined for GET only (RFC 9110 §14.2): HEAD describes the whole file
    ranged = await client.head(f"{doc_file}/@download/file", headers={"range": "bytes=0-9"})
    assert ranged.status_code == 200
    assert ranged.headers["content-length"] == got.headers["content-length"]
    assert ranged.content == b""


@pytest.mark.parametrize(
    ("content_type", "disposition"),
    [
        ("application/pdf", "inline"),
        ("image/png", "inline"),
        ("text/plain", "inline"),
        ("video/mp4", "inline"),
        ("text/html", "attachment"),  # a browser would run it: never inline
        ("Text/HTML", "attachment"),  # whatever the case (stored lower-case)
        ("image/svg+xml", "attachment"),
        ("application/xhtml+xml", "attachment"),
        ("application/rss+xml", "attachment"),  # not on the allowlist of passive types
    ],
)
async def test_inline_only_for_passive_types(
    client: BaobabClient, site: str, content_type: str, disposition: str
) -> None:
    path = await create_raw(client, site, b"<b>x</b>", "x", content_type, **{"@type": "File"})
    resp = await client.get(f"{path}/@download/file?inline=1")
    assert resp.headers["content-disposition"] == f'{disposition}; filename="x"'
    assert resp.headers["content-type"] == content_type.lower()
    assert resp.headers["x-content-type-options"] == "nosniff"
    resp = await client.get(f"{path}/@download/file")
    assert resp.headers["content-disposition"] == 'attachment; filename="x"'


async def test_inline_ignores_the_case_of_a_json_media_type(
    client: BaobabClient, site: str
) -> None:
    """A JSON upload says its media type freely: ``Text/HTML`` is still HTML."""
    file = {"data": b64("<script>1</script>"), "filename": "x", "content-type": "Text/HTML"}
    resp = await client.post(site, json={"@type": "File", "id": "h", "file": file})
    assert resp.status_code == 201, resp.text
    resp = await client.get(f"{site}/h/@download/file?inline")
    assert resp.headers["content-disposition"] == 'attachment; filename="x"'
    assert resp.headers["content-type"] == "text/html"


async def test_bare_inline_parameter(client: BaobabClient, doc_file: str) -> None:
    resp = await client.put(
        f"{doc_file}/@upload/file", content=b"%PDF", params={"filename": "a.pdf"}
    )
    assert resp.status_code == 200, resp.text
    resp = await client.get(f"{doc_file}/@download/file?inline")
    assert resp.headers["content-disposition"] == 'inline; filename="a.pdf"'


async def test_accept_asks_for_the_bytes(client: BaobabClient, doc_file: str) -> None:
    resp = await client.get(doc_file, headers={"accept": "application/pdf"})
    assert resp.status_code == 200
    assert resp.content == DATA
    assert resp.headers["etag"] == f'"{sha256(DATA)[:40]}"'
    for accept in ("application/json", "*/*", "text/html, */*;q=0.1"):
        resp = await client.get(doc_file, headers={"accept": accept})
        assert resp.json()["@type"] == "File", accept
    # a type without a file field answers JSON whatever the Accept
    folder = await client.get(SITE, headers={"accept": "application/pdf"})
    assert folder.json()["@type"] == "Container"


@pytest.mark.parametrize(
    ("header", "start", "end"),
    [
        ("bytes=0-9", 0, 9),  # the first bytes
        ("bytes=-10", len(DATA) - 10, len(DATA) - 1),  # the last 10
        ("bytes=5-", 5, len(DATA) - 1),  # open-ended
        ("bytes=100-100", 100, 100),
        ("bytes=4990-999999", 4990, len(DATA) - 1),  # the end is clamped
        ("bytes=-999999", 0, len(DATA) - 1),  # a suffix longer than the file: all of it
        ("BYTES = 1-2", 1, 2),
    ],
)
async def test_ranges(
    client: BaobabClient, doc_file: str, header: str, start: int, end: int
) -> None:
    resp = await fetch(client, doc_file, range=header)
    assert resp.status_code == 206, resp.text
    assert resp.content == DATA[start : end + 1]
    assert resp.headers["content-range"] == f"bytes {start}-{end}/{len(DATA)}"
    assert resp.headers["content-length"] == str(end - start + 1)
    assert resp.headers["etag"] == f'"{sha256(DATA)[:40]}"'


@pytest.mark.parametrize(
    "header",
    [
        "bytes=0-1,4-5",  # several ranges: the whole file (RFC 9110 lets a server ignore Range)
        "bytes=abc",
        "bytes=9-3",
        "bytes=--5",
        "items=0-5",
        "bytes",
        "bytes=1-2-3",
    ],
)
async def test_ranges_ignored(client: BaobabClient, doc_file: str, header: str) -> None:
    resp = await fetch(client, doc_file, range=header)
    assert resp.status_code == 200
    assert resp.content == DATA
    assert "content-range" not in resp.headers


@pytest.mark.parametrize("header", [f"bytes={len(DATA)}-", "bytes=999999-1000000", "bytes=-0"])
async def test_range_past_the_end_is_416(
    client: BaobabClient, doc_file: str, unchanged: Unchanged, header: str
) -> None:
    async with unchanged(doc_file):
        resp = await fetch(client, doc_file, range=header)
        body = assert_envelope(resp, 416, "RangeNotSatisfiable")
        assert body["details"] == {"size": len(DATA)}
        assert resp.headers["content-range"] == f"bytes */{len(DATA)}"


async def test_range_on_an_empty_file_is_416(client: BaobabClient, site: str) -> None:
    path = await create_raw(client, site, b"", "empty.txt", "text/plain")
    assert (await client.get(path)).json()["file"]["size"] == 0
    for header in ("bytes=0-", "bytes=-5"):
        resp = await fetch(client, path, range=header)
        assert_envelope(resp, 416, "RangeNotSatisfiable")
        assert resp.headers["content-range"] == "bytes */0"


async def test_download_an_empty_file(client: BaobabClient, site: str) -> None:
    path = await create_raw(client, site, b"", "empty.txt", "text/plain")
    resp = await fetch(client, path)
    assert resp.status_code == 200
    assert resp.content == b""
    assert resp.headers["content-length"] == "0"


async def test_if_none_match_gives_304(client: BaobabClient, doc_file: str) -> None:
    etag = (await fetch(client, doc_file)).headers["etag"]
    for header in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        resp = await fetch(client, doc_file, **{"if-none-match": header})
        assert resp.status_code == 304, header
        assert resp.content == b""
        assert resp.headers["etag"] == etag
        assert "content-length" not in resp.headers
    resp = await fetch(client, doc_file, **{"if-none-match": '"other"'})
    assert resp.status_code == 200
    assert resp.content == DATA


async def test_if_modified_since_gives_304(client: BaobabClient, doc_file: str) -> None:
    last_modified = (await fetch(client, doc_file)).headers["last-modified"]
    resp = await fetch(client, doc_file, **{"if-modified-since": last_modified})
    assert resp.status_code == 304
    assert resp.content == b""
    modified = parsedate_to_datetime(last_modified)
    later = format_datetime(modified + dt.timedelta(days=1), usegmt=True)
    assert (await fetch(client, doc_file, **{"if-modified-since": later})).status_code == 304
    earlier = format_datetime(modified - dt.timedelta(days=1), usegmt=True)
    resp = await fetch(client, doc_file, **{"if-modified-since": earlier})
    assert resp.status_code == 200
    assert resp.content == DATA
    for junk in ("yesterday", "Mon, 32 Foo 2020 99:99:99"):
        assert (await fetch(client, doc_file, **{"if-modified-since": junk})).status_code == 200
    # If-None-Match wins over If-Modified-Since (RFC 9110 §13.1.3)
    resp = await fetch(
        client, doc_file, **{"if-none-match": '"other"', "if-modified-since": last_modified}
    )
    assert resp.status_code == 200


async def test_if_range(client: BaobabClient, doc_file: str) -> None:
    first = await fetch(client, doc_file)
    etag, last_modified = first.headers["etag"], first.headers["last-modified"]
    for validator in (etag, last_modified):
        resp = await fetch(client, doc_file, range="bytes=0-3", **{"if-range": validator})
        assert resp.status_code == 206, validator
        assert resp.content == DATA[:4]
    # a stale validator: the file changed, so the whole new file, not a piece of it
    for validator in ('"stale"', f"W/{etag}", "Mon, 01 Jan 2001 00:00:00 GMT"):
        resp = await fetch(client, doc_file, range="bytes=0-3", **{"if-range": validator})
        assert resp.status_code == 200, validator
        assert resp.content == DATA


async def test_if_range_stale_with_a_range_past_the_end(
    client: BaobabClient, doc_file: str
) -> None:
    resp = await fetch(client, doc_file, range="bytes=999999-", **{"if-range": '"stale"'})
    assert resp.status_code == 200
    assert resp.content == DATA


async def test_download_errors(
    client: BaobabClient, doc_file: str, site: str, unchanged: Unchanged
) -> None:
    await client.post(site, json={"@type": "Document", "id": "doc"})
    async with unchanged(doc_file):
        assert_envelope(await client.get(f"{doc_file}/@download/nope"), 404, "NotFound")
        assert_envelope(await client.get(f"{site}/doc/@download"), 404, "NotFound")
        assert_envelope(await client.get(f"{site}/missing/@download"), 404, "NotFound")


async def test_copy_downloads_the_same_bytes(
    client: BaobabClient, doc_file: str, site: str
) -> None:
    resp = await client.post(f"{doc_file}/@copy", json={"new_id": "twin"})
    assert resp.status_code == 201, resp.text
    twin = path_of(resp.headers["location"])
    assert twin == f"{site}/twin"
    original = await fetch(client, doc_file)
    copied = await fetch(client, twin)
    assert sha256(copied.content) == sha256(DATA)
    assert copied.headers["etag"] == original.headers["etag"]
    assert (await client.get(twin)).json()["file"] == {
        "download": f"{BASE}{twin}/@download/file",
        "filename": "data.bin",
        "content-type": "application/octet-stream",
        "size": len(DATA),
    }
    # replacing the original's file leaves the copy's alone
    resp = await client.put(f"{doc_file}/@upload/file", content=b"replaced")
    assert resp.status_code == 200, resp.text
    assert (await fetch(client, doc_file)).content == b"replaced"
    assert (await fetch(client, twin)).content == DATA


async def test_json_patch_replaces_the_file(client: BaobabClient, doc_file: str) -> None:
    resp = await client.patch(
        doc_file, json={"file": {"data": b64("via json"), "filename": "j.txt"}}
    )
    assert resp.status_code == 204, resp.text
    resp = await fetch(client, doc_file)
    assert resp.content == b"via json"
    assert resp.headers["content-type"] == "text/plain"
    assert (await client.get(doc_file)).json()["file"]["filename"] == "j.txt"


# permissions ---------------------------------------------------------------------------------

# login → status of: download a private File (root's), replace its file, create a File in the
# site. View in private: Manager, Owner, Editor, Reader, Contributor, Site Administrator;
# Modify: Manager, Owner, Editor, Site Administrator; Add (not managed by the workflow):
# Manager, Site Administrator, Owner, Contributor. No Access on the object → 404.
MATRIX: dict[str | None, tuple[int, int, int]] = {
    None: (401, 401, 401),
    "reader": (200, 403, 403),
    "editor": (200, 200, 403),
    "contributor": (200, 403, 201),
    "reviewer": (404, 404, 403),
    "siteadmin": (200, 200, 201),
    "member": (404, 404, 403),
    "root": (200, 200, 201),
}


@pytest.mark.parametrize("login", list(MATRIX), ids=lambda login: login or "anonymous")
async def test_permission_matrix(
    client: BaobabClient,
    doc_file: str,
    site: str,
    *,
    unchanged: Unchanged,
    baobab_app: BaobabApp,
    login: str | None,
) -> None:
    download, upload, create = MATRIX[login]
    async with client.as_user(login) as who:
        resp = await who.get(f"{doc_file}/@download/file")
        if download == 200:
            assert resp.status_code == 200, resp.text
            assert resp.content == DATA
        else:
            assert_envelope(resp, download)
        resp = await who.get(doc_file, headers={"accept": "application/pdf"})
        assert resp.status_code == download
        if upload == 200:
            resp = await who.put(f"{doc_file}/@upload/file", content=b"new")
            assert resp.status_code == 200, resp.text
        else:
            async with unchanged(doc_file):
                assert_envelope(await who.put(f"{doc_file}/@upload/file", content=b"x"), upload)
                resp = await who.post(f"{doc_file}/@upload/file", files={"file": ("a", b"x")})
                assert_envelope(resp, upload)
        if create == 201:
            path = await create_raw(who, site, b"mine", "mine.txt", "text/plain")
            creators = (await client.get(path)).json()["creators"]
            assert creators == [login]
            resp = await who.post(site, files={"file": ("form.txt", b"form")})
            assert resp.status_code == 201, resp.text
        else:
            async with unchanged(*WATCHED):
                resp = await who.post(
                    site,
                    content=b"x",
                    headers={"content-type": "text/plain", "content-disposition": "attachment"},
                )
                assert_envelope(resp, create)
                assert_envelope(await who.post(site, files={"file": ("a", b"x")}), create)
                resp = await who.post(
                    site,
                    json={"@type": "File", "file": {"data": b64("x"), "filename": "a"}},
                )
                assert_envelope(resp, create)
    assert leftovers(baobab_app) == []


async def test_refused_upload_reads_no_body(
    client: BaobabClient, doc_file: str, site: str, unchanged: Unchanged, baobab_app: BaobabApp
) -> None:
    """Permissions are checked before a byte of the body is read."""
    chunks = [b"x" * 1000] * 5
    async with unchanged(doc_file, *WATCHED):
        got = await call_app(
            baobab_app, "PUT", f"{doc_file}/@upload/file", chunks=chunks, login="reader"
        )
        assert (got.status, got.reads) == (403, 0)
        got = await call_app(
            baobab_app,
            "POST",
            site,
            chunks=chunks,
            login="reader",
            headers=[("content-type", "text/plain"), ("content-disposition", "attachment")],
        )
        assert (got.status, got.reads) == (403, 0)
        got = await call_app(
            baobab_app,
            "POST",
            site,
            chunks=chunks,
            login=None,
            headers=[("content-type", "multipart/form-data; boundary=b")],
        )
        assert (got.status, got.reads) == (401, 0)
        got = await call_app(
            baobab_app, "PUT", f"{doc_file}/@upload/file", chunks=chunks, login="member"
        )
        assert (got.status, got.reads) == (404, 0)
    assert leftovers(baobab_app) == []


async def test_published_file_downloadable_by_anonymous(
    client: BaobabClient, doc_file: str, anon_client: BaobabClient
) -> None:
    assert_envelope(await anon_client.get(f"{doc_file}/@download/file"), 401, "Unauthorized")
    resp = await client.post(f"{doc_file}/@workflow/publish")
    assert resp.status_code == 200, resp.text
    resp = await anon_client.get(f"{doc_file}/@download/file")
    assert resp.status_code == 200
    assert resp.content == DATA
    # still not uploadable
    assert_envelope(await anon_client.put(f"{doc_file}/@upload", content=b"x"), 401)


async def test_contributor_creates_files_in_a_folder(client: BaobabClient, site: str) -> None:
    resp = await client.post(site, json={"@type": "Folder", "id": "box"})
    assert resp.status_code == 201, resp.text
    async with client.as_user("contributor") as contributor:
        path = await create_raw(contributor, f"{site}/box", DATA, "c.bin")
        resp = await contributor.post(
            f"{site}/box", files={"file": ("pic.png", png(), "image/png")}
        )
        assert resp.status_code == 201, resp.text
        assert resp.json()["@type"] == "Image"  # an image part becomes an Image
        # the owner of what she created: she may replace it
        resp = await contributor.put(f"{path}/@upload/file", content=b"v2")
        assert resp.status_code == 200, resp.text
        assert (await contributor.get(f"{path}/@download")).content == b"v2"


# faults: nothing committed, nothing left behind -----------------------------------------------


async def test_oversize_with_content_length(
    client: BaobabClient, doc_file: str, site: str, unchanged: Unchanged, baobab_app: BaobabApp
) -> None:
    big = payload(LIMIT + 1)
    async with unchanged(doc_file, *WATCHED):
        for resp in (
            await client.put(f"{doc_file}/@upload/file", content=big),
            await client.post(f"{doc_file}/@upload/file", files={"file": ("big", big)}),
            await client.post(site, content=big, headers=RAW_CREATE),
            await client.post(site, files={"file": ("big", big)}),
        ):
            body = assert_envelope(resp, 413, "PayloadTooLarge")
            assert body["details"] == {"limit": LIMIT}
        # refused on Content-Length alone: not a byte read
        got = await call_app(
            baobab_app,
            "PUT",
            f"{doc_file}/@upload/file",
            chunks=[big],
            headers=[("content-length", str(len(big)))],
        )
        assert (got.status, got.reads) == (413, 0)
    assert leftovers(baobab_app) == []
    # exactly the limit is fine
    resp = await client.put(f"{doc_file}/@upload/file", content=big[:LIMIT])
    assert resp.status_code == 200, resp.text
    assert resp.json()["size"] == LIMIT


async def test_oversize_mid_stream(
    client: BaobabClient, doc_file: str, site: str, unchanged: Unchanged, baobab_app: BaobabApp
) -> None:
    """Without Content-Length the limit is found while reading."""

    def stream(*parts: bytes) -> AsyncIterator[bytes]:
        async def chunks() -> AsyncIterator[bytes]:
            for part in parts:
                yield part
            for _ in range(LIMIT // 4096 + 1):
                yield b"z" * 4096

        return chunks()

    boundary = b"XyZ"
    form_head = (
        b'--XyZ\r\nContent-Disposition: form-data; name="file"; filename="big"\r\n'
        b"Content-Type: application/octet-stream\r\n\r\n"
    )
    form = {"content-type": f"multipart/form-data; boundary={boundary.decode()}"}
    async with unchanged(doc_file, *WATCHED):
        for resp in (
            await client.put(f"{doc_file}/@upload/file", content=stream()),
            await client.post(site, content=stream(), headers=RAW_CREATE),
            await client.post(f"{doc_file}/@upload/file", content=stream(form_head), headers=form),
            await client.post(site, content=stream(form_head), headers=form),
        ):
            assert "content-length" not in resp.request.headers
            body = assert_envelope(resp, 413, "PayloadTooLarge")
            assert body["details"] == {"limit": LIMIT}
    assert leftovers(baobab_app) == []


async def test_form_text_fields_are_limited(
    client: BaobabClient, site: str, unchanged: Unchanged, baobab_app: BaobabApp
) -> None:
    async with unchanged(*WATCHED):
        resp = await client.post(
            site, files={"file": ("a.txt", b"x")}, data={"description": "d" * (FORM_LIMIT + 1)}
        )
        body = assert_envelope(resp, 413, "PayloadTooLarge")
        assert body["details"] == {"limit": FORM_LIMIT}
    assert leftovers(baobab_app) == []


@pytest.mark.parametrize(
    ("method", "target", "headers"),
    [
        ("PUT", "/db/site/f/@upload/file", [("content-type", "application/pdf")]),
        (
            "POST",
            "/db/site",
            [("content-type", "text/plain"), ("content-disposition", "attachment")],
        ),
        ("POST", "/db/site/f/@upload/file", [("content-type", "multipart/form-data; boundary=B")]),
        ("POST", "/db/site", [("content-type", "multipart/form-data; boundary=B")]),
    ],
    ids=["put-upload", "raw-create", "form-upload", "form-create"],
)
async def test_client_disconnects_mid_body(
    client: BaobabClient,
    doc_file: str,
    db: Any,
    *,
    unchanged: Unchanged,
    baobab_app: BaobabApp,
    method: str,
    target: str,
    headers: list[tuple[str, str]],
) -> None:
    assert doc_file == "/db/site/f"
    first = b'--B\r\nContent-Disposition: form-data; name="file"; filename="x"\r\n\r\n'
    chunks = [first, b"a" * 2000, b"b" * 2000]
    before = last_commit(db)
    async with unchanged(doc_file, *WATCHED):
        got = await call_app(
            baobab_app,
            method,
            target,
            chunks=chunks,
            disconnect=True,
            headers=[*headers, ("content-length", "10000")],
        )
        # answered in case the connection still carries it (a server that gave up on a
        # malformed body does), never left to the server's bare 500
        assert got.status == 400
        assert orjson.loads(got.body)["type"] == "IncompleteBody"
        assert got.reads == len(chunks) + 1
        assert leftovers(baobab_app) == []
    assert last_commit(db) == before
    assert (await fetch(client, doc_file)).content == DATA


MULTIPART = "multipart/form-data; boundary=B"
GOOD_PART = b'--B\r\nContent-Disposition: form-data; name="file"; filename="x.txt"\r\n\r\nhello\r\n'


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        (MULTIPART, GOOD_PART),  # truncated: no closing boundary
        (MULTIPART, GOOD_PART[:-10]),  # cut inside the part
        (MULTIPART, b"this is not a form at all"),
        (MULTIPART, b"--B\r\nContent-Disposition: form-data\r\n\r\nno name\r\n--B--\r\n"),
        (MULTIPART, GOOD_PART + GOOD_PART + b"--B--\r\n"),  # the same field twice
        (MULTIPART, b"--B\r\nbroken header line\r\n\r\nx\r\n--B--\r\n"),
        ("multipart/form-data", GOOD_PART + b"--B--\r\n"),  # no boundary
        (MULTIPART, b"--B--\r\n"),  # no file part
    ],
    ids=[
        "no-closing-boundary",
        "cut-in-part",
        "garbage",
        "part-without-name",
        "field-twice",
        "bad-header",
        "no-boundary",
        "no-file-part",
    ],
)
async def test_malformed_multipart_is_400(
    client: BaobabClient,
    doc_file: str,
    site: str,
    *,
    unchanged: Unchanged,
    baobab_app: BaobabApp,
    content_type: str,
    body: bytes,
) -> None:
    headers = {"content-type": content_type}
    async with unchanged(doc_file, *WATCHED):
        resp = await client.post(site, content=body, headers=headers)
        assert_envelope(resp, 400, "BadRequest")
        resp = await client.post(f"{doc_file}/@upload/file", content=body, headers=headers)
        assert_envelope(resp, 400, "BadRequest")
    assert leftovers(baobab_app) == []


async def test_well_formed_multipart_by_hand(client: BaobabClient, site: str) -> None:
    """The control for the malformed cases: the same body, closed, is accepted."""
    resp = await client.post(
        site, content=GOOD_PART + b"--B--\r\n", headers={"content-type": MULTIPART}
    )
    assert resp.status_code == 201, resp.text
    assert (await fetch(client, path_of(resp.headers["location"]))).content == b"hello"


@pytest.mark.parametrize(("declared", "sent"), [(5000, 4000), (3000, 4000)])
async def test_body_length_differs_from_content_length(
    doc_file: str, unchanged: Unchanged, baobab_app: BaobabApp, declared: int, sent: int
) -> None:
    async with unchanged(doc_file):
        got = await call_app(
            baobab_app,
            "PUT",
            f"{doc_file}/@upload/file",
            chunks=[b"q" * 1000] * (sent // 1000),
            headers=[("content-length", str(declared))],
        )
        assert got.status == 400
        assert b'"BadRequest"' in got.body
    assert leftovers(baobab_app) == []


# guarded file fields (the Secret type of baobab_files_addon) ---------------------------------

SECRET = b"top secret"


def envelope_of(got: Exchange, status: int, type_: str) -> dict[str, Any]:
    """``got`` (a direct ASGI call) is an error with ``status`` in the one envelope."""
    assert got.status == status, got.body
    assert got.headers["content-type"] == "application/json"
    body: dict[str, Any] = json.loads(got.body)
    assert set(body) == {"type", "message", "details", "request_id"}, body
    assert body["type"] == type_, body
    return body


@pytest.fixture
async def secret(client: BaobabClient, site: str) -> str:
    """A published Secret of root's holding ``SECRET``: readers see it, not its attachment."""
    file = {"data": b64(SECRET), "filename": "s.txt", "content-type": "text/plain"}
    resp = await client.post(site, json={"@type": "Secret", "id": "sec", "attachment": file})
    assert resp.status_code == 201, resp.text
    assert (await client.post(f"{site}/sec/@workflow/publish")).status_code == 200
    return f"{site}/sec"


async def test_field_read_permission_guards_the_accept_route(
    client: BaobabClient, secret: str, unchanged: Unchanged
) -> None:
    """``GET obj`` with a file Accept is the same download as ``@download/{field}``: refused
    without the field's read permission (Modify here), and the JSON says ``Vary: Accept``."""
    async with unchanged(secret), client.as_user("reader") as reader:
        assert (await reader.get(secret)).status_code == 200  # the object is readable
        assert_envelope(await reader.get(f"{secret}/@download/attachment"), 403, "Forbidden")
        resp = await reader.get(secret, headers={"accept": "text/plain"})
        assert_envelope(resp, 403, "Forbidden")
        assert SECRET not in resp.content
    resp = await client.get(secret, headers={"accept": "text/plain"})
    assert (resp.status_code, resp.content) == (200, SECRET)
    assert "accept" in {v.strip().lower() for v in resp.headers.get_list("vary", split_commas=True)}
    resp = await client.get(secret)
    assert resp.json()["@type"] == "Secret"
    assert "accept" in {v.strip().lower() for v in resp.headers.get_list("vary", split_commas=True)}


async def test_field_write_permission_guards_creates_from_uploads(
    client: BaobabClient, site: str, unchanged: Unchanged, baobab_app: BaobabApp
) -> None:
    """A contributor may add a Secret but not write its attachment (Review): a create from a
    raw upload is refused before a byte of it is read, one from a form too."""
    async with unchanged(*WATCHED), client.as_user("contributor") as contributor:
        got = await call_app(
            baobab_app,
            "POST",
            site,
            chunks=[b"x" * 1000] * 5,
            login="contributor",
            query="%40type=Secret&id=a",
            headers=[("content-type", "text/plain"), ("content-disposition", attachment("a"))],
        )
        envelope_of(got, 403, "Forbidden")
        assert got.reads == 0
        resp = await contributor.post(
            site, content=b"x", params={"@type": "Secret"}, headers=RAW_CREATE
        )
        assert_envelope(resp, 403, "Forbidden")
        for params, data in (({"@type": "Secret"}, {}), ({}, {"@type": "Secret"})):
            resp = await contributor.post(
                site, params=params, data=data, files={"attachment": ("a.txt", b"x")}
            )
            assert_envelope(resp, 403, "Forbidden")
    assert leftovers(baobab_app) == []
    # the control: a reviewer's field, root may write it
    path = await create_raw(client, site, SECRET, "s.txt", "text/plain", **{"@type": "Secret"})
    assert (await client.get(f"{path}/@download/attachment")).content == SECRET


# media types ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("declared", "filename", "stored"),
    [
        ("text/plain; a=b\r\nSet-Cookie: evil=1", "s.bin", "text/plain"),  # no header injection
        ('Text/Plain; Charset="UTF-8"', "s.bin", "text/plain; charset=utf-8"),
        ("text/plain; charset=utf-8\r\nSet-Cookie: evil=1", "s.bin", "text/plain"),
        ("tëxt/plain", "n.csv", "text/csv"),  # not ASCII: guessed from the name
        ("plain text", "n.csv", "text/csv"),  # malformed: guessed
        ("text/", "n.bin", "application/octet-stream"),  # malformed, nothing to guess from
    ],
    ids=["crlf", "case-and-charset", "crlf-in-charset", "non-ascii", "malformed", "no-guess"],
)
async def test_stored_media_type_is_sanitised(
    client: BaobabClient, site: str, declared: str, filename: str, stored: str
) -> None:
    file = {"data": b64(b"x"), "filename": filename, "content-type": declared}
    resp = await client.post(site, json={"@type": "File", "id": "f", "file": file})
    assert resp.status_code == 201, resp.text
    assert resp.json()["file"]["content-type"] == stored
    download = await fetch(client, f"{site}/f")
    assert download.headers["content-type"] == stored
    assert "set-cookie" not in download.headers
    assert download.content == b"x"


# multipart limits ----------------------------------------------------------------------------


def form_part(name: str, value: bytes = b"", filename: str | None = None) -> bytes:
    named = f'; filename="{filename}"' if filename is not None else ""
    head = f'--B\r\nContent-Disposition: form-data; name="{name}"{named}\r\n\r\n'
    return head.encode() + value + b"\r\n"


@pytest.mark.parametrize(
    ("parts", "status", "kind", "limit"),
    [
        (
            [form_part(f"f{i}") for i in range(100)] + [form_part("file", b"x", "a")],
            400,
            "BadRequest",
            100,
        ),
        ([form_part(f"f{i}", b"x", "a") for i in range(11)], 400, "BadRequest", 10),
        (
            [form_part("n" * (FORM_LIMIT + 1)), form_part("file", b"x", "a")],
            413,
            "PayloadTooLarge",
            FORM_LIMIT,
        ),
    ],
    ids=["101-parts", "11-files", "long-field-name"],
)
async def test_multipart_limits(
    client: BaobabClient,
    doc_file: str,
    site: str,
    *,
    unchanged: Unchanged,
    baobab_app: BaobabApp,
    parts: list[bytes],
    status: int,
    kind: str,
    limit: int,
) -> None:
    body = b"".join(parts) + b"--B--\r\n"
    async with unchanged(doc_file, *WATCHED):
        for target in (site, f"{doc_file}/@upload/file"):
            resp = await client.post(target, content=body, headers={"content-type": MULTIPART})
            assert assert_envelope(resp, status, kind)["details"] == {"limit": limit}, target
    assert leftovers(baobab_app) == []


# query values --------------------------------------------------------------------------------


async def test_blank_query_values_count_as_absent(client: BaobabClient, site: str) -> None:
    await create_raw(client, site, b"x", "one.txt", "text/plain", id="one")
    resp = await client.get(site, params={"b_size": ""})
    assert resp.status_code == 200, resp.text
    assert resp.json() == (await client.get(site)).json()  # the default batch
    path = await create_raw(client, site, b"y", "Two Notes.txt", "text/plain", id="", title="")
    body = (await client.get(path)).json()
    assert body["id"] == path.rsplit("/", 1)[1] != ""
    assert body["id"].startswith("two")
    assert body["title"] == "Two Notes.txt"


# refused before the body is read ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "query", "status", "kind"),
    [
        ("/db/site/shelf", "", 400, "NotAllowedType"),
        ("/db/site/shelf", "%40type=Secret", 400, "NotAllowedType"),
        ("/db/site", "id=taken", 409, "AlreadyExists"),
        ("/db/site", "id=bad%2Fid", 400, "InvalidId"),
    ],
    ids=["type-not-allowed", "asked-type-not-allowed", "id-taken", "id-invalid"],
)
async def test_raw_create_refused_before_the_body_is_read(
    client: BaobabClient,
    site: str,
    *,
    unchanged: Unchanged,
    baobab_app: BaobabApp,
    target: str,
    query: str,
    status: int,
    kind: str,
) -> None:
    for made in ({"@type": "Shelf", "id": "shelf"}, {"@type": "Document", "id": "taken"}):
        assert (await client.post(site, json=made)).status_code == 201
    async with unchanged(site, f"{site}/shelf", f"{site}/taken"):
        got = await call_app(
            baobab_app,
            "POST",
            target,
            chunks=[b"x" * 1000] * 5,
            query=query,
            headers=[("content-type", "text/plain"), ("content-disposition", attachment("a.txt"))],
        )
        envelope_of(got, status, kind)
        assert got.reads == 0
    assert leftovers(baobab_app) == []


# which bodies stream -------------------------------------------------------------------------


async def test_text_body_to_a_json_service_is_415(
    client: BaobabClient, doc_file: str, unchanged: Unchanged, baobab_app: BaobabApp
) -> None:
    """Only uploads stream: a text body to ``@workflow`` is refused as not JSON, and a JSON
    body is read as JSON even with a Content-Disposition."""
    async with unchanged(doc_file, f"{doc_file}/@workflow"):
        resp = await client.post(
            f"{doc_file}/@workflow/publish",
            content=b"a comment",
            headers={"content-type": "text/plain"},
        )
        assert_envelope(resp, 415, "UnsupportedMediaType")
    assert leftovers(baobab_app) == []
    resp = await client.patch(
        doc_file, json={"title": "Renamed"}, headers={"content-disposition": "attachment"}
    )
    assert resp.status_code == 204, resp.text
    assert (await client.get(doc_file)).json()["title"] == "Renamed"


@pytest.mark.parametrize(
    "headers",
    [
        {"content-type": "text/plain", "content-disposition": "inline"},
        {"content-type": MULTIPART},
    ],
    ids=["named-text", "multipart"],
)
async def test_streamed_body_to_a_json_service_is_415(
    client: BaobabClient,
    doc_file: str,
    *,
    unchanged: Unchanged,
    baobab_app: BaobabApp,
    headers: dict[str, str],
) -> None:
    async with unchanged(doc_file, f"{doc_file}/@workflow"):
        resp = await client.post(
            f"{doc_file}/@workflow/publish", content=GOOD_PART + b"--B--\r\n", headers=headers
        )
        assert_envelope(resp, 415, "UnsupportedMediaType")
    assert leftovers(baobab_app) == []

"""Resumable uploads over TUS 1.0 (core, creation, termination, expiration, checksum).

Refused requests check the status, the error envelope, that nothing was committed, and that
no spool or uncommitted blob file is left (:func:`leftovers`); every answer names the protocol
version (``Tus-Resumable: 1.0.0``). The unfinished uploads live in the database root under
``baobab.uploads``, read here through a connection of the test's own. The suite runs with
``files.max_upload_size`` = 64 KiB.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import itertools
import re
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from email.utils import parsedate_to_datetime
from typing import Any

import orjson
import pytest
import transaction
from files_support import (
    BASE,
    FILE_OVERRIDES,
    LIMIT,
    b64,
    call_app,
    leftovers,
    path_of,
    payload,
    sha256,
)

from baobab.asgi import BaobabApp
from baobab.testing import BaobabClient, Unchanged, assert_envelope, last_commit, share

VERSION = "1.0.0"
TUS = {"tus-resumable": VERSION}
OCTETS = "application/offset+octet-stream"
DATA = payload(6000, seed=7)
SITE = "/db/site"
NOT_UTF8 = b64(b"\xff\xfe")


@pytest.fixture
def baobab_overrides() -> dict[str, Any]:
    return FILE_OVERRIDES


# helpers -------------------------------------------------------------------------------------


def metadata(pairs: dict[str, str]) -> str:
    return ",".join(f"{key} {b64(value)}" for key, value in pairs.items())


def checksum(data: bytes) -> str:
    return "sha256 " + base64.b64encode(hashlib.sha256(data).digest()).decode("ascii")


def tus(resp: Any) -> Any:
    """Every TUS answer names the protocol version."""
    assert resp.headers["tus-resumable"] == VERSION, resp.headers
    return resp


def creation_headers(length: int, pairs: dict[str, str]) -> dict[str, str]:
    return {**TUS, "upload-length": str(length), "upload-metadata": metadata(pairs)}


async def start(
    client: BaobabClient,
    target: str = SITE,
    length: int = len(DATA),
    meta: dict[str, str] | None = None,
) -> str:
    """POST a new upload of ``length`` bytes to ``target``; the path of the upload."""
    pairs = {"filename": "data.bin", "filetype": "application/octet-stream"}
    if meta is not None:
        pairs = meta
    resp = tus(await client.post(f"{target}/@tus", headers=creation_headers(length, pairs)))
    assert resp.status_code == 201, resp.text
    location = resp.headers["location"]
    assert re.fullmatch(rf"{BASE}{target}/@tus/[0-9a-f]{{32}}", location), location
    assert resp.headers["upload-offset"] == "0"
    return path_of(location)


async def send(client: BaobabClient, upload: str, offset: int, data: bytes, **headers: str) -> Any:
    """PATCH ``data`` at ``offset``."""
    return tus(
        await client.patch(
            upload,
            content=data,
            headers={**TUS, "content-type": OCTETS, "upload-offset": str(offset), **headers},
        )
    )


async def offset_of(client: BaobabClient, upload: str) -> int:
    resp = tus(await client.head(upload, headers=TUS))
    assert resp.status_code == 200, resp.headers
    return int(resp.headers["upload-offset"])


@contextmanager
def uploads_tree(db: Any) -> Iterator[Any]:
    """The database's tree of unfinished uploads, in a transaction of the test's own
    (committed when the block ends)."""
    manager = transaction.TransactionManager()
    conn = db.open(manager)
    try:
        manager.begin()
        yield conn.root()["baobab.uploads"]
        manager.commit()
    finally:
        manager.abort()
        conn.close()


def records(db: Any) -> dict[str, dict[str, Any]]:
    with uploads_tree(db) as tree:
        return {
            key: {
                "offset": upload.offset,
                "length": upload.length,
                "owner": upload.owner,
                "field": upload.field,
                "parts": len(upload.parts),
            }
            for key, upload in tree.items()
            if not upload.complete  # a complete one stays until it expires (tested apart)
        }


def upload_id(upload: str) -> str:
    return upload.rsplit("/", 1)[1]


async def download(client: BaobabClient, path: str) -> bytes:
    resp = await client.get(f"{path}/@download")
    assert resp.status_code == 200, resp.text
    content: bytes = resp.content
    return content


@pytest.fixture
async def item(client: BaobabClient, site: str) -> str:
    """A private File of root's with ``b"old"`` in it."""
    resp = await client.post(
        site,
        content=b"old",
        params={"id": "item"},
        headers={"content-type": "text/plain", "content-disposition": "attachment; filename=o"},
    )
    assert resp.status_code == 201, resp.text
    return f"{site}/item"


# the protocol --------------------------------------------------------------------------------


async def test_options(client: BaobabClient, site: str, item: str) -> None:
    for target in (site, item):
        resp = tus(await client.options(f"{target}/@tus"))
        assert resp.status_code == 204
        assert resp.headers["tus-version"] == VERSION
        extensions = resp.headers["tus-extension"].split(",")
        assert {"creation", "termination", "expiration", "checksum"} <= set(extensions)
        assert resp.headers["tus-max-size"] == str(LIMIT)
        assert resp.headers["tus-checksum-algorithm"] == "sha1,sha256,sha512"


async def test_upload_in_one_patch_creates_a_file(
    client: BaobabClient, site: str, db: Any, unchanged: Unchanged, baobab_app: BaobabApp
) -> None:
    meta = {
        "filename": "Ünïcode report.pdf",
        "filetype": "application/pdf",
        "@type": "File",
        "id": "report",
        "title": "The report",
    }
    resp = tus(
        await client.post(
            f"{site}/@tus",
            headers={**TUS, "upload-length": str(len(DATA)), "upload-metadata": metadata(meta)},
        )
    )
    assert resp.status_code == 201, resp.text
    expires = parsedate_to_datetime(resp.headers["upload-expires"])
    assert dt.timedelta(hours=23) < expires - dt.datetime.now(dt.UTC) <= dt.timedelta(hours=24)
    upload = path_of(resp.headers["location"])
    assert records(db) == {
        upload_id(upload): {
            "offset": 0,
            "length": len(DATA),
            "owner": "root",
            "field": None,
            "parts": 0,
        }
    }
    head = tus(await client.head(upload, headers=TUS))
    assert head.status_code == 200
    assert head.headers["upload-offset"] == "0"
    assert head.headers["upload-length"] == str(len(DATA))
    assert head.headers["cache-control"] == "no-store"
    assert head.headers["upload-metadata"] == metadata(meta)
    assert "upload-expires" in head.headers

    resp = await send(client, upload, 0, DATA, **{"upload-checksum": checksum(DATA)})
    assert resp.status_code == 204, resp.text
    assert resp.headers["upload-offset"] == str(len(DATA))
    assert resp.headers["location"] == f"{BASE}{site}/report"
    body = (await client.get(f"{site}/report")).json()
    assert (body["@type"], body["title"], body["creators"]) == ("File", "The report", ["root"])
    assert body["file"] == {
        "download": f"{BASE}{site}/report/@download/file",
        "filename": "Ünïcode report.pdf",
        "content-type": "application/pdf",
        "size": len(DATA),
    }
    assert sha256(await download(client, f"{site}/report")) == sha256(DATA)
    # the upload is finished: no unfinished record, no parts; the record stays until it
    # expires, so a client whose last answer was lost learns it is done (TUS core)
    assert records(db) == {}
    head = tus(await client.head(upload, headers=TUS))
    assert head.status_code == 200
    assert head.headers["upload-offset"] == head.headers["upload-length"] == str(len(DATA))
    items = (await client.get(site)).json()["items"]
    async with unchanged(site):  # a repeated last PATCH creates nothing new
        again = await send(client, upload, len(DATA), b"")
        assert again.status_code == 204
        assert again.headers["location"] == f"{BASE}{site}/report"
        assert again.headers["upload-offset"] == str(len(DATA))
        assert_envelope(await send(client, upload, 0, DATA), 409, "OffsetMismatch")
    assert (await client.get(site)).json()["items"] == items
    assert tus(await client.delete(upload, headers=TUS)).status_code == 204
    assert tus(await client.head(upload, headers=TUS)).status_code == 404
    assert (await client.get(f"{site}/report")).status_code == 200  # the file stays
    assert leftovers(baobab_app) == []


async def test_upload_in_several_patches(
    client: BaobabClient, site: str, db: Any, baobab_app: BaobabApp
) -> None:
    upload = await start(client, meta={"filename": "parts.bin"})
    cuts = [0, 1000, 1001, 4500, len(DATA)]
    for first, end in itertools.pairwise(cuts[:-1]):
        resp = await send(client, upload, first, DATA[first:end])
        assert resp.status_code == 204, resp.text
        assert resp.headers["upload-offset"] == str(end)
        assert "location" not in resp.headers
        assert await offset_of(client, upload) == end
        assert leftovers(baobab_app) == []  # each part is a committed blob, not a spool file
    assert records(db)[upload_id(upload)]["parts"] == 3
    resp = await send(client, upload, cuts[-2], DATA[cuts[-2] :])
    assert resp.status_code == 204, resp.text
    assert resp.headers["upload-offset"] == str(len(DATA))
    path = path_of(resp.headers["location"])
    assert (await client.get(path)).json()["file"]["filename"] == "parts.bin"
    assert await download(client, path) == DATA
    assert records(db) == {}
    assert leftovers(baobab_app) == []  # the joined file became the blob


async def test_image_upload(client: BaobabClient, site: str) -> None:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (6, 4), (1, 2, 3)).save(out, format="PNG")
    image = out.getvalue()
    upload = await start(
        client, length=len(image), meta={"filename": "p.png", "filetype": "image/png"}
    )
    resp = await send(client, upload, 0, image)
    assert resp.status_code == 204, resp.text
    body = (await client.get(path_of(resp.headers["location"]))).json()
    assert body["@type"] == "Image"
    assert (body["image"]["width"], body["image"]["height"]) == (6, 4)


async def test_replace_the_file_of_an_item(
    client: BaobabClient, item: str, db: Any, baobab_app: BaobabApp
) -> None:
    etag = (await client.get(f"{item}/@download")).headers["etag"]
    upload = await start(client, item, meta={"filename": "new.bin"})
    assert records(db)[upload_id(upload)]["field"] == "file"
    resp = await send(client, upload, 0, DATA[:2000])
    assert resp.status_code == 204
    assert await download(client, item) == b"old"  # nothing changes before the end
    resp = await send(client, upload, 2000, DATA[2000:])
    assert resp.status_code == 204, resp.text
    assert resp.headers["location"] == f"{BASE}{item}"
    got = await client.get(f"{item}/@download")
    assert got.content == DATA
    assert got.headers["etag"] != etag
    assert (await client.get(item)).json()["file"]["filename"] == "new.bin"
    assert records(db) == {}
    assert leftovers(baobab_app) == []


async def test_terminate(
    client: BaobabClient, site: str, db: Any, unchanged: Unchanged, baobab_app: BaobabApp
) -> None:
    upload = await start(client)
    assert (await send(client, upload, 0, DATA[:100])).status_code == 204
    resp = tus(await client.delete(upload, headers=TUS))
    assert resp.status_code == 204
    assert records(db) == {}
    async with unchanged(site):
        assert_envelope(tus(await client.delete(upload, headers=TUS)), 404, "NotFound")
        assert_envelope(await send(client, upload, 100, DATA[100:]), 404, "NotFound")
    assert tus(await client.head(upload, headers=TUS)).status_code == 404
    assert leftovers(baobab_app) == []


# refusals ------------------------------------------------------------------------------------


async def test_version_is_required(
    client: BaobabClient, site: str, unchanged: Unchanged, baobab_app: BaobabApp
) -> None:
    upload = await start(client)
    for version in ({}, {"tus-resumable": "0.2.2"}):
        async with unchanged(site):
            for resp in (
                await client.post(f"{site}/@tus", headers={**version, "upload-length": "5"}),
                await client.patch(
                    upload,
                    content=b"abc",
                    headers={**version, "content-type": OCTETS, "upload-offset": "0"},
                ),
                await client.delete(upload, headers=version),
                await client.get(upload, headers=version),
            ):
                body = assert_envelope(tus(resp), 412, "PreconditionFailed")
                assert body["details"] == {"tus_version": [VERSION]}
                assert resp.headers["tus-version"] == VERSION
    assert await offset_of(client, upload) == 0
    assert leftovers(baobab_app) == []


async def test_patch_needs_offset_octet_stream(
    client: BaobabClient, site: str, unchanged: Unchanged, baobab_app: BaobabApp
) -> None:
    upload = await start(client)
    async with unchanged(site):
        for media in ("application/octet-stream", "text/plain", None):
            headers = {**TUS, "upload-offset": "0"}
            if media:
                headers["content-type"] = media
            resp = tus(await client.patch(upload, content=b"abc", headers=headers))
            assert_envelope(resp, 415, "UnsupportedMediaType")
    assert await offset_of(client, upload) == 0
    assert leftovers(baobab_app) == []


async def test_wrong_offset_is_409(
    client: BaobabClient, site: str, unchanged: Unchanged, baobab_app: BaobabApp
) -> None:
    upload = await start(client)
    assert (await send(client, upload, 0, DATA[:500])).status_code == 204
    async with unchanged(site):
        for offset in (0, 499, 501, 6000):
            body = assert_envelope(
                await send(client, upload, offset, DATA[offset:][:100]), 409, "OffsetMismatch"
            )
            assert body["details"] == {"offset": 500}
        resp = await send(client, upload, 0, b"x", **{"upload-offset": "-1"})
        assert_envelope(resp, 400, "BadRequest")
        # refused before a byte of the body is read
        got = await call_app(
            baobab_app,
            "PATCH",
            upload,
            chunks=[DATA[:100]] * 3,
            headers=[("tus-resumable", VERSION), ("content-type", OCTETS), ("upload-offset", "7")],
        )
        assert (got.status, got.reads, got.headers["tus-resumable"]) == (409, 0, VERSION)
    assert await offset_of(client, upload) == 500
    assert leftovers(baobab_app) == []


async def test_checksum_mismatch_is_460(
    client: BaobabClient, site: str, unchanged: Unchanged, baobab_app: BaobabApp
) -> None:
    upload = await start(client)
    chunk = DATA[:1000]
    async with unchanged(site):
        resp = await send(client, upload, 0, chunk, **{"upload-checksum": checksum(b"other")})
        body = assert_envelope(resp, 460, "ChecksumMismatch")
        assert body["details"] == {"sha256": sha256(chunk)}
        # the last PATCH too: nothing is created
        resp = await send(client, upload, 0, DATA, **{"upload-checksum": checksum(DATA[1:])})
        assert_envelope(resp, 460, "ChecksumMismatch")
        for bad in ("md5 " + b64(b"x" * 16), "sha256 not-base64!", "sha256 " + b64(b"short")):
            resp = await send(client, upload, 0, chunk, **{"upload-checksum": bad})
            assert_envelope(resp, 400, "BadRequest")
    assert await offset_of(client, upload) == 0
    assert leftovers(baobab_app) == []
    resp = await send(client, upload, 0, chunk, **{"upload-checksum": checksum(chunk)})
    assert resp.status_code == 204
    assert resp.headers["upload-offset"] == "1000"


async def test_more_bytes_than_upload_length_is_413(
    client: BaobabClient, site: str, unchanged: Unchanged, baobab_app: BaobabApp
) -> None:
    upload = await start(client, length=1000)
    assert (await send(client, upload, 0, DATA[:400])).status_code == 204

    async def stream() -> AsyncIterator[bytes]:
        for _ in range(7):
            yield DATA[:100]

    async with unchanged(site):
        body = assert_envelope(await send(client, upload, 400, DATA[:601]), 413, "PayloadTooLarge")
        assert body["details"] == {"limit": 600}
        resp = tus(
            await client.patch(
                upload,
                content=stream(),
                headers={**TUS, "content-type": OCTETS, "upload-offset": "400"},
            )
        )
        assert "content-length" not in resp.request.headers
        assert_envelope(resp, 413, "PayloadTooLarge")
    assert await offset_of(client, upload) == 400
    assert leftovers(baobab_app) == []
    assert (await send(client, upload, 400, DATA[:600])).status_code == 204


async def test_upload_length_over_the_limit_is_413(
    client: BaobabClient, site: str, db: Any, unchanged: Unchanged
) -> None:
    async with unchanged(site):
        resp = tus(
            await client.post(f"{site}/@tus", headers={**TUS, "upload-length": str(LIMIT + 1)})
        )
        body = assert_envelope(resp, 413, "PayloadTooLarge")
        assert body["details"] == {"limit": LIMIT}
    assert records(db) == {}
    await start(client, length=LIMIT)


@pytest.mark.parametrize(
    "headers",
    [
        {},  # no Upload-Length
        {"upload-length": "-1"},
        {"upload-length": "12abc"},
        {"upload-length": ""},
        {"upload-defer-length": "1"},
        {"upload-length": "5", "upload-metadata": "filename not*base64"},
        {"upload-length": "5", "upload-metadata": f"filename {b64('a')},filename {b64('b')}"},
        {"upload-length": "5", "upload-metadata": "filename a b c"},
        {"upload-length": "5", "upload-metadata": f"filename {NOT_UTF8}"},
    ],
    ids=[
        "no-length",
        "negative",
        "not-a-number",
        "empty",
        "deferred",
        "metadata-not-base64",
        "metadata-key-twice",
        "metadata-spaces",
        "metadata-not-utf8",
    ],
)
async def test_bad_creation_requests_are_400(
    client: BaobabClient, site: str, db: Any, unchanged: Unchanged, headers: dict[str, str]
) -> None:
    async with unchanged(site):
        resp = tus(await client.post(f"{site}/@tus", headers={**TUS, **headers}))
        assert_envelope(resp, 400, "BadRequest")
    assert records(db) == {}


async def test_creation_with_upload_is_not_supported(
    client: BaobabClient, site: str, db: Any, unchanged: Unchanged, baobab_app: BaobabApp
) -> None:
    async with unchanged(site):
        resp = tus(
            await client.post(
                f"{site}/@tus",
                content=b"abc",
                headers={**TUS, "upload-length": "3", "content-type": OCTETS},
            )
        )
        assert_envelope(resp, 400, "BadRequest")
    assert records(db) == {}
    assert leftovers(baobab_app) == []


async def test_unknown_field_or_type_is_refused_at_creation(
    client: BaobabClient, site: str, item: str, db: Any, unchanged: Unchanged
) -> None:
    async with unchanged(site, item):
        resp = tus(
            await client.post(
                f"{item}/@tus",
                headers={**TUS, "upload-length": "3", "upload-metadata": metadata({"field": "x"})},
            )
        )
        assert_envelope(resp, 404, "NotFound")
        resp = tus(
            await client.post(
                f"{site}/@tus",
                headers={
                    **TUS,
                    "upload-length": "3",
                    "upload-metadata": metadata({"@type": "Spaceship"}),
                },
            )
        )
        assert_envelope(resp, 400, "UnknownType")
    assert records(db) == {}


async def test_type_without_a_file_field_is_refused_at_creation(
    client: BaobabClient, site: str, db: Any
) -> None:
    resp = tus(
        await client.post(
            f"{site}/@tus",
            headers={
                **TUS,
                "upload-length": "3",
                "upload-metadata": metadata({"@type": "Document"}),
            },
        )
    )
    assert resp.status_code in (400, 422), resp.text
    assert records(db) == {}


async def test_empty_upload(client: BaobabClient, site: str, db: Any) -> None:
    """An empty upload is complete as created (TUS clients send no PATCH for it)."""
    pairs = {"filename": "empty.txt", "id": "empty"}
    resp = await client.post(f"{site}/@tus", headers=creation_headers(0, pairs))
    assert tus(resp).status_code == 201
    assert resp.headers["location"] == f"{BASE}{site}/empty"
    resp = await client.get(f"{site}/empty/@download")
    assert resp.status_code == 200 and resp.content == b""
    assert records(db) == {}


async def test_last_patch_refused_by_the_content_keeps_the_upload(
    client: BaobabClient, site: str, db: Any, unchanged: Unchanged, baobab_app: BaobabApp
) -> None:
    """What only the whole file shows (not an image), or an id taken since the upload was
    created, refuses the last PATCH: nothing is created, the upload stays where it was."""
    upload = await start(client, length=10, meta={"filename": "x.png", "filetype": "image/png"})
    assert (await send(client, upload, 0, b"01234")).status_code == 204
    async with unchanged(site):
        resp = await send(client, upload, 5, b"56789")
        assert_envelope(resp, 422, "ValidationError")
    assert await offset_of(client, upload) == 5
    assert leftovers(baobab_app) == []
    taken = await start(client, length=3, meta={"filename": "a.txt", "id": "taken"})
    await client.post(site, json={"@type": "Document", "id": "taken"})  # meanwhile
    async with unchanged(site):
        assert_envelope(await send(client, taken, 0, b"abc"), 409, "AlreadyExists")
    assert await offset_of(client, taken) == 0
    assert len(records(db)) == 2
    assert leftovers(baobab_app) == []


async def test_unknown_and_foreign_uploads_are_404(
    client: BaobabClient, site: str, item: str, unchanged: Unchanged, baobab_app: BaobabApp
) -> None:
    async with client.as_user("contributor") as contributor:
        upload = await start(contributor)
        assert (await send(contributor, upload, 0, DATA[:10])).status_code == 204
    async with unchanged(site), client.as_user("siteadmin") as other:
        unknown = f"{site}/@tus/{'0' * 32}"
        for path in (unknown, upload):
            assert_envelope(await send(other, path, 10, b"x"), 404, "NotFound")
            assert_envelope(tus(await other.delete(path, headers=TUS)), 404, "NotFound")
            assert_envelope(tus(await other.get(path, headers=TUS)), 404, "NotFound")
        # the upload's id under another object's URL
        elsewhere = f"{item}/@tus/{upload_id(upload)}"
        async with client.as_user("contributor") as contributor:
            assert_envelope(await send(contributor, elsewhere, 10, b"x"), 404, "NotFound")
    # a Manager may finish anyone's upload
    assert await offset_of(client, upload) == 10
    resp = await send(client, upload, 10, DATA[10:])
    assert resp.status_code == 204, resp.text
    assert await download(client, path_of(resp.headers["location"])) == DATA
    assert leftovers(baobab_app) == []


async def test_expired_upload_is_gone(
    client: BaobabClient, site: str, db: Any, unchanged: Unchanged, baobab_app: BaobabApp
) -> None:
    upload = await start(client)
    assert (await send(client, upload, 0, DATA[:10])).status_code == 204
    with uploads_tree(db) as tree:  # an hour past its expiry
        tree[upload_id(upload)].expires = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    async with unchanged(site):
        body = assert_envelope(await send(client, upload, 10, DATA[10:]), 410, "Gone")
        assert set(body["details"]) == {"expires"}
        assert_envelope(tus(await client.get(upload, headers=TUS)), 410, "Gone")
        assert_envelope(tus(await client.delete(upload, headers=TUS)), 410, "Gone")
    assert tus(await client.head(upload, headers=TUS)).status_code == 410
    assert leftovers(baobab_app) == []
    # the next creation purges it
    fresh = await start(client)
    assert set(records(db)) == {upload_id(fresh)}
    assert tus(await client.head(upload, headers=TUS)).status_code == 404


@pytest.mark.parametrize(
    ("login", "status"), [(None, 401), ("reader", 403), ("editor", 403), ("member", 403)]
)
async def test_who_may_create_uploads(
    client: BaobabClient,
    site: str,
    item: str,
    *,
    db: Any,
    unchanged: Unchanged,
    login: str | None,
    status: int,
) -> None:
    """In the site: Add (Manager, Site Administrator, Owner, Contributor). On root's private
    File: Modify (Editor may), and no Access at all is a 404 (Member)."""
    on_item = {None: 401, "reader": 403, "editor": 201, "member": 404}[login]
    async with unchanged(site, item), client.as_user(login) as who:
        resp = tus(await who.post(f"{site}/@tus", headers={**TUS, "upload-length": "3"}))
        assert_envelope(resp, status)
        if on_item != 201:
            resp = tus(await who.post(f"{item}/@tus", headers={**TUS, "upload-length": "3"}))
            assert_envelope(resp, on_item)
    assert records(db) == {}
    if on_item == 201:
        async with client.as_user(login) as who:
            upload = await start(who, item, length=3)
            assert (await send(who, upload, 0, b"new")).status_code == 204
        assert await download(client, item) == b"new"


@pytest.mark.parametrize(("published", "status"), [(True, 403), (False, 404)])
async def test_permission_lost_midway(
    client: BaobabClient,
    site: str,
    db: Any,
    *,
    unchanged: Unchanged,
    baobab_app: BaobabApp,
    published: bool,
    status: int,
) -> None:
    """Each request checks again the permission the upload needs: once the member's local
    Contributor role is gone, a folder she can still see answers 403, a private one 404."""
    resp = await client.post(site, json={"@type": "Folder", "id": "box"})
    assert resp.status_code == 201, resp.text
    box = f"{site}/box"
    if published:
        assert (await client.post(f"{box}/@workflow/publish")).status_code == 200
    await share(client, box, "member", "baobab.Contributor", True)
    async with client.as_user("member") as member:
        upload = await start(member, box)
        assert (await send(member, upload, 0, DATA[:100])).status_code == 204
        await share(client, box, "member", "baobab.Contributor", False)
        async with unchanged(box):
            assert_envelope(await send(member, upload, 100, DATA[100:]), status)
            assert_envelope(tus(await member.get(upload, headers=TUS)), status)
            assert_envelope(tus(await member.delete(upload, headers=TUS)), status)
    assert records(db)[upload_id(upload)]["offset"] == 100
    assert leftovers(baobab_app) == []


# disconnects ---------------------------------------------------------------------------------


async def test_disconnect_keeps_what_arrived(
    client: BaobabClient, site: str, baobab_app: BaobabApp
) -> None:
    """A PATCH cut off by the client keeps the bytes that arrived: the client resumes from
    the new offset (HEAD) and the file comes out whole."""
    upload = await start(client)
    got = await call_app(
        baobab_app,
        "PATCH",
        upload,
        chunks=[DATA[:1000], DATA[1000:2500]],
        disconnect=True,
        headers=[("tus-resumable", VERSION), ("content-type", OCTETS), ("upload-offset", "0")],
    )
    assert got.reads == 3
    assert got.status == 204  # answered, though nobody may be listening
    assert got.headers["upload-offset"] == "2500"
    assert leftovers(baobab_app) == []
    assert await offset_of(client, upload) == 2500
    resp = await send(client, upload, 2500, DATA[2500:])
    assert resp.status_code == 204, resp.text
    assert await download(client, path_of(resp.headers["location"])) == DATA


async def test_disconnect_with_a_checksum_keeps_nothing(
    client: BaobabClient, site: str, db: Any, unchanged: Unchanged, baobab_app: BaobabApp
) -> None:
    """With an Upload-Checksum, a cut-off PATCH cannot be verified: nothing is kept."""
    upload = await start(client)
    before = last_commit(db)
    async with unchanged(site):
        got = await call_app(
            baobab_app,
            "PATCH",
            upload,
            chunks=[DATA[:1000], DATA[1000:2500]],
            disconnect=True,
            headers=[
                ("tus-resumable", VERSION),
                ("content-type", OCTETS),
                ("upload-offset", "0"),
                ("upload-checksum", checksum(DATA)),
            ],
        )
        assert (got.status, got.reads) == (400, 3)
        assert orjson.loads(got.body)["type"] == "IncompleteBody"
        assert leftovers(baobab_app) == []
    assert last_commit(db) == before
    assert await offset_of(client, upload) == 0


async def test_head_is_never_answered_from_a_stale_validator(
    client: BaobabClient, site: str
) -> None:
    upload = await start(client)
    etag = tus(await client.head(upload, headers=TUS)).headers.get("etag")
    assert (await send(client, upload, 0, DATA[:10])).status_code == 204
    headers = {**TUS, "if-none-match": etag} if etag else TUS
    resp = tus(await client.head(upload, headers=headers))
    assert resp.status_code == 200
    assert resp.headers["upload-offset"] == "10"


async def test_taken_or_invalid_id_is_refused_at_creation(
    client: BaobabClient, site: str, db: Any, unchanged: Unchanged
) -> None:
    await client.post(site, json={"@type": "Document", "id": "taken"})
    async with unchanged(site):
        for meta, status, kind in (
            ({"filename": "a.txt", "id": "taken"}, 409, "AlreadyExists"),
            ({"filename": "a.txt", "id": "bad/id"}, 400, "InvalidId"),
        ):
            resp = await client.post(f"{site}/@tus", headers=creation_headers(3, meta))
            assert_envelope(tus(resp), status, kind)
    assert records(db) == {}


async def test_field_write_permission_is_checked_at_creation(
    client: BaobabClient, site: str, db: Any, unchanged: Unchanged, baobab_app: BaobabApp
) -> None:
    """A contributor may add a Secret but not write its attachment (Review): refused when
    the upload is created, not after its bytes are sent."""
    meta = {"filename": "a.txt", "@type": "Secret"}
    async with unchanged(site):
        got = await call_app(
            baobab_app,
            "POST",
            f"{site}/@tus",
            login="contributor",
            headers=list(creation_headers(3, meta).items()),
        )
        assert (got.status, got.reads) == (403, 0)
        async with client.as_user("contributor") as contributor:
            resp = await contributor.post(f"{site}/@tus", headers=creation_headers(3, meta))
            assert_envelope(tus(resp), 403, "Forbidden")
    assert records(db) == {}
    assert leftovers(baobab_app) == []
    # the control: root may write the field
    upload = await start(client, meta=meta, length=3)
    resp = await send(client, upload, 0, b"abc")
    assert resp.status_code == 204, resp.text
    path = path_of(resp.headers["location"])
    assert (await client.get(f"{path}/@download/attachment")).content == b"abc"


@pytest.mark.parametrize("asked", [None, "File", "Secret"])
async def test_type_not_allowed_is_refused_at_creation(
    client: BaobabClient, site: str, db: Any, unchanged: Unchanged, asked: str | None
) -> None:
    """A Shelf takes documents only: an upload to create a file in it is refused at POST."""
    resp = await client.post(site, json={"@type": "Shelf", "id": "shelf"})
    assert resp.status_code == 201, resp.text
    meta = {"filename": "a.txt", **({"@type": asked} if asked else {})}
    async with unchanged(site, f"{site}/shelf"):
        resp = await client.post(f"{site}/shelf/@tus", headers=creation_headers(3, meta))
        body = assert_envelope(tus(resp), 400, "NotAllowedType")
        assert body["details"] == {"@type": asked or "File", "allowed": ["Document"]}
    assert records(db) == {}


async def test_blank_metadata_values_count_as_absent(client: BaobabClient, site: str) -> None:
    """As ``?id=`` on a raw create: a blank ``id`` or ``title`` is no id or title."""
    upload = await start(client, meta={"filename": "Blank Notes.txt", "id": "", "title": ""})
    resp = await send(client, upload, 0, DATA)
    assert resp.status_code == 204, resp.text
    body = (await client.get(path_of(resp.headers["location"]))).json()
    assert body["id"].startswith("blank")
    assert body["title"] == "Blank Notes.txt"

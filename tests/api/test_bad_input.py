"""Bad input gets one error envelope with the right status — and the database is unchanged."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from baobab.testing import BaobabClient, assert_envelope

# what root reads back to check that a refused request changed nothing
WATCHED = ("/db/site",)


async def test_malformed_json(client: BaobabClient, site: str, unchanged: Any) -> None:
    async with unchanged(*WATCHED):
        resp = await client.post(
            site, content=b'{"@type": "Document",', headers={"content-type": "application/json"}
        )
        assert_envelope(resp, 400, "MalformedJSON")
        resp = await client.patch(site, content=b"", headers={"content-type": "application/json"})
        assert_envelope(resp, 400, "MalformedJSON")


async def test_body_must_be_an_object(client: BaobabClient, site: str, unchanged: Any) -> None:
    async with unchanged(*WATCHED):
        assert_envelope(await client.post(site, json=["x"]), 400, "BadRequest")


async def test_wrong_media_type(client: BaobabClient, site: str, unchanged: Any) -> None:
    async with unchanged(*WATCHED):
        resp = await client.post(site, content=b"id=x", headers={"content-type": "text/plain"})
        assert_envelope(resp, 415, "UnsupportedMediaType")


async def test_unknown_type(client: BaobabClient, site: str, unchanged: Any) -> None:
    async with unchanged(*WATCHED):
        body = assert_envelope(
            await client.post(site, json={"@type": "Spaceship"}), 400, "UnknownType"
        )
        assert "Spaceship" in body["message"]
        resp = await client.post(site, json={"title": "no type"})
        assert_envelope(resp, 422, "ValidationError")


async def test_type_not_allowed_here(client: BaobabClient, site: str, unchanged: Any) -> None:
    await client.post(site, json={"@type": "Document", "id": "doc"})
    async with unchanged(*WATCHED):
        resp = await client.post(f"{site}/doc", json={"@type": "Document"})
        assert_envelope(resp, 405, "MethodNotAllowed")  # a Document has no children
        resp = await client.post(site, json={"@type": "Container"})
        assert_envelope(resp, 400, "NotAllowedType")


@pytest.mark.parametrize(
    ("bad_id", "reason"),
    [
        ("a/b", "'/'"),
        ("@view", "'@'"),
        ("_private", "'_'"),
        (".", "'.'"),
        ("..", "'..'"),
        ("tab\there", "control"),
        ("x" * 256, "longer"),
        ("", "empty"),
        (" padded ", "white space"),
        (42, "string"),
    ],
)
async def test_bad_ids(
    client: BaobabClient, site: str, unchanged: Any, bad_id: Any, reason: str
) -> None:
    async with unchanged(*WATCHED):
        resp = await client.post(site, json={"@type": "Document", "id": bad_id})
        body = assert_envelope(resp, 400, "InvalidId")
        assert reason in body["message"]


async def test_duplicate_id(client: BaobabClient, site: str, unchanged: Any) -> None:
    await client.post(site, json={"@type": "Document", "id": "doc", "title": "first"})
    async with unchanged(*WATCHED):
        resp = await client.post(site, json={"@type": "Document", "id": "doc"})
        assert_envelope(resp, 409, "AlreadyExists")
    assert (await client.get(f"{site}/doc")).json()["title"] == "first"


async def test_unknown_and_wrong_fields(client: BaobabClient, site: str, unchanged: Any) -> None:
    await client.post(site, json={"@type": "Document", "id": "doc"})
    async with unchanged(*WATCHED):
        resp = await client.post(site, json={"@type": "Document", "colour": "red"})
        body = assert_envelope(resp, 422, "ValidationError")
        assert body["details"] == [{"field": "colour", "message": "is not a field of this type"}]
        resp = await client.patch(
            f"{site}/doc",
            json={"title": 5, "subjects": "x", "effective": "yesterday", "created": "2020-01-01"},
        )
        body = assert_envelope(resp, 422, "ValidationError")
        fields = {d["field"]: d["message"] for d in body["details"]}
        assert fields == {
            "title": "must be a string, not a number",
            "subjects": "must be an array, not a string",
            "effective": "must be an ISO 8601 date-time",
            "created": "is read-only (kept by the server)",
        }


async def test_oversized_body(client: BaobabClient, site: str, unchanged: Any) -> None:
    async with unchanged(*WATCHED):
        big = b'{"@type": "Document", "text": "' + b"x" * (2 << 20) + b'"}'
        resp = await client.post(site, content=big, headers={"content-type": "application/json"})
        body = assert_envelope(resp, 413, "PayloadTooLarge")
        assert body["details"] == {"limit": 1 << 20}


async def test_oversized_body_without_content_length(
    client: BaobabClient, site: str, unchanged: Any
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"@type": "Document", "text": "'
        for _ in range(40):
            yield b"y" * 65536
        yield b'"}'

    async with unchanged(*WATCHED):
        resp = await client.post(
            site, content=chunks(), headers={"content-type": "application/json"}
        )
        assert_envelope(resp, 413, "PayloadTooLarge")


async def test_missing_and_forged_credentials(
    client: BaobabClient, site: str, unchanged: Any
) -> None:
    import jwt

    forged = jwt.encode(
        {"sub": "root", "exp": 9999999999, "jti": "x"},
        "a-forged-secret-that-is-long-enough-32b",
        algorithm="HS256",
    )
    unsigned = jwt.encode({"sub": "root", "exp": 9999999999, "jti": "x"}, None, algorithm="none")
    async with unchanged(), client.as_user(None) as anon:
        resp = await anon.post(site, json={"@type": "Document", "id": "x"})
        assert_envelope(resp, 401, "Unauthorized")
        assert "Bearer" in resp.headers["www-authenticate"]
        for token in (forged, unsigned, "garbage"):
            resp = await anon.post(
                site,
                json={"@type": "Document", "id": "x"},
                headers={"Authorization": f"Bearer {token}"},
            )
            body = assert_envelope(resp, 401, "Unauthorized")
            assert body["message"] == "The token is invalid"
        resp = await anon.get(site, headers={"Authorization": "Basic cm9vdDp3cm9uZw=="})
        assert_envelope(resp, 401, "Unauthorized")
        resp = await anon.get(site, headers={"Authorization": "Digest abc"})
        assert_envelope(resp, 401, "Unauthorized")


async def test_bad_batch_parameters(client: BaobabClient, site: str) -> None:
    resp = await client.get(site, params={"b_size": "lots"})
    assert_envelope(resp, 400, "BadRequest")
    resp = await client.get(site, params={"b_size": "0"})
    assert_envelope(resp, 400, "BadRequest")

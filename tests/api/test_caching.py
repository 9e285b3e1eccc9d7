"""Cache-Control and Vary (finding 8): an answer that depends on who asked is never kept by a
shared cache, and a credential is never stored at all (``baobab.asgi.caching``)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from files_support import b64

from baobab.testing import BaobabClient, add, transition

PRIVATE = "private, no-cache"
PUBLIC = "public, no-cache"
ORIGIN = "https://front.example"


@pytest.fixture
def baobab_overrides() -> dict[str, Any]:
    return {"cors": {"allow_origins": [ORIGIN]}}


def vary(resp: httpx.Response) -> list[str]:
    """The ``Vary`` names, asserting they come in one header, each once."""
    values = resp.headers.get_list("vary")
    assert len(values) == 1, values
    names = [v.strip().lower() for v in values[0].split(",")]
    assert len(names) == len(set(names)), names
    return names


def private(resp: httpx.Response) -> None:
    assert resp.headers["cache-control"] == PRIVATE, (resp.status_code, resp.headers)
    assert {"authorization", "cookie"} <= set(vary(resp))


@pytest.fixture
async def tree(client: BaobabClient, site: str) -> dict[str, str]:
    """A private document and a published one, with a file each."""
    draft = await add(client, site, "Document", "draft", title="Draft")
    news = await add(client, site, "Document", "news", title="News")
    await transition(client, news, "publish")
    file = {"data": b64(b"secret bytes"), "filename": "s.txt", "content-type": "text/plain"}
    resp = await client.post(site, json={"@type": "File", "id": "doc", "file": file})
    assert resp.status_code == 201, resp.text
    pub = await add(client, site, "File", "pub", file={**file, "data": b64(b"public bytes")})
    await transition(client, pub, "publish")
    return {"site": site, "draft": draft, "news": news, "file": f"{site}/doc", "pub": pub}


async def test_answers_to_a_principal_are_private_and_vary_on_credentials(
    client: BaobabClient, tree: dict[str, str]
) -> None:
    site, draft = tree["site"], tree["draft"]
    for path in (
        draft,
        site,
        f"{site}/@sharing",
        f"{draft}/@sharing",
        f"{draft}/@workflow",
        f"{site}/@users",
        f"{site}/@groups",
        "/db",
    ):
        resp = await client.get(path)
        assert resp.status_code == 200, (path, resp.text)
        private(resp)
        assert "etag" in resp.headers  # the validators stay: no-cache revalidates with them
    # the 304 of a revalidation says the same
    resp = await client.get(draft)
    again = await client.get(draft, headers={"if-none-match": resp.headers["etag"]})
    assert again.status_code == 304
    private(again)


async def test_errors_about_private_things_are_private(
    client: BaobabClient, tree: dict[str, str]
) -> None:
    anonymous = client.as_user(None)
    for who in (anonymous, client.as_user("member")):
        resp = await who.get(tree["draft"])
        assert resp.status_code in (401, 404), resp.text
        private(resp)
        resp = await who.get(f"{tree['file']}/@download/file")
        assert resp.status_code in (401, 404), resp.text
        private(resp)
    resp = await client.get(f"{tree['site']}/nothing-here")
    assert resp.status_code == 404
    private(resp)


async def test_a_download_of_a_private_file_is_private_and_keeps_its_validators(
    client: BaobabClient, tree: dict[str, str]
) -> None:
    url = f"{tree['file']}/@download/file"
    resp = await client.get(url)
    assert (resp.status_code, resp.content) == (200, b"secret bytes")
    private(resp)
    assert {"etag", "last-modified", "accept-ranges", "content-disposition"} <= set(resp.headers)
    again = await client.get(url, headers={"if-none-match": resp.headers["etag"]})
    assert again.status_code == 304
    private(again)
    part = await client.get(url, headers={"range": "bytes=0-5"})
    assert (part.status_code, part.content) == (206, b"secret")
    private(part)
    # the object URL negotiates JSON or the bytes: Accept joins the credentials in one Vary,
    # on the 304 of a revalidation too
    for accept in ("application/json", "text/plain"):
        resp = await client.get(tree["file"], headers={"accept": accept})
        assert resp.status_code == 200
        private(resp)
        assert "accept" in vary(resp)
        headers = {"accept": accept, "if-none-match": resp.headers["etag"]}
        again = await client.get(tree["file"], headers=headers)
        assert again.status_code == 304
        private(again)
        assert "accept" in vary(again)


async def test_what_anonymous_may_see_is_shareable_but_revalidated(
    client: BaobabClient, tree: dict[str, str]
) -> None:
    """Every anonymous request gets the same answer: a shared cache may keep it, keyed by
    the credentials it varies on, and must ask again (``no-cache``) before each reuse."""
    anonymous = client.as_user(None)
    for path in (tree["news"], f"{tree['pub']}/@download/file"):
        resp = await anonymous.get(path)
        assert resp.status_code == 200, resp.text
        assert resp.headers["cache-control"] == PUBLIC
        assert {"authorization", "cookie"} <= set(vary(resp))
        again = await anonymous.get(path, headers={"if-none-match": resp.headers["etag"]})
        assert (again.status_code, again.headers["cache-control"]) == (304, PUBLIC)
        # the same URL with credentials is private
        private(await client.get(path))
    # a cookie is a credential too: conservatively private
    resp = await anonymous.get(tree["news"], headers={"cookie": "auth_token=x"})
    assert resp.status_code == 200
    private(resp)


async def test_credentials_are_never_stored(client: BaobabClient, tree: dict[str, str]) -> None:
    site = tree["site"]
    anonymous = client.as_user(None)
    resp = await anonymous.post("/@login", json={"login": "editor", "password": "editor-secret"})
    assert resp.status_code == 200, resp.text
    assert resp.headers["cache-control"] == "no-store"
    assert {"authorization", "cookie"} <= set(vary(resp))
    token = resp.json()["token"]
    with_token = client.with_token(token)
    resp = await with_token.post("/@login-renew")
    assert (resp.status_code, resp.headers["cache-control"]) == (200, "no-store")
    resp = await anonymous.post("/@login", json={"login": "editor", "password": "wrong"})
    assert (resp.status_code, resp.headers["cache-control"]) == (401, "no-store")
    resp = await client.get(f"{site}/@wstoken")
    assert (resp.status_code, resp.headers["cache-control"]) == (200, "no-store")
    assert {"authorization", "cookie"} <= set(vary(resp))
    # any answer to a write: a created object's JSON is not kept either
    resp = await client.post(site, json={"@type": "Document", "id": "w", "title": "W"})
    assert (resp.status_code, resp.headers["cache-control"]) == (201, "no-store")


async def test_vary_merges_with_cors_origin(client: BaobabClient, tree: dict[str, str]) -> None:
    resp = await client.get(tree["draft"], headers={"origin": ORIGIN})
    assert resp.headers["access-control-allow-origin"] == ORIGIN
    private(resp)
    assert vary(resp) == ["origin", "authorization", "cookie"]
    resp = await client.get(tree["file"], headers={"origin": ORIGIN, "accept": "text/plain"})
    assert set(vary(resp)) == {"accept", "origin", "authorization", "cookie"}

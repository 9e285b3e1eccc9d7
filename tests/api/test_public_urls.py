"""The public base URL, trusted hosts and proxy headers (finding 8, ``baobab.asgi.urls``):
the Host a client sends is never reflected into a URL unless the configuration trusts it."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from files_support import b64

from baobab.asgi import BaobabApp
from baobab.config.settings import parse_settings
from baobab.errors import ConfigError
from baobab.testing import ROOT_PASSWORD, TEST_USERS, BaobabClient, add, assert_envelope, login
from baobab.testing.websocket import Rejected, basic, ws_connect

PUBLIC = "https://public.example/cms"
ROOT = basic("root", ROOT_PASSWORD)
EVIL = {"host": "evil.example"}


async def test_by_default_the_host_header_makes_the_urls(client: BaobabClient, site: str) -> None:
    """No setting: today's behaviour (any well-formed Host), for a development server."""
    resp = await client.get(site, headers={"host": "other.example:8080"})
    assert resp.json()["@id"] == f"http://other.example:8080{site}"
    # proxy headers are not believed without forwarded_allow_ips
    resp = await client.get(
        site, headers={"x-forwarded-host": "evil.example", "x-forwarded-proto": "https"}
    )
    assert resp.json()["@id"] == f"http://baobab.test{site}"


@pytest.mark.parametrize(
    "host", [b"a b", b"evil.example/x", b"x@evil.example", b"", "évil.example".encode()]
)
async def test_a_malformed_host_is_refused_even_when_any_host_is_trusted(
    client: BaobabClient, site: str, host: bytes
) -> None:
    resp = await client.get(site, headers={"host": host})
    assert_envelope(resp, 400, "BadRequest")
    assert not host or host not in resp.content


@pytest.mark.parametrize("baobab_overrides", [{"server": {"public_url": PUBLIC + "/"}}])
async def test_public_url_makes_every_absolute_url(
    baobab_app: BaobabApp, client: BaobabClient, site: str
) -> None:
    """``@id``, ``parent``, listings, batching, ``Location`` (content, files, TUS), services'
    ids and pushed frames: all start with the public URL, prefix included, whatever the
    Host."""
    evil = BaobabClient(
        transport=httpx.ASGITransport(app=baobab_app),
        base_url="http://evil.example",
        auth=("root", ROOT_PASSWORD),
    )
    for i in range(3):
        await add(client, site, "Document", f"d{i}", title=f"D{i}")
    body = (await evil.get(site, params={"b_size": 2})).json()
    assert body["@id"] == f"{PUBLIC}{site}"
    assert body["parent"]["@id"] == f"{PUBLIC}/db"
    assert [item["@id"] for item in body["items"]] == [f"{PUBLIC}{site}/d0", f"{PUBLIC}{site}/d1"]
    assert all(link.startswith(f"{PUBLIC}{site}") for link in body["batching"].values())
    created = await evil.post(site, json={"@type": "Document", "id": "new", "title": "N"})
    assert created.status_code == 201
    assert created.headers["location"] == f"{PUBLIC}{site}/new"
    assert created.json()["@id"] == f"{PUBLIC}{site}/new"
    file = {"data": b64(b"bytes"), "filename": "f.txt", "content-type": "text/plain"}
    await add(client, site, "File", "f", file=file)
    uploaded = await evil.put(f"{site}/f/@upload/file", content=b"other bytes")
    assert uploaded.status_code == 200, uploaded.text
    assert uploaded.headers["location"].startswith(f"{PUBLIC}{site}/f/")
    tus = await evil.post(
        f"{site}/@tus",
        headers={
            "tus-resumable": "1.0.0",
            "upload-length": "3",
            "upload-metadata": f"filename {b64('t.txt')},filetype {b64('text/plain')}",
        },
    )
    assert tus.status_code == 201, tus.text
    assert tus.headers["location"].startswith(f"{PUBLIC}{site}/@tus/")
    for service in ("@users", "@workflow", "@types"):
        where = f"{site}/d0" if service == "@workflow" else site
        resp = await evil.get(f"{where}/{service}")
        assert resp.status_code == 200, (service, resp.text)
        assert "evil.example" not in resp.text and PUBLIC in resp.text, service
    async with ws_connect(baobab_app, f"{site}/@ws", headers=ROOT, host="evil.example") as ws:
        await ws.send_json({"type": "subscribe", "id": "s"})
        assert (await ws.receive_json())["type"] == "ack"
        await add(client, site, "Document", "live", title="L")
        frame = await ws.receive_json()
    assert frame["@id"] == f"{PUBLIC}{site}/live"
    assert frame["parent"] == {"@id": f"{PUBLIC}{site}"}


TRUSTED = {"server": {"trusted_hosts": ["api.example.org", "*.example.net"]}}


@pytest.mark.parametrize("baobab_overrides", [TRUSTED])
async def test_only_trusted_hosts_are_answered(baobab_app: BaobabApp, client: BaobabClient) -> None:
    for host in ("api.example.org", "API.example.org:8443", "a.example.net", "b.a.example.net"):
        resp = await client.get("/db", headers={"host": host})
        assert resp.status_code == 200, (host, resp.text)
        assert resp.json()["@id"] == f"http://{host}/db"
    for host in ("baobab.test", "example.net", "api.example.org.evil.com", "evilexample.net"):
        resp = await client.get("/db", headers={"host": host})
        assert_envelope(resp, 400, "BadRequest")
        assert "private" in resp.headers["cache-control"]
    # refused before the credentials are checked (a wrong password is not even looked at)
    wrong = client.as_login("root", "wrong")
    assert_envelope(await wrong.get("/db", headers=EVIL), 400, "BadRequest")
    with pytest.raises(Rejected) as refused:
        async with ws_connect(baobab_app, "/db/@ws", headers=ROOT, host="evil.example"):
            pass
    assert refused.value.status == 400


PROXY = {"server": {"forwarded_allow_ips": ["127.0.0.0/8"], "trusted_hosts": ["front.example"]}}


@pytest.mark.parametrize("baobab_overrides", [PROXY])
async def test_forwarded_headers_from_a_trusted_proxy(client: BaobabClient) -> None:
    """The test transport's peer is 127.0.0.1: a trusted proxy here. The last value of each
    header is the one the nearest proxy set; the forwarded host is checked too."""
    headers = {
        "host": "backend:8080",
        "x-forwarded-host": "evil.example, front.example",
        "x-forwarded-proto": "http, https",
    }
    resp = await client.get("/db", headers=headers)
    assert resp.json()["@id"] == "https://front.example/db"
    bad = {**headers, "x-forwarded-host": "front.example, evil.example"}
    assert_envelope(await client.get("/db", headers=bad), 400, "BadRequest")
    bad = {**headers, "x-forwarded-proto": "javascript"}
    assert_envelope(await client.get("/db", headers=bad), 400, "BadRequest")


@pytest.mark.parametrize("baobab_overrides", [{"server": {"forwarded_allow_ips": ["10.0.0.1"]}}])
async def test_forwarded_headers_from_another_peer_are_ignored(client: BaobabClient) -> None:
    headers = {"x-forwarded-host": "evil.example", "x-forwarded-proto": "https"}
    resp = await client.get("/db", headers=headers)
    assert resp.json()["@id"] == "http://baobab.test/db"


@pytest.mark.parametrize(
    ("server", "key"),
    [
        ({"public_url": "example.org"}, "public_url"),
        ({"public_url": "ftp://example.org"}, "public_url"),
        ({"public_url": "https://example.org/?q=1"}, "public_url"),
        ({"public_url": "https://user:pw@example.org"}, "public_url"),
        ({"trusted_hosts": ["evil.*"]}, "trusted_hosts[0]"),
        ({"trusted_hosts": ["ok.example", "host:80"]}, "trusted_hosts[1]"),
        ({"forwarded_allow_ips": ["not-an-ip"]}, "forwarded_allow_ips[0]"),
    ],
)
def test_bad_url_settings_are_refused_naming_the_key(server: dict[str, Any], key: str) -> None:
    import json

    with pytest.raises(ConfigError) as info:
        parse_settings(json.dumps({"server": server}))
    assert f"`$.server.{key}`" in info.value.message


@pytest.mark.parametrize("baobab_overrides", [{"server": {"public_url": PUBLIC}}])
async def test_the_websocket_login_cookie_is_same_origin_with_the_public_url(
    baobab_app: BaobabApp, client: BaobabClient, site: str
) -> None:
    """Behind the proxy the pages are on the public URL's host, whatever Host reaches the
    server: that is the origin the login cookie is accepted from."""
    token = await login(client, "", "editor", TEST_USERS["editor"][0])
    cookie = {"cookie": f"auth_token={token}", "origin": "https://public.example"}
    async with ws_connect(baobab_app, f"{site}/@ws", headers=cookie, host="backend:8080") as ws:
        await ws.send_json({"type": "subscribe", "id": "s"})
        assert (await ws.receive_json())["type"] == "ack"
    for origin in ("http://backend:8080", "https://evil.example"):
        with pytest.raises(Rejected) as refused:
            headers = {**cookie, "origin": origin}
            async with ws_connect(baobab_app, f"{site}/@ws", headers=headers, host="backend:8080"):
                pass
        assert refused.value.status == 403

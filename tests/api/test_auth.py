"""Authentication: Basic, JWT login/renew/logout, and 401 versus 403."""

from __future__ import annotations

import time

import jwt

from baobab.testing import ROOT_PASSWORD, BaobabClient, login


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_login_token_works_until_logout(client: BaobabClient, site: str) -> None:
    token = await login(client, "", "root", ROOT_PASSWORD)
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["sub"] == "root"
    assert claims["exp"] > time.time()
    async with client.as_user(None) as anon:
        assert (await anon.get(site, headers=bearer(token))).status_code == 200
        resp = await anon.post(
            site, json={"@type": "Document", "id": "by-token"}, headers=bearer(token)
        )
        assert resp.status_code == 201
        assert resp.json()["creators"] == ["root"]
        assert (await anon.post("/@logout", headers=bearer(token))).status_code == 204
        resp = await anon.get(site, headers=bearer(token))
        assert resp.status_code == 401
        assert resp.json()["message"] == "The token has been revoked (logged out)"


async def test_container_login_and_renew(client: BaobabClient, site: str) -> None:
    token = await login(client, site, "editor", "editor-secret")
    async with client.as_user(None) as anon:
        resp = await anon.post(f"{site}/@login-renew", headers=bearer(token))
        assert resp.status_code == 200
        renewed = resp.json()["token"]
        assert renewed != token
        assert jwt.decode(renewed, options={"verify_signature": False})["sub"] == "editor"
        assert (await anon.get(site, headers=bearer(renewed))).status_code == 200
        # logging out one token leaves the other working
        assert (await anon.post(f"{site}/@logout", headers=bearer(renewed))).status_code == 204
        assert (await anon.get(site, headers=bearer(renewed))).status_code == 401
        assert (await anon.get(site, headers=bearer(token))).status_code == 200


async def test_login_on_missing_container(client: BaobabClient) -> None:
    async with client.as_user(None) as anon:
        good = {"login": "root", "password": ROOT_PASSWORD}
        resp = await anon.post("/db/nosite/@login", json=good)
        assert resp.status_code == 404
        assert resp.json()["type"] == "NotFound"
        # a wrong password learns nothing more than a right one: the container is missing
        resp = await anon.post("/db/nosite/@login", json={"login": "root", "password": "x"})
        assert resp.status_code == 404


async def test_wrong_password_is_401(client: BaobabClient) -> None:
    async with client.as_user(None) as anon:
        for body in ({"login": "root", "password": "wrong"}, {"login": "ghost", "password": "x"}):
            resp = await anon.post("/@login", json=body)
            assert resp.status_code == 401
            assert resp.json()["message"] == "Wrong login or password"
        resp = await anon.post("/@login", json={"login": "root"})
        assert resp.status_code == 422


async def test_renew_and_logout_need_a_token(client: BaobabClient) -> None:
    for path in ("/@login-renew", "/@logout"):
        assert (await client.post(path)).status_code == 401  # Basic auth is not a token
        async with client.as_user(None) as anon:
            assert (await anon.post(path)).status_code == 401


async def test_expired_token(client: BaobabClient, site: str) -> None:
    secret = "test-jwt-secret-that-is-long-enough-for-hs256"
    expired = jwt.encode(
        {"sub": "root", "exp": int(time.time()) - 10, "jti": "old"}, secret, algorithm="HS256"
    )
    async with client.as_user(None) as anon:
        resp = await anon.get(site, headers=bearer(expired))
    assert resp.status_code == 401
    assert resp.json()["message"] == "The token has expired"


async def test_401_for_anonymous_403_for_authenticated(client: BaobabClient, site: str) -> None:
    await client.post(site, json={"@type": "Document", "id": "doc"})
    async with client.as_user(None) as anon:
        assert (await anon.get(f"{site}/doc")).status_code == 401
    async with client.as_user("member") as member:
        # may not even know the private doc exists: the same 404 as for a missing object
        resp = await member.get(f"{site}/doc")
        assert resp.status_code == 404
        missing = await member.get(f"{site}/nodoc")
        assert resp.json()["message"] == missing.json()["message"].replace("nodoc", "doc")
        # sees the (published) site but may not change it: 403 naming the permission
        resp = await member.patch(site, json={"title": "x"})
        assert resp.status_code == 403
        assert resp.json()["details"] == {"permission": "baobab.ModifyContent"}
    async with client.as_user("reader") as reader:
        assert (await reader.get(f"{site}/doc")).status_code == 200
        assert (await reader.patch(f"{site}/doc", json={"title": "x"})).status_code == 403
        assert (await reader.delete(f"{site}/doc")).status_code == 403
        resp = await reader.post(site, json={"@type": "Document"})
        assert resp.status_code == 403
    async with client.as_user("editor") as editor:
        assert (await editor.patch(f"{site}/doc", json={"title": "x"})).status_code == 204
        resp = await editor.post("/db", json={"@type": "Container", "id": "other"})
        assert resp.status_code == 403

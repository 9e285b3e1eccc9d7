"""JWT login and logout over a real server, across a restart."""

from __future__ import annotations

import httpx
import pytest

pytestmark = pytest.mark.server


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_envelope(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    data = response.json()
    assert set(data) == {"type", "message", "details", "request_id"}
    assert isinstance(data["type"], str)
    assert isinstance(data["message"], str)
    assert data["message"]
    return data


def test_login_then_logout_revokes_the_token_for_good(servers) -> None:
    config = servers.config()
    server = servers.serve(config)
    with server.client() as client:
        response = client.post("/@login", json={"login": "root", "password": servers.root_password})
        assert response.status_code == 200, response.text
        token = response.json()["token"]
        other = client.post(
            "/@login", json={"login": "root", "password": servers.root_password}
        ).json()["token"]
        assert other != token

        wrong = client.post("/@login", json={"login": "root", "password": "nope"})
        assert_envelope(wrong, 401)

        created = client.post(
            "/db", json={"@type": "Container", "id": "site"}, headers=bearer(token)
        )
        assert created.status_code == 201, created.text
        assert created.json()["creators"] == ["root"]
        assert client.get("/db/site", headers=bearer(token)).status_code == 200

        assert client.post("/@logout", headers=bearer(token)).status_code == 204

        for method, path in [("GET", "/db/site"), ("GET", "/"), ("POST", "/@logout")]:
            response = client.request(method, path, headers=bearer(token))
            data = assert_envelope(response, 401)
            assert data["type"] == "Unauthorized"
            assert "Bearer" in response.headers["www-authenticate"]
        # Revoking one token leaves the others alone.
        assert client.get("/db/site", headers=bearer(other)).status_code == 200
        # A forged token is refused with the same envelope.
        assert_envelope(client.get("/db/site", headers=bearer(token[:-4] + "AAAA")), 401)
    assert server.terminate() == 0

    # The revocation is stored in the database: it outlives the process.
    restarted = servers.serve(config)
    with restarted.client() as client:
        assert_envelope(client.get("/db/site", headers=bearer(token)), 401)
        assert client.get("/db/site", headers=bearer(other)).status_code == 200

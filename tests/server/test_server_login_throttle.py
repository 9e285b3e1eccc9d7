"""The login throttle behind a real server: Granian's peer address is what counts, and the
429 carries Retry-After (the in-process suite is tests/api/test_login_abuse.py)."""

from __future__ import annotations

import pytest

from baobab.testing import assert_envelope
from baobab.testing.server import JWT_SECRET, ROOT_PASSWORD, Servers

pytestmark = pytest.mark.server


def test_wrong_passwords_lock_the_login_with_retry_after(servers: Servers) -> None:
    config = servers.config(
        {
            "var_dir": str(servers.var),
            "auth": {
                "root_password": ROOT_PASSWORD,
                "jwt_secret": JWT_SECRET,
                "throttle": {"login_failures": 2, "address_failures": 100, "lockout": 90},
            },
            "server": {"access_log": False},
        }
    )
    server = servers.serve(config)
    with server.client() as client:
        for _ in range(2):
            wrong = client.post("/@login", json={"login": "root", "password": "nope"})
            assert_envelope(wrong, 401, "Unauthorized")
        for answer in (
            client.post("/@login", json={"login": "root", "password": ROOT_PASSWORD}),
            client.get("/db", auth=("root", ROOT_PASSWORD)),
        ):
            body = assert_envelope(answer, 429, "TooManyRequests")
            assert 85 <= int(answer.headers["retry-after"]) <= 90
            assert body["details"] == {"retry_after": int(answer.headers["retry-after"])}
        # an unknown login is refused at the same price and counted the same way
        for _ in range(2):
            wrong = client.post("/@login", json={"login": "ghost", "password": "nope"})
            assert_envelope(wrong, 401, "Unauthorized")
        assert_envelope(client.get("/db", auth=("ghost", "nope")), 429, "TooManyRequests")

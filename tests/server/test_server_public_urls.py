"""Public base URL, trusted hosts and proxy headers through a real ``baobab serve`` (Granian
builds the scope: the Host of HTTP/1.1, the ``:authority`` of HTTP/2, the peer address)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from baobab.testing.server import JWT_SECRET, ROOT_PASSWORD, Servers

pytestmark = pytest.mark.server

PUBLIC = "https://public.example/cms"


def config(servers: Servers, name: str, **server: Any) -> Path:
    return servers.config(
        {
            "var_dir": str(servers.var / name),
            "auth": {"root_password": ROOT_PASSWORD, "jwt_secret": JWT_SECRET},
            "server": {"access_log": False, **server},
        },
        name=f"{name}.json",
    )


def test_public_url_and_trusted_hosts(servers: Servers) -> None:
    server = servers.serve(
        config(servers, "public", public_url=PUBLIC, trusted_hosts=["127.0.0.1", "public.example"])
    )
    with server.root_client() as client:
        assert client.get("/db").json()["@id"] == f"{PUBLIC}/db"
        created = client.post(
            "/db",
            json={"@type": "Container", "id": "site", "title": "Site"},
            headers={"host": "public.example"},
        )
        assert created.status_code == 201, created.text
        assert created.headers["location"] == f"{PUBLIC}/db/site"
        refused = client.get("/db/site", headers={"host": "evil.example"})
        assert refused.status_code == 400
        assert refused.json()["type"] == "BadRequest"
        assert "evil" not in refused.text
    if shutil.which("curl"):  # HTTP/2: the host comes as :authority
        done = subprocess.run(
            ["curl", "-sS", "--http2-prior-knowledge", "-u", f"root:{ROOT_PASSWORD}",
             "-w", "\n%{http_code} %{http_version}", f"{server.url}/db/site"],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        body, _, trailer = done.stdout.rpartition("\n")
        assert trailer == "200 2", done
        assert json.loads(body)["@id"] == f"{PUBLIC}/db/site"
    server.stop()
    assert "Traceback" not in server.output()


def test_forwarded_headers_only_from_the_configured_proxy(servers: Servers) -> None:
    trusting = servers.serve(config(servers, "proxied", forwarded_allow_ips=["127.0.0.1"]))
    ignoring = servers.serve(config(servers, "direct", forwarded_allow_ips=["10.9.8.7"]))
    headers = {"x-forwarded-proto": "https", "x-forwarded-host": "front.example"}
    with trusting.root_client() as client:
        assert client.get("/db", headers=headers).json()["@id"] == "https://front.example/db"
    with ignoring.root_client() as client:
        assert client.get("/db", headers=headers).json()["@id"] == f"{ignoring.url}/db"

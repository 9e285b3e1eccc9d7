"""A TUS upload begun on one instance is finished on another (RelStorage on PostgreSQL)."""

from __future__ import annotations

import hashlib
import os
from typing import Any

import httpx
import pytest

from baobab.testing import require_postgres, zap_postgres
from baobab.testing.server import JWT_SECRET, ROOT_PASSWORD

pytestmark = [pytest.mark.server, pytest.mark.postgresql]

TUS = {"Tus-Resumable": "1.0.0"}
OCTETS = {**TUS, "Content-Type": "application/offset+octet-stream"}


def instance(servers: Any, dsn: str, name: str) -> Any:
    """A ``baobab serve`` with a var dir (and blob cache) of its own: another machine."""
    var = servers.tmp_path / name
    config = servers.config(
        {
            "var_dir": str(var),
            "databases": {"db": {"storage": "postgresql", "dsn": dsn}},
            "auth": {"root_password": ROOT_PASSWORD, "jwt_secret": JWT_SECRET},
            "server": {"access_log": False},
        },
        name=f"{name}.json",
    )
    return servers.serve(config)


def test_upload_continues_on_another_instance(servers: Any) -> None:
    dsn = require_postgres()
    zap_postgres(dsn)
    first, second = instance(servers, dsn, "one"), instance(servers, dsn, "two")
    data = os.urandom(3_000_000)
    auth = ("root", ROOT_PASSWORD)
    with httpx.Client(auth=auth, timeout=30) as http:
        resp = http.post(f"{first.url}/db", json={"@type": "Container", "id": "site"})
        assert resp.status_code == 201, resp.text
        resp = http.post(
            f"{first.url}/db/site/@tus",
            headers={**TUS, "Upload-Length": str(len(data)), "Upload-Metadata": "id Ymln"},
        )
        assert resp.status_code == 201, resp.text
        path = httpx.URL(resp.headers["location"]).path
        # the first third on one instance, the second on the other, the rest on the first
        for url, start, end in (
            (first.url, 0, 1_000_000),
            (second.url, 1_000_000, 2_000_000),
            (first.url, 2_000_000, 3_000_000),
        ):
            offset = http.head(f"{url}{path}", headers=TUS).headers["upload-offset"]
            assert int(offset) == start
            headers = {**OCTETS, "Upload-Offset": str(start)}
            resp = http.patch(f"{url}{path}", content=data[start:end], headers=headers)
            assert resp.status_code == 204, resp.text
            assert int(resp.headers["upload-offset"]) == end
        assert resp.headers["location"] == f"{first.url}/db/site/big"
        for url in (first.url, second.url):
            download = http.get(f"{url}/db/site/big/@download")
            assert download.status_code == 200
            assert hashlib.sha256(download.content).digest() == hashlib.sha256(data).digest()
        done = http.head(f"{second.url}{path}", headers=TUS)  # complete, seen from both
        assert (done.status_code, done.headers["upload-offset"]) == (200, str(len(data)))

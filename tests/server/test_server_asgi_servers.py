"""``baobab.asgi:app`` is a plain ASGI app: it runs under uvicorn and hypercorn too."""

from __future__ import annotations

import signal
import sys

import pytest

pytestmark = pytest.mark.server

SERVERS = {
    "uvicorn": lambda port: [
        sys.executable, "-m", "uvicorn", "baobab.asgi:app",
        "--host", "127.0.0.1", "--port", str(port), "--no-access-log",
    ],
    "hypercorn": lambda port: [
        sys.executable, "-m", "hypercorn", "baobab.asgi:app", "--bind", f"127.0.0.1:{port}",
    ],
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(SERVERS))
def test_the_asgi_app_runs_under(name, servers) -> None:
    config = servers.config()
    server = servers.start(name, SERVERS[name], env={"BAOBAB_CONFIG": str(config)})
    with server.client() as client:
        response = client.get("/")
        assert response.status_code == 200
        assert response.json()["databases"] == [f"{server.url}/db"]
    with server.root_client() as client:
        response = client.post("/db", json={"@type": "Container", "id": "site"})
        assert response.status_code == 201, response.text
        assert response.headers["location"] == f"{server.url}/db/site"
        response = client.post("/db/site", json={"@type": "Document", "id": "d1", "title": "x"})
        assert response.status_code == 201, response.text
        etag = response.headers["etag"]
        response = client.get("/db/site/d1", headers={"If-None-Match": etag})
        assert response.status_code == 304
    # The settings came from BAOBAB_CONFIG: the database is in its var_dir, not in cwd.
    assert (servers.var / "db.fs").exists()
    assert not (servers.cwd / "var").exists()

    returncode = server.terminate()
    # uvicorn re-raises the signal after its graceful shutdown; hypercorn exits 0.
    assert returncode in (0, -signal.SIGTERM), server.output()
    # The lifespan shutdown ran: FileStorage was closed (index saved at the end of the file).
    assert servers.index_saved_at_end()

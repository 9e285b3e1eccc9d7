"""``baobab export`` / ``baobab import`` against databases written by real servers.

A site with every kind of state (users and groups with their hashes, local roles and a block
of inheritance, workflow states and history, a user-set order, files of several MiB and an
image) is built over HTTP on a FileStorage server; exported by the CLI *while that server
runs* (a read-only FileStorage takes no lock); imported into PostgreSQL *while a server runs
on it*; compared field by field and blob by blob with the source; searched there with the
right security; logged into with an imported user's password; exported back from PostgreSQL
and imported into a fresh FileStorage under another id, and compared again.
"""

from __future__ import annotations

import tarfile
from pathlib import Path
from typing import Any

import httpx
import pytest
from transfer_support import assert_same, build_site, dump, without_container_name

from baobab.testing import require_postgres, zap_postgres
from baobab.testing.server import JWT_SECRET, ROOT_PASSWORD, ServerProcess, Servers, run_cli

pytestmark = [pytest.mark.server]


def pg_config(servers: Servers, dsn: str) -> Path:
    return servers.config(
        {
            "var_dir": str(servers.tmp_path / "pg-var"),
            "databases": {"db": {"storage": "postgresql", "dsn": dsn}},
            "auth": {"root_password": ROOT_PASSWORD, "jwt_secret": JWT_SECRET},
            "server": {"access_log": False},
        },
        name="pg.json",
    )


def fs_config(servers: Servers, name: str) -> Path:
    return servers.config(
        {
            "var_dir": str(servers.tmp_path / f"{name}-var"),
            "auth": {"root_password": ROOT_PASSWORD, "jwt_secret": JWT_SECRET},
            "server": {"access_log": False},
        },
        name=f"{name}.json",
    )


def search(client: httpx.Client, site: str, **params: Any) -> list[str]:
    resp = client.get(f"/db/{site}/@search", params={**params, "b_size": 1000})
    assert resp.status_code == 200, resp.text
    return sorted(httpx.URL(item["@id"]).path for item in resp.json()["items"])


def check_security(server: ServerProcess, site: str) -> None:
    """Search on the imported site: anonymous finds only published content; bob, Reader on
    /private, finds what is below it but not /private/inner/q (its inheritance is blocked);
    alice logs in with the password she had on the source."""
    base = f"/db/{site}"
    with server.client() as anonymous:
        assert search(anonymous, site, SearchableText="mango") == [
            f"{base}/news/n0",
            f"{base}/news/n4",
        ]
    with server.client(auth=("bob", "bob-password-1")) as bob:
        found = search(bob, site, SearchableText="mango")
        assert f"{base}/private/inner/p1" in found
        assert f"{base}/private/inner/q" not in found
        assert f"{base}/news/n1" not in found
        assert bob.get(f"{base}/private/inner/q").status_code == 404
    with server.client() as anonymous:
        resp = anonymous.post(
            f"{base}/@login", json={"login": "alice", "password": "alice-password-1"}
        )
        assert resp.status_code == 200, resp.text
    with server.client(auth=("alice", "alice-password-1")) as alice:  # staff: Editor on /private
        resp = alice.patch(f"{base}/private/inner/p0", json={"title": "Edited after import"})
        assert resp.status_code == 204, resp.text
    with server.root_client() as root:
        report = root.get(f"{base}/news/report/@download/file")
        assert report.status_code == 200 and len(report.content) > 3 * 1024 * 1024
        listing = root.get(f"{base}/news").json()["items"]
        assert [item["id"] for item in listing][:3] == ["n5", "n0", "n2"]


@pytest.mark.postgresql
def test_round_trip_filestorage_postgresql_filestorage(servers: Servers, tmp_path: Path) -> None:
    dsn = require_postgres()
    zap_postgres(dsn)
    source_config = fs_config(servers, "source")
    source = servers.serve(source_config)
    with source.root_client() as root:
        build_site(root)
    archive = tmp_path / "site.tar.gz"
    # exported while the FileStorage server runs
    done = run_cli(
        ["export", "--config", str(source_config), "--container", "site", str(archive)], servers.cwd
    )
    assert done.returncode == 0, done.stderr
    assert "/db/site: 16 objects, 2 files (3145822 bytes), 3 users, 1 groups" in done.stdout
    with tarfile.open(archive, "r:gz") as tar:
        names = tar.getnames()
    assert names[0] == "manifest.json" and names[-1] == "end.json"

    # a FileStorage that a server holds is refused with one line, nothing written
    refused = run_cli(
        ["import", "--config", str(source_config), "--container", "x", str(archive)], servers.cwd
    )
    assert refused.returncode == 2
    assert "in use by another process" in refused.stderr and len(refused.stderr.splitlines()) == 1

    # imported into PostgreSQL while a server runs on it
    target_config = pg_config(servers, dsn)
    target = servers.serve(target_config)
    done = run_cli(["import", "--config", str(target_config), str(archive)], servers.cwd)
    assert done.returncode == 0, done.stderr
    assert "/db/site:" in done.stdout
    expected = dump(source_config, "site")
    assert_same(dump(target_config, "site"), expected)
    check_security(target, "site")

    # back: exported from PostgreSQL (server running), imported into a new FileStorage as
    # "copy"; compared with the PostgreSQL side (alice edited p0 there)
    back = tmp_path / "back.tar"
    done = run_cli(
        ["export", "--config", str(target_config), "--container", "site", str(back)], servers.cwd
    )
    assert done.returncode == 0, done.stderr
    fresh_config = fs_config(servers, "fresh")
    done = run_cli(
        ["import", "--config", str(fresh_config), "--container", "copy", str(back)], servers.cwd
    )
    assert done.returncode == 0, done.stderr
    assert_same(
        without_container_name(dump(fresh_config, "copy"), "copy"),
        without_container_name(dump(target_config, "site"), "site"),
    )
    fresh = servers.serve(fresh_config)
    check_security(fresh, "copy")


# The README's "Operating Baobab" snippet for export and import (the README itself is merged
# by hand; this is the text proposed for it, run here as the README test will run it).
README_SNIPPET = """\
# move the site to another instance: export it while the server runs (a read-only
# FileStorage takes no lock) …
baobab export --config "$CONFIG" --container site site.tar.gz
tar -tzf site.tar.gz | head -2
# … and import it under a new id into the other instance's database (FileStorage: with that
# instance stopped; PostgreSQL: while it runs), then serve it there
echo "{\\"var_dir\\": \\"copy-var\\", \\"auth\\": {\\"root_password\\": \\"$PW\\"}}" > copy.json
baobab import --config copy.json --container site2 site.tar.gz
baobab serve --config copy.json --port 8081 >copy.log 2>&1 & COPY=$!
until curl -s -o /dev/null http://127.0.0.1:8081/; do sleep 0.2; done
curl -s -u root:$PW http://127.0.0.1:8081/db/site2 | head -c 100; echo
kill $COPY; wait $COPY; echo "copy stopped"
"""


def test_readme_snippet(servers: Servers) -> None:
    import os
    import subprocess

    from baobab.testing.server import BAOBAB, free_port

    server = servers.serve()
    with server.root_client() as root:
        build_site(root)
    port = str(free_port())
    script = README_SNIPPET.replace("8081", port)
    env = {**os.environ, "CONFIG": str(servers.tmp_path / "baobab.json"), "PW": ROOT_PASSWORD,
           "PATH": f"{BAOBAB.parent}:{os.environ['PATH']}"}  # fmt: skip
    done = subprocess.run(["bash", "-c", f"set -u\n{script}"], capture_output=True, text=True,
                          timeout=120, check=False, cwd=servers.cwd, env=env)  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("/db/site: 16 objects, 2 files")
    assert lines[1:3] == ["manifest.json", "content/000000000.json"]
    assert lines[3].startswith("/db/site2: 16 objects, 2 files")
    assert lines[4].startswith('{"@id":"http://127.0.0.1:') and "/db/site2" in lines[4], lines
    assert lines[-1] == "copy stopped"

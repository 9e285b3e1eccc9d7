"""``baobab user add / passwd / list / remove`` through the real command, then a login over
HTTP on a real server: site users on FileStorage (server stopped) and on PostgreSQL (server
running), configured users in the configuration file. Refusals are one line, exit 2, and
write nothing."""

from __future__ import annotations

import json
import uuid

import pytest
from stdin_cli import baobab, one_line_error

from baobab.testing import require_postgres
from baobab.testing.server import JWT_SECRET, ROOT_PASSWORD, ServerProcess, Servers

pytestmark = pytest.mark.server


def login(server: ServerProcess, container: str, user: str, password: str) -> int:
    with server.client() as client:
        path = f"/db/{container}/@login"
        return client.post(path, json={"login": user, "password": password}).status_code


def make_site(server: ServerProcess, name: str) -> None:
    with server.root_client() as client:
        created = client.post("/db", json={"@type": "Container", "id": name})
        assert created.status_code == 201, created.text


def test_site_users_on_filestorage(servers: Servers) -> None:
    config = str(servers.config())
    server = servers.serve()
    make_site(server, "site")
    assert server.terminate() == 0
    data = servers.var / "db.fs"

    def user(*args: str, stdin: str = "") -> str:
        done = baobab("user", *args, "-c", config, "--container", "site", cwd=servers.cwd,
                      stdin=stdin)  # fmt: skip
        assert done.returncode == 0, done
        assert done.stderr == ""
        return done.stdout

    out = user("add", "alice", "--title", "Alice Liddell", "--role", "baobab.Editor",
               stdin="alice-password\n")  # fmt: skip
    assert out == "user 'alice' added to /db/site\n"
    user("add", "bob", stdin="bob-password\n")
    listing = user("list")
    assert listing.splitlines() == [
        "LOGIN  TITLE          ROLES",
        "alice  Alice Liddell  baobab.Editor",
        "bob",
    ]
    assert "argon2" not in listing

    # refusals: one line, exit 2, nothing written (FileStorage only grows: same size)
    size = data.stat().st_size
    refusals = [
        (["add", "alice"], "alice-password\n", "already exists"),
        (["add", "carol"], "short\n", "at least 8 characters"),
        (["add", "carol"], "", "no password"),
        (
            ["add", "carol", "--role", "Owner"],
            "carol-password\n",
            "not a role that can be assigned",
        ),
        (["add", "root"], "carol-password\n", "reserved"),
        (["add", "no/slash"], "carol-password\n", "must be 1–100 letters"),
        (["passwd", "nobody"], "carol-password\n", "No user 'nobody'"),
        (["remove", "nobody"], "", "No user 'nobody'"),
    ]
    for args, stdin, message in refusals:
        done = baobab("user", *args, "-c", config, "--container", "site", cwd=servers.cwd,
                      stdin=stdin)  # fmt: skip
        assert message in one_line_error(done), (args, done.stderr)
    done = baobab("user", "add", "carol", "-c", config, "--container", "elsewhere",
                  cwd=servers.cwd, stdin="carol-password\n")  # fmt: skip
    assert one_line_error(done) == "baobab: no container named 'elsewhere' in database 'db'"
    done = baobab("user", "list", "-c", config, "--container", "site", "--database", "nodb",
                  cwd=servers.cwd)  # fmt: skip
    assert "no database named 'nodb'" in one_line_error(done)
    assert data.stat().st_size == size

    server = servers.serve()
    assert login(server, "site", "alice", "alice-password") == 200
    assert login(server, "site", "alice", "wrong-password") == 401
    with server.client(auth=("alice", "alice-password")) as client:
        me = client.get("/db/site/@users/alice").json()
    assert (me["fullname"], me["roles"]) == ("Alice Liddell", ["baobab.Editor"])
    assert server.terminate() == 0

    assert "changed" in user("passwd", "alice", stdin="alice-new-password\n")
    assert "removed" in user("remove", "bob")
    server = servers.serve()
    assert login(server, "site", "alice", "alice-password") == 401
    assert login(server, "site", "alice", "alice-new-password") == 200
    assert login(server, "site", "bob", "bob-password") == 401


@pytest.mark.postgresql
def test_site_users_on_postgresql_while_the_server_runs(servers: Servers) -> None:
    dsn = require_postgres()
    config = servers.config(
        {
            "var_dir": str(servers.var),
            "databases": {"db": {"storage": "postgresql", "dsn": dsn}},
            "auth": {"root_password": ROOT_PASSWORD, "jwt_secret": JWT_SECRET},
            "server": {"access_log": False},
        }
    )
    server = servers.serve(config)
    site = f"site-{uuid.uuid4().hex[:8]}"
    make_site(server, site)

    def user(*args: str, stdin: str = "") -> str:
        done = baobab("user", *args, "-c", str(config), "--container", site, cwd=servers.cwd,
                      stdin=stdin)  # fmt: skip
        assert done.returncode == 0, done
        return done.stdout

    user("add", "alice", "--title", "Alice", stdin="alice-password\n")
    assert login(server, site, "alice", "alice-password") == 200  # live, no restart
    with server.client() as client:
        token = client.post(
            f"/db/{site}/@login", json={"login": "alice", "password": "alice-password"}
        ).json()["token"]
        bearer = {"Authorization": f"Bearer {token}"}
        assert client.get(f"/db/{site}/@users/alice", headers=bearer).status_code == 200

        user("passwd", "alice", stdin="alice-new-password\n")
        assert login(server, site, "alice", "alice-password") == 401
        assert login(server, site, "alice", "alice-new-password") == 200
        # as through @users: a password change ends the tokens issued before it
        assert client.get(f"/db/{site}/@users/alice", headers=bearer).status_code == 401

    assert user("list").splitlines()[1:] == ["alice  Alice"]
    done = baobab("user", "add", "alice", "-c", str(config), "--container", site,
                  cwd=servers.cwd, stdin="other-password\n")  # fmt: skip
    assert "already exists" in one_line_error(done)
    assert login(server, site, "alice", "alice-new-password") == 200
    user("remove", "alice")
    assert login(server, site, "alice", "alice-new-password") == 401


def test_configured_users_in_the_config_file(servers: Servers) -> None:
    path = servers.config(
        {
            "var_dir": str(servers.var),
            "auth": {"root_password": ROOT_PASSWORD, "jwt_secret": JWT_SECRET},
            "server": {"access_log": False},
        }
    )
    config = str(path)

    def user(*args: str, stdin: str = "") -> str:
        done = baobab("user", *args, "-c", config, "--configured", cwd=servers.cwd, stdin=stdin)
        assert done.returncode == 0, done
        return done.stdout

    out = user("add", "carol", "--title", "Carol", "--role", "baobab.Reviewer",
               stdin="carol-password\n")  # fmt: skip
    assert "added to" in out and "restarted" in out
    data = json.loads(path.read_text())
    assert data["auth"]["root_password"] == ROOT_PASSWORD  # the other keys are kept
    assert data["server"] == {"access_log": False}
    carol = data["auth"]["users"]["carol"]
    assert carol["password_hash"].startswith("$argon2id$")
    assert (carol["roles"], carol["title"]) == (["baobab.Reviewer"], "Carol")
    assert user("list").splitlines() == ["LOGIN  TITLE  ROLES", "carol  Carol  baobab.Reviewer"]

    before = path.read_bytes()
    refusals = [
        (["add", "carol"], "carol-password\n", "exists already"),
        (["add", "root"], "carol-password\n", "reserved"),
        (
            ["add", "dave", "--role", "baobab.Nope"],
            "dave-password\n",
            "not a role that can be assigned",
        ),
        (["add", "dave"], "short\n", "at least 8 characters"),
        (["passwd", "nobody"], "dave-password\n", "no configured user 'nobody'"),
    ]
    for args, stdin, message in refusals:
        done = baobab("user", *args, "-c", config, "--configured", cwd=servers.cwd, stdin=stdin)
        assert message in one_line_error(done), (args, done.stderr)
    done = baobab("user", "list", "--configured", cwd=servers.cwd)
    assert "--config" in one_line_error(done)
    assert path.read_bytes() == before

    server = servers.serve(path)
    make_site(server, "one")
    make_site(server, "two")
    for site in ("one", "two"):  # valid in every container
        assert login(server, site, "carol", "carol-password") == 200
    assert server.terminate() == 0

    user("passwd", "carol", stdin="carol-new-password\n")
    server = servers.serve(path)
    assert login(server, "one", "carol", "carol-password") == 401
    assert login(server, "one", "carol", "carol-new-password") == 200
    assert server.terminate() == 0
    user("remove", "carol")
    assert json.loads(path.read_text())["auth"]["users"] == {}

"""Factories for settings, apps and clients that tests (ours and add-ons') share."""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any, NoReturn

import httpx
import msgspec
from argon2 import PasswordHasher

from baobab.config.settings import Settings, parse_settings

__all__ = [
    "ROOT_PASSWORD",
    "TEST_USERS",
    "BaobabClient",
    "Unchanged",
    "assert_envelope",
    "delete_redis_keys",
    "last_commit",
    "make_settings",
    "postgres_dsn",
    "redis_url",
    "require_postgres",
    "require_redis",
    "unavailable",
    "without_request_id",
    "zap_postgres",
]

ROOT_PASSWORD = "root-secret"
# login → (password, global roles)
TEST_USERS: dict[str, tuple[str, list[str]]] = {
    "reader": ("reader-secret", ["baobab.Reader"]),
    "editor": ("editor-secret", ["baobab.Editor"]),
    "contributor": ("contributor-secret", ["baobab.Contributor"]),
    "reviewer": ("reviewer-secret", ["baobab.Reviewer"]),
    "siteadmin": ("siteadmin-secret", ["baobab.SiteAdministrator"]),
    "member": ("member-secret", ["baobab.Member"]),
}

DSN_ENV = "BAOBAB_TEST_DSN"
REDIS_ENV = "BAOBAB_TEST_REDIS"


def postgres_dsn() -> str:
    return os.environ.get(DSN_ENV, "host=127.0.0.1 port=5432 dbname=test")


def require_postgres() -> str:
    """The DSN if PostgreSQL answers; else skip (fail under CI, where it must run)."""
    import psycopg2

    dsn = postgres_dsn()
    try:
        psycopg2.connect(dsn, connect_timeout=3).close()
    except psycopg2.OperationalError as exc:
        unavailable(
            f"PostgreSQL unreachable at {dsn!r} ({exc}); start it with "
            "`pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`"
        )
    return dsn


def redis_url() -> str:
    return os.environ.get(REDIS_ENV, "redis://127.0.0.1:6379/0")


def require_redis() -> str:
    """The Redis URL if Redis answers; else skip (fail under CI, where it must run)."""
    import redis

    url = redis_url()
    client = redis.Redis.from_url(url, socket_connect_timeout=3)
    try:
        client.ping()
    except redis.RedisError as exc:
        unavailable(
            f"Redis unreachable at {url} ({exc}); start it with `redis-server --daemonize yes "
            '--bind 127.0.0.1 --port 6379 --save "" --appendonly no`'
        )
    finally:
        client.close()
    return url


def delete_redis_keys(url: str, prefix: str) -> None:
    """Remove every key under ``prefix:`` (what a test's buses left in a shared Redis)."""
    import redis

    client = redis.Redis.from_url(url)
    try:
        keys = list(client.scan_iter(match=f"{prefix}:*"))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


def unavailable(message: str) -> NoReturn:
    """A service a test needs is down: skip, but fail under CI (where it must run)."""
    import pytest  # here, not at the top: benchmarks import the kit without pytest

    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def zap_postgres(dsn: str) -> None:
    """Empty RelStorage's tables so each test starts from a blank database."""
    from relstorage.adapters.postgresql import PostgreSQLAdapter
    from relstorage.options import Options
    from relstorage.storage import RelStorage

    options = Options(keep_history=False)
    storage = RelStorage(PostgreSQLAdapter(dsn=dsn, options=options), options=options)
    try:
        storage.zap_all()
    finally:
        storage.close()


@functools.cache
def _user_hashes() -> dict[str, str]:
    """Argon2 hashes with the cheapest parameters: real verification, milliseconds not seconds."""
    cheap = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)
    users = {login: password for login, (password, _) in TEST_USERS.items()}
    return {
        login: cheap.hash(password) for login, password in {**users, "root": ROOT_PASSWORD}.items()
    }


def make_settings(var_dir: Path, storage: str = "memory", **overrides: Any) -> Settings:
    """Settings for a test app: one database ``db`` on ``storage``, the test users."""
    database: dict[str, Any] = {"storage": storage}
    if storage == "postgresql":
        database["dsn"] = postgres_dsn()
    hashes = _user_hashes()
    raw: dict[str, Any] = {
        "var_dir": str(var_dir),
        "databases": {"db": database},
        "auth": {
            # cheap hashes for passwords set through the API (real argon2, milliseconds)
            "argon2": {"time_cost": 1, "memory_cost": 64, "parallelism": 1},
            "root_password_hash": hashes["root"],
            "jwt_secret": "test-jwt-secret-that-is-long-enough-for-hs256",
            "users": {
                login: {"password_hash": hashes[login], "roles": roles}
                for login, (_, roles) in TEST_USERS.items()
            },
        },
    }
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(raw.get(key), dict):
            raw[key] = {**raw[key], **value}
        else:
            raw[key] = value
    return parse_settings(msgspec.json.encode(raw))


# ``unchanged(*paths)``: an async context manager (the ``unchanged`` fixture of a test suite)
Unchanged = Callable[..., AbstractAsyncContextManager[None]]


def assert_envelope(resp: Any, status: int, type_: str | None = None) -> dict[str, Any]:
    """``resp`` is an error with ``status`` in the one envelope ``{"type", "message",
    "details", "request_id"}`` (of ``type_`` if given; the request id the ``X-Request-ID``
    header gave back), as JSON, with no traceback; returns the body less the request id,
    which differs from request to request: what a test compares is the rest."""
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"] == "application/json"
    body: dict[str, Any] = resp.json()
    assert set(body) == {"type", "message", "details", "request_id"}, body
    assert body["request_id"] == resp.headers["x-request-id"], body
    assert isinstance(body["type"], str)
    assert isinstance(body["message"], str) and body["message"]
    if type_ is not None:
        assert body["type"] == type_, body
    if status == 401:
        assert "Bearer" in resp.headers["www-authenticate"]
    assert "Traceback" not in resp.text
    del body["request_id"]
    return body


_REQUEST_ID = re.compile(r',\s*"request_id":\s*"[^"]*"')


def without_request_id(text: str) -> str:
    """An error body's JSON text without its ``request_id`` (new for every request): what
    two answers that must not differ are compared on."""
    return _REQUEST_ID.sub("", text)


def last_commit(db: Any) -> bytes:
    """The id of the last committed transaction, as a freshly opened connection sees it.

    ``db.lastTransaction()`` is not enough: RelStorage's main storage instance learns of
    commits made through other connections only when it polls, so on PostgreSQL it would not
    move. A new connection polls first.
    """
    conn = db.open()
    try:
        tid: bytes = conn._storage.lastTransaction()
        return tid
    finally:
        conn.close()


class BaobabClient(httpx.AsyncClient):
    """An httpx client bound to an in-process Baobab app."""

    def as_user(self, login: str | None) -> BaobabClient:
        """A client sharing the app, authenticated as ``login`` (None: anonymous)."""
        auth: Any = None
        if login == "root":
            auth = ("root", ROOT_PASSWORD)
        elif login is not None:
            auth = (login, TEST_USERS[login][0])
        return BaobabClient(transport=self._transport, base_url=self.base_url, auth=auth)

    def as_login(self, login: str, password: str) -> BaobabClient:
        """A client sharing the app, with Basic credentials (e.g. a user stored in a site)."""
        return BaobabClient(
            transport=self._transport, base_url=self.base_url, auth=(login, password)
        )

    def with_token(self, token: str) -> BaobabClient:
        """A client sharing the app, sending ``Authorization: Bearer <token>``."""
        return BaobabClient(
            transport=self._transport,
            base_url=self.base_url,
            headers={"authorization": f"Bearer {token}"},
        )

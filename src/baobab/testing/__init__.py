"""The shipped test kit: settings and app factories, clients, and the pytest plugin."""

from __future__ import annotations

from baobab.testing.kit import (
    ROOT_PASSWORD,
    TEST_USERS,
    BaobabClient,
    Unchanged,
    assert_envelope,
    last_commit,
    make_settings,
    postgres_dsn,
    redis_url,
    require_postgres,
    require_redis,
    unavailable,
    zap_postgres,
)

__all__ = [
    "ROOT_PASSWORD",
    "TEST_USERS",
    "BaobabClient",
    "Unchanged",
    "assert_envelope",
    "last_commit",
    "make_settings",
    "postgres_dsn",
    "redis_url",
    "require_postgres",
    "require_redis",
    "unavailable",
    "zap_postgres",
]

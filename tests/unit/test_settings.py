"""Settings: strict decoding, key paths in every error, sensible defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from baobab.config import load_settings, parse_settings
from baobab.errors import ConfigError


def test_defaults_are_the_embedded_filestorage() -> None:
    settings = load_settings(None)
    assert list(settings.databases) == ["db"]
    assert settings.databases["db"].storage == "filestorage"
    assert settings.var_dir == "var"
    assert (settings.server.host, settings.server.port) == ("127.0.0.1", 8080)
    assert parse_settings("{}") == settings


@pytest.mark.parametrize(
    ("raw", "path"),
    [
        ('{"colour": 1}', "`colour` - at `$`"),
        ('{"databases": {"db": {"storag": "x"}}}', "`storag` - at `$.databases.db`"),
        ('{"databases": {"db": {"storage": "mongo"}}}', "`$.databases.db.storage`"),
        ('{"server": {"port": "80"}}', "`$.server.port`"),
        ('{"auth": {"users": {"ann": {"roles": []}}}}', "`$.auth.users.ann`"),
        (
            '{"auth": {"users": {"ann": {"password_hash": "h", "roles": [1]}}}}',
            "`$.auth.users.ann.roles[0]`",
        ),
        ('{"request": {"max_body_size": 0}}', "`$.request.max_body_size`"),
        ('{"request": {"body_timeout": 0}}', "`$.request.body_timeout`"),
        ('{"request": {"memory_body_timeout": -1}}', "`$.request.memory_body_timeout`"),
        ('{"databases": {"db": {"storage": "postgresql"}}}', "`$.databases.db.dsn`"),
        ('{"databases": {"@db": {}}}', "`$.databases.@db`"),
        ('{"databases": {}}', "`$.databases`"),
        ('{"server": {"workers": 2}}', "`$.server.workers`"),
        ('{"auth": {"jwt_secret": "short"}}', "`$.auth.jwt_secret`"),
        ('{"server": {"certfile": "c.pem"}}', "`$.server.certfile`"),
        ('{"auth": {"argon2": {"time_cost": 0}}}', "`$.auth.argon2.time_cost`"),
        ('{"auth": {"argon2": {"memory_cost": 16}}}', "`$.auth.argon2.memory_cost`"),
        ('{"workflows": {"types": {"Document": 3}}}', "`$.workflows.types.Document`"),
        ('{"workflows": {"default": ["x"]}}', "`$.workflows.default`"),
    ],
)
def test_errors_name_the_key_path(raw: str, path: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_settings(raw)
    assert path in info.value.message


def test_invalid_json_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not valid JSON"):
        parse_settings("{nope")
    with pytest.raises(ConfigError, match="Cannot read"):
        load_settings(tmp_path / "missing.json")


def test_workers_need_postgresql() -> None:
    raw = '{"server": {"workers": 4}, "databases": {"db": {"storage": "postgresql", "dsn": "x"}}}'
    assert parse_settings(raw).server.workers == 4

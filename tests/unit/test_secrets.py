"""Secrets resolution: configured, handed over as a hash, or generated once."""

from __future__ import annotations

from pathlib import Path

import pytest
from argon2 import PasswordHasher

from baobab.config import parse_settings
from baobab.security.passwords import PasswordVerifier
from baobab.security.secrets import (
    ROOT_PASSWORD_HASH_ENV,
    confirm_started,
    ensure_secrets,
    set_root_password,
)


def test_a_handed_over_hash_is_used_as_is(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    hashed = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1).hash("s3cret")
    monkeypatch.setenv(ROOT_PASSWORD_HASH_ENV, hashed)
    settings = parse_settings(f'{{"var_dir": "{tmp_path}", "auth": {{"root_password": "other"}}}}')
    secrets, generated = ensure_secrets(settings)
    assert generated is None
    assert secrets.root_password_hash == hashed
    assert PasswordVerifier().verify(secrets.root_password_hash, "s3cret")


@pytest.fixture
def unset(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (ROOT_PASSWORD_HASH_ENV, "BAOBAB_ROOT_PASSWORD", "BAOBAB_JWT_SECRET"):
        monkeypatch.delenv(name, raising=False)


def test_generated_once_then_kept(tmp_path: Path, unset: None) -> None:
    settings = parse_settings(f'{{"var_dir": "{tmp_path}"}}')
    first, generated = ensure_secrets(settings)
    assert generated is not None
    confirm_started(settings, first)  # a server started with it
    again, none = ensure_secrets(settings)
    assert none is None
    assert again == first
    assert PasswordVerifier().verify(again.root_password_hash, generated)


def test_replaced_while_no_server_started_with_it(tmp_path: Path, unset: None) -> None:
    """A start that failed after printing it: the next start makes a new one (the old one
    was never usable), keeping the JWT secret."""
    settings = parse_settings(f'{{"var_dir": "{tmp_path}"}}')
    first, lost = ensure_secrets(settings)
    again, generated = ensure_secrets(settings)
    assert generated is not None and generated != lost
    assert again.jwt_secret == first.jwt_secret
    assert PasswordVerifier().verify(again.root_password_hash, generated)
    # a server started with another hash (handed over) does not confirm this one
    confirm_started(settings, first)
    assert ensure_secrets(settings)[1] is not None


def test_set_root_password_keeps_the_jwt_secret(tmp_path: Path, unset: None) -> None:
    settings = parse_settings(f'{{"var_dir": "{tmp_path}"}}')
    first, _ = ensure_secrets(settings)
    hashed = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1).hash("chosen")
    path = set_root_password(settings, hashed)
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    chosen, generated = ensure_secrets(settings)
    assert generated is None  # set by hand: confirmed, never replaced
    assert chosen.root_password_hash == hashed
    assert chosen.jwt_secret == first.jwt_secret

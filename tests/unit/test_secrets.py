"""Secrets resolution: configured, handed over as a hash, or generated once."""

from __future__ import annotations

from pathlib import Path

import pytest
from argon2 import PasswordHasher

from baobab.config import parse_settings
from baobab.security.passwords import PasswordVerifier
from baobab.security.secrets import ROOT_PASSWORD_HASH_ENV, ensure_secrets


def test_a_handed_over_hash_is_used_as_is(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    hashed = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1).hash("s3cret")
    monkeypatch.setenv(ROOT_PASSWORD_HASH_ENV, hashed)
    settings = parse_settings(f'{{"var_dir": "{tmp_path}", "auth": {{"root_password": "other"}}}}')
    secrets, generated = ensure_secrets(settings)
    assert generated is None
    assert secrets.root_password_hash == hashed
    assert PasswordVerifier().verify(secrets.root_password_hash, "s3cret")


def test_generated_once_then_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ROOT_PASSWORD_HASH_ENV, raising=False)
    monkeypatch.delenv("BAOBAB_ROOT_PASSWORD", raising=False)
    monkeypatch.delenv("BAOBAB_JWT_SECRET", raising=False)
    settings = parse_settings(f'{{"var_dir": "{tmp_path}"}}')
    first, generated = ensure_secrets(settings)
    assert generated is not None
    again, none = ensure_secrets(settings)
    assert none is None
    assert again == first
    assert PasswordVerifier().verify(again.root_password_hash, generated)

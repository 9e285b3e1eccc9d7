"""The root password and the JWT secret: from settings, the environment, or ``var/``.

With neither configured, each is generated on first start and kept in
``<var_dir>/secrets.json`` (mode 0600). The root password is stored only as an argon2 hash; the
caller prints the generated password once.
"""

from __future__ import annotations

import json
import os
import secrets as secrets_
from dataclasses import dataclass
from pathlib import Path

from baobab.config.settings import Settings
from baobab.errors import ConfigError
from baobab.security.passwords import hash_password

__all__ = ["ROOT_PASSWORD_HASH_ENV", "Secrets", "ensure_secrets"]

ROOT_PASSWORD_ENV = "BAOBAB_ROOT_PASSWORD"
ROOT_PASSWORD_HASH_ENV = "BAOBAB_ROOT_PASSWORD_HASH"
JWT_SECRET_ENV = "BAOBAB_JWT_SECRET"


@dataclass(frozen=True)
class Secrets:
    root_password_hash: str
    jwt_secret: str


def _read(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"Cannot read {path}: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path} is not a JSON object")
    return {k: v for k, v in data.items() if isinstance(v, str)}


def _write(path: Path, data: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(data, handle, indent=2)
    os.replace(tmp, path)


def ensure_secrets(settings: Settings) -> tuple[Secrets, str | None]:
    """Resolve both secrets; returns the generated root password when one was made now."""
    path = settings.var_path / "secrets.json"
    stored = _read(path)
    changed = False
    generated: str | None = None

    password = settings.auth.root_password or os.environ.get(ROOT_PASSWORD_ENV)
    hashed = settings.auth.root_password_hash or os.environ.get(ROOT_PASSWORD_HASH_ENV)
    if hashed:
        root_hash = hashed
    elif password:
        root_hash = hash_password(password)
    elif "root_password_hash" in stored:
        root_hash = stored["root_password_hash"]
    else:
        generated = secrets_.token_urlsafe(18)
        root_hash = stored["root_password_hash"] = hash_password(generated)
        changed = True

    jwt_secret = settings.auth.jwt_secret or os.environ.get(JWT_SECRET_ENV)
    if not jwt_secret:
        if "jwt_secret" not in stored:
            stored["jwt_secret"] = secrets_.token_urlsafe(48)
            changed = True
        jwt_secret = stored["jwt_secret"]

    if changed:
        _write(path, stored)
    return Secrets(root_password_hash=root_hash, jwt_secret=jwt_secret), generated

"""The root password and the JWT secret: from settings, the environment, or ``var/``.

With neither configured, each is generated on first start and kept in
``<var_dir>/secrets.json`` (mode 0600). The root password is stored only as an argon2 hash; the
caller prints the generated password once.

A generated root password is *unconfirmed* until a server has started with it
(:func:`confirm_started`, called once the databases are open): a start that fails after
printing it (the port taken between the check and the bind, a worker that cannot start) must
not leave the only copy in a scrolled-away terminal, with a hash nobody can match. So while it
is unconfirmed, the next start generates and prints a new one; once confirmed it is kept.
``baobab set-password`` (:func:`set_root_password`) replaces it at any time.
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

__all__ = [
    "ROOT_PASSWORD_HASH_ENV",
    "Secrets",
    "configured_root_password",
    "confirm_started",
    "ensure_secrets",
    "secrets_path",
    "set_root_password",
]

ROOT_PASSWORD_ENV = "BAOBAB_ROOT_PASSWORD"
ROOT_PASSWORD_HASH_ENV = "BAOBAB_ROOT_PASSWORD_HASH"
JWT_SECRET_ENV = "BAOBAB_JWT_SECRET"
# set beside a generated root password's hash until a server has started with it
UNCONFIRMED_KEY = "root_password_unconfirmed"


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
    # one temporary file per process: the workers of a server confirm at the same moment
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(data, handle, indent=2)
    os.replace(tmp, path)


def secrets_path(settings: Settings) -> Path:
    return settings.var_path / "secrets.json"


def configured_root_password(settings: Settings) -> str | None:
    """Where the root password is set, when it is not ``var/secrets.json``'s (these win over
    it): a configuration key or an environment variable; None when it is the stored one."""
    if settings.auth.root_password_hash:
        return "auth.root_password_hash in the configuration"
    if os.environ.get(ROOT_PASSWORD_HASH_ENV):
        return f"the environment variable {ROOT_PASSWORD_HASH_ENV}"
    if settings.auth.root_password:
        return "auth.root_password in the configuration"
    if os.environ.get(ROOT_PASSWORD_ENV):
        return f"the environment variable {ROOT_PASSWORD_ENV}"
    return None


def ensure_secrets(settings: Settings) -> tuple[Secrets, str | None]:
    """Resolve both secrets; returns the generated root password when one was made now
    (none stored yet, or only an unconfirmed one: see the module's docstring)."""
    path = secrets_path(settings)
    stored = _read(path)
    changed = False
    generated: str | None = None

    password = settings.auth.root_password or os.environ.get(ROOT_PASSWORD_ENV)
    hashed = settings.auth.root_password_hash or os.environ.get(ROOT_PASSWORD_HASH_ENV)
    if hashed:
        root_hash = hashed
    elif password:
        root_hash = hash_password(password)
    elif "root_password_hash" in stored and UNCONFIRMED_KEY not in stored:
        root_hash = stored["root_password_hash"]
    else:
        generated = secrets_.token_urlsafe(18)
        root_hash = stored["root_password_hash"] = hash_password(generated)
        stored[UNCONFIRMED_KEY] = "true"
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


def confirm_started(settings: Settings, secrets: Secrets) -> None:
    """A server has started with ``secrets``: a generated root password it uses is kept from
    now on (no longer replaced at the next start)."""
    path = secrets_path(settings)
    stored = _read(path)
    if UNCONFIRMED_KEY in stored and stored.get("root_password_hash") == secrets.root_password_hash:
        del stored[UNCONFIRMED_KEY]
        _write(path, stored)


def set_root_password(settings: Settings, password_hash: str) -> Path:
    """Store ``password_hash`` as the root password's in ``var/secrets.json`` (the JWT secret
    kept, created with mode 0600 if missing); returns the file's path. A server reads it when
    it starts."""
    path = secrets_path(settings)
    stored = _read(path)
    stored["root_password_hash"] = password_hash
    stored.pop(UNCONFIRMED_KEY, None)
    _write(path, stored)
    return path

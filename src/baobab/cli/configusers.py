"""``baobab user … --configured``: the users of ``auth.users`` in the configuration file.

A configured user is valid in every container, with global roles; servers read them at start,
so a change reaches a running server when it is restarted. The file is edited in place: its
other keys and their order are kept (it is rewritten with two-space indentation), the result
is validated as a whole (:func:`~baobab.config.settings.parse_settings`) before anything is
written, and the write is atomic (a temporary file renamed over it, with the file's mode).
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

from baobab.asgi.state import build_registry
from baobab.cli.prompt import read_new_password
from baobab.cli.userlist import format_users
from baobab.config.settings import Settings, parse_settings
from baobab.errors import BaobabError, ConfigError
from baobab.security.passwords import settings_hasher
from baobab.security.principals import ROOT_ID
from baobab.security.sharing import UNASSIGNABLE_ROLES
from baobab.security.users import validate_principal_id

__all__ = ["run"]


def run(args: argparse.Namespace) -> int:
    if args.config is None:
        raise ConfigError("--configured edits the configuration file: name it with --config")
    path = Path(args.config)
    data = _load(path)
    settings = parse_settings(path.read_bytes())
    users: dict[str, Any] = data.setdefault("auth", {}).setdefault("users", {})
    if args.action == "list":
        rows = [
            {"id": login, "fullname": user.title, "roles": user.roles}
            for login, user in settings.auth.users.items()
        ]
        print(format_users(rows), end="")
        return 0
    if args.action == "add":
        _check_new(args.login, users)
        roles = _check_roles(settings, args.role)
        if args.email:
            raise ConfigError("configured users have no e-mail (--email is for site users)")
        hashed = _hash(settings, args.login)
        users[args.login] = {"password_hash": hashed, "roles": roles, "title": args.title}
        done = f"configured user {args.login!r} added to {path}"
    elif args.login not in users:
        raise ConfigError(f"no configured user {args.login!r} in {path}")
    elif args.action == "passwd":
        users[args.login]["password_hash"] = _hash(settings, args.login)
        done = f"password of configured user {args.login!r} changed in {path}"
    else:
        del users[args.login]
        done = f"configured user {args.login!r} removed from {path}"
    _save(path, data)
    print(f"{done}; running servers see it once restarted")
    return 0


def _load(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except OSError as exc:
        raise ConfigError(f"Cannot read configuration file {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise ConfigError(f"Configuration is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path} is not a JSON object")
    return data


def _check_new(login: str, users: dict[str, Any]) -> None:
    try:
        validate_principal_id(login, "login")
    except BaobabError as exc:
        raise ConfigError(exc.message) from None
    if login == ROOT_ID or login in users:
        raise ConfigError(f"a configured user {login!r} exists already")


def _check_roles(settings: Settings, roles: list[str]) -> list[str]:
    """The roles ``@users`` would accept (declared, assignable); Manager is allowed, as the
    file's owner is whoever runs the servers."""
    known = build_registry(settings).roles
    for role in roles:
        if role not in known or role in UNASSIGNABLE_ROLES:
            raise ConfigError(f"{role!r} is not a role that can be assigned")
    return sorted(set(roles))


def _hash(settings: Settings, login: str) -> str:
    password = read_new_password(f"Password for {login}")
    return settings_hasher(settings.auth.argon2).hash(password)


def _save(path: Path, data: dict[str, Any]) -> None:
    text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    parse_settings(text)  # the whole file still valid, or nothing is written
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    mode = path.stat().st_mode & 0o777
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.replace(tmp, path)

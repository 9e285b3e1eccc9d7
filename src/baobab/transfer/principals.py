"""A container's users and groups ↔ archive records, password hashes included.

Hashes are exported so that every login keeps working after an import: the archive is as
sensitive as the database itself (docs/export.md says so). Group membership is recorded on
the users (``groups``) and rebuilt on both sides by :meth:`UserFolder.add_user`.
"""

from __future__ import annotations

from typing import Any

from baobab.errors import ArchiveError, BaobabError
from baobab.security.users import Group, User, UserFolder

__all__ = ["add_group", "add_user", "group_record", "user_record"]

_USER_TEXT = ("fullname", "email", "description")
_GROUP_TEXT = ("title", "description", "email")


def user_record(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "password_hash": user.password_hash,
        "fullname": user.fullname,
        "email": user.email,
        "description": user.description,
        "roles": list(user.roles),
        "groups": list(user.groups),
        "disabled": user.disabled,
        "tokens_not_before": user.tokens_not_before,
        "created": user.created,
    }


def group_record(group: Group) -> dict[str, Any]:
    return {
        "id": group.id,
        "title": group.title,
        "description": group.description,
        "email": group.email,
        "roles": list(group.roles),
    }


def _strings(data: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ArchiveError(f"{where}: {key} is not a list of strings")
    return tuple(value)


def _text(data: dict[str, Any], key: str, where: str) -> str:
    value = data.get(key, "")
    if not isinstance(value, str):
        raise ArchiveError(f"{where}: {key} is not a string")
    return value


def add_group(folder: UserFolder, data: dict[str, Any], where: str) -> None:
    group = Group(_text(data, "id", where))
    for key in _GROUP_TEXT:
        setattr(group, key, _text(data, key, where))
    group.roles = _strings(data, "roles", where)
    try:
        folder.add_group(group)
    except BaobabError as exc:
        raise ArchiveError(f"{where}: {exc.message}") from None


def add_user(folder: UserFolder, data: dict[str, Any], where: str) -> None:
    password_hash = data.get("password_hash")
    if not isinstance(password_hash, str):
        raise ArchiveError(f"{where}: no password_hash")
    user = User(_text(data, "id", where), password_hash)
    for key in _USER_TEXT:
        setattr(user, key, _text(data, key, where))
    user.roles = _strings(data, "roles", where)
    user.groups = _strings(data, "groups", where)
    user.disabled = bool(data.get("disabled", False))
    for key in ("tokens_not_before", "created"):
        value = data.get(key)
        if not isinstance(value, int | float):
            raise ArchiveError(f"{where}: {key} is not a number")
        setattr(user, key, float(value))
    try:
        folder.add_user(user)  # joins its groups (NotFound for a group not in the archive)
    except BaobabError as exc:
        raise ArchiveError(f"{where}: {exc.message}") from None

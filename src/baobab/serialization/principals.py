"""Users and groups as JSON for the principal asking: who sees which properties.

The one place that decides it (the table is in docs/security.md, "Personal data"):

- everyone who may see a principal at all (sharing, ``@principals``) sees its **summary**:
  ``@id``, ``id``, ``type`` (``user`` or ``group``) and ``title`` (a user's full name, a
  group's title) — never an e-mail address, a description, roles, groups or members;
- a user's **record** (``fullname``, ``email``, ``description``, ``roles``, ``groups``,
  ``disabled``) goes only to who holds ``baobab.ManageUsers`` on the container, and to the
  user themself;
- a group's record (``description``, ``email``, ``roles`` and its members) only to who holds
  ``baobab.ManageUsers`` on the container;
- a search matches e-mail addresses only for who may see them.

Services never build user or group JSON themselves: they call these.
"""

from __future__ import annotations

from typing import Any

from baobab.location import resource_path
from baobab.request import Request
from baobab.security.principals import Principal
from baobab.security.users import Group, User, UserFolder
from baobab.security.vocabulary import MANAGE_USERS

__all__ = [
    "global_summary",
    "group_json",
    "group_summary",
    "is_self",
    "manages_users",
    "search_users",
    "user_json",
    "user_summary",
]


def manages_users(request: Request, container: Any) -> bool:
    """May the asker see the records of the container's users and groups?"""
    return bool(request.security.permits(MANAGE_USERS.id, container))


def is_self(request: Request, container: Any, user_id: str) -> bool:
    """Is the asker the container's user ``user_id``?"""
    principal = request.principal
    return principal.id == user_id and principal.container == resource_path(container)


def _url(request: Request, container: Any, view: str, id_: str) -> str:
    return f"{request.url_for(resource_path(container))}/{view}/{id_}"


def user_summary(request: Request, container: Any, user: User) -> dict[str, Any]:
    return {
        "@id": _url(request, container, "@users", user.id),
        "id": user.id,
        "type": "user",
        "title": user.fullname,
    }


def user_json(request: Request, container: Any, folder: UserFolder, user: User) -> dict[str, Any]:
    """The user's summary, and its record for a user manager or the user themself."""
    data = user_summary(request, container, user)
    if not (is_self(request, container, user.id) or manages_users(request, container)):
        return data
    groups = [folder.get_group(g) for g in user.groups]
    data.update(
        {
            "username": user.id,
            "fullname": user.fullname,
            "email": user.email,
            "description": user.description,
            "roles": list(user.roles),
            "groups": {
                "items": [{"id": g.id, "title": g.title} for g in groups if g is not None],
                "items_total": len(user.groups),
            },
            "disabled": user.disabled,
        }
    )
    return data


def group_summary(request: Request, container: Any, group: Group) -> dict[str, Any]:
    return {
        "@id": _url(request, container, "@groups", group.id),
        "id": group.id,
        "type": "group",
        "title": group.title,
    }


def group_json(request: Request, container: Any, group: Group, members: int = 50) -> dict[str, Any]:
    """The group's summary, and for a user manager its record with up to ``members``
    member ids."""
    data = group_summary(request, container, group)
    if not manages_users(request, container):
        return data
    data.update(
        {
            "groupname": group.id,
            "description": group.description,
            "email": group.email,
            "roles": list(group.roles),
            "users": {
                "items": list(group.members.keys()[:members]),
                "items_total": group.member_count(),
            },
        }
    )
    return data


def global_summary(principal: Principal) -> dict[str, Any]:
    """The root user or a configured user, as sharing shows it (they have no record)."""
    return {"id": principal.id, "type": "user", "title": principal.title}


def search_users(request: Request, container: Any, folder: UserFolder, term: str) -> Any:
    """User ids matching ``term``; e-mail addresses count only for a user manager."""
    return folder.search_users(term, email=manages_users(request, container))

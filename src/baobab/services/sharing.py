"""``@sharing``: local roles on any object, in plone.restapi's shape.

GET lists the principals that hold a sharable role here — locally (``true``), inherited from
above (``"acquired"``) or globally (``"global"``) — plus ``AuthenticatedUsers`` and, with
``?search=``, matching users and groups; ``inherit`` says whether grants from above apply.
POST ``{"entries": [{"id": …, "roles": {"baobab.Reader": true}}], "inherit": false}`` grants,
revokes and blocks, under the delegation rules of :mod:`baobab.security.sharing`.
"""

from __future__ import annotations

from itertools import islice
from typing import Any

from baobab.config.declarations import service
from baobab.content.interfaces import IDatabaseRoot, IResource
from baobab.errors import MethodNotAllowed, ValidationError
from baobab.events import LocalRolesChanged
from baobab.request import Request, Response, json_response
from baobab.schema.checks import check_keys
from baobab.security.authentication import find_container
from baobab.security.principals import AUTHENTICATED_GROUP
from baobab.security.sharing import (
    SharingChange,
    apply_sharing,
    inherited_roles,
    sharable_roles,
)
from baobab.security.users import UserFolder, user_folder
from baobab.security.vocabulary import CHANGE_LOCAL_ROLES
from baobab.serialization.principals import (
    global_summary,
    group_summary,
    search_users,
    user_summary,
)
from baobab.services import shapes

__all__ = ["sharing_get", "sharing_post"]


Described = tuple[dict[str, Any] | None, frozenset[str]]


def _entry(summary: dict[str, Any]) -> dict[str, Any]:
    """A sharing entry: a principal's summary (never more: see
    :mod:`baobab.serialization.principals`), in plone.restapi's shape."""
    login = summary["id"] if summary["type"] == "user" else None
    return {"id": summary["id"], "type": summary["type"], "title": summary["title"], "login": login}


def _describe(request: Request, folder: UserFolder | None, principal_id: str) -> Described:
    """``({"id", "type", "title", "login"}, global roles)`` of a principal (None if unknown)."""
    if principal_id == AUTHENTICATED_GROUP:
        entry = {"id": principal_id, "type": "group", "title": "Logged-in users", "login": None}
        return entry, frozenset()
    if folder is not None:
        container = find_container(request.context)
        user = folder.get_user(principal_id)
        if user is not None:
            return _entry(user_summary(request, container, user)), folder.roles_of(user)
        group = folder.get_group(principal_id)
        if group is not None:
            return _entry(group_summary(request, container, group)), frozenset(group.roles)
    principal = request.auth.principal(principal_id)
    if principal is not None:
        return _entry(global_summary(principal)), principal.roles
    return None, frozenset()


def _site_users(request: Request) -> UserFolder | None:
    container = find_container(request.context)
    return user_folder(container) if container is not None else None


def _search(request: Request, folder: UserFolder | None, term: str) -> list[str]:
    if folder is None or not term:
        return []
    container = find_container(request.context)
    found = list(islice(search_users(request, container, folder, term), 25))
    return found + [g.id for g in islice(folder.search_groups(term), 25)]


def _not_on_database(request: Request) -> None:
    if IDatabaseRoot.providedBy(request.context):
        raise MethodNotAllowed("Sharing applies to content, not to a database")


def _role_value(
    role_id: str, local: set[str], global_: frozenset[str], above: frozenset[str]
) -> Any:
    if role_id in local:
        return True
    if role_id in global_:
        return "global"
    return "acquired" if role_id in above else False


@service(
    method="GET",
    context=IResource,
    name="@sharing",
    permission=CHANGE_LOCAL_ROLES.id,
    summary="Local roles",
    params=({"name": "search", "in": "query", "schema": {"type": "string"}},),
    responses={200: shapes.SharingInfo},
)
def sharing_get(request: Request) -> Response:
    _not_on_database(request)
    obj = request.context
    checker = request.security
    folder = _site_users(request)
    available = sharable_roles(checker)
    inherited = inherited_roles(obj)
    ids = {AUTHENTICATED_GROUP, *obj._local_roles, *inherited}
    ids.update(_search(request, folder, request.query.get("search", "").strip()))
    entries = []
    for principal_id in sorted(ids):
        described, global_ = _describe(request, folder, principal_id)
        if described is None:
            described = {"id": principal_id, "type": "user", "title": "", "login": None}
        local = set(obj._local_roles.get(principal_id, ()))
        above = inherited.get(principal_id, frozenset())
        roles = {role.id: _role_value(role.id, local, global_, above) for role in available}
        entries.append({**described, "roles": roles})
    return json_response(
        {
            "available_roles": [
                {
                    "id": r.id,
                    "title": r.title,
                    "delegable": bool(checker.permits(r.delegate or "", obj)),
                }
                for r in available
            ],
            "entries": entries,
            "inherit": obj._inherit_roles,
        }
    )


def _changes(data: dict[str, Any]) -> list[SharingChange]:
    entries = data.get("entries", [])
    if not isinstance(entries, list):
        raise ValidationError("`entries` must be a list", details=[{"field": "entries"}])
    changes: list[SharingChange] = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
            raise ValidationError(
                "Each entry needs an `id` and a `roles` object",
                details=[{"field": f"entries[{index}]"}],
            )
        check_keys(entry, {"id", "type", "roles", "title", "login"})
        roles = entry.get("roles", {})
        if not isinstance(roles, dict):
            raise ValidationError(
                "`roles` must map role ids to true or false",
                details=[{"field": f"entries[{index}].roles"}],
            )
        changes.append((entry["id"], roles))
    return changes


@service(
    method="POST",
    context=IResource,
    name="@sharing",
    permission=CHANGE_LOCAL_ROLES.id,
    summary="Grant or revoke local roles, block or restore inheritance",
    request=shapes.SharingChange,
    responses={204: None},
)
def sharing_post(request: Request) -> Response:
    _not_on_database(request)
    data = request.json_object()
    check_keys(data, {"entries", "inherit"})
    inherit = data.get("inherit")
    if inherit is not None and not isinstance(inherit, bool):
        raise ValidationError("`inherit` must be true or false", details=[{"field": "inherit"}])
    folder = _site_users(request)
    before = tuple(request.context._allowed)
    apply_sharing(
        request.security,
        request.context,
        _changes(data),
        inherit,
        lambda pid: _describe(request, folder, pid)[0] is not None,
    )
    request.notify_object(LocalRolesChanged, request.context, allowed_before=before)
    return Response(status=204, content_type=None)

"""``@principals?search=``, ``@roles`` and ``@user`` (the current principal, here)."""

from __future__ import annotations

from itertools import islice
from typing import Any

from baobab.config.declarations import service
from baobab.content.interfaces import IContainer, IResource
from baobab.errors import BadRequest
from baobab.location import resource_path
from baobab.request import Request, Response, json_response
from baobab.security.authentication import find_container
from baobab.security.users import user_folder
from baobab.security.vocabulary import ACCESS_CONTENT, CHANGE_LOCAL_ROLES
from baobab.serialization.principals import group_summary, search_users, user_json
from baobab.services import shapes

__all__ = ["current_user", "principals_search", "roles_list"]

_LIMIT = 25


@service(
    method="GET",
    context=IResource,
    name="@principals",
    permission=CHANGE_LOCAL_ROLES.id,
    summary="Search users and groups (to share with)",
    params=({"name": "search", "in": "query", "required": True, "schema": {"type": "string"}},),
    responses={200: shapes.PrincipalSearch},
)
def principals_search(request: Request) -> Response:
    """Users and groups to share with: summaries (id, type, title), and user records only
    for a user manager (see :mod:`baobab.serialization.principals`)."""
    term = request.query.get("search", "").strip()
    if not term:
        raise BadRequest("Give a search term: ?search=…")
    container = find_container(request.context)
    folder = user_folder(container) if container is not None else None
    users: list[dict[str, Any]] = []
    groups: list[dict[str, Any]] = []
    if folder is not None:
        found = search_users(request, container, folder, term)
        for user_id in islice(found, _LIMIT):
            users.append(user_json(request, container, folder, folder.user(user_id)))
        for group in islice(folder.search_groups(term), _LIMIT):
            groups.append(group_summary(request, container, group))
    return json_response({"users": users, "groups": groups})


@service(
    method="GET",
    context=IContainer,
    name="@roles",
    permission=ACCESS_CONTENT.id,
    summary="The roles of this site",
    responses={200: {"type": "array", "items": shapes.RoleInfo}},
)
def roles_list(request: Request) -> Response:
    base = request.url_for(resource_path(request.context)) + "/@roles"
    return json_response(
        [
            {"@id": f"{base}/{role.id}", "@type": "role", "id": role.id, "title": role.title}
            for role in request.registry.roles.values()
        ]
    )


@service(
    method="GET",
    context=IResource,
    name="@user",
    permission=ACCESS_CONTENT.id,
    summary="Who am I here: principal, roles, and which permissions I hold",
    params=(
        {
            "name": "permissions",
            "in": "query",
            "description": "Permission ids, comma-separated: say which I hold here",
            "schema": {"type": "string"},
        },
    ),
    responses={200: shapes.CurrentUser},
)
def current_user(request: Request) -> Response:
    principal = request.principal
    checker = request.security
    obj = request.context
    data: dict[str, Any] = {
        "@id": request.url_for(resource_path(obj)) + "/@user",
        "id": principal.id,
        "title": principal.title,
        "authenticated": principal.authenticated,
        "groups": sorted(principal.groups),
        "roles": sorted(principal.global_roles),
        "local_roles": sorted(checker.local_roles(obj)),
        "roles_here": sorted(checker.roles(obj)),
    }
    wanted = request.query.get("permissions")
    if wanted is not None:
        names = [p.strip() for p in wanted.split(",") if p.strip()]
        unknown = [p for p in names if p not in request.registry.permissions]
        if unknown:
            raise BadRequest(
                "Unknown permissions: " + ", ".join(unknown), details={"unknown": unknown}
            )
        data["permissions"] = {p: bool(checker.permits(p, obj)) for p in names}
    return json_response(data)

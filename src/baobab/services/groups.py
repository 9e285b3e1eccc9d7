"""``@groups`` on a container: list and search, read, create, update (membership), delete.

Shapes follow plone.restapi (``PATCH {"users": {"alice": true, "bob": false}}`` changes
membership). Everything needs ``baobab.ManageUsers``; only a Manager creates or changes a group
that holds Manager, or gives one Manager.
"""

from __future__ import annotations

from typing import Any

from baobab.config.declarations import service
from baobab.content.interfaces import IContainer
from baobab.errors import ValidationError
from baobab.request import Request, Response, json_response
from baobab.schema.checks import check_keys, string_field, string_list
from baobab.security.sharing import check_global_roles, check_may_manage, forget_principal
from baobab.security.users import Group, UserFolder, site_folder, validate_principal_id
from baobab.security.vocabulary import MANAGE_USERS
from baobab.serialization.content import batched
from baobab.serialization.principals import group_json
from baobab.services import shapes

__all__ = ["groups_delete", "groups_get", "groups_patch", "groups_post"]

PROPERTIES = ("title", "description", "email")


@service(
    method="GET",
    context=IContainer,
    name="@groups",
    permission=MANAGE_USERS.id,
    allow_subpath=True,
    summary="List and search groups, or read one",
    subpaths=("{group}",),
    params=(
        {"name": "query", "in": "query", "schema": {"type": "string"}},
        {"name": "b_start", "in": "query", "schema": {"type": "integer", "minimum": 0}},
        {"name": "b_size", "in": "query", "schema": {"type": "integer", "minimum": 1}},
    ),
    responses={200: {"anyOf": [shapes.GROUP_LIST, shapes.GROUP]}},
)
def groups_get(request: Request) -> Response:
    folder = site_folder(request.context)
    if request.subpath:
        group = folder.group(request.subpath_id())
        size = request.query_int("b_size", 1000, 1, 100_000)
        return json_response(group_json(request, request.context, group, size))
    groups = list(folder.search_groups(request.query.get("query", "")))
    by_id = {g.id: g for g in groups}
    return json_response(
        batched(
            request,
            request.view_url("@groups"),
            len(groups),
            sorted(by_id),
            lambda group_id: group_json(request, request.context, by_id[group_id], 0),
        )
    )


def _members(folder: UserFolder, users: Any) -> dict[str, bool]:
    if not isinstance(users, dict) or not all(isinstance(v, bool) for v in users.values()):
        raise ValidationError(
            "`users` maps user ids to true (add) or false (remove)", details=[{"field": "users"}]
        )
    for user_id in users:
        if folder.get_user(user_id) is None:
            raise ValidationError(f"No user {user_id!r}", details=[{"field": "users"}])
    return users


def _named_users(data: dict[str, Any]) -> tuple[str, ...]:
    """The user ids a (validated) ``users`` member list names."""
    users = data.get("users") or ()
    return tuple(u for u in users if isinstance(u, str))


def _apply(request: Request, folder: UserFolder, group: Group, data: dict[str, Any]) -> None:
    checker, context = request.security, request.context
    check_may_manage(checker, context, group.roles)
    for key in PROPERTIES:
        if key in data:
            setattr(group, key, string_field(data, key, max_length=500))
    if "roles" in data:
        roles = string_list(data, "roles", "role ids")
        group.roles = check_global_roles(checker, context, roles)
    if "users" in data:
        users = data["users"]
        if isinstance(users, list):  # plone.restapi's create takes a list of ids
            users = dict.fromkeys(users, True) if all(isinstance(u, str) for u in users) else None
        for user_id, member in _members(folder, users).items():
            user = folder.user(user_id)
            wanted = set(user.groups) | {group.id} if member else set(user.groups) - {group.id}
            folder.set_groups(user, wanted)


@service(
    method="POST",
    context=IContainer,
    name="@groups",
    permission=MANAGE_USERS.id,
    summary="Create a group",
    request=shapes.GROUP_CREATE,
    responses={201: shapes.GROUP},
)
def groups_post(request: Request) -> Response:
    data = request.json_object()
    check_keys(data, {"groupname", "id", *PROPERTIES, "roles", "users"})
    group_id = validate_principal_id(data.get("groupname", data.get("id")), "groupname")
    if request.auth.is_global(group_id):
        raise ValidationError(f"{group_id!r} is reserved", details=[{"field": "groupname"}])
    folder = site_folder(request.context, create=True)
    group = Group(group_id)
    folder.add_group(group)
    _apply(request, folder, group, data)
    request.notify_principals(group.id, *_named_users(data))
    response = json_response(group_json(request, request.context, group), status=201)
    response.headers.append((b"location", request.view_url("@groups", group_id).encode()))
    return response


@service(
    method="PATCH",
    context=IContainer,
    name="@groups",
    permission=MANAGE_USERS.id,
    allow_subpath=True,
    summary="Update a group and its members",
    subpaths=("{group}",),
    request=shapes.GROUP_PATCH,
    responses={204: None},
)
def groups_patch(request: Request) -> Response:
    data = request.json_object()
    check_keys(data, {*PROPERTIES, "roles", "users"})
    folder = site_folder(request.context)
    group = folder.group(request.subpath_id())
    _apply(request, folder, group, data)
    named = _named_users(data)
    # its members' accounts change with its roles only (read them then: a group may be large)
    request.notify_principals(group.id, *named, accounts=None if "roles" in data else named)
    return Response(status=204, content_type=None)


@service(
    method="DELETE",
    context=IContainer,
    name="@groups",
    permission=MANAGE_USERS.id,
    allow_subpath=True,
    summary="Delete a group",
    subpaths=("{group}",),
    responses={204: None},
)
def groups_delete(request: Request) -> Response:
    folder = site_folder(request.context)
    group = folder.group(request.subpath_id())
    check_may_manage(request.security, request.context, group.roles)
    folder.remove_group(group.id)
    forget_principal(request.policy, request.context, group.id)
    request.notify_principals(group.id, accounts=tuple(group.members))  # its members then
    return Response(status=204, content_type=None)

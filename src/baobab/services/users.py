"""``@users`` on a container: list and search, read, create, update, delete, reset password.

Shapes follow plone.restapi. Managing users needs ``baobab.ManageUsers``; a user reads their
own record, changes their own ``fullname``/``email``/``description`` (``SetOwnProperties``) and
password (``POST @users/{id}/reset-password`` with the old one, ``SetOwnPassword``), and
nothing else about themselves. Only a Manager assigns Manager or touches a Manager's account
(:mod:`baobab.security.sharing`). A password change, disabling, or deletion ends the user's
existing tokens.
"""

from __future__ import annotations

import time
from typing import Any

from baobab.config.declarations import service
from baobab.content.interfaces import IContainer
from baobab.errors import Forbidden, NotFound, Unauthorized, ValidationError
from baobab.request import Request, Response, json_response
from baobab.schema.checks import check_keys, string_field, string_list
from baobab.security.passwords import MIN_PASSWORD_LENGTH
from baobab.security.sharing import check_global_roles, check_may_manage, forget_principal
from baobab.security.users import User, UserFolder, site_folder, validate_principal_id
from baobab.security.vocabulary import MANAGE_USERS, SET_OWN_PASSWORD, SET_OWN_PROPERTIES
from baobab.serialization.content import batched
from baobab.serialization.principals import is_self, user_json
from baobab.services import shapes

__all__ = ["users_delete", "users_get", "users_patch", "users_post"]

OWN_PROPERTIES = ("fullname", "email", "description")
MANAGED = ("password", "roles", "groups", "disabled")


def _is_self(request: Request, user_id: str) -> bool:
    return is_self(request, request.context, user_id)


@service(
    method="GET",
    context=IContainer,
    name="@users",
    permission=SET_OWN_PROPERTIES.id,
    allow_subpath=True,
    summary="List and search users, or read one",
    subpaths=("{user}",),
    params=(
        {"name": "query", "in": "query", "schema": {"type": "string"}},
        {"name": "b_start", "in": "query", "schema": {"type": "integer", "minimum": 0}},
        {"name": "b_size", "in": "query", "schema": {"type": "integer", "minimum": 1}},
    ),
    responses={200: {"anyOf": [shapes.USER_LIST, shapes.USER]}},
)
def users_get(request: Request) -> Response:
    folder = site_folder(request.context)
    if request.subpath:
        user_id = request.subpath_id()
        if not _is_self(request, user_id):
            request.require(MANAGE_USERS.id, request.context)
        return json_response(user_json(request, request.context, folder, folder.user(user_id)))
    request.require(MANAGE_USERS.id, request.context)
    query = request.query.get("query", "")
    ids = folder.search_users(query) if query else folder.users.keys()
    total = len(ids) if query else folder.user_count()
    return json_response(
        batched(
            request,
            request.view_url("@users"),
            total,
            ids,
            lambda user_id: user_json(request, request.context, folder, folder.user(user_id)),
        )
    )


def _set_password(request: Request, user: User, password: Any, field: str = "password") -> None:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError(
            f"A password needs at least {MIN_PASSWORD_LENGTH} characters",
            details=[
                {"field": field, "message": f"needs at least {MIN_PASSWORD_LENGTH} characters"}
            ],
        )
    user.password_hash = request.auth.hash(password, request.offload)
    user.tokens_not_before = time.time()


def _apply(request: Request, folder: UserFolder, user: User, data: dict[str, Any]) -> None:
    """Write validated fields; the caller checked who may change which."""
    old_words = user.words()
    for key in OWN_PROPERTIES:
        if key in data:
            setattr(user, key, string_field(data, key, max_length=500))
    if "roles" in data:
        roles = string_list(data, "roles", "role ids")
        user.roles = check_global_roles(request.security, request.context, roles)
    if "groups" in data:
        groups = string_list(data, "groups", "group ids")
        changed = [folder.get_group(g) for g in set(groups) ^ set(user.groups)]
        if any(g is None for g in changed):
            raise ValidationError("Unknown group", details=[{"field": "groups"}])
        check_may_manage(
            request.security, request.context, (r for g in changed if g for r in g.roles)
        )
        folder.set_groups(user, groups)
    if "disabled" in data:
        if not isinstance(data["disabled"], bool):
            raise ValidationError(
                "`disabled` must be true or false", details=[{"field": "disabled"}]
            )
        if data["disabled"] != user.disabled:
            user.disabled = data["disabled"]
            user.tokens_not_before = time.time()
    if "password" in data:
        _set_password(request, user, data["password"])
    folder.reindex_user(user, old_words)


@service(
    method="POST",
    context=IContainer,
    name="@users",
    permission=SET_OWN_PROPERTIES.id,
    allow_subpath=True,
    summary="Create a user, or reset one's own password",
    description="At `@users`: create a user (Manage users). At "
    "`@users/{user}/reset-password`: the user changes their own password.",
    subpaths=("{user}/reset-password",),
    request={"application/json": {"anyOf": [shapes.USER_CREATE, shapes.PasswordReset]}},
    responses={201: shapes.USER, 204: None},
)
def users_post(request: Request) -> Response:
    if request.subpath:
        return _reset_password(request)
    request.require(MANAGE_USERS.id, request.context)
    data = request.json_object()
    check_keys(data, {"username", "id", "password", *OWN_PROPERTIES, "roles", "groups"})
    user_id = validate_principal_id(data.get("username", data.get("id")), "username")
    if request.auth.is_global(user_id):
        raise ValidationError(f"{user_id!r} is reserved", details=[{"field": "username"}])
    folder = site_folder(request.context, create=True)
    if "password" not in data:
        raise ValidationError("`password` is required", details=[{"field": "password"}])
    user = User(user_id, "")
    folder.add_user(user)
    _apply(request, folder, user, data)
    response = json_response(user_json(request, request.context, folder, user), status=201)
    response.headers.append((b"location", request.view_url("@users", user_id).encode()))
    return response


def _reset_password(request: Request) -> Response:
    if len(request.subpath) != 2 or request.subpath[1] != "reset-password":
        raise NotFound("Not found")
    user_id = request.subpath[0]
    if not _is_self(request, user_id):
        raise Forbidden("Only the user may change their own password this way; managers PATCH")
    request.require(SET_OWN_PASSWORD.id, request.context)
    data = request.json_object()
    check_keys(data, {"old_password", "new_password"})
    folder = site_folder(request.context)
    user = folder.user(user_id)
    old = data.get("old_password")
    if not isinstance(old, str) or not request.auth.passes(
        user.id, user.password_hash, old, request.client, request.offload
    ):
        raise Unauthorized("The old password is wrong")
    _set_password(request, user, data.get("new_password"), "new_password")
    return Response(status=204, content_type=None)


@service(
    method="PATCH",
    context=IContainer,
    name="@users",
    permission=SET_OWN_PROPERTIES.id,
    allow_subpath=True,
    summary="Update a user",
    subpaths=("{user}",),
    request=shapes.USER_PATCH,
    responses={204: None},
)
def users_patch(request: Request) -> Response:
    user_id = request.subpath_id()
    data = request.json_object()
    check_keys(data, {*OWN_PROPERTIES, *MANAGED})
    managed = sorted(set(data) & set(MANAGED))
    is_self = _is_self(request, user_id)
    if is_self and managed and not request.security.permits(MANAGE_USERS.id, request.context):
        raise Forbidden(
            f"Users may not change their own {', '.join(managed)}",
            details={"fields": managed},
        )
    managing = not is_self or bool(managed)
    if managing:  # before the user is looked up: a missing id is no different from another
        request.require(MANAGE_USERS.id, request.context)
    folder = site_folder(request.context)
    user = folder.user(user_id)
    if managing:
        check_may_manage(request.security, request.context, folder.roles_of(user))
    _apply(request, folder, user, data)
    if managed:
        request.notify_principals(user_id)
    return Response(status=204, content_type=None)


@service(
    method="DELETE",
    context=IContainer,
    name="@users",
    permission=MANAGE_USERS.id,
    allow_subpath=True,
    summary="Delete a user",
    subpaths=("{user}",),
    responses={204: None},
)
def users_delete(request: Request) -> Response:
    user_id = request.subpath_id()
    folder = site_folder(request.context)
    user = folder.user(user_id)
    check_may_manage(request.security, request.context, folder.roles_of(user))
    folder.remove_user(user_id)
    forget_principal(request.policy, request.context, user_id)
    request.notify_principals(user_id)
    return Response(status=204, content_type=None)

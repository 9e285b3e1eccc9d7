"""``@login``, ``@login-renew`` and ``@logout`` (at ``/`` and on every container).

At a container, ``@login`` checks the container's users first, then the global ones (root and
configured users); a container user's token is valid only inside that container.
"""

from __future__ import annotations

from typing import Any

from baobab.config.declarations import service
from baobab.content.interfaces import IApplication, IContainer
from baobab.errors import Unauthorized, ValidationError
from baobab.events import TokenRevoked, UserLoggedIn
from baobab.location import resource_path
from baobab.request import Request, Response, json_response
from baobab.security.principals import Principal
from baobab.security.tokens import revoke
from baobab.security.vocabulary import PUBLIC
from baobab.services import shapes

__all__ = ["login", "login_renew", "logout"]


def _token(request: Request, principal: Principal) -> Response:
    token, exp = request.auth.tokens.issue(principal.id, principal.container)
    return json_response({"token": token, "expires": exp, "user": principal.id})


def _credentials(request: Request) -> tuple[str, str]:
    data = request.json_object()
    login, password = data.get("login"), data.get("password")
    errors: list[dict[str, Any]] = [
        {"field": key, "message": "is required and must be a string"}
        for key, value in (("login", login), ("password", password))
        if not isinstance(value, str)
    ]
    errors += [
        {"field": key, "message": "is not accepted here"}
        for key in sorted(set(data) - {"login", "password"})
    ]
    if errors:
        raise ValidationError("`login` and `password` are required", details=errors)
    assert isinstance(login, str) and isinstance(password, str)
    return login, password


_LOGIN: dict[str, Any] = {
    "summary": "Log in: a token for a login and password",
    "request": shapes.Login,
    "responses": {200: shapes.Token},
}


@service(method="POST", context=IApplication, name="@login", permission=PUBLIC.id, **_LOGIN)
@service(method="POST", context=IContainer, name="@login", permission=PUBLIC.id, **_LOGIN)
def login(request: Request) -> Response:
    login_, password = _credentials(request)
    container = request.context if IContainer.providedBy(request.context) else None
    principal = request.auth.login(login_, password, container, request.offload, request.client)
    where = resource_path(container) if container is not None else ""
    request.notify(UserLoggedIn(actor=principal.id, container=where))
    return _token(request, principal)


def _token_principal(request: Request) -> Principal:
    if request.principal.token_id is None:
        raise Unauthorized("This needs a valid token (Authorization: Bearer …)")
    return request.principal


_LOGOUT: dict[str, Any] = {"summary": "Revoke the token sent", "responses": {204: None}}


@service(method="POST", context=IApplication, name="@logout", permission=PUBLIC.id, **_LOGOUT)
@service(method="POST", context=IContainer, name="@logout", permission=PUBLIC.id, **_LOGOUT)
def logout(request: Request) -> Response:
    principal = _token_principal(request)
    assert principal.token_id is not None and principal.token_expiry is not None
    revoke(request.unit.system_conn, principal.token_id, principal.token_expiry)
    request.notify(TokenRevoked(actor=principal.id, token_id=principal.token_id))
    return Response(status=204, content_type=None, commit=True)


_RENEW: dict[str, Any] = {
    "summary": "A new token for the one sent",
    "responses": {200: shapes.Token},
}


@service(method="POST", context=IApplication, name="@login-renew", permission=PUBLIC.id, **_RENEW)
@service(method="POST", context=IContainer, name="@login-renew", permission=PUBLIC.id, **_RENEW)
def login_renew(request: Request) -> Response:
    return _token(request, _token_principal(request))

"""``@login``, ``@login-renew`` and ``@logout`` (at ``/`` and on every container)."""

from __future__ import annotations

from baobab.config.declarations import service
from baobab.content.interfaces import IApplication, IContainer
from baobab.errors import Unauthorized
from baobab.request import Request, Response, json_response
from baobab.security.principals import Principal
from baobab.security.tokens import revoke

__all__ = ["login", "login_renew", "logout"]


def _token(request: Request, principal: Principal) -> Response:
    token, exp = request.tokens.issue(principal.id)
    return json_response({"token": token, "expires": exp, "user": principal.id})


@service(method="POST", context=IApplication, name="@login", permission="baobab.Public")
@service(method="POST", context=IContainer, name="@login", permission="baobab.Public")
def login(request: Request) -> Response:
    # The pipeline checked the body's credentials on the event loop (argon2 is slow by design)
    # and left the result here; a wrong password never reaches this point.
    if request.login_principal is None:
        raise Unauthorized("Wrong login or password")
    return _token(request, request.login_principal)


def _token_principal(request: Request) -> Principal:
    if request.principal.token_id is None:
        raise Unauthorized("This needs a valid token (Authorization: Bearer …)")
    return request.principal


@service(method="POST", context=IApplication, name="@logout", permission="baobab.Public")
@service(method="POST", context=IContainer, name="@logout", permission="baobab.Public")
def logout(request: Request) -> Response:
    principal = _token_principal(request)
    assert principal.token_id is not None and principal.token_expiry is not None
    system = request.conn.get_connection(next(iter(request.settings.databases)))
    revoke(system, principal.token_id, principal.token_expiry)
    return Response(status=204, content_type=None, commit=True)


@service(method="POST", context=IApplication, name="@login-renew", permission="baobab.Public")
@service(method="POST", context=IContainer, name="@login-renew", permission="baobab.Public")
def login_renew(request: Request) -> Response:
    return _token(request, _token_principal(request))

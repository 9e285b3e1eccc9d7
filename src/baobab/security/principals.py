"""Principals: who a request acts for."""

from __future__ import annotations

from dataclasses import dataclass, field

from baobab.security import vocabulary

__all__ = ["ANONYMOUS_PRINCIPAL", "ROOT_ID", "Principal", "user_token"]

ROOT_ID = "root"
AUTHENTICATED_GROUP = vocabulary.AUTHENTICATED_GROUP
ANONYMOUS_ROLE = vocabulary.ANONYMOUS.id
AUTHENTICATED_ROLE = vocabulary.AUTHENTICATED.id


def user_token(principal_id: str) -> str:
    """The allowed-principals token of a user or group (Plone's ``user:<id>``)."""
    return f"user:{principal_id}"


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated user, or the anonymous principal.

    ``roles`` are the global roles (the user's own and its groups'); ``groups`` the groups it
    belongs to; ``container`` the path of the container whose user folder holds it (None for
    the root user and users from the configuration, who are valid everywhere).
    ``token_id``/``token_expiry`` are set when the request came with a JWT, so the pipeline can
    check revocation and ``@logout`` can revoke it.
    """

    id: str
    roles: frozenset[str] = frozenset()
    title: str = ""
    authenticated: bool = True
    groups: frozenset[str] = frozenset()
    container: str | None = None
    token_id: str | None = None
    token_expiry: int | None = None
    ids: frozenset[str] = field(init=False)
    tokens: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        # The principal ids local roles are looked up under, and the tokens matched against
        # an object's allowed set (role ids and ``user:<id>``): computed once per principal.
        ids = {self.id, *self.groups}
        base = {ANONYMOUS_ROLE}
        if self.authenticated:
            ids.add(AUTHENTICATED_GROUP)
            base.add(AUTHENTICATED_ROLE)
        else:
            ids = set()
        object.__setattr__(self, "ids", frozenset(ids))
        tokens = {user_token(i) for i in ids} | self.roles | base
        object.__setattr__(self, "tokens", frozenset(tokens))

    @property
    def global_roles(self) -> frozenset[str]:
        """Global roles plus the automatic Anonymous/Authenticated."""
        if self.authenticated:
            return self.roles | {ANONYMOUS_ROLE, AUTHENTICATED_ROLE}
        return self.roles | {ANONYMOUS_ROLE}


ANONYMOUS_PRINCIPAL = Principal(id="anonymous", authenticated=False, title="Anonymous")

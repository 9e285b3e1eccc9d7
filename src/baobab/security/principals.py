"""Principals: who a request acts for."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ANONYMOUS_PRINCIPAL", "ROOT_ID", "Principal"]

ROOT_ID = "root"


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated user, or the anonymous principal.

    ``token_id`` and ``token_expiry`` are set when the request came with a JWT, so the pipeline
    can check revocation and ``@logout`` can revoke it.
    """

    id: str
    roles: frozenset[str] = frozenset()
    title: str = ""
    authenticated: bool = True
    token_id: str | None = None
    token_expiry: int | None = None


ANONYMOUS_PRINCIPAL = Principal(id="anonymous", authenticated=False, title="Anonymous")

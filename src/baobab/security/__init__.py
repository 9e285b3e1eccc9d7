"""Permissions, roles, principals, authentication, tokens and the security policy."""

from __future__ import annotations

from baobab.security.authentication import Authenticator
from baobab.security.policy import Allowed, Denied, SecurityPolicy
from baobab.security.principals import ANONYMOUS_PRINCIPAL, ROOT_ID, Principal
from baobab.security.secrets import Secrets, ensure_secrets

__all__ = [
    "ANONYMOUS_PRINCIPAL",
    "ROOT_ID",
    "Allowed",
    "Authenticator",
    "Denied",
    "Principal",
    "Secrets",
    "SecurityPolicy",
    "ensure_secrets",
]

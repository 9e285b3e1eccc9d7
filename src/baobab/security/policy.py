"""The security policy: the single place every permission check goes through.

``permits`` returns a value — :class:`Allowed` or :class:`Denied` — that is truthy or falsy
and says why. Roles come from global grants now; the local-role model (grants up the tree,
blocking, workflow-state permission maps) plugs in at :meth:`SecurityPolicy.roles_for`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from baobab.config.registry import Registry
from baobab.security.principals import Principal

__all__ = ["Allowed", "Denied", "SecurityPolicy"]

MANAGER = "baobab.Manager"
ANONYMOUS = "baobab.Anonymous"
AUTHENTICATED = "baobab.Authenticated"


@dataclass(frozen=True, slots=True)
class Allowed:
    permission: str
    reason: str

    def __bool__(self) -> bool:
        return True


@dataclass(frozen=True, slots=True)
class Denied:
    permission: str
    reason: str

    def __bool__(self) -> bool:
        return False


class SecurityPolicy:
    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self._roles_by_permission: dict[str, frozenset[str]] = {
            perm.id: frozenset(perm.default_roles) | {MANAGER}
            for perm in registry.permissions.values()
        }

    def roles_for(self, principal: Principal, context: Any) -> frozenset[str]:
        """Every role ``principal`` holds on ``context``."""
        if principal.authenticated:
            return principal.roles | {ANONYMOUS, AUTHENTICATED}
        return principal.roles | {ANONYMOUS}

    def permits(self, principal: Principal, permission: str, context: Any) -> Allowed | Denied:
        granted = self._roles_by_permission.get(permission)
        if granted is None:
            return Denied(permission, f"unknown permission {permission!r}")
        roles = self.roles_for(principal, context)
        hit = roles & granted
        if hit:
            return Allowed(permission, f"{principal.id} has {', '.join(sorted(hit))}")
        return Denied(permission, f"{principal.id} has none of the roles granting {permission}")

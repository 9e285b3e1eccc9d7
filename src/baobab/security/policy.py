"""The security policy: the single place every permission check goes through.

A principal holds a permission on an object when one of its roles there is among the roles
that grant the permission there:

- **its roles there** are its global roles (its own and its groups', plus Anonymous and
  Authenticated) and the local roles granted to its ids (user, groups, ``AuthenticatedUsers``)
  on the object and on each parent, up to and including the first object that blocks
  inheritance — global roles apply below a block, local grants above it do not;
- **the roles granting a permission** come from the object's permission map (written by its
  workflow state): a setting that does not acquire is final; one that acquires adds the
  parent's; an object without a setting takes the parent's; above the top are the
  permission's default roles. ``baobab.Manager`` holds every permission.

:class:`Checker` answers for one principal and caches per request. ``permits`` returns
:class:`Allowed` or :class:`Denied`, truthy or falsy, saying why. The same two walks compute
the allowed-principal tokens stored on each object (:mod:`baobab.security.indexing`), so
listings and the checks here agree by construction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from baobab.config.registry import Registry
from baobab.security import vocabulary
from baobab.security.principals import Principal
from baobab.security.workflows import Workflows

__all__ = [
    "MANAGER",
    "Allowed",
    "Checker",
    "Denied",
    "SecurityPolicy",
    "effective_local_roles",
]

MANAGER = vocabulary.MANAGER.id
VIEW = vocabulary.VIEW.id
_EMPTY: frozenset[str] = frozenset()


# Allowed and Denied keep only what the check already had in hand, and ``reason`` is built
# when read (error details, logs): formatting it on every check cost more than the check.
# Not frozen: a frozen dataclass's __init__ sets each field through object.__setattr__,
# which made building one about four times slower; nothing mutates or hashes a verdict.


@dataclass(slots=True)
class Allowed:
    """Truthy: ``principal`` holds ``permission``, as a Manager, through a token allowed to
    View, or through ``roles`` (its roles that grant the permission here)."""

    permission: str
    principal: str
    case: Literal["manager", "token", "roles"]
    roles: frozenset[str] = _EMPTY

    def __bool__(self) -> bool:
        return True

    @property
    def reason(self) -> str:
        if self.case == "manager":
            return f"{self.principal} is a Manager"
        if self.case == "token":
            return f"{self.principal} holds a token allowed to View"
        return f"{self.principal} has {', '.join(sorted(self.roles))} here"


@dataclass(slots=True)
class Denied:
    """Falsy: ``principal`` has none of the roles granting ``permission`` here, or no scan
    declared the permission (``case == "unknown"``)."""

    permission: str
    principal: str
    case: Literal["unknown", "roles"]

    def __bool__(self) -> bool:
        return False

    @property
    def reason(self) -> str:
        if self.case == "unknown":
            return f"unknown permission {self.permission!r}"
        return f"{self.principal} has none of the roles granting {self.permission} here"


def _local(node: Any) -> Mapping[str, tuple[str, ...]]:
    local: Mapping[str, tuple[str, ...]] = getattr(node, "_local_roles", None) or {}
    return local


def effective_local_roles(obj: Any) -> dict[str, frozenset[str]]:
    """Principal id → local roles on ``obj``, inherited from parents up to the first block."""
    merged: dict[str, set[str]] = {}
    node = obj
    while node is not None:
        for principal_id, roles in _local(node).items():
            merged.setdefault(principal_id, set()).update(roles)
        if not getattr(node, "_inherit_roles", True):
            break
        node = getattr(node, "__parent__", None)
    return {pid: frozenset(roles) for pid, roles in merged.items()}


class SecurityPolicy:
    def __init__(self, registry: Registry, workflows: Workflows | None = None) -> None:
        self.registry = registry
        self.workflows = workflows if workflows is not None else Workflows.empty()
        self.defaults: dict[str, frozenset[str]] = {
            perm.id: frozenset(perm.default_roles) | {MANAGER}
            for perm in registry.permissions.values()
        }

    def checker(self, principal: Principal) -> Checker:
        return Checker(self, principal)

    def roles_granting(self, permission: str, obj: Any) -> frozenset[str]:
        """The roles that hold ``permission`` on ``obj`` (see the module docstring)."""
        chain: list[tuple[tuple[str, ...], bool]] = []
        node = obj
        while node is not None:
            entry = (getattr(node, "_permission_roles", None) or {}).get(permission)
            if entry is not None:
                chain.append(entry)
                if not entry[1]:
                    break
            node = getattr(node, "__parent__", None)
        else:
            chain.append((tuple(self.defaults.get(permission, _EMPTY)), False))
        granted: set[str] = {MANAGER}
        for roles, _acquire in chain:
            granted.update(roles)
        return frozenset(granted)

    def permits(self, principal: Principal, permission: str, context: Any) -> Allowed | Denied:
        """One check without a request cache (tests, scripts); services use a Checker."""
        return self.checker(principal).permits(permission, context)


class Checker:
    """One principal's view of the security policy for one request, with its caches."""

    def __init__(self, policy: SecurityPolicy, principal: Principal) -> None:
        self.policy = policy
        self.principal = principal
        self._roles: dict[int, frozenset[str]] = {}
        self._granting: dict[tuple[str, int], frozenset[str]] = {}
        self._manager = MANAGER in principal.roles

    def local_roles(self, obj: Any) -> frozenset[str]:
        """The roles granted to this principal's ids on ``obj`` and inherited from above."""
        ids = self.principal.ids
        found: set[str] = set()
        node = obj
        while node is not None:
            try:  # the hot path of every check: attribute access, no getattr defaults
                local, inherit = node._local_roles, node._inherit_roles
            except AttributeError:  # above the content tree (the application)
                break
            if local:
                for principal_id in ids:
                    roles = local.get(principal_id)
                    if roles:
                        found.update(roles)
            if not inherit:
                break
            node = node.__parent__
        return frozenset(found)

    def roles(self, obj: Any) -> frozenset[str]:
        key = id(obj)
        roles = self._roles.get(key)
        if roles is None:
            roles = self._roles[key] = self.principal.global_roles | self.local_roles(obj)
        return roles

    def granting(self, permission: str, obj: Any) -> frozenset[str]:
        key = (permission, id(obj))
        granted = self._granting.get(key)
        if granted is None:
            granted = self._granting[key] = self.policy.roles_granting(permission, obj)
        return granted

    def permits(self, permission: str, obj: Any) -> Allowed | Denied:
        who = self.principal.id
        if permission not in self.policy.defaults:
            return Denied(permission, who, "unknown")
        if self._manager:  # a global Manager holds every permission everywhere: no walk
            return Allowed(permission, who, "manager")
        if permission == VIEW and self.sees(obj):
            return Allowed(permission, who, "token")
        hit = self.roles(obj) & self.granting(permission, obj)
        if hit:
            return Allowed(permission, who, "roles", hit)
        return Denied(permission, who, "roles")

    def sees(self, obj: Any) -> bool:
        """Whether one of the principal's tokens is in ``obj``'s stored allowed set.

        The set is computed by the same walks as :meth:`permits` and kept current on every
        change of local roles, inheritance, state or place (``security/indexing.py``), so a
        hit answers View without walking the tree; a miss falls back to the walk, so an
        object stored before its tokens existed is judged correctly too.
        """
        allowed: tuple[str, ...] | None = getattr(obj, "_allowed", None)
        if not allowed:
            return False
        return not self.principal.tokens.isdisjoint(allowed)

    def is_manager(self) -> bool:
        return self._manager

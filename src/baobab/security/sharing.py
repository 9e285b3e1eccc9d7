"""Local roles and their delegation rules (Plone's sharing), and who may assign global roles.

Delegation (plone.app.workflow's rules): a role can be granted or revoked through sharing only
if it is sharable (``Role.delegate`` names a permission) and the actor holds that permission
here — Reader: Manager, Site Administrator, Owner, Editor, Reviewer; Editor: Manager, Site
Administrator, Owner, Editor; Contributor: Manager, Site Administrator, Owner; Reviewer:
Manager, Site Administrator, Reviewer. Owner, Site Administrator and Manager are never
sharable. A request is checked whole before anything is written, so a refused change changes
nothing.

Global roles (``@users``/``@groups``): Anonymous, Authenticated and Owner are never assigned;
only a Manager assigns Manager or changes a principal that holds it, so a Site Administrator
cannot take over a Manager's account or make themselves one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from baobab.config.declarations import Role
from baobab.content.resources import Resource
from baobab.errors import Forbidden, ValidationError
from baobab.security.indexing import reindex
from baobab.security.policy import MANAGER, Checker, effective_local_roles
from baobab.security.vocabulary import ANONYMOUS, AUTHENTICATED, OWNER

__all__ = [
    "UNASSIGNABLE_ROLES",
    "SharingChange",
    "apply_sharing",
    "check_global_roles",
    "check_may_manage",
    "forget_principal",
    "set_local_roles",
    "sharable_roles",
]

UNASSIGNABLE_ROLES = frozenset({ANONYMOUS.id, AUTHENTICATED.id, OWNER.id})

SharingChange = tuple[str, dict[str, bool]]  # principal id → {role: granted}


def set_local_roles(obj: Resource, principal_id: str, roles: Iterable[str]) -> None:
    """Replace ``principal_id``'s local roles on ``obj`` (no checks, no reindex)."""
    local = dict(obj._local_roles)
    wanted = tuple(sorted(set(roles)))
    if wanted:
        local[principal_id] = wanted
    else:
        local.pop(principal_id, None)
    obj._local_roles = local


def sharable_roles(checker: Checker) -> list[Role]:
    """Every role that sharing can hand out, in declaration order."""
    return [role for role in checker.policy.registry.roles.values() if role.delegate]


def _refuse(checker: Checker, message: str, **details: Any) -> Forbidden:
    return Forbidden(f"{checker.principal.id} {message}", details=details)


def _check_change(
    checker: Checker, obj: Resource, principal_id: str, roles: Mapping[str, bool]
) -> tuple[str, ...]:
    registry_roles = checker.policy.registry.roles
    current = set(obj._local_roles.get(principal_id, ()))
    wanted = set(current)
    for role_id, grant in roles.items():
        role = registry_roles.get(role_id)
        if role is None or not isinstance(grant, bool):
            raise ValidationError(
                f"{role_id!r}: roles map role ids to true or false",
                details=[{"field": f"entries.{principal_id}.roles.{role_id}"}],
            )
        if grant == (role_id in current):
            continue
        if role.delegate is None:
            raise _refuse(checker, f"cannot grant or revoke {role_id} by sharing", role=role_id)
        if not checker.permits(role.delegate, obj):
            raise _refuse(
                checker, f"may not delegate {role_id} here", role=role_id, permission=role.delegate
            )
        (wanted.add if grant else wanted.discard)(role_id)
    return tuple(sorted(wanted))


def apply_sharing(
    checker: Checker,
    obj: Resource,
    changes: list[SharingChange],
    inherit: bool | None,
    known: Callable[[str], bool],
) -> bool:
    """Check every change, then write them and reindex; whether anything changed.

    Several entries for one principal are merged; one role both granted and revoked is a 422.
    """
    merged: dict[str, dict[str, bool]] = {}
    for principal_id, roles in changes:
        into = merged.setdefault(principal_id, {})
        for role_id, grant in roles.items():
            if into.get(role_id, grant) != grant:
                raise ValidationError(
                    f"{role_id!r} is both granted and revoked for {principal_id!r}",
                    details=[{"field": "entries", "message": f"contradicts itself on {role_id}"}],
                )
            into[role_id] = grant
    planned: list[tuple[str, tuple[str, ...]]] = []
    for principal_id, roles in merged.items():
        # Revoking what a deleted principal still holds is allowed; granting needs one.
        if any(roles.values()) and not known(principal_id):
            raise ValidationError(
                f"No user or group {principal_id!r}",
                details=[{"field": "entries", "message": f"unknown principal {principal_id!r}"}],
            )
        planned.append((principal_id, _check_change(checker, obj, principal_id, roles)))
    changed = False
    for principal_id, wanted in planned:
        if tuple(obj._local_roles.get(principal_id, ())) != wanted:
            set_local_roles(obj, principal_id, wanted)
            changed = True
    if inherit is not None and inherit != obj._inherit_roles:
        obj._inherit_roles = inherit
        changed = True
    if changed:
        reindex(checker.policy, obj)
    return changed


def forget_principal(policy: Any, container: Resource, principal_id: str) -> int:
    """Remove every local role of a deleted principal in ``container`` (Plone's
    ``delete_localroles``), so an id created again later inherits nothing; reindexes what
    changed. Walks the whole site: deleting a principal is rare, a stale grant is a leak."""
    touched: list[Resource] = []
    stack: list[Any] = [container]
    while stack:
        node = stack.pop()
        if principal_id in node._local_roles:
            set_local_roles(node, principal_id, ())
            touched.append(node)
        if node.folderish:
            stack.extend(node.values())
    for node in touched:
        reindex(policy, node)
    return len(touched)


def inherited_roles(obj: Resource) -> dict[str, frozenset[str]]:
    """Local roles that reach ``obj`` from above (none when it blocks inheritance)."""
    if not obj._inherit_roles or obj.__parent__ is None:
        return {}
    return effective_local_roles(obj.__parent__)


def check_global_roles(checker: Checker, context: Any, roles: Iterable[str]) -> tuple[str, ...]:
    """Validate global roles someone wants to assign; 403 for Manager unless a Manager."""
    registry_roles = checker.policy.registry.roles
    wanted = tuple(sorted(set(roles)))
    for role_id in wanted:
        if role_id not in registry_roles or role_id in UNASSIGNABLE_ROLES:
            raise ValidationError(
                f"{role_id!r} is not a role that can be assigned",
                details=[{"field": "roles", "message": f"{role_id!r} cannot be assigned"}],
            )
    if MANAGER in wanted and MANAGER not in checker.roles(context):
        raise _refuse(checker, "may not assign the Manager role", role=MANAGER)
    return wanted


def check_may_manage(checker: Checker, context: Any, target_roles: Iterable[str]) -> None:
    """Only a Manager changes a principal that holds Manager (directly or by a group)."""
    if MANAGER in set(target_roles) and MANAGER not in checker.roles(context):
        raise _refuse(checker, "may not change a Manager's account", role=MANAGER)

"""The allowed-principal tokens of each object (Plone's ``allowedRolesAndUsers``).

An object's ``_allowed`` holds every token that may View it: the ids of the roles that grant
View there, and ``user:<id>`` for each user or group holding one of those roles locally
(inherited grants included, up to a block). A principal may View the object exactly when one
of its tokens (``Principal.tokens``) is in the set — the same rule as
:class:`baobab.security.policy.Checker`, computed with the same two walks.

Each folder keeps an inverted index of its children's tokens (``Folder._visible_at``: token →
the children's position keys) so a listing filters by a union of a few sets, in folder order.
:func:`reindex` recomputes an object and everything below it and updates the parents'
indexes; call it after anything that changes who may View: a new or copied object, local
roles, inheritance, a workflow transition, a move.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from baobab.catalog.query import SECURITY_INDEX
from baobab.catalog.queue import IndexQueue, queue_for
from baobab.content.resources import Folder, Resource
from baobab.security.policy import MANAGER, VIEW, SecurityPolicy, effective_local_roles
from baobab.security.principals import user_token

__all__ = ["VIEW", "allowed_tokens", "reindex", "step"]


def allowed_tokens(
    view_roles: frozenset[str], local: Mapping[str, frozenset[str]]
) -> tuple[str, ...]:
    tokens = set(view_roles) | {MANAGER}
    tokens.update(user_token(pid) for pid, roles in local.items() if roles & view_roles)
    return tuple(sorted(tokens))


def _view_roles_here(obj: Any, parent_roles: frozenset[str]) -> frozenset[str]:
    entry = (getattr(obj, "_permission_roles", None) or {}).get(VIEW)
    if entry is None:
        return parent_roles
    roles, acquire = entry
    return frozenset(roles) | {MANAGER} | (parent_roles if acquire else frozenset())


def _merge(
    own: Mapping[str, tuple[str, ...]], inherited: Mapping[str, frozenset[str]], inherit: bool
) -> dict[str, frozenset[str]]:
    merged = dict(inherited) if inherit else {}
    for pid, roles in own.items():
        merged[pid] = merged.get(pid, frozenset()) | frozenset(roles)
    return merged


_SECURITY = (SECURITY_INDEX,)


def step(
    obj: Resource, inherited: Mapping[str, frozenset[str]], parent_view: frozenset[str]
) -> tuple[dict[str, frozenset[str]], frozenset[str], tuple[str, ...]]:
    """One step down the tree: (the local roles in effect at ``obj``, the roles granting View
    there, its tokens), from its parent's two. For code that builds a tree top-down (an
    import) and sets each object's tokens as it goes, without a second walk."""
    local = _merge(obj._local_roles, inherited, obj._inherit_roles)
    view = _view_roles_here(obj, parent_view)
    return local, view, allowed_tokens(view, local)


def _walk(
    obj: Resource,
    inherited: Mapping[str, frozenset[str]],
    parent_view: frozenset[str],
    queue: IndexQueue | None,
) -> int:
    local, view, new = step(obj, inherited, parent_view)
    changed = 0
    if new != tuple(obj._allowed):
        parent = obj.__parent__
        if isinstance(parent, Folder):
            parent._index_child(obj.__name__, obj._allowed, new)
        obj._allowed = new
        changed = 1
        if queue is not None:
            queue.index(obj, only=_SECURITY)
    if isinstance(obj, Folder):
        for child in obj.values():
            changed += _walk(child, local, view, queue)
    return changed


def reindex(policy: SecurityPolicy, obj: Resource) -> int:
    """Recompute ``obj``'s tokens and its descendants'; the number of objects changed.
    Those whose tokens changed are queued for the catalog's ``allowedRolesAndUsers``."""
    parent = obj.__parent__
    inherited = effective_local_roles(parent) if parent is not None else {}
    parent_view = policy.roles_granting(VIEW, parent)
    return _walk(obj, inherited, parent_view, queue_for(obj, policy.registry))

"""The security side of creating, copying and moving content.

- created: the creator gets Owner locally, the object enters its workflow's initial state,
  its allowed-principal tokens are computed;
- copied: like Plone, a copy (and everything in it) starts over in the initial state and is
  owned by whoever copied it, its only local role (CMFCore's ``handleDynamicTypeCopiedEvent``
  drops every other local role); a block of inherited roles is kept, as Plone keeps
  ``__ac_local_roles_block__``. What the copy leaves out is decided before (``subtree.py``);
- moved: inherited roles and acquired permissions may differ at the new place: reindex;
- repaired (``baobab reindex-security``): objects stored before their type had a workflow
  enter its initial state, and every allowed-token set and folder index is recomputed; the
  catalog entries of what changed are queued (tokens by :func:`reindex`, the whole entry of
  an object that entered a state) and written when the transaction commits.
"""

from __future__ import annotations

from baobab.catalog.queue import queue_for
from baobab.content.resources import Folder, Resource
from baobab.security import vocabulary
from baobab.security.indexing import reindex
from baobab.security.policy import SecurityPolicy
from baobab.security.sharing import set_local_roles
from baobab.security.transitions import enter_initial_state, initialize

__all__ = ["OWNER", "copied", "created", "moved", "repair"]

OWNER = vocabulary.OWNER.id


def _own(obj: Resource, principal_id: str) -> None:
    obj._local_roles = {principal_id: (OWNER,)}
    if isinstance(obj, Folder):
        for child in obj.values():
            _own(child, principal_id)


def created(policy: SecurityPolicy, obj: Resource, principal_id: str) -> None:
    set_local_roles(obj, principal_id, (OWNER,))
    initialize(policy, obj, principal_id)
    reindex(policy, obj)


def copied(policy: SecurityPolicy, obj: Resource, principal_id: str) -> None:
    _own(obj, principal_id)
    initialize(policy, obj, principal_id)
    reindex(policy, obj)


def moved(policy: SecurityPolicy, obj: Resource) -> None:
    reindex(policy, obj)


def repair(policy: SecurityPolicy, obj: Resource, actor: str = "system") -> int:
    """Bring ``obj``'s subtree up to date with the workflows and the token indexes; the
    number of objects that entered a workflow state."""
    entered = 0
    queue = queue_for(obj, policy.registry)
    stack: list[Resource] = [obj]
    while stack:
        node = stack.pop()
        if enter_initial_state(policy, node, actor):
            entered += 1
            if queue is not None:  # its review_state, index and column
                queue.index(node)
        if isinstance(node, Folder):
            node._ordered()  # folders stored before their order (and index) existed get them
            stack.extend(node.values())
    reindex(policy, obj)
    return entered

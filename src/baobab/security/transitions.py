"""Workflow state on objects: the initial state, transitions, and their history.

A state writes the object's permission map (``_permission_roles``) for the permissions its
workflow manages; a transition is allowed when the actor holds its guard permission on the
object and the current state lists it. Every change of state reindexes the object's
allowed-principal tokens (and its descendants', whose acquired permissions may follow).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from baobab.content.resources import Resource
from baobab.errors import BadRequest, Forbidden, Unauthorized
from baobab.security.indexing import reindex
from baobab.security.policy import Checker, SecurityPolicy
from baobab.security.workflows import State, Transition, Workflow

__all__ = [
    "available_transitions",
    "do_transition",
    "enter_initial_state",
    "initialize",
    "state_of",
]


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat()


def _apply(obj: Resource, workflow: Workflow, state: State) -> None:
    if obj.review_state != state.id:
        obj.review_state = state.id
    kept = {
        perm: setting
        for perm, setting in obj._permission_roles.items()
        if perm not in workflow.managed_permissions
    }
    wanted = {**kept, **state.permissions}
    if wanted != dict(obj._permission_roles):  # unchanged objects are not written again
        obj._permission_roles = wanted


def _record(obj: Resource, action: str | None, actor: str, comment: str) -> None:
    entry = {
        "action": action,
        "actor": actor,
        "review_state": obj.review_state,
        "time": _now(),
        "comments": comment,
    }
    obj.workflow_history = (*obj.workflow_history, entry)


def enter_initial_state(policy: SecurityPolicy, obj: Resource, actor: str) -> bool:
    """Re-apply ``obj``'s state's permission map (Plone's ``updateRoleMappings``: a changed
    definition takes effect); an object in none of its workflow's states (stored before the
    type had this workflow) enters the initial state. Whether it entered one. No reindex."""
    workflow = policy.workflows.for_type(obj.type_name)
    if workflow is None:
        return False
    state = workflow.states.get(obj.review_state or "")
    if state is not None:
        _apply(obj, workflow, state)
        return False
    _apply(obj, workflow, workflow.states[workflow.initial_state])
    _record(obj, None, actor, "entered the workflow")
    return True


def initialize(policy: SecurityPolicy, obj: Resource, actor: str) -> None:
    """Put a new (or copied) object, and everything below it, in their initial states."""
    workflow = policy.workflows.for_type(obj.type_name)
    obj.workflow_history = ()
    if workflow is None:
        obj.review_state = None
        obj._permission_roles = {}
    else:
        _apply(obj, workflow, workflow.states[workflow.initial_state])
        _record(obj, None, actor, "")
    if obj.folderish:
        for child in obj.values():
            initialize(policy, child, actor)


def state_of(policy: SecurityPolicy, obj: Any) -> tuple[Workflow, State] | None:
    workflow = policy.workflows.for_type(getattr(obj, "type_name", ""))
    if workflow is None:
        return None
    state = workflow.states.get(getattr(obj, "review_state", None) or "")
    if state is None:  # stored before the type had this workflow: its initial state
        state = workflow.states[workflow.initial_state]
    return workflow, state


def available_transitions(checker: Checker, obj: Any) -> list[Transition]:
    """The transitions of the current state whose guard the principal passes."""
    found = state_of(checker.policy, obj)
    if found is None:
        return []
    workflow, state = found
    return [
        workflow.transitions[t]
        for t in state.transitions
        if checker.permits(workflow.transitions[t].guard_permission, obj)
    ]


def do_transition(checker: Checker, obj: Resource, transition_id: str, comment: str) -> State:
    """Take ``transition_id`` on ``obj``: 400 if it does not leave the current state; if the
    principal fails its guard, 401 when anonymous, else 403."""
    found = state_of(checker.policy, obj)
    if found is None:
        raise BadRequest(f"A {obj.type_name} has no workflow")
    workflow, state = found
    transition = workflow.transitions.get(transition_id)
    if transition is None or transition_id not in state.transitions:
        raise BadRequest(
            f"Transition {transition_id!r} is not available from state {state.id!r}",
            details={"state": state.id, "transitions": list(state.transitions)},
        )
    if not checker.permits(transition.guard_permission, obj):
        if not checker.principal.authenticated:
            raise Unauthorized(
                "Authentication required", details={"permission": transition.guard_permission}
            )
        raise Forbidden(
            f"{checker.principal.id} may not {transition_id} this item",
            details={"permission": transition.guard_permission},
        )
    target = workflow.states[transition.new_state]
    _apply(obj, workflow, target)
    _record(obj, transition_id, checker.principal.id, comment)
    reindex(checker.policy, obj)
    return target

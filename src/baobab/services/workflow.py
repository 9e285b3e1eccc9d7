"""``@workflow``: an object's state, the transitions this user may take, and its history.

GET answers in plone.restapi's shape; the history is shown to those who may request or
review (Plone's ``review_history`` guard). ``POST @workflow/{transition}`` with an optional
``{"comment": …}`` takes a transition and answers with the new history entry.
"""

from __future__ import annotations

from typing import Any

from baobab.config.declarations import service
from baobab.content.interfaces import IResource
from baobab.content.resources import Resource
from baobab.errors import BadRequest, NotFound, ValidationError
from baobab.events import WorkflowTransitioned
from baobab.location import resource_path
from baobab.request import Request, Response, json_response
from baobab.schema.checks import check_keys
from baobab.security.notifications import notices_for
from baobab.security.transitions import available_transitions, do_transition, state_of
from baobab.security.vocabulary import ACCESS_CONTENT, REQUEST_REVIEW, REVIEW_CONTENT, VIEW
from baobab.services import shapes

__all__ = ["workflow_get", "workflow_post"]

HISTORY_PERMISSIONS = (REQUEST_REVIEW.id, REVIEW_CONTENT.id)


def _history(request: Request, obj: Resource) -> list[dict[str, Any]]:
    checker = request.security
    if not any(checker.permits(p, obj) for p in HISTORY_PERMISSIONS):
        return []
    found = state_of(request.policy, obj)
    titles = {s.id: s.title for s in found[0].states.values()} if found else {}
    return [
        {**entry, "title": titles.get(entry["review_state"], "")} for entry in obj.workflow_history
    ]


@service(
    method="GET",
    context=IResource,
    name="@workflow",
    permission=VIEW.id,
    summary="Workflow state, available transitions and history",
    responses={200: shapes.WorkflowInfo},
)
def workflow_get(request: Request) -> Response:
    obj = request.context
    if not isinstance(obj, Resource) or obj.__parent__ is None:
        raise NotFound("A database has no workflow")
    base = request.url_for(resource_path(obj)) + "/@workflow"
    found = state_of(request.policy, obj)
    state = {"id": found[1].id, "title": found[1].title} if found else None
    return json_response(
        {
            "@id": base,
            "workflow": found[0].id if found else None,
            "state": state,
            "transitions": [
                {"@id": f"{base}/{t.id}", "id": t.id, "title": t.title}
                for t in available_transitions(request.security, obj)
            ],
            "history": _history(request, obj),
        }
    )


@service(
    method="POST",
    context=IResource,
    name="@workflow",
    permission=ACCESS_CONTENT.id,
    allow_subpath=True,
    summary="Take a workflow transition",
    description="The body (a comment) is optional. The transition's own guard is checked.",
    subpaths=("{transition}",),
    request=shapes.TransitionComment,
    responses={200: shapes.TransitionDone},
)
def workflow_post(request: Request) -> Response:
    obj = request.context
    if len(request.subpath) != 1:
        raise NotFound("POST @workflow/{transition}")
    if not isinstance(obj, Resource) or obj.__parent__ is None:
        raise BadRequest("A database has no workflow")
    comment = ""
    if request.body:
        data = request.json_object()
        check_keys(data, {"comment"})
        given = data.get("comment")
        if given is not None and (not isinstance(given, str) or len(given) > 10_000):
            raise ValidationError("`comment` must be a string", details=[{"field": "comment"}])
        comment = given or ""
    old_state, before = obj.review_state, tuple(obj._allowed)
    transition = request.subpath[0]
    state = do_transition(request.security, obj, transition, comment)
    rules = request.settings.live.notifications
    request.notify_object(
        WorkflowTransitioned,
        obj,
        transition=transition,
        old_state=old_state,
        new_state=obj.review_state,
        allowed_before=before,
        notices=notices_for(request.policy, rules, obj, transition, obj.review_state),
    )
    return json_response({**obj.workflow_history[-1], "title": state.title})

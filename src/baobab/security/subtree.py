"""Operations on a whole subtree never hand anyone what they could not View.

``@copy`` and ``@move`` act on an object *and everything below it*; the permission checks of
the services look at that object, its parent and the destination only. Below, there may be
objects the actor may not View: a private draft in a published folder, a subfolder that
blocks inheritance. Two rules close that gap (docs/security.md, "Subtree operations"):

- a **copy** leaves out every object the copier may not View, with everything below it
  (Zope's ``CopySource._cleanupCopy``, from Products.PloneHotfix20161129), and resets on
  each copied object the fields whose ``read_permission`` the copier lacks on the original
  (which Plone copies: the copier, Owner of the copy, could then read them);
- a **move** to another folder is refused (403) when the subtree holds an object the mover
  may not View: at its new place it would take the local roles and acquired permissions found
  there, so the mover or others could gain access to it. A rename in place changes nobody's
  access and is not checked.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from baobab.config.registry import Registry
from baobab.content import operations
from baobab.content.resources import Folder, Resource
from baobab.content.typeinfo import type_fields
from baobab.errors import Forbidden
from baobab.location import resource_path
from baobab.security.policy import Checker
from baobab.security.vocabulary import VIEW

__all__ = ["CopyFilter", "check_movable"]

logger = logging.getLogger(__name__)


class CopyFilter(operations.CopyFilter):
    """What of a subtree one principal may copy: ``keep(obj)`` says whether an object (and
    what is below it) is copied, ``unreadable(obj)`` names its fields to reset on the copy.
    ``left_out`` counts the objects left out (with their subtrees), for the log only: the
    answer does not say it, or it would count what the copier may not see."""

    def __init__(self, checker: Checker, registry: Registry) -> None:
        self.checker = checker
        self.registry = registry
        self.left_out: list[str] = []

    def keep(self, obj: Resource) -> bool:
        if self.checker.permits(VIEW.id, obj):
            return True
        self.left_out.append(resource_path(obj))
        return False

    def unreadable(self, obj: Resource) -> tuple[str, ...]:
        checker = self.checker
        return tuple(
            name
            for name, field in type_fields(self.registry, obj.type_name).items()
            if field.read_permission is not None and not checker.permits(field.read_permission, obj)
        )

    def log(self, original: Resource, copy: Resource) -> None:
        if self.left_out:
            logger.info(
                "copy of %s to %s by %s left out %d object(s) they may not View: %s",
                resource_path(original),
                resource_path(copy),
                self.checker.principal.id,
                len(self.left_out),
                ", ".join(self.left_out),
            )


def hidden_below(checker: Checker, obj: Resource) -> bool:
    """Whether some object below ``obj`` is one the principal may not View."""
    stack: list[Resource] = list(obj.values()) if isinstance(obj, Folder) else []
    while stack:
        node = stack.pop()
        if not checker.permits(VIEW.id, node):
            return True
        if isinstance(node, Folder):
            stack.extend(node.values())
    return False


def check_movable(checker: Checker, obj: Resource) -> Callable[[Resource], None]:
    """A guard for ``operations.move``: refuse (403) a move to another folder of a subtree
    holding an object the mover may not View. The message says only that such objects
    exist (not which, nor how many): unavoidable, short of moving them."""

    def guard(folder: Resource) -> None:
        if folder is obj.__parent__ or not hidden_below(checker, obj):
            return
        raise Forbidden(
            f"{checker.principal.id} may not move this: it holds items they cannot see",
            details={"permission": VIEW.id},
        )

    return guard

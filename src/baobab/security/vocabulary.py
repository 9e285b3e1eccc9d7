"""Every built-in permission and role, declared in one place.

Add-ons declare their own the same way (module-level ``Permission``/``Role`` records found by
the scan). A permission names the roles that hold it by default; ``baobab.Manager`` holds every
permission whatever the records say.
"""

from __future__ import annotations

from baobab.config.declarations import Permission, Role

__all__ = [
    "ACCESS_CONTENT",
    "ADD_CONTAINER",
    "ADD_CONTENT",
    "ANONYMOUS",
    "AUTHENTICATED",
    "CONTRIBUTOR",
    "DELETE_OBJECTS",
    "EDITOR",
    "MANAGER",
    "MEMBER",
    "MODIFY_CONTENT",
    "OWNER",
    "PUBLIC",
    "READER",
    "REVIEWER",
    "VIEW",
]

ANONYMOUS = Role("baobab.Anonymous", "Anonymous: every request, authenticated or not")
AUTHENTICATED = Role("baobab.Authenticated", "Any authenticated principal")
MEMBER = Role("baobab.Member", "Member")
READER = Role("baobab.Reader", "Can read")
CONTRIBUTOR = Role("baobab.Contributor", "Can add content")
EDITOR = Role("baobab.Editor", "Can edit content")
REVIEWER = Role("baobab.Reviewer", "Can review content")
OWNER = Role("baobab.Owner", "Owns the object")
MANAGER = Role("baobab.Manager", "Can do everything")

_READERS = (
    "baobab.Manager",
    "baobab.Owner",
    "baobab.Reader",
    "baobab.Editor",
    "baobab.Contributor",
    "baobab.Reviewer",
)

PUBLIC = Permission("baobab.Public", "Open to everyone", ("baobab.Anonymous",))
VIEW = Permission("baobab.View", "View content", _READERS)
ACCESS_CONTENT = Permission(
    "baobab.AccessContentInformation", "Access content information", _READERS
)
MODIFY_CONTENT = Permission(
    "baobab.ModifyContent", "Modify content", ("baobab.Manager", "baobab.Owner", "baobab.Editor")
)
ADD_CONTENT = Permission(
    "baobab.AddContent",
    "Add content",
    ("baobab.Manager", "baobab.Owner", "baobab.Contributor", "baobab.Editor"),
)
ADD_CONTAINER = Permission("baobab.AddContainer", "Add a container", ("baobab.Manager",))
DELETE_OBJECTS = Permission(
    "baobab.DeleteObjects", "Delete objects", ("baobab.Manager", "baobab.Owner", "baobab.Editor")
)

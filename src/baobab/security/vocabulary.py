"""Every built-in permission and role, declared in one place, with Plone's meaning.

Add-ons declare their own the same way (module-level ``Permission``/``Role`` records found by
the scan). A permission names the roles that hold it by default — the grants a Plone site has
at its root (``rolemap.xml``); workflow states override them per object. ``baobab.Manager``
holds every permission whatever the records or workflows say, so no state can lock the site
out. Each content type also gets an add permission of its own (``baobab.Add<Type>``, held by
the roles of ``baobab.AddContent``), declared by the scan unless the type names one.
"""

from __future__ import annotations

from baobab.config.declarations import Permission, Role

__all__ = [
    "ACCESS_CONTENT",
    "ACCESS_INACTIVE",
    "ADD_CONTAINER",
    "ADD_CONTENT",
    "ANONYMOUS",
    "AUTHENTICATED",
    "AUTHENTICATED_GROUP",
    "CHANGE_LOCAL_ROLES",
    "CONTRIBUTOR",
    "DELEGATE_CONTRIBUTOR",
    "DELEGATE_EDITOR",
    "DELEGATE_READER",
    "DELEGATE_REVIEWER",
    "DELETE_OBJECTS",
    "EDITOR",
    "LIST_FOLDER_CONTENTS",
    "MANAGER",
    "MANAGE_DATABASE",
    "MANAGE_SITE",
    "MANAGE_USERS",
    "MEMBER",
    "MODIFY_CONTENT",
    "OWNER",
    "PUBLIC",
    "READER",
    "REQUEST_REVIEW",
    "REVIEWER",
    "REVIEW_CONTENT",
    "SET_OWN_PASSWORD",
    "SET_OWN_PROPERTIES",
    "SITE_ADMINISTRATOR",
    "USE_WEBSOCKETS",
    "VIEW",
    "VIEW_METRICS",
]

# The group every authenticated principal belongs to (Plone's "Logged-in users").
AUTHENTICATED_GROUP = "AuthenticatedUsers"

_M, _SA, _OW = "baobab.Manager", "baobab.SiteAdministrator", "baobab.Owner"
_ED, _CO, _RE, _RV = "baobab.Editor", "baobab.Contributor", "baobab.Reader", "baobab.Reviewer"

# Sharing: who may hand out which role (plone.app.workflow's "Sharing page: Delegate …").
DELEGATE_READER = Permission(
    "baobab.DelegateReaderRole", "Sharing: delegate Reader", (_M, _SA, _OW, _ED, _RV)
)
DELEGATE_EDITOR = Permission(
    "baobab.DelegateEditorRole", "Sharing: delegate Editor", (_M, _SA, _OW, _ED)
)
DELEGATE_CONTRIBUTOR = Permission(
    "baobab.DelegateContributorRole", "Sharing: delegate Contributor", (_M, _SA, _OW)
)
DELEGATE_REVIEWER = Permission(
    "baobab.DelegateReviewerRole", "Sharing: delegate Reviewer", (_M, _SA, _RV)
)

ANONYMOUS = Role("baobab.Anonymous", "Anonymous: every request, authenticated or not")
AUTHENTICATED = Role("baobab.Authenticated", "Any authenticated principal")
MEMBER = Role("baobab.Member", "Member")
READER = Role(_RE, "Can view", delegate=DELEGATE_READER.id)
CONTRIBUTOR = Role(_CO, "Can add", delegate=DELEGATE_CONTRIBUTOR.id)
EDITOR = Role(_ED, "Can edit", delegate=DELEGATE_EDITOR.id)
REVIEWER = Role(_RV, "Can review", delegate=DELEGATE_REVIEWER.id)
OWNER = Role(_OW, "Owner of the object")
SITE_ADMINISTRATOR = Role(_SA, "Site Administrator: everything in the site but Manager")
MANAGER = Role(_M, "Manager: everything")


_READERS = (_M, _SA, _RE, _ED, _CO)

PUBLIC = Permission("baobab.Public", "Open to everyone", ("baobab.Anonymous",))
VIEW = Permission("baobab.View", "View", _READERS)
ACCESS_CONTENT = Permission(
    "baobab.AccessContentInformation", "Access contents information", _READERS
)
LIST_FOLDER_CONTENTS = Permission(
    "baobab.ListFolderContents", "List folder contents", (_M, _SA, _OW, _RV, _ED, _CO)
)
MODIFY_CONTENT = Permission("baobab.ModifyContent", "Modify content", (_M, _SA, _ED, _OW))
ADD_CONTENT = Permission("baobab.AddContent", "Add content", (_M, _SA, _OW, _CO))
ADD_CONTAINER = Permission("baobab.AddContainer", "Add a container", (_M,))
DELETE_OBJECTS = Permission("baobab.DeleteObjects", "Delete objects", (_M, _SA, _OW, _ED))
CHANGE_LOCAL_ROLES = Permission(
    "baobab.ChangeLocalRoles", "Change local roles (sharing)", (_M, _SA, _OW, _ED, _RV)
)
REQUEST_REVIEW = Permission("baobab.RequestReview", "Request review", (_M, _SA, _OW, _ED))
REVIEW_CONTENT = Permission("baobab.ReviewContent", "Review content", (_M, _SA, _RV))
MANAGE_USERS = Permission("baobab.ManageUsers", "Manage users and groups", (_M, _SA))
MANAGE_SITE = Permission("baobab.ManageSite", "Manage the site", (_M, _SA))
# the storage under every site of a database (``@pack``): a Site Administrator runs one site,
# not the database, so Manager only
MANAGE_DATABASE = Permission("baobab.ManageDatabase", "Maintain a database (pack)", (_M,))
VIEW_METRICS = Permission("baobab.ViewMetrics", "Read the server's metrics (@metrics)", (_M,))
# Plone's "Access inactive portal content": searches show content that is not yet effective,
# or expired, only to those who hold it on the container (or who ask, with show_inactive)
ACCESS_INACTIVE = Permission(
    "baobab.AccessInactiveContent", "See inactive content in searches", (_M, _SA, _OW)
)
SET_OWN_PASSWORD = Permission(
    "baobab.SetOwnPassword", "Set own password", ("baobab.Authenticated",)
)
SET_OWN_PROPERTIES = Permission(
    "baobab.SetOwnProperties", "Set own properties", ("baobab.Authenticated",)
)
USE_WEBSOCKETS = Permission("baobab.UseWebSockets", "Use WebSockets", ("baobab.Authenticated",))

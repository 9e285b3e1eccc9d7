"""The built-in indexes and metadata columns, declared like an add-on's (found by the scan).

Index names are Plone's, so plone.restapi's clients query Baobab as they query Plone.
``UID`` and ``path`` are not declared here: the catalog answers them from its own document
ids and path index (:mod:`baobab.catalog.store`, :mod:`baobab.catalog.paths`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from baobab.catalog.store import DATE_MAX, DATE_MIN
from baobab.catalog.text import searchable_text, sortable
from baobab.config.declarations import catalog_index, metadata_column
from baobab.config.registry import Registry
from baobab.content.ordering import position_in_parent

__all__: list[str] = []  # everything here is found by the scan


def _iso(value: Any) -> str | None:
    return value.isoformat() if isinstance(value, dt.datetime) else None


@catalog_index("portal_type", title="Type")
def portal_type(obj: Any, registry: Registry) -> Any:
    return obj.type_name


@catalog_index("review_state", title="Review state")
def review_state(obj: Any, registry: Registry) -> Any:
    return obj.review_state


@catalog_index("getId", title="Short name")
def get_id(obj: Any, registry: Registry) -> Any:
    return obj.__name__


@catalog_index("id", title="Short name")
def id_(obj: Any, registry: Registry) -> Any:
    return obj.__name__


@catalog_index("Subject", kind="keyword", title="Tags")
def subject(obj: Any, registry: Registry) -> Any:
    return list(getattr(obj, "subjects", None) or ()) or None


@catalog_index("Creator", title="Creator")
def creator(obj: Any, registry: Registry) -> Any:
    creators = getattr(obj, "creators", None) or ()
    return creators[0] if creators else None


@catalog_index("created", kind="date", title="Creation date")
def created(obj: Any, registry: Registry) -> Any:
    return obj.created


@catalog_index("modified", kind="date", title="Modification date")
def modified(obj: Any, registry: Registry) -> Any:
    return obj.modified


@catalog_index("effective", kind="date", title="Effective date")
def effective(obj: Any, registry: Registry) -> Any:
    return getattr(obj, "effective", None) or DATE_MIN


@catalog_index("expires", kind="date", title="Expiration date")
def expires(obj: Any, registry: Registry) -> Any:
    return getattr(obj, "expires", None) or DATE_MAX


@catalog_index("sortable_title", title="Sortable title")
def sortable_title(obj: Any, registry: Registry) -> Any:
    return sortable(getattr(obj, "title", None) or "")


@catalog_index("getObjPositionInParent", title="Order in folder", type=int)
def position(obj: Any, registry: Registry) -> Any:
    return position_in_parent(obj)


@catalog_index("is_folderish", title="Folderish", type=bool)
def is_folderish(obj: Any, registry: Registry) -> Any:
    return bool(obj.folderish)


@catalog_index("allowedRolesAndUsers", kind="keyword", title="Who may view")
def allowed_roles_and_users(obj: Any, registry: Registry) -> Any:
    return list(obj._allowed)


@catalog_index("SearchableText", kind="text", title="Text")
def searchable(obj: Any, registry: Registry) -> Any:
    return searchable_text(obj, registry)


@catalog_index("Language", title="Language")
def language(obj: Any, registry: Registry) -> Any:
    return getattr(obj, "language", None) or ""


# metadata: what a search result shows without loading the object ---------------------


@metadata_column("UID")
def uid_column(obj: Any, registry: Registry) -> Any:
    return obj.uid


@metadata_column("id")
def id_column(obj: Any, registry: Registry) -> Any:
    return obj.__name__


@metadata_column("portal_type")
def type_column(obj: Any, registry: Registry) -> Any:
    return obj.type_name


@metadata_column("title")
def title_column(obj: Any, registry: Registry) -> Any:
    return getattr(obj, "title", None) or ""


@metadata_column("description")
def description_column(obj: Any, registry: Registry) -> Any:
    return getattr(obj, "description", None) or ""


@metadata_column("review_state")
def state_column(obj: Any, registry: Registry) -> Any:
    return obj.review_state


@metadata_column("listCreators")
def creators_column(obj: Any, registry: Registry) -> Any:
    return list(getattr(obj, "creators", None) or ())


@metadata_column("Subject")
def subjects_column(obj: Any, registry: Registry) -> Any:
    return list(getattr(obj, "subjects", None) or ())


@metadata_column("created")
def created_column(obj: Any, registry: Registry) -> Any:
    return _iso(obj.created)


@metadata_column("modified")
def modified_column(obj: Any, registry: Registry) -> Any:
    return _iso(obj.modified)


@metadata_column("effective")
def effective_column(obj: Any, registry: Registry) -> Any:
    return _iso(getattr(obj, "effective", None))


@metadata_column("expires")
def expires_column(obj: Any, registry: Registry) -> Any:
    return _iso(getattr(obj, "expires", None))


@metadata_column("is_folderish")
def folderish_column(obj: Any, registry: Registry) -> Any:
    return bool(obj.folderish)


@metadata_column("Language")
def language_column(obj: Any, registry: Registry) -> Any:
    return getattr(obj, "language", None) or ""

"""Built-in behaviours: reusable field sets attached to types by name."""

from __future__ import annotations

from baobab.config.declarations import behaviour
from baobab.schema.fields import Datetime, List, String, Text

__all__ = ["DublinCore"]


@behaviour("baobab.dublincore", title="Dublin Core")
class DublinCore:
    """Dublin Core metadata. Dates and creators are kept by the server."""

    title = String(title="Title", max_length=1000, default="")
    description = Text(title="Description", max_length=100_000, default="")
    creators = List(title="Creators", value_type=String(), readonly=True)
    contributors = List(title="Contributors", value_type=String(), readonly=True)
    subjects = List(title="Subjects", value_type=String(max_length=200), unique=True)
    language = String(title="Language", max_length=35)
    created = Datetime(title="Created", readonly=True)
    modified = Datetime(title="Modified", readonly=True)
    effective = Datetime(title="Effective date")
    expires = Datetime(title="Expiration date")

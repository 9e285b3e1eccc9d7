"""``location.find``: the object an index recorded at a path, or None once it is gone."""

from __future__ import annotations

from baobab.content.resources import Container, DatabaseRoot, Folder, Item
from baobab.location import find


def test_find_walks_folders_and_answers_none_for_what_is_gone() -> None:
    root = DatabaseRoot("db", "Database")
    site = Container("site", "Container")
    root._set_child("site", site)
    folder = Folder("f", "Folder")
    site._set_child("f", folder)
    doc = Item("d", "Document")
    folder._set_child("d", doc)
    assert find(site, "/db/site") is site
    assert find(site, "/db/site/f/d") is doc
    assert find(site, "/db/site/f/x") is None
    assert find(site, "/db/site/f/d/deeper") is None  # a leaf holds nothing
    assert find(site, "/db/other/f") is None  # not below the start
    assert find(site, "/db/sitex/f") is None  # a sibling sharing the prefix
    folder._del_child("d")
    assert find(site, "/db/site/f/d") is None

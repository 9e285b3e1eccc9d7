"""Traversal: path → (context, view name, subpath); private and dot segments never traverse."""

from __future__ import annotations

import contextlib

import pytest

from baobab.content.resources import Container, DatabaseRoot, Folder, Item
from baobab.errors import NotFound
from baobab.traversal import Reached, Traversed, reach, split_path, traverse


@pytest.fixture
def root() -> DatabaseRoot:
    """``/site/folder/doc``, plus children whose names traversal must refuse."""
    root = DatabaseRoot("db", "DatabaseRoot")
    site, folder = Container("site", "Container"), Folder("folder", "Folder")
    root._set_child("site", site)
    site._set_child("folder", folder)
    folder._set_child("doc", Item("doc", "Document"))
    for name in ("_private", ".hidden"):
        site._set_child(name, Item(name, "Document"))
    return root


@pytest.mark.parametrize(
    ("path", "segments"),
    [
        ("/db/site/doc", ("db", "site", "doc")),
        ("/db/site/doc/", ("db", "site", "doc")),
        ("//db///site", ("db", "site")),
        ("db/@view/a", ("db", "@view", "a")),
        ("/", ()),
        ("", ()),
    ],
)
def test_split_path_drops_empty_segments(path: str, segments: tuple[str, ...]) -> None:
    assert split_path(path) == segments


def test_traverse_to_an_object(root: DatabaseRoot) -> None:
    found = traverse(root, ["site", "folder", "doc"])
    assert found == Traversed(root["site"]["folder"]["doc"], "", ())
    assert traverse(root, []) == Traversed(root, "", ())


def test_an_at_segment_names_a_view_and_the_rest_is_its_subpath(root: DatabaseRoot) -> None:
    site = root["site"]
    assert traverse(root, ["site", "@sharing"]) == Traversed(site, "@sharing", ())
    found = traverse(root, ["site", "@users", "alice", "_x", ".."])
    assert found == Traversed(site, "@users", ("alice", "_x", ".."))  # not traversed
    assert traverse(root, ["@search"]) == Traversed(root, "@search", ())
    # only the first @ segment is a view: later ones are its subpath
    assert traverse(root, ["site", "@a", "@b"]).subpath == ("@b",)


@pytest.mark.parametrize("segment", ["_private", "_", ".", "..", ".hidden"])
def test_private_and_dot_segments_are_refused_even_when_such_a_child_exists(
    root: DatabaseRoot, segment: str
) -> None:
    with pytest.raises(NotFound) as refused:
        traverse(root, ["site", segment])
    assert segment in refused.value.message
    with pytest.raises(NotFound):
        traverse(root, ["site", "folder", segment, "doc"])


def test_a_missing_segment_is_not_found_with_the_path(root: DatabaseRoot) -> None:
    with pytest.raises(NotFound) as missing:
        traverse(root, ["site", "nope", "doc"])
    assert "'nope'" in missing.value.message
    assert missing.value.details == {"path": "site/nope/doc"}


def test_nothing_is_below_an_item(root: DatabaseRoot) -> None:
    with pytest.raises(NotFound):
        traverse(root, ["site", "folder", "doc", "x"])
    # a view of an item is fine
    assert traverse(root, ["site", "folder", "doc", "@download"]).view_name == "@download"


def test_an_object_that_is_not_a_folder_at_all_is_not_traversed() -> None:
    class Plain:
        """Has ``get`` but no ``folderish``: traversal does not use it."""

        def get(self, name: str) -> object:
            return object()

    with pytest.raises(NotFound):
        traverse(Plain(), ["anything"])


def test_traversal_changes_nothing(root: DatabaseRoot) -> None:
    site = root["site"]
    before = (len(site), site.keys())
    for segments in (["site", "nope"], ["site", "folder", "doc"], ["site", "@x", "y"]):
        with contextlib.suppress(NotFound):
            traverse(root, segments)
    assert (len(site), site.keys()) == before


def test_reach_says_how_far_the_path_resolved_without_raising(root: DatabaseRoot) -> None:
    site, folder = root["site"], root["site"]["folder"]
    assert reach(root, ["site", "folder"]) == Reached(folder, 2, "", (), False)
    assert reach(root, ["site", "@sharing", "x"]) == Reached(site, 1, "@sharing", ("x",), False)
    # the first segment that names no reachable child: its index, and the object above it
    assert reach(root, ["site", "nope", "doc"]) == Reached(site, 1, "", (), True)
    assert reach(root, ["site", "_private"]) == Reached(site, 1, "", (), True)
    assert reach(root, ["site", "folder", "doc", "x", "@v"]).depth == 3

"""A whole-container path query is answered without a set of every docid."""

from __future__ import annotations

from baobab.catalog.paths import PathIndex


def _index() -> PathIndex:
    index = PathIndex()
    for docid, path in enumerate(["/db/site/a", "/db/site/a/b", "/db/site/c"], 1):
        index.index_doc(docid, path)
    return index


def test_the_container_path_covers_every_entry() -> None:
    index = _index()
    assert index.covers_all(("/db/site",), -1)
    assert index.covers_all(("/db/site/",), -1)
    assert index.covers_all(("/db/site/a", "/db/site"), -1)
    assert set(index.search(("/db/site",), -1)) == {1, 2, 3}


def test_a_subtree_a_depth_or_a_sibling_site_does_not() -> None:
    index = _index()
    assert not index.covers_all(("/db/site/a",), -1)
    assert not index.covers_all(("/db/site",), 1)
    assert not index.covers_all(("/db/sit",), -1)
    index.index_doc(4, "/db/site2/x")
    assert not index.covers_all(("/db/site",), -1)
    assert not PathIndex().covers_all(("/db/site",), -1)

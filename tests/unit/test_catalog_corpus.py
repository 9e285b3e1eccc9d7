"""The catalog benchmark's corpus (``bench/catalog_corpus.py``) keeps the properties the
benchmark's figures rely on: Baobab and Plone load it separately, so it must be the same
every time, parents must come first, and the queries must have the sizes the issue names.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

PATH = Path(__file__).parents[2] / "bench" / "catalog_corpus.py"


@pytest.fixture(scope="module")
def corpus() -> ModuleType:
    spec = importlib.util.spec_from_file_location("catalog_corpus", PATH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_same_seed_same_items_other_seed_other_items(corpus: ModuleType) -> None:
    first = list(corpus.iter_items(500, seed=1))
    assert first == list(corpus.iter_items(500, seed=1))
    assert first != list(corpus.iter_items(500, seed=2))


def test_parents_first_unique_paths_and_plone_states(corpus: ModuleType) -> None:
    seen = {""}
    for item in corpus.iter_items(3000):
        assert item["parent_path"] in seen
        assert item["path"] == f"{item['parent_path']}/{item['id']}"
        assert item["path"] not in seen
        assert item["review_state"] in {"private", "pending", "published"}
        assert item["type"] in {"Folder", "Document", "File"}
        assert (item["text"] != "") == (item["type"] == "Document")
        if item["type"] == "Folder":
            seen.add(item["path"])
            assert item["path"].count("/") <= corpus.MAX_DEPTH
        else:
            assert 3 <= len(item["title"].split()) <= 8
    assert len(seen) == 1 + corpus.FOLDERS


def test_query_sizes(corpus: ModuleType) -> None:
    counts = corpus.summary(10_000)
    assert counts["items"] == 10_000
    assert counts["big_children"] >= 1000  # the folder-scoped query's folder
    assert 0.45 < counts["alice_items"] / counts["items"] < 0.55  # alice sees about half
    assert 0 < counts["alice_fulltext"] <= counts["fulltext"]
    assert corpus.QUERIES["folder"]["path.query"] == corpus.BIG_FOLDER

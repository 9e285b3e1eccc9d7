"""Concurrent writers to one catalog: what they change must merge, not conflict.

Two transactions on two connections of one FileStorage, each indexing its own document, the
second committed after the first (ZODB's conflict resolution applies, as for two requests
in a thread pool or two servers on PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import transaction
import ZODB
import ZODB.FileStorage

from baobab.catalog.store import FAMILY, Catalog, new_text_index
from baobab.catalog.text import new_lexicon

# fewer than fill a bucket: a bucket split is a conflict (a BTree node changed in both),
# which the catalog makes rare (keys spread) but cannot avoid
WORDS = [f"word{n}" for n in range(12)]


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Any]:
    database = ZODB.DB(ZODB.FileStorage.FileStorage(str(tmp_path / "t.fs")))
    yield database
    database.close()


def _concurrently(db: Any, key: str, changes: list[Any]) -> None:
    """Open one connection per change, apply each, then commit them in turn."""
    managers = [transaction.TransactionManager() for _ in changes]
    conns = [db.open(tm) for tm in managers]
    try:
        for tm, conn, change in zip(managers, conns, changes, strict=True):
            tm.begin()
            change(conn.root()[key])
        for tm in managers:
            tm.commit()
    finally:
        for tm, conn in zip(managers, conns, strict=True):
            tm.abort()
            conn.close()


def _seed(db: Any, key: str, value: Any, fill: Any) -> None:
    tm = transaction.TransactionManager()
    conn = db.open(tm)
    conn.root()[key] = value
    fill(value)
    tm.commit()
    conn.close()


def test_new_words_added_concurrently_get_distinct_ids(db: Any) -> None:
    _seed(db, "lexicon", new_lexicon(), lambda lex: lex.sourceToWordIds(" ".join(WORDS)))
    _concurrently(
        db,
        "lexicon",
        [lambda lex: lex.sourceToWordIds("word1 brandnew"), lambda lex: lex.sourceToWordIds("x9")],
    )
    conn = db.open()
    lexicon = conn.root()["lexicon"]
    new, other = lexicon.termToWordIds("brandnew x9")
    assert new and other and new != other
    assert lexicon.get_word(new) == "brandnew" and lexicon.get_word(other) == "x9"
    conn.close()


def test_documents_sharing_a_rare_word_index_concurrently(db: Any) -> None:
    def fill(index: Any) -> None:
        for docid, word in enumerate(WORDS, 1):  # each word in one document: all rare
            index.index_doc(docid, SimpleNamespace(text=f"{word} common"))

    _seed(db, "index", new_text_index("text", FAMILY), fill)
    _concurrently(
        db,
        "index",
        [
            lambda ix: ix.index_doc(1001, SimpleNamespace(text="word7 common alpha")),
            lambda ix: ix.index_doc(2002, SimpleNamespace(text="word7 common beta")),
        ],
    )
    conn = db.open()
    index = conn.root()["index"]
    assert set(index.apply("word7")) == {8, 1001, 2002}
    assert set(index.apply("alpha")) == {1001} and set(index.apply("beta")) == {2002}
    assert set(index.apply("common")) >= {1001, 2002}
    conn.close()


def test_entries_added_concurrently_to_one_metadata_bucket_merge(db: Any) -> None:
    def fill(catalog: Catalog) -> None:
        catalog._v_next = 100
        for n in range(10):
            catalog.catalog_object(f"uid{n}", f"/db/site/d{n}", {}, {"title": f"Doc {n}"})

    def add(uid: str, docid: int) -> Any:
        def change(catalog: Catalog) -> None:
            catalog._v_next = docid  # next to the others: the same bucket
            catalog.catalog_object(uid, f"/db/site/{uid}", {}, {"title": uid, "Subject": []})

        return change

    _seed(db, "catalog", Catalog(), fill)
    _concurrently(db, "catalog", [add("a", 1000), add("b", 2000)])
    conn = db.open()
    catalog = conn.root()["catalog"]
    assert len(catalog) == 12
    assert catalog.metadata[catalog.docid_of("b")]["title"] == "b"
    conn.close()

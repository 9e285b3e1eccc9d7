"""Folders: BTree children with a constant-time count, behaving the same at any size."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import transaction
import ZODB
from ZODB.FileStorage import FileStorage

from baobab.content.types import Document, Folder

N = 20_000


def test_large_folder_count_and_batches_without_loading_children(tmp_path: Path) -> None:
    db = ZODB.DB(FileStorage(str(tmp_path / "data.fs")))
    try:
        tm = transaction.TransactionManager(explicit=True)
        tm.begin()
        conn: Any = db.open(transaction_manager=tm)
        folder = Folder("big", "Folder")
        conn.root()["big"] = folder
        for n in range(N):
            folder._set_child(f"doc-{n:06d}", Document(f"doc-{n:06d}", "Document"))
        tm.commit()
        conn.close()

        tm = transaction.TransactionManager(explicit=True)
        tm.begin()
        conn = db.open(transaction_manager=tm)
        conn.cacheMinimize()
        big = conn.root()["big"]
        assert len(big) == N
        assert big.keys(N - 5, 10) == [f"doc-{n:06d}" for n in range(N - 5, N)]
        loaded = sum(1 for _, o in conn._cache.lru_items() if isinstance(o, Document))
        assert loaded == 0  # counting and paging ids touch no child object
        page = big.items(N - 2, 10)
        assert [child.id for _, child in page] == [f"doc-{n:06d}" for n in range(N - 2, N)]
        assert "doc-012345" in big
        assert big.get("nope") is None
        tm.abort()
        conn.close()
    finally:
        db.close()

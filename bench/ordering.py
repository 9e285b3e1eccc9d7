"""What folder order costs on a folder of many children (docs/architecture.md, "Folder order").

In-process, on a FileStorage in a temporary directory (no server: this measures the storage
structures, not HTTP). Builds a folder of ``--children`` Documents (each visible to the token
``Reader`` when even, to ``user:u3`` when a multiple of 3: a principal holding both sees two
thirds, through a union of two sets), then prints:

- **append**: µs per ``_set_child`` in bulk (commits every 5,000), and per transaction that
  appends one child and commits, with the records and bytes such a commit writes;
- **move to top** / **move by -n**: µs per transaction that moves the last child, and what
  it writes;
- **page of 25** at the start and at the end, for a Manager (a slice of the order tree) and
  for the two-token principal (a union of their sets, then a slice), the 25 children loaded
  (their titles read), warm and with the connection's cache emptied first (cold: every
  bucket and child read again from the storage, the file in the OS cache).

    .venv/bin/python bench/ordering.py                  # 100,000 children
    .venv/bin/python bench/ordering.py --children 20000 --repeat 50
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import transaction
import ZODB
from ZODB.FileStorage import FileStorage

from baobab.content.ordering import move_child
from baobab.content.types import Document, Folder

TOKENS = ("Reader", "user:u3")


def _doc(n: int) -> Document:
    doc = Document(f"doc-{n:07d}", "Document")
    doc.title = f"Document {n}"
    doc._allowed = tuple(
        t
        for t, keep in (("Manager", True), ("Reader", n % 2 == 0), ("user:u3", n % 3 == 0))
        if keep
    )
    return doc


def _last_commit(storage: FileStorage) -> tuple[int, int]:
    """(records, bytes) of the last committed transaction."""
    tid = storage.lastTransaction()
    for txn in storage.iterator(tid, tid):
        records = list(txn)
        return len(records), sum(len(r.data or b"") for r in records)
    return 0, 0


def _median_us(samples: list[float]) -> float:
    return statistics.median(samples) * 1e6


def _timed_commits(
    tm: Any, storage: FileStorage, repeat: int, step: Callable[[int], object]
) -> str:
    """Median µs of ``step(i)`` and of its commit, and the records and bytes it wrote."""
    work, commit = [], []
    for i in range(repeat):
        start = time.perf_counter()
        step(i)
        done = time.perf_counter()
        tm.commit()
        work.append(done - start)
        commit.append(time.perf_counter() - done)
    records, size = _last_commit(storage)
    return (
        f"{_median_us(work):8.1f} µs  (commit {_median_us(commit):7.1f} µs: "
        f"{records} records, {size:,} B)"
    )


def _page_us(conn: Any, folder: Folder, fn: Callable[[], object], cold: bool, repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        if cold:
            conn.cacheMinimize()
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return _median_us(samples)


def run(children: int, repeat: int, where: Path) -> None:
    storage = FileStorage(str(where / "data.fs"))
    db = ZODB.DB(storage, cache_size=400_000)
    tm = transaction.TransactionManager()
    conn: Any = db.open(transaction_manager=tm)
    folder = Folder("big", "Folder")
    conn.root()["big"] = folder
    tm.commit()
    start = time.perf_counter()
    for n in range(children):
        doc = _doc(n)
        folder._set_child(doc.id, doc)
        if n % 5000 == 4999:
            tm.commit()
    tm.commit()
    bulk = (time.perf_counter() - start) / children * 1e6
    print(f"folder of {len(folder):,} children, {Path(storage._file_name).stat().st_size >> 20} MB")
    print(f"{'append, in bulk (commit every 5,000)':40} {bulk:8.1f} µs")

    def append(i: int) -> None:
        doc = _doc(children + i)
        folder._set_child(doc.id, doc)

    def to_top(i: int) -> None:
        move_child(folder, names[-1 - i], "top")

    def to_middle(i: int) -> None:
        move_child(folder, names[-1 - repeat - i], -(len(folder) // 2))

    names = folder.ordered_keys()  # the last ones move, each once

    for label, step in (
        ("append one child", append),
        ("move the last child to the top", to_top),
        ("move the last child by -n/2", to_middle),
    ):
        print(f"{label:40} {_timed_commits(tm, storage, repeat, step)}")
    end = len(folder) - 25
    visible = len(folder.visible_positions(TOKENS))
    for who, page in (
        ("Manager", lambda at: [c.title for _, c in folder.ordered_items(at, 25)]),
        (
            f"two tokens ({visible:,} seen)",
            lambda at: [folder[n].title for n in folder.visible_page(TOKENS, at, 25)[1]],
        ),
    ):
        last = visible - 25 if who != "Manager" else end
        for cold in (False, True):
            first_us = _page_us(conn, folder, lambda p=page: p(0), cold, repeat)
            last_us = _page_us(conn, folder, lambda p=page, at=last: p(at), cold, repeat)
            state = "cold" if cold else "warm"
            print(f"page of 25, {who}, {state}: start {first_us:8.1f} µs, end {last_us:8.1f} µs")
    tm.abort()
    conn.close()
    db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--children", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="baobab-ordering-") as where:
        run(args.children, args.repeat, Path(where))


if __name__ == "__main__":
    main()

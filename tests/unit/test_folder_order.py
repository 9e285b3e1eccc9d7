"""Folder order in the content layer: which position keys a move changes (what the catalog
reindexes), re-spacing when gaps run out, folders stored before order, concurrent appends."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
import transaction
import ZODB
from ZODB.FileStorage import FileStorage

from baobab.content import ordering
from baobab.content.ordering import move_child, position_in_parent
from baobab.content.types import Document, Folder


def folder_of(n: int, tokens: tuple[str, ...] = ("Manager",)) -> Folder:
    folder = Folder("f", "Folder")
    for i in range(n):
        doc = Document(f"d{i:03d}", "Document")
        doc._allowed = tokens
        folder._set_child(doc.id, doc)
    return folder


def keys_agree(folder: Folder) -> None:
    """The three structures say the same: order ↔ positions, token sets ↔ children."""
    assert folder._order is not None and folder._positions is not None
    assert {v: k for k, v in folder._order.items()} == dict(folder._positions.items())
    assert len(folder._order) == len(folder)
    assert folder._visible_at is not None
    for token, keys in folder._visible_at.items():
        holders = {folder._positions[n] for n, c in folder.items() if token in c._allowed}
        assert set(keys) == holders, token


def test_a_move_changes_one_key_and_position_in_parent_sorts_in_order() -> None:
    folder = folder_of(50)
    before = dict(folder._positions.items())
    assert move_child(folder, "d040", "top") == ["d040"]
    assert move_child(folder, "d010", -3) == ["d010"]
    assert move_child(folder, "d000", 7) == ["d000"]
    assert move_child(folder, "d040", "top") == []  # already there
    after = dict(folder._positions.items())
    assert {n for n in before if before[n] != after[n]} == {"d040", "d010", "d000"}
    ordered = folder.ordered_keys()
    assert sorted(ordered, key=lambda n: position_in_parent(folder[n])) == ordered
    assert ordered[:3] == ["d040", "d001", "d002"]
    keys_agree(folder)


def test_a_subset_move_permutes_the_subsets_own_keys() -> None:
    folder = folder_of(9)
    keys = dict(folder._positions.items())
    changed = move_child(folder, "d006", "top", ["d001", "d003", "d006", "d007"])
    assert changed == ["d001", "d003", "d006"]
    assert folder.ordered_keys() == [
        "d000", "d006", "d002", "d001", "d004", "d005", "d003", "d007", "d008",
    ]  # fmt: skip
    assert sorted(folder._positions.values()) == sorted(keys.values())  # no key made
    keys_agree(folder)


def test_exhausted_gaps_respace_a_window_and_say_which_keys_changed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(ordering, "GAP", 8)
    folder = folder_of(200, ("Manager", "Reader"))
    model = folder.ordered_keys()
    rng = random.Random(5)
    widest = 0
    for step in range(400):
        name = model[rng.randrange(len(model))]
        before = dict(folder._positions.items())
        changed = move_child(folder, name, rng.choice([-2, -1, 1, 2]) if step % 3 else 1)
        after = dict(folder._positions.items())
        assert set(changed) == {n for n in after if after[n] != before[n]}
        widest = max(widest, len(changed))
        model = folder.ordered_keys()
    assert 1 < widest < 200  # re-spaced at times, never the whole folder
    keys_agree(folder)


def test_the_same_spot_again_and_again_stays_cheap() -> None:
    """The last child moved to position 1000, a thousand times: each lands between the fixed
    child at 999 and the one moved before, halving one gap; re-spacings stay local."""
    folder = folder_of(2000)
    changed = 0
    for _ in range(1000):
        last = folder.ordered_keys(1999, 1)[0]
        changed += len(move_child(folder, last, -999))
        assert folder.ordered_keys(1000, 1) == [last]
    keys_agree(folder)
    assert changed < 20 * 1000  # about 9 keys a move, where a renumbering would be 2000


def test_appends_at_the_end_of_the_key_space_respace(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ordering, "GAP", 4)
    monkeypatch.setattr(ordering, "LIMIT", 40)
    folder = folder_of(0)
    moved: list[str] = []
    for i in range(30):
        doc = Document(f"n{i:02d}", "Document")
        moved += folder._set_child(doc.id, doc)
    assert folder.ordered_keys() == [f"n{i:02d}" for i in range(30)]
    assert moved  # the other children re-spaced, named for the catalog
    assert all(-40 <= k <= 40 for k in folder._order)


def legacy(folder: Folder) -> Folder:
    from BTrees.OOBTree import OOBTree, OOTreeSet

    assert folder._visible_at is not None and folder._order is not None
    index = OOBTree()
    for token, keys in folder._visible_at.items():
        index[token] = OOTreeSet([folder._order[k] for k in keys])
    folder._visible = index
    del folder._order, folder._positions, folder._visible_at
    return folder


def test_a_folder_stored_before_order_reads_in_id_order_with_the_keys_it_will_keep() -> None:
    folder = folder_of(0)
    for name in ("m", "z", "a"):
        doc = Document(name, "Document")
        doc._allowed = ("Manager", "Reader")
        folder._set_child(name, doc)
    legacy(folder)
    assert folder.ordered_keys() == ["a", "m", "z"]
    assert folder.visible_page(["Reader"], 1, 5) == (3, ["m", "z"])
    read = {n: position_in_parent(folder[n]) for n in "amz"}
    assert read == {"a": ordering.GAP, "m": 2 * ordering.GAP, "z": 3 * ordering.GAP}
    assert move_child(folder, "z", "top") == ["z"]  # the first write builds the order
    assert {n: position_in_parent(folder[n]) for n in "am"} == {"a": read["a"], "m": read["m"]}
    assert folder.ordered_keys() == ["z", "a", "m"]
    assert folder.visible_page(["Reader"], 0, 5) == (3, ["z", "a", "m"])
    keys_agree(folder)


def test_concurrent_appends_to_one_folder_resolve(tmp_path: Path) -> None:
    """Two transactions each add a child: the jitter gives them different keys, so the order
    trees merge like the id tree does, and neither is a ConflictError."""
    db = ZODB.DB(FileStorage(str(tmp_path / "data.fs")))
    try:
        tm0 = transaction.TransactionManager()
        conn0: Any = db.open(transaction_manager=tm0)
        conn0.root()["f"] = folder_of(20, ("Manager", "Reader"))
        tm0.commit()
        managers = [transaction.TransactionManager() for _ in range(2)]
        for n, tm in enumerate(managers):
            conn: Any = db.open(transaction_manager=tm)
            doc = Document(f"new{n}", "Document")
            doc._allowed = ("Manager", "Reader")
            conn.root()["f"]._set_child(doc.id, doc)
        for tm in managers:
            tm.commit()  # the second resolves against the first
        tm0.abort()
        folder = conn0.root()["f"]
        assert set(folder.ordered_keys()[-2:]) == {"new0", "new1"}
        assert len(folder) == 22
        keys_agree(folder)
        tm0.abort()
    finally:
        db.close()


@pytest.mark.parametrize("tokens", [("Reader",), ("Reader", "user:u3"), ("nobody",)])
def test_pages_of_what_a_principal_sees_follow_the_order(tokens: tuple[str, ...]) -> None:
    """Early pages (iterated) and deep ones (sliced), of one token's set or of a union."""
    folder = folder_of(0)
    for n in range(5000):
        doc = Document(f"d{n:04d}", "Document")
        doc._allowed = ("Manager",) + ("Reader",) * (n % 2 == 0) + ("user:u3",) * (n % 3 == 0)
        folder._set_child(doc.id, doc)
    rng = random.Random(3)
    for _ in range(300):
        move_child(folder, f"d{rng.randrange(5000):04d}", rng.choice(["top", -40, 77]))
    seen = [n for n in folder.ordered_keys() if set(folder[n]._allowed) & set(tokens)]
    for start in (0, 10, 2047, 2048, 3000, max(0, len(seen) - 3), len(seen) + 5):
        assert folder.visible_page(tokens, start, 25) == (len(seen), seen[start : start + 25])
    assert folder.ordered_keys(4990, 25) == folder.ordered_keys()[4990:]
    assert folder.ordered_keys(2040, 16) == folder.ordered_keys()[2040:2056]

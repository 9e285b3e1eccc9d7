"""A sort on a field index, with a limit, walks the index's values when that is cheaper
(:func:`baobab.catalog.query._scan`): the same docids, in the same order, as hypatia's."""

from __future__ import annotations

import random
from types import SimpleNamespace

import pytest
from hypatia.field import FieldIndex

from baobab.catalog.query import _ranked, _scan, _scannable
from baobab.catalog.store import FAMILY


def _index(rng: random.Random, docs: int, values: int) -> FieldIndex:
    index = FieldIndex("v", family=FAMILY)
    for docid in range(1, docs + 1):
        index.index_doc(docid * 7919, SimpleNamespace(v=rng.randrange(values)))
    return index


@pytest.mark.parametrize("values", [3, 50, 5000])
@pytest.mark.parametrize("reverse", [False, True])
def test_the_scan_orders_as_the_values_do(values: int, reverse: bool) -> None:
    rng = random.Random(values)
    index = _index(rng, 2000, values)
    scanned = 0
    for share in (0.02, 0.3, 1.0):
        result = FAMILY.IF.Set(d * 7919 for d in range(1, 2001) if rng.random() < share)
        for limit in (1, 25, 5000):
            by_value = sorted(result, key=lambda d: (index._rev_index[d], d), reverse=reverse)
            got = _scan(index, result, limit, reverse)
            assert got is None or got == by_value[:limit]
            scanned += got is not None
    assert scanned >= 3  # the large shares at least


def test_the_scan_gives_up_on_few_matches_among_many_values() -> None:
    index = _index(random.Random(1), 2000, 1500)
    few = FAMILY.IF.Set([1999 * 7919, 2000 * 7919])
    assert _scan(index, few, 25, reverse=False) is None
    assert _scan(index, few, 25, reverse=True) is None
    assert _scannable(index, 25, reverse=True)
    assert not _scannable(index, None, reverse=False)


@pytest.mark.parametrize("reverse", [False, True])
def test_the_fallback_breaks_ties_as_the_scan_does(reverse: bool) -> None:
    """Pages of one query may be sorted by either (the scan gives up past its budget): both
    order by (value, docid), reversed when descending, or a page boundary would skip or
    repeat entries whose values tie."""
    rng = random.Random(7)
    index = _index(rng, 2000, 4)  # four values: ties everywhere
    result = FAMILY.IF.Set(d * 7919 for d in range(1, 2001) if rng.random() < 0.5)
    by_value = sorted(result, key=lambda d: (index._rev_index[d], d), reverse=reverse)
    for limit in (1, 25, 300, len(result)):
        assert _ranked(index, result, limit, reverse) == by_value[:limit]
        scanned = _scan(index, result, limit, reverse)
        assert scanned is not None and scanned == by_value[:limit]
    assert _ranked(index, result, None, reverse) == by_value

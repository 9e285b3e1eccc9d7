"""``execute`` against a brute-force model: random entries, tokens and queries; the same
docids, in the same order, whichever shortcut the query took (the security sets intersected
with a narrowed result, a sort walking the field index, one value's set used as is)."""

from __future__ import annotations

import random

import pytest
from hypatia.field import FieldIndex
from hypatia.keyword import KeywordIndex

from baobab.catalog.query import Search, Term, execute
from baobab.catalog.store import FAMILY, Catalog, new_text_index

TYPES = ["Document", "File", "Folder"]
STATES = ["private", "pending", "published"]
TOKENS = ["baobab.Anonymous", "baobab.Manager", "user:alice", "user:bob", "baobab.Reader"]
WORDS = ["harbor", "lantern", "river", "stone", "cloud"]


def _catalog(rng: random.Random, n: int) -> tuple[Catalog, dict[int, dict]]:
    catalog = Catalog()
    catalog.indexes["portal_type"] = FieldIndex("portal_type")
    catalog.indexes["review_state"] = FieldIndex("review_state")
    catalog.indexes["modified"] = FieldIndex("modified")
    catalog.indexes["allowedRolesAndUsers"] = KeywordIndex("allowedRolesAndUsers")
    catalog.indexes["SearchableText"] = new_text_index("SearchableText", FAMILY)
    model = {}
    for i in range(n):
        folder = f"/site/f{rng.randrange(4)}"
        values = {
            "portal_type": rng.choice(TYPES),
            "review_state": rng.choice(STATES),
            "modified": rng.randrange(40),
            "allowedRolesAndUsers": rng.sample(TOKENS, rng.randint(1, 3)),
            "SearchableText": " ".join(rng.choices(WORDS, k=4)),
        }
        docid = catalog.catalog_object(f"uid{i}", f"{folder}/d{i}", values, {"UID": f"uid{i}"})
        model[docid] = {**values, "parent": folder}
    return catalog, model


@pytest.mark.parametrize("seed", range(6))
def test_execute_matches_the_model(seed: int) -> None:
    rng = random.Random(seed)
    catalog, model = _catalog(rng, 600)
    for _ in range(40):
        tokens = rng.sample(TOKENS, rng.randint(1, 3))
        search = Search(paths=("/site",))
        wanted = {
            "portal_type": rng.choice([None, *TYPES]),
            "review_state": rng.choice([None, *STATES]),
        }
        for name, value in wanted.items():
            if value is not None:
                search.terms.append(Term(name, "any", (value,)))
        folder = rng.choice([None, "/site/f1"])
        if folder:
            search.paths, search.depth = (folder,), 1
        word = rng.choice([None, *WORDS])
        if word:
            search.terms.append(Term("SearchableText", "text", (word,)))
        search.sort_on = rng.choice(["modified", None if word else "modified"])
        search.reverse = rng.random() < 0.5
        expected = [
            d
            for d, e in model.items()
            if set(e["allowedRolesAndUsers"]) & set(tokens)
            and all(v is None or e[k] == v for k, v in wanted.items())
            and (folder is None or e["parent"] == folder)
            and (word is None or word in e["SearchableText"].split())
        ]
        got = execute(catalog, search, tokens, 0, 25)
        assert got.total == len(expected)
        if search.sort_on == "modified":
            key = {d: model[d]["modified"] for d in expected}
            assert [key[d] for d in got.docids] == sorted(key.values(), reverse=search.reverse)[:25]
        assert set(got.docids) <= set(expected)

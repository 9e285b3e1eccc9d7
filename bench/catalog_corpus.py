"""The catalog benchmark's corpus (issue 13): one site, a folder tree and N content items.

Standard library only and no Baobab imports, so that the same items and queries load into
Baobab (``.venv``) and into Plone 6 (``/work/plone-venv``, see ``bench/plone_catalog.py``).
Everything is drawn from one ``random.Random(seed)``: the same ``n`` and ``seed`` give the
same items, in the same order, on any machine and Python 3.11+.

The shape, and why:

- **200 folders** ``folder-000`` … ``folder-199``: 30 at the top, the rest nested under an
  earlier folder up to 3 levels deep. ``folder-000`` (:data:`BIG_FOLDER`) holds
  ``max(1000, n // 50)`` items directly (at most ``n // 2``): the folder-scoped query pages
  through it.
- **n items**, 85 % ``Document`` (title, description, text) and 15 % ``File`` (title and
  description; the loader gives it a tiny text/plain body from ``file_data``, since Baobab's
  ``File`` requires one and its words must not match the full-text query). Both types exist
  in Baobab and in Plone with the same name; so does ``Folder``.
- **Words** from a fixed vocabulary: 2,000 pseudo-words from syllables plus 150 plain English
  words, drawn Zipf-like (rank r has weight 1/r). Titles have 3–8 words, descriptions 8–20,
  texts 40–120. The two words of the full-text query, :data:`FULLTEXT_WORDS`, are not in the
  vocabulary: each is added to a Document's text with probability 6 %, independently, so
  they co-occur in about 0.36 % of the Documents (about 300 at n = 100,000).
- **Review states** of Plone's ``simple_publication_workflow``: items 40 % published, 40 %
  private, 20 % pending; folders 70 % published, 30 % private.
- **Local roles**: 50 users ``user01`` … ``user50`` get Reader, Editor, Contributor or
  Reviewer on random folders (0–3 grants a folder) and on 3 % of the items. The benchmark
  user :data:`BENCH_USER` (``alice``) gets Reader or Editor on folders (never the big one)
  chosen until their subtrees hold one sixth of the items, so that she may View about half
  of them: the published 40 % plus the unpublished share of her folders.
  :func:`may_view` is the rule (Plone's and Baobab's ``simple_publication_workflow``).

Paths are relative to the site and start with ``/``; the site itself is ``""``. A loader
prefixes its site's path (``/plone``, ``/db/site``). Items come parents first.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from typing import Any

__all__ = [
    "BENCH_USER",
    "BIG_FOLDER",
    "FULLTEXT_WORDS",
    "QUERIES",
    "USERS",
    "file_data",
    "iter_items",
    "may_view",
]

DEFAULT_N = 100_000
DEFAULT_SEED = 13
FOLDERS = 200
TOP_FOLDERS = 30
MAX_DEPTH = 3
BIG_FOLDER = "/folder-000"
BENCH_USER = "alice"
USERS = [f"user{i:02d}" for i in range(1, 51)]
FULLTEXT_WORDS = ("harbor", "lantern")
FULLTEXT_P = 0.06

_ENGLISH_TEXT = """
garden river mountain window morning evening summer winter autumn spring forest meadow
village market bridge castle tower island ocean valley desert planet signal engine
machine letter budget report meeting project council museum library theatre station
kitchen bottle candle mirror pencil basket ladder hammer blanket pillow jacket helmet
orange silver golden purple yellow crimson frozen gentle bright silent rapid ancient
modern narrow hollow steady tender humble clever brave quiet honest simple careful
travel measure gather follow answer borrow deliver discover explore imagine improve
listen observe prepare protect publish record remember repair return select support
archive balance cabinet climate colony comfort concert contract culture dialogue
economy election element emotion factory fashion feature fiction finance formula
freedom gallery harvest history holiday journey justice kingdom language lecture
liberty machine mineral mission monitor network opinion pattern payment picture
poetry pottery program quality railway reserve science shelter society surface
teacher texture traffic uniform variety version victory weather welfare witness
"""
ENGLISH = sorted(set(_ENGLISH_TEXT.split()))

ROLE_CHOICES = (["Reader"], ["Editor"], ["Contributor"], ["Reviewer"], ["Reader", "Editor"])
# Roles that grant View in simple_publication_workflow (pending adds Reviewer).
VIEW_ROLES = {"Manager", "Site Administrator", "Owner", "Editor", "Reader", "Contributor"}

QUERIES: dict[str, dict[str, str]] = {
    # plone.restapi @search parameters as sent on the wire; path.query is site-relative.
    "folder": {
        "path.query": BIG_FOLDER,
        "path.depth": "1",
        "sort_on": "getObjPositionInParent",
        "b_size": "25",
    },
    "sitewide": {
        "portal_type": "Document",
        "review_state": "published",
        "sort_on": "modified",
        "sort_order": "descending",
        "b_size": "25",
    },
    "fulltext": {"SearchableText": " ".join(FULLTEXT_WORDS), "b_size": "25"},
}


def _vocabulary(rng: random.Random) -> list[str]:
    """2,000 pronounceable pseudo-words (2–3 syllables) and the English words, shuffled."""
    onsets = [*"bcdfghjklmnprstvwz", "br", "cl", "dr", "fl", "gr", "pl", "st", "tr"]
    vowels = [*"aeiou", "ai", "ea", "io", "ou"]
    codas = ["", "", "n", "r", "s", "l", "m", "x"]
    words: set[str] = set()
    while len(words) < 2000:
        syllables = rng.randint(2, 3)
        word = "".join(rng.choice(onsets) + rng.choice(vowels) for _ in range(syllables))
        word += rng.choice(codas)
        if word not in ENGLISH and word not in FULLTEXT_WORDS:
            words.add(word)
    vocabulary = sorted(words) + ENGLISH
    rng.shuffle(vocabulary)
    return vocabulary


class _Words:
    """Zipf-like draws from the vocabulary: a few frequent words, a long tail."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.vocabulary = _vocabulary(rng)
        self.cum_weights = list(
            itertools.accumulate(1 / r for r in range(1, len(self.vocabulary) + 1))
        )

    def draw(self, low: int, high: int) -> list[str]:
        k = self.rng.randint(low, high)
        return self.rng.choices(self.vocabulary, cum_weights=self.cum_weights, k=k)

    def sentence(self, low: int, high: int) -> str:
        words = self.draw(low, high)
        return " ".join(words).capitalize()


def _folders(rng: random.Random) -> list[tuple[str, str, int]]:
    """(path, parent_path, depth) for each folder, parents first."""
    folders = [(f"/folder-{i:03d}", "", 1) for i in range(TOP_FOLDERS)]
    for i in range(TOP_FOLDERS, FOLDERS):
        # The big folder has no subfolders, so its size is exactly its direct children.
        parents = [f for f in folders[1:] if f[2] < MAX_DEPTH]
        parent, _, depth = rng.choice(parents)
        folders.append((f"{parent}/folder-{i:03d}", parent, depth + 1))
    return folders


def _grants(rng: random.Random, count: int) -> dict[str, list[str]]:
    users = rng.sample(USERS, count)
    return {user: list(rng.choice(ROLE_CHOICES)) for user in users}


def _alice_folders(
    rng: random.Random, folders: list[tuple[str, str, int]], per_folder: dict[str, int], n: int
) -> dict[str, list[str]]:
    """Folders (and alice's role there) whose subtrees together hold n / 6 items."""
    chosen: dict[str, list[str]] = {}
    covered = 0
    candidates = [f[0] for f in folders if f[0] != BIG_FOLDER]
    rng.shuffle(candidates)
    for path in candidates:
        if covered >= n / 6:
            break
        if any(path.startswith(c + "/") or c.startswith(path + "/") for c in chosen):
            continue  # nested in (or around) a chosen one: it would be counted twice
        chosen[path] = ["Reader"] if len(chosen) % 2 == 0 else ["Editor"]
        covered += sum(k for p, k in per_folder.items() if p == path or p.startswith(path + "/"))
    return chosen


def iter_items(n: int = DEFAULT_N, seed: int = DEFAULT_SEED) -> Iterator[dict[str, Any]]:
    """The folders, then the n items, as dicts in creation order (parents first).

    Keys: ``path``, ``parent_path``, ``id``, ``type``, ``title``, ``description``, ``text``
    (``""`` for Folder and File), ``subjects`` (list), ``review_state``, ``local_roles``
    (``{user: [roles]}``, only the grants made on this object; they are inherited below it).
    """
    rng = random.Random(seed)
    words = _Words(rng)
    subjects = [w.capitalize() for w in rng.sample(ENGLISH, 30)]
    folders = _folders(rng)
    big = min(max(1000, n // 50), n // 2)
    in_big = set(rng.sample(range(n), big))
    others = [f[0] for f in folders if f[0] != BIG_FOLDER]
    parent_of = [BIG_FOLDER if i in in_big else rng.choice(others) for i in range(n)]
    per_folder: dict[str, int] = {}
    for parent in parent_of:
        per_folder[parent] = per_folder.get(parent, 0) + 1
    alice = _alice_folders(rng, folders, per_folder, n)

    for path, parent, _ in folders:
        roles = _grants(rng, rng.choice((0, 0, 1, 1, 2, 3)))
        if path in alice:
            roles[BENCH_USER] = alice[path]
        yield {
            "path": path,
            "parent_path": parent,
            "id": path.rsplit("/", 1)[1],
            "type": "Folder",
            "title": words.sentence(2, 5),
            "description": words.sentence(8, 20),
            "text": "",
            "subjects": rng.sample(subjects, rng.randint(0, 2)),
            "review_state": "published" if rng.random() < 0.7 else "private",
            "local_roles": roles,
        }
    for i, parent in enumerate(parent_of):
        kind = "Document" if rng.random() < 0.85 else "File"
        text = ""
        if kind == "Document":
            body = words.draw(40, 120)
            for word in FULLTEXT_WORDS:
                if rng.random() < FULLTEXT_P:
                    body.insert(rng.randrange(len(body) + 1), word)
            text = " ".join(body).capitalize() + "."
        item_id = f"{kind.lower()}-{i:06d}"
        yield {
            "path": f"{parent}/{item_id}",
            "parent_path": parent,
            "id": item_id,
            "type": kind,
            "title": words.sentence(3, 8),
            "description": words.sentence(8, 20),
            "text": text,
            "subjects": rng.sample(subjects, rng.randint(0, 3)),
            "review_state": rng.choices(("published", "private", "pending"), (4, 4, 2))[0],
            "local_roles": _grants(rng, 1) if rng.random() < 0.03 else {},
        }


def file_data(item: dict[str, Any]) -> bytes:
    """The body a loader gives a ``File`` item: none of the query's words."""
    return f"Benchmark file {item['id']}\n".encode()


def may_view(user: str, review_state: str, roles: set[str]) -> bool:
    """Whether ``user`` holding ``roles`` here (local, inherited) may View in this state."""
    if review_state == "published":
        return True
    allowed = VIEW_ROLES | {"Reviewer"} if review_state == "pending" else VIEW_ROLES
    return bool(roles & allowed)


def summary(n: int = DEFAULT_N, seed: int = DEFAULT_SEED) -> dict[str, int]:
    """Counts a loader can check itself against (items, what alice may View, query sizes)."""
    inherited: dict[str, set[str]] = {"": set()}
    counts = {"folders": 0, "items": 0, "alice_items": 0, "big_children": 0, "fulltext": 0}
    counts |= {"alice_folder_query": 0, "sitewide_query": 0, "alice_fulltext": 0}
    for item in iter_items(n, seed):
        roles = inherited[item["parent_path"]] | set(item["local_roles"].get(BENCH_USER, []))
        if item["type"] == "Folder":
            inherited[item["path"]] = roles
            counts["folders"] += 1
            continue
        counts["items"] += 1
        visible = may_view(BENCH_USER, item["review_state"], roles)
        words = set(item["text"].lower().rstrip(".").split())
        hit = all(w in words for w in FULLTEXT_WORDS)
        counts["alice_items"] += visible
        counts["big_children"] += item["parent_path"] == BIG_FOLDER
        counts["alice_folder_query"] += visible and item["parent_path"] == BIG_FOLDER
        counts["sitewide_query"] += (
            visible and item["type"] == "Document" and item["review_state"] == "published"
        )
        counts["fulltext"] += hit
        counts["alice_fulltext"] += visible and hit
    return counts


if __name__ == "__main__":
    import sys

    print(summary(int(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_N))

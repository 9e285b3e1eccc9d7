"""Full text: how words are split and folded, and what ``SearchableText`` holds.

The word pipeline is hypatia's lexicon with one element of ours: Unicode folding. Text and
queries go through the same steps, so a query matches whatever the text was written in:

1. split into words (``\\w+`` on Unicode: letters and digits of any script);
2. fold each word: compatibility normalization (NFKC: ``ﬁ`` → ``fi``, full-width → ASCII),
   accents removed (NFKD without combining marks: ``café`` → ``cafe``) and case folded
   (``str.casefold``: ``Straße`` → ``strasse``);
3. drop English stop words (``the``, ``and``…).
"""

from __future__ import annotations

import random
import re
import unicodedata
from collections.abc import Iterable
from typing import Any

import BTrees
from hypatia.text import TextIndex
from hypatia.text.lexicon import Lexicon as BaseLexicon
from hypatia.text.lexicon import Splitter, StopWordRemover
from hypatia.text.okapiindex import OkapiIndex as BaseOkapiIndex

from baobab.config.registry import Registry
from baobab.content.typeinfo import type_fields

__all__ = [
    "Lexicon",
    "OkapiIndex",
    "UnicodeFolder",
    "fold",
    "new_lexicon",
    "new_text_index",
    "searchable_text",
    "sortable",
]

_DUBLIN = ("title", "description", "subjects")
_TAGS = re.compile(r"<[^>]*>")
_NUMBERS = re.compile(r"\d+")


def fold(word: str) -> str:
    """``word`` without case, accents or compatibility variants."""
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", word))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


class UnicodeFolder:
    """A lexicon pipeline element: :func:`fold` on every word (and glob pattern)."""

    def process(self, words: list[str]) -> list[str]:
        return [fold(word) for word in words]

    def processGlob(self, words: list[str]) -> list[str]:  # noqa: N802 - hypatia's protocol
        return [fold(word) for word in words]


MAX_WID = 2**28  # hypatia's widcode encodes word ids of at most 28 bits


class Lexicon(BaseLexicon):
    """hypatia's lexicon with word ids that concurrent writers do not share.

    hypatia numbers a new word ``word_count + 1``: two transactions that each add a new word
    take the same id (their ``Length`` increments merge, the ids do not) and conflict on the
    word id's buckets, so every create that brings a new word (a number in an id, a name)
    conflicted with every concurrent one. Here, as for docids (:mod:`baobab.catalog.store`),
    a connection draws a random id and counts up from it (``_v_next_wid``): concurrent writers
    add into distant keys, which the buckets' conflict resolution merges. Only the same new
    word added by two transactions at once still conflicts.
    """

    def _new_wid(self) -> int:
        self.word_count.change(1)
        wid: int | None = getattr(self, "_v_next_wid", None)
        while wid is None or wid >= MAX_WID or wid in self._words:
            wid = random.randrange(1, MAX_WID)
        self._v_next_wid = wid + 1
        return wid


def new_lexicon() -> Any:
    return Lexicon(Splitter(), UnicodeFolder(), StopWordRemover())


class Postings(BTrees.family64.IF.BTree):
    """A word's postings (docid → frequency) in buckets four times BTrees' default: a
    bucket split conflicts with every concurrent transaction that changes the tree, and
    each create adds to the trees of its ~80 words."""

    max_leaf_size = 480


class OkapiIndex(BaseOkapiIndex):
    """hypatia's Okapi BM25 index with every word's postings in a tree of its own.

    hypatia keeps the postings of a word found in fewer than ten documents as a plain dict
    inside the bucket of ``_wordinfo`` (wid → postings) that holds it: two transactions
    adding documents that share such a word (the long tail of any vocabulary) both change
    that bucket's value for the word, and the bucket's conflict resolution cannot merge them
    (nor a dict one transaction turns into a tree). A tree per word takes a record more per
    rare word; concurrent additions to it merge like any BTree insert, and ``_wordinfo``
    changes only when a word is new.
    """

    def _add_wordinfo(self, wid: int, f: float, docid: int) -> None:
        self._mass_add_wordinfo({wid: f}, docid)

    def _mass_add_wordinfo(self, wid2weight: dict[int, float], docid: int) -> None:
        wordinfo = self._wordinfo
        new = 0
        for wid, weight in wid2weight.items():
            postings = wordinfo.get(wid)
            if postings is None:
                postings = wordinfo[wid] = Postings()
                new += 1
            elif isinstance(postings, dict):  # written by hypatia's own code
                postings = wordinfo[wid] = Postings(postings)
            postings[docid] = weight
        if new:
            self.word_count.change(new)


def new_text_index(name: str, family: Any) -> Any:
    """A full-text index on ``name`` with our lexicon and Okapi index."""
    lexicon = new_lexicon()
    return TextIndex(name, lexicon=lexicon, index=OkapiIndex(lexicon, family=family))


def _plain(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield _TAGS.sub(" ", value) if "<" in value else value
    elif isinstance(value, dict):  # rich text as Plone's clients send it: {"data": "<p>…"}
        yield from _plain(value.get("data"))
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _plain(item)


def searchable_text(obj: Any, registry: Registry) -> str:
    """The id, title, description, subjects and every field the type marks ``searchable``.

    A field with a ``read_permission`` never goes in, searchable or not: the index is
    shared by everyone who may View the object, and a match would tell a principal without
    that permission what the field says."""
    parts = [obj.__name__]
    for name in _DUBLIN:
        parts.extend(_plain(getattr(obj, name, None)))
    for name, field in type_fields(registry, obj.type_name).items():
        if field.searchable and field.read_permission is None and name not in _DUBLIN:
            parts.extend(_plain(getattr(obj, name, None)))
    return " ".join(parts)


def sortable(title: str) -> str:
    """Plone's ``sortable_title``: folded, numbers zero-padded so ``2`` sorts before
    ``10``, cut to 40 characters."""
    text = " ".join(fold(title).split())
    return _NUMBERS.sub(lambda m: m.group().zfill(6), text)[:40]

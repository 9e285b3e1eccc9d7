"""hypatia's structures, changed where concurrent transactions lost an update or conflicted
for no reason.

Several processes (every worker of every host on one PostgreSQL database) index into one
catalog at once; ZODB lets two transactions that changed the same object both commit when
the object resolves the conflict (BTrees merge changes to different keys of a bucket). Three
of hypatia's habits defeat that, and one of them silently loses an entry:

- :class:`KeywordIndex`: hypatia keeps a keyword's documents in an ``IFSet`` and replaces it
  with an ``IFTreeSet`` once it holds ``tree_threshold`` of them. A transaction that adds a
  document to the old set while another replaces it commits (the two changes to the old set
  merge), but into a set no longer in the index: the document is lost for that keyword
  (found with ``allowedRolesAndUsers``, whose every token crossed the threshold together,
  hiding a document from every search). Here a keyword's set is a ``TreeSet`` from the
  start and is never replaced.
- :class:`Lexicon`: new words took the next id of one shared counter, so two transactions
  adding new words (two creates: each indexes its own id) took the same id and conflicted.
- :class:`OkapiIndex`: a rare word's postings were a dict stored in the ``_wordinfo`` bucket,
  stored again after every change; BTrees resolve a bucket only if they can order its
  values, and dicts cannot be ordered, so any two transactions touching words of one bucket
  conflicted.

Classes of stored objects: their dotted paths are API (moving one needs an alias).
"""

from __future__ import annotations

import random
from collections.abc import Iterable

import BTrees
from hypatia.keyword import KeywordIndex as HypatiaKeywordIndex
from hypatia.text import lexicon, okapiindex

__all__ = ["KeywordIndex", "Lexicon", "OkapiIndex", "Postings"]


class KeywordIndex(HypatiaKeywordIndex):
    """hypatia's keyword index whose per-keyword sets are never replaced (see above)."""

    def _insert_forward(self, docid: int, words: Iterable[str]) -> None:
        index = self._fwd_index
        for word in words:
            docids = index.get(word)
            if docids is None:
                docids = index[word] = self.family.IF.TreeSet()
            docids.insert(docid)


WID_LIMIT = 2**28  # word ids are widcode-encoded: 28 bits at most


class Lexicon(lexicon.Lexicon):
    """hypatia's lexicon, with new word ids drawn at random, then counted up by this
    process (as the catalog's docids, :mod:`baobab.catalog.store`).

    hypatia takes the next id from one shared counter, so two transactions that each add a
    new word (two creates at once: each indexes its own id as a word) take the same id,
    write the same key of ``_words`` and conflict, whichever processes they run in; with
    ids from separate regions they write different keys, which BTrees resolve."""

    def _new_wid(self) -> int:
        wid: int | None = getattr(self, "_v_next", None)
        while wid is None or wid >= WID_LIMIT or wid in self._words:
            wid = random.randrange(1, WID_LIMIT)
        self._v_next = wid + 1
        self.word_count.change(1)
        return wid


class Postings(BTrees.family64.IF.BTree):
    """A word's postings (docid → frequency) in buckets four times BTrees' default: a
    bucket split conflicts with every concurrent transaction that changes the tree, and
    each create adds to the trees of its ~80 words (measured in bench/catalog.py: at 100k
    documents, 16 writers on a 4-thread pool, 409s went from 4.3 % to 0 %, for 2.5× the
    bytes written per create)."""

    max_leaf_size = 480


class OkapiIndex(okapiindex.OkapiIndex):
    """hypatia's full-text index, with postings whose concurrent changes resolve.

    ``_wordinfo`` maps each word id to its postings (docid → weight). hypatia keeps a rare
    word's postings in a plain dict inside the ``_wordinfo`` bucket (an ``IFBTree`` from ten
    documents on) and stores the postings back after every change. BTrees resolve two
    transactions' changes to different keys of a bucket only if they can order its values,
    and dicts cannot be ordered: any two transactions indexing or unindexing words whose
    postings share a ``_wordinfo`` bucket (two creates at once, a create and a delete)
    conflicted. Here postings are always a :class:`Postings` tree (persistent, changed in place:
    ``_wordinfo`` is written only when a word appears or goes), and different documents
    added to one word by two transactions resolve in its buckets. The cost: one more small
    object per new word."""

    def _add_wordinfo(self, wid: int, f: float, docid: int) -> None:
        self._mass_add_wordinfo({wid: f}, docid)

    def _mass_add_wordinfo(self, wid2weight: dict[int, float], docid: int) -> None:
        wordinfo = self._wordinfo
        new_words = 0
        for wid, weight in wid2weight.items():
            postings = wordinfo.get(wid)
            if postings is None or isinstance(postings, dict):  # new, or stored by hypatia
                new_words += postings is None
                postings = wordinfo[wid] = Postings(postings or {})
            postings[docid] = weight
        if new_words:
            self.word_count.change(new_words)

    def _del_wordinfo(self, wid: int, docid: int) -> None:
        postings = self._wordinfo[wid]
        del postings[docid]
        if not postings:
            del self._wordinfo[wid]
            self.word_count.change(-1)
        elif isinstance(postings, dict):  # stored by hypatia, in the bucket: store it again
            self._wordinfo[wid] = postings

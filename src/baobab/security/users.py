"""Users and groups stored in a container: persistent, BTree-backed, searchable at scale.

Each container keeps one :class:`UserFolder` (``container._principals``, created on first
write). Users and groups are ``OOBTree``s keyed by id, counts are ``BTrees.Length``, group
membership is kept on both sides (``user.groups`` for resolving a request's principal in one
lookup, ``group.members`` — an ``OOTreeSet`` — for listing a group of 100,000), and a word
index (lower-cased words of id, name and e-mail → user ids) answers ``?query=`` by prefix
range scans instead of reading every user. Users and groups share one id space, as in Plone,
since local roles name either.

These functions validate what must hold whoever asks; permission and escalation rules are the
services' (:mod:`baobab.security.delegation`).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Iterator
from typing import Any

from BTrees.Length import Length
from BTrees.OOBTree import OOBTree, OOTreeSet, intersection
from persistent import Persistent

from baobab.errors import AlreadyExists, NotFound, ValidationError

__all__ = [
    "PRINCIPALS_ATTR",
    "Group",
    "User",
    "UserFolder",
    "site_folder",
    "user_folder",
    "validate_principal_id",
]

PRINCIPALS_ATTR = "_principals"
_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,99}$")
_WORD_RE = re.compile(r"[^\W_]+", re.UNICODE)
RESERVED_IDS = frozenset({"AuthenticatedUsers", "anonymous", "root"})


def validate_principal_id(value: Any, field: str = "id") -> str:
    if not isinstance(value, str) or not _ID_RE.match(value):
        raise ValidationError(
            f"`{field}` must be 1–100 letters, digits or . _ @ + - (starting with a letter or "
            "digit)",
            details=[{"field": field, "message": "is not a valid id"}],
        )
    if value in RESERVED_IDS:
        raise ValidationError(
            f"{value!r} is reserved", details=[{"field": field, "message": "is reserved"}]
        )
    return value


def _query_words(query: str) -> set[str]:
    lowered = query.strip().lower()
    return set(_WORD_RE.findall(lowered)) or ({lowered} if lowered else set())


def _words(*texts: str) -> set[str]:
    words: set[str] = set()
    for text in texts:
        if text:
            lowered = text.lower()
            words.add(lowered)
            words.update(_WORD_RE.findall(lowered))
    return words


class User(Persistent):
    def __init__(self, id_: str, password_hash: str) -> None:
        self.id = id_
        self.password_hash = password_hash
        self.fullname = ""
        self.email = ""
        self.description = ""
        self.roles: tuple[str, ...] = ()
        self.groups: tuple[str, ...] = ()
        self.disabled = False
        # Tokens issued before this time (seconds) are refused: set on password change,
        # disabling and re-enabling, so old sessions end.
        self.tokens_not_before = 0.0
        self.created = time.time()

    def words(self) -> set[str]:
        return _words(self.id, self.fullname, self.email)


class Group(Persistent):
    def __init__(self, id_: str) -> None:
        self.id = id_
        self.title = ""
        self.description = ""
        self.email = ""
        self.roles: tuple[str, ...] = ()
        self.members = OOTreeSet()
        self.member_count = Length()


class UserFolder(Persistent):
    def __init__(self) -> None:
        self.users = OOBTree()
        self.groups = OOBTree()
        self.user_count = Length()
        self.group_count = Length()
        self.words = OOBTree()  # word → OOTreeSet of user ids

    # lookup ---------------------------------------------------------------------------
    def get_user(self, id_: str) -> User | None:
        user: User | None = self.users.get(id_)
        return user

    def get_group(self, id_: str) -> Group | None:
        group: Group | None = self.groups.get(id_)
        return group

    def user(self, id_: str) -> User:
        user = self.get_user(id_)
        if user is None:
            raise NotFound(f"No user {id_!r}")
        return user

    def group(self, id_: str) -> Group:
        group = self.get_group(id_)
        if group is None:
            raise NotFound(f"No group {id_!r}")
        return group

    def roles_of(self, user: User) -> frozenset[str]:
        """A user's global roles: its own and those of its groups."""
        roles = set(user.roles)
        for group_id in user.groups:
            group = self.get_group(group_id)
            if group is not None:
                roles.update(group.roles)
        return frozenset(roles)

    def search_users(self, query: str, *, email: bool = True) -> Any:
        """User ids whose id, name or e-mail has words starting with each query word (a sorted
        BTree set, sized and sliceable through ``keys()``); every user for an empty query.
        ``email=False``: e-mail addresses do not count (an iterator of ids, in order), for an
        asker who may not see them (a search must not confirm an address)."""
        found = self._search(query)
        if email:
            return found
        words = _query_words(query)
        return (
            user_id
            for user_id in found
            if all(
                any(own.startswith(word) for own in _words(user_id, self.users[user_id].fullname))
                for word in words
            )
        )

    def _search(self, query: str) -> Any:
        words = _query_words(query)
        if not words:
            return self.users.keys()
        found: Any = None
        for word in words:
            sets = list(self.words.values(min=word, max=word + "\uffff"))
            if not sets:
                return OOTreeSet()
            if len(sets) == 1:
                matches: Any = sets[0]
            else:  # one merge of many sets: pairwise unions would be quadratic
                merged: set[str] = set()
                for ids in sets:
                    merged.update(ids)
                matches = OOTreeSet(merged)
            found = matches if found is None else intersection(found, matches)
        return found if found is not None else OOTreeSet()

    def search_groups(self, query: str) -> Iterator[Group]:
        """Groups whose id or title contains ``query`` (groups are few: a scan is fine)."""
        needle = query.lower()
        for group in self.groups.values():
            if not needle or needle in group.id.lower() or needle in group.title.lower():
                yield group

    # changes --------------------------------------------------------------------------
    def _index(self, user_id: str, old: set[str], new: set[str]) -> None:
        for word in old - new:
            ids = self.words.get(word)
            if ids is not None and user_id in ids:
                ids.remove(user_id)
                if not ids:
                    del self.words[word]
        for word in new - old:
            ids = self.words.get(word)
            if ids is None:
                ids = self.words[word] = OOTreeSet()
            ids.insert(user_id)

    def _check_free(self, id_: str) -> None:
        if id_ in self.users or id_ in self.groups:
            raise AlreadyExists(f"A user or group {id_!r} already exists", details={"id": id_})

    def add_user(self, user: User) -> None:
        self._check_free(user.id)
        self.users[user.id] = user
        self.user_count.change(1)
        self._index(user.id, set(), user.words())
        for group_id in user.groups:
            self._join(user.id, group_id)

    def reindex_user(self, user: User, old_words: set[str]) -> None:
        self._index(user.id, old_words, user.words())

    def remove_user(self, id_: str) -> User:
        user = self.user(id_)
        for group_id in user.groups:
            self._leave(id_, group_id)
        self._index(id_, user.words(), set())
        del self.users[id_]
        self.user_count.change(-1)
        return user

    def add_group(self, group: Group) -> None:
        self._check_free(group.id)
        self.groups[group.id] = group
        self.group_count.change(1)

    def remove_group(self, id_: str) -> Group:
        group = self.group(id_)
        for user_id in list(group.members):
            user = self.get_user(user_id)
            if user is not None:
                user.groups = tuple(g for g in user.groups if g != id_)
        del self.groups[id_]
        self.group_count.change(-1)
        return group

    def set_groups(self, user: User, groups: Iterable[str]) -> None:
        wanted = tuple(sorted(set(groups)))
        for group_id in wanted:
            self.group(group_id)  # 404 for an unknown group
        for group_id in set(user.groups) - set(wanted):
            self._leave(user.id, group_id)
        for group_id in set(wanted) - set(user.groups):
            self._join(user.id, group_id)
        user.groups = wanted

    def _join(self, user_id: str, group_id: str) -> None:
        group = self.group(group_id)
        if group.members.insert(user_id):
            group.member_count.change(1)

    def _leave(self, user_id: str, group_id: str) -> None:
        group = self.get_group(group_id)
        if group is not None and user_id in group.members:
            group.members.remove(user_id)
            group.member_count.change(-1)


def user_folder(container: Any, create: bool = False) -> UserFolder | None:
    """The container's user folder (created on first write when ``create``)."""
    folder: UserFolder | None = getattr(container, PRINCIPALS_ATTR, None)
    if folder is None and create:
        folder = UserFolder()
        setattr(container, PRINCIPALS_ATTR, folder)
    return folder


def site_folder(container: Any, create: bool = False) -> UserFolder:
    """The container's user folder; an empty, unsaved one if none is stored and not
    ``create``."""
    return user_folder(container, create=create) or UserFolder()

"""The stored allowed-principal tokens (``obj._allowed``) and each folder's index of them.

After every change of who may View — creation, a transition, sharing, blocking inheritance,
a move, a copy — the object's stored ``_allowed`` and its parent's inverted index
(``folder._visible_at``: token → child position keys) are read straight from the database, on
a fresh connection. A property test on a random tree then checks that three answers agree for every
principal and object: GET says 200, the principal's tokens meet the stored ``_allowed``, and
the object is among its parent's ``items`` — and that all three match a model computed here
from the stored local roles, inheritance flags and workflow states.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest

from baobab.asgi import BaobabApp
from baobab.database import ROOT_KEY
from baobab.testing import (
    BaobabClient,
    add,
    add_group,
    add_user,
    login,
    move,
    password_of,
    transition,
    update_sharing,
)

MANAGER = "baobab.Manager"
SITE_ADMIN = "baobab.SiteAdministrator"
OWNER = "baobab.Owner"
READER = "baobab.Reader"
EDITOR = "baobab.Editor"
CONTRIBUTOR = "baobab.Contributor"
REVIEWER = "baobab.Reviewer"
ANONYMOUS = "baobab.Anonymous"
AUTHENTICATED = "baobab.Authenticated"
AUTHENTICATED_GROUP = "AuthenticatedUsers"

# simple_publication_workflow: who may View in each state (Manager always may)
VIEW_ROLES = {
    "private": frozenset({MANAGER, OWNER, EDITOR, READER, CONTRIBUTOR, SITE_ADMIN}),
    "pending": frozenset({MANAGER, OWNER, EDITOR, READER, CONTRIBUTOR, REVIEWER, SITE_ADMIN}),
    "published": frozenset({ANONYMOUS, MANAGER}),
}
PRIVATE = VIEW_ROLES["private"]
PENDING = VIEW_ROLES["pending"]
PUBLISHED = VIEW_ROLES["published"]
TRANSITIONS = {
    "private": ("publish", "submit"),
    "pending": ("publish", "reject", "retract"),
    "published": ("retract", "reject"),
}
SITE = "/db/site"
# root created the site, so holds Owner there; local roles are inherited (as in Plone, where
# whoever created the site owns everything in it)
SITE_OWNER = "user:root"


def user(principal_id: str) -> str:
    return f"user:{principal_id}"


# reading the database -----------------------------------------------------------------------


@pytest.fixture
def db(baobab_app: BaobabApp) -> Any:
    assert baobab_app.state is not None
    return baobab_app.state.databases["db"]


@contextmanager
def stored_site(db: Any) -> Iterator[Any]:
    """The site as stored now (a fresh connection, closed on exit: read inside only)."""
    conn = db.open()
    try:
        yield conn.root()[ROOT_KEY]["site"]
    finally:
        conn.close()


def find(site: Any, path: str) -> Any:
    assert path == SITE or path.startswith(SITE + "/"), path
    obj = site
    for name in path[len(SITE) :].split("/")[1:]:
        obj = obj[name]
    return obj


def indexed_under(folder: Any, name: str) -> set[str]:
    """The tokens under which ``folder``'s inverted index lists child ``name`` (by its
    position key); for a name that is no child, the tokens holding any key of no child (a
    removed child's stale entry)."""
    if name not in folder:
        order = folder._order
        return {
            token for token, keys in folder._visible_at.items() if any(k not in order for k in keys)
        }
    key = folder.position_of(name)
    return {token for token, keys in folder._visible_at.items() if key in keys}


@dataclass(frozen=True)
class Stored:
    allowed: frozenset[str]
    indexed: frozenset[str]  # the tokens the parent's index lists it under
    local_roles: dict[str, tuple[str, ...]]
    review_state: str | None


def stored(db: Any, path: str) -> Stored:
    """What the database holds for ``path``; asserts the parent's index matches it."""
    with stored_site(db) as site:
        obj = find(site, path)
        allowed = frozenset(obj._allowed)
        assert tuple(obj._allowed) == tuple(sorted(allowed)), "stored sorted, no duplicates"
        indexed = frozenset(indexed_under(obj.__parent__, obj.__name__))
        result = Stored(allowed, indexed, dict(obj._local_roles), obj.review_state)
    assert result.indexed == result.allowed, path
    return result


def allowed(db: Any, path: str) -> frozenset[str]:
    return stored(db, path).allowed


def nowhere_in_index(db: Any, folder: str, name: str) -> bool:
    with stored_site(db) as site:
        return not indexed_under(find(site, folder), name)


# the lifecycle of the tokens ----------------------------------------------------------------


async def test_a_new_item_is_private_to_its_owner(client: BaobabClient, site: str, db: Any) -> None:
    await add_user(client, SITE, "carl", roles=[CONTRIBUTOR])
    mine = await add(client, site, "Folder", "by-root")
    async with client.as_login("carl", "carl-password") as carl:
        folder = await add(carl, site, "Folder", "f")
        doc = await add(carl, folder, "Document", "doc")
    for path in (folder, doc):
        record = stored(db, path)
        assert record.allowed == PRIVATE | {user("carl"), SITE_OWNER}
        assert record.local_roles == {"carl": (OWNER,)}
        assert record.review_state == "private"
    assert allowed(db, mine) == PRIVATE | {user("root")}
    assert stored(db, SITE).local_roles == {"root": (OWNER,)}


async def test_transitions_rewrite_the_tokens(client: BaobabClient, site: str, db: Any) -> None:
    await add_user(client, SITE, "carl", roles=[CONTRIBUTOR])
    async with client.as_login("carl", "carl-password") as carl:
        folder = await add(carl, site, "Folder", "f")
        doc = await add(carl, folder, "Document", "doc")
    owned = PRIVATE | {user("carl"), SITE_OWNER}
    await transition(client, doc, "publish")
    assert allowed(db, doc) == {ANONYMOUS, MANAGER}  # Manager is always there
    assert nowhere_in_index(db, site, "nothing")  # (the helper itself works)
    await transition(client, doc, "retract")
    assert allowed(db, doc) == owned
    async with client.as_login("carl", "carl-password") as carl:
        await transition(carl, doc, "submit")
    assert allowed(db, doc) == PENDING | {user("carl"), SITE_OWNER}
    await transition(client, doc, "reject")
    assert allowed(db, doc) == owned
    # View does not acquire: publishing the folder leaves its private child as it was
    await transition(client, folder, "publish")
    assert allowed(db, folder) == PUBLISHED
    assert allowed(db, doc) == owned


async def test_sharing_and_blocking_reach_the_stored_tokens(
    client: BaobabClient, site: str, db: Any
) -> None:
    for name in ("alice", "bob"):
        await add_user(client, SITE, name)
    await add_group(client, SITE, "team")
    folder = await add(client, site, "Folder", "f")
    doc = await add(client, folder, "Document", "doc")
    sub = await add(client, folder, "Folder", "sub")
    deep = await add(client, sub, "Document", "deep")
    public = await add(client, folder, "Document", "public")
    pending = await add(client, folder, "Document", "pending")
    await transition(client, public, "publish")
    await transition(client, pending, "submit")
    everything = (folder, doc, sub, deep, public, pending)
    before = {path: allowed(db, path) for path in everything}
    assert before[doc] == PRIVATE | {user("root")}

    await update_sharing(client, folder, {"alice": {READER: True}})
    private = (folder, doc, sub, deep, pending)
    for path in private:
        assert allowed(db, path) == before[path] | {user("alice")}, path
    # Reader is no View role of a published item: nothing to add there
    assert allowed(db, public) == PUBLISHED

    # a Reviewer only views pending items; a group's grant is the group's token
    await update_sharing(client, folder, {"bob": {REVIEWER: True}, "team": {EDITOR: True}})
    assert user("bob") in allowed(db, pending)
    for path in (folder, doc, sub, deep):
        assert user("bob") not in allowed(db, path)
        assert user("team") in allowed(db, path)

    # blocking inheritance on sub: sub and what is inside lose the grants made above
    await update_sharing(client, sub, inherit=False)
    for path in (sub, deep):
        assert allowed(db, path) == before[path], path
    assert user("alice") in allowed(db, doc)
    # a grant on the blocked folder itself still reaches its children
    await update_sharing(client, sub, {"bob": {READER: True}})
    assert allowed(db, deep) == before[deep] | {user("bob")}
    await update_sharing(client, sub, inherit=True)
    assert allowed(db, deep) == before[deep] | {user("alice"), user("bob"), user("team")}

    # revoking takes the token away again, everywhere below
    await update_sharing(client, folder, {"alice": {READER: False}, "team": {EDITOR: False}})
    await update_sharing(client, sub, {"bob": {READER: False}})
    for path in everything:
        assert allowed(db, path) == before[path] | ({user("bob")} if path == pending else set())


async def test_moving_in_and_out_of_a_shared_folder(
    client: BaobabClient, site: str, db: Any
) -> None:
    await add_user(client, SITE, "alice")
    shared = await add(client, site, "Folder", "shared")
    plain = await add(client, site, "Folder", "plain")
    await update_sharing(client, shared, {"alice": {READER: True}})
    doc = await add(client, shared, "Document", "doc")
    box = await add(client, shared, "Folder", "box")
    inner = await add(client, box, "Document", "inner")
    owned = PRIVATE | {user("root")}
    for path in (doc, box, inner):
        assert allowed(db, path) == owned | {user("alice")}

    doc = await move(client, doc, plain)
    assert allowed(db, doc) == owned
    assert nowhere_in_index(db, shared, "doc")
    box = await move(client, box, plain)
    inner = f"{box}/inner"
    assert allowed(db, box) == allowed(db, inner) == owned
    assert nowhere_in_index(db, shared, "box")

    doc = await move(client, doc, shared)
    assert allowed(db, doc) == owned | {user("alice")}
    assert nowhere_in_index(db, plain, "doc")
    box = await move(client, box, shared)
    assert allowed(db, f"{box}/inner") == owned | {user("alice")}
    # a rename keeps the tokens and moves the index entry
    resp = await client.post(f"{doc}/@move", json={"new_id": "renamed"})
    assert resp.status_code == 200
    assert allowed(db, f"{shared}/renamed") == owned | {user("alice")}
    assert nowhere_in_index(db, shared, "doc")


async def test_a_copy_starts_private_and_owned_by_the_copier(
    client: BaobabClient, site: str, db: Any
) -> None:
    for name in ("alice", "bob"):
        await add_user(client, SITE, name)
    await add_user(client, SITE, "carl", roles=[CONTRIBUTOR])
    shared = await add(client, site, "Folder", "shared")
    plain = await add(client, site, "Folder", "plain")
    await update_sharing(client, shared, {"alice": {READER: True}})
    async with client.as_login("carl", "carl-password") as carl:
        box = await add(carl, plain, "Folder", "box")
        inner = await add(carl, box, "Document", "inner")
    await update_sharing(client, box, {"bob": {EDITOR: True}})  # stays behind (as in Plone)
    for path in (box, inner):
        await transition(client, path, "publish")
    assert allowed(db, box) == allowed(db, inner) == PUBLISHED

    async with client.as_user("contributor") as contributor:
        resp = await contributor.post(f"{box}/@copy", json={"destination": shared})
        assert resp.status_code == 201, resp.text
        resp = await contributor.post(f"{box}/@copy", json={"new_id": "twin"})
        assert resp.status_code == 201, resp.text
    copier = user("contributor")
    for copy, extra in ((f"{shared}/box", {user("alice")}), (f"{plain}/twin", set())):
        record = stored(db, copy)
        assert record.review_state == "private"
        assert record.allowed == PRIVATE | {copier, SITE_OWNER} | extra
        assert record.local_roles == {"contributor": (OWNER,)}
        record = stored(db, f"{copy}/inner")
        assert record.review_state == "private"
        assert record.allowed == PRIVATE | {copier, SITE_OWNER} | extra
        assert record.local_roles == {"contributor": (OWNER,)}
    # the originals are as they were
    assert allowed(db, box) == allowed(db, inner) == PUBLISHED
    assert stored(db, inner).local_roles == {"carl": (OWNER,)}


# the property: GET ⇔ stored tokens ⇔ listed by the parent ⇔ the model ----------------------


@dataclass(frozen=True)
class Who:
    """A principal to check, with what the model needs to know about it."""

    name: str
    login: tuple[str, str] | None  # Basic credentials (config users); None: token or anonymous
    roles: frozenset[str] = frozenset()
    groups: frozenset[str] = frozenset()
    authenticated: bool = True
    token: str = ""

    @property
    def ids(self) -> frozenset[str]:
        if not self.authenticated:
            return frozenset()
        return frozenset({self.name, *self.groups, AUTHENTICATED_GROUP})

    @property
    def tokens(self) -> frozenset[str]:
        base = {ANONYMOUS, AUTHENTICATED} if self.authenticated else {ANONYMOUS}
        return frozenset({*base, *self.roles, *(user(i) for i in self.ids)})

    def client(self, client: BaobabClient) -> BaobabClient:
        if self.token:
            return client.with_token(self.token)
        if self.login is not None:
            return client.as_login(*self.login)
        return client.as_user(None)


GROUPS = {"g0": frozenset[str](), "g1": frozenset({REVIEWER})}
SITE_USERS = {  # id → (own global roles, groups)
    "u0": ((), ("g0",)),
    "u1": ((), ("g0", "g1")),
    "u2": ((REVIEWER,), ()),
    "u3": ((), ("g1",)),
    "u4": (("baobab.Member",), ()),
}
GRANTEES = (*SITE_USERS, *GROUPS, AUTHENTICATED_GROUP)
SHARABLE = (READER, EDITOR, CONTRIBUTOR, REVIEWER)


async def _principals(client: BaobabClient) -> list[Who]:
    for group, group_roles in GROUPS.items():
        await add_group(client, SITE, group, roles=list(group_roles))
    found: list[Who] = []
    for name, (roles, groups) in SITE_USERS.items():
        await add_user(client, SITE, name, roles=list(roles), groups=list(groups))
        token = await login(client, SITE, name, password_of(name))
        effective = {*roles, *(r for g in groups for r in GROUPS[g])}
        found.append(Who(name, None, frozenset(effective), frozenset(groups), token=token))
    found.append(Who("member", ("member", "member-secret"), frozenset({"baobab.Member"})))
    found.append(Who("reviewer", ("reviewer", "reviewer-secret"), frozenset({REVIEWER})))
    found.append(Who("anonymous", None, authenticated=False))
    return found


@dataclass
class Tree:
    """The paths of the random tree (below the site), kept in step with moves."""

    paths: list[str] = field(default_factory=list)
    folders: set[str] = field(default_factory=set)

    def move(self, old: str, new: str) -> None:
        def rebase(path: str) -> str:
            return new + path[len(old) :] if path == old or path.startswith(old + "/") else path

        self.paths = [rebase(p) for p in self.paths]
        self.folders = {rebase(p) for p in self.folders}


async def _build(client: BaobabClient, rng: random.Random, size: int) -> Tree:
    """``size`` objects created by root, a Contributor, or a user with local Contributor."""
    tree = Tree()
    base = await add(client, SITE, "Folder", "base")
    tree.paths.append(base)
    tree.folders.add(base)
    await update_sharing(client, base, {"u0": {CONTRIBUTOR: True}})
    async with (
        client.as_user("contributor") as contributor,
        client.as_login("u0", "u0-password") as u0,
    ):
        for n in range(size - 1):
            parent = rng.choice([SITE, *sorted(tree.folders)])
            creators = (
                [client, contributor, u0] if parent.startswith(base) else [client, contributor]
            )
            type_ = "Folder" if rng.random() < 0.4 else "Document"
            path = await add(rng.choice(creators), parent, type_, f"o{n}")
            tree.paths.append(path)
            if type_ == "Folder":
                tree.folders.add(path)
    return tree


async def _random_change(client: BaobabClient, rng: random.Random, tree: Tree) -> None:
    path = rng.choice(tree.paths)
    kind = rng.choices(["grant", "block", "transition", "move"], weights=[5, 2, 4, 3])[0]
    if kind == "grant":
        grants = {
            pid: {rng.choice(SHARABLE): rng.random() < 0.8}
            for pid in rng.sample(GRANTEES, rng.randint(1, 2))
        }
        await update_sharing(client, path, grants)
    elif kind == "block":
        await update_sharing(client, path, inherit=rng.random() < 0.3)
    elif kind == "transition":
        state = (await client.get(path)).json()["review_state"]
        await transition(client, path, rng.choice(TRANSITIONS[state]))
    else:
        targets = [
            f
            for f in sorted({SITE, *tree.folders})
            if f != path.rsplit("/", 1)[0] and not (f == path or f.startswith(path + "/"))
        ]
        if targets:
            new = await move(client, path, rng.choice(targets))
            tree.move(path, new)


@dataclass(frozen=True)
class Snapshot:
    """What the database holds for one object, read once for every principal."""

    allowed: frozenset[str]
    view_roles: frozenset[str]
    lineage: tuple[tuple[dict[str, tuple[str, ...]], bool], ...]  # (local roles, inherits)


def _snapshots(db: Any, tree: Tree) -> dict[str, Snapshot]:
    """Every object's stored state; asserts each folder's index is exactly its children's."""
    found: dict[str, Snapshot] = {}
    with stored_site(db) as site:
        for folder_path in sorted({SITE, *tree.folders}):
            folder = find(site, folder_path)
            listed = {key for keys in folder._visible_at.values() for key in keys}
            assert listed <= set(folder._order.keys()), f"stale index entries in {folder_path}"
            for name, child in folder.items():
                assert indexed_under(folder, name) == set(child._allowed), name
        for path in tree.paths:
            obj = find(site, path)
            chain = []
            node = obj
            while node is not None:
                chain.append((dict(node._local_roles), bool(node._inherit_roles)))
                node = node.__parent__
            found[path] = Snapshot(
                frozenset(obj._allowed), VIEW_ROLES[obj.review_state], tuple(chain)
            )
    return found


def model_may_view(who: Who, snap: Snapshot) -> bool:
    """The policy, restated: global roles plus local ones up to the first block."""
    roles = {ANONYMOUS, *who.roles}
    if who.authenticated:
        roles.add(AUTHENTICATED)
    for local, inherits in snap.lineage:
        for pid in who.ids:
            roles.update(local.get(pid, ()))
        if not inherits:
            break
    return bool(roles & snap.view_roles)


async def _items(api: BaobabClient, path: str) -> set[str] | None:
    resp = await api.get(path, params={"b_size": 1000})
    if resp.status_code != 200:
        return None
    return {item["id"] for item in resp.json()["items"]}


async def _check(client: BaobabClient, db: Any, who: Who, tree: Tree) -> None:
    snaps = _snapshots(db, tree)
    with stored_site(db) as site:
        index_view = {
            folder: set(find(site, folder).visible_keys(who.tokens))
            for folder in {SITE, *tree.folders}
        }
    async with who.client(client) as api:
        for folder in sorted({SITE, *tree.folders}):
            children = {
                p.rsplit("/", 1)[1]: snaps[p] for p in tree.paths if p.rsplit("/", 1)[0] == folder
            }
            expected = {name for name, snap in children.items() if snap.allowed & who.tokens}
            assert index_view[folder] == expected, (who.name, folder)
            listed = await _items(api, folder)
            assert listed in (None, expected), (who.name, folder, listed, expected)
        for path in tree.paths:
            snap = snaps[path]
            got = (await api.get(path)).status_code
            assert got in (200, 401, 404), (who.name, path, got)
            by_tokens = bool(snap.allowed & who.tokens)
            assert (got == 200) == by_tokens == model_may_view(who, snap), (
                who.name,
                path,
                got,
                sorted(snap.allowed),
            )


@pytest.mark.parametrize("seed", [20240601, 7])
async def test_random_tree_get_tokens_listing_and_model_agree(
    client: BaobabClient, site: str, db: Any, seed: int
) -> None:
    rng = random.Random(seed)
    principals = await _principals(client)
    tree = await _build(client, rng, 30)
    for _ in range(40):
        await _random_change(client, rng, tree)
    for who in principals:
        await _check(client, db, who, tree)
    # the random tree is not degenerate: every state occurs, some objects are hidden from
    # some principals and shown to others, some inheritance is blocked
    snaps = _snapshots(db, tree).values()
    assert {snap.view_roles for snap in snaps} == set(VIEW_ROLES.values())
    assert any(not snap.lineage[0][1] for snap in snaps)
    seen = [sum(1 for snap in snaps if snap.allowed & who.tokens) for who in principals]
    assert min(seen[:-1]) > 0 and max(seen) < len(tree.paths), seen

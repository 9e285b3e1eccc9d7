"""``@search`` returns exactly what an independent model says, for random trees, principals
and queries, on both backends.

Each example (hypothesis) is a random site — users with and without global roles, groups,
folders, documents and files with random owners, titles and texts from a small word list,
workflow states, local roles (to users, groups, all authenticated users) and blocked
inheritance — built through the API in a fresh container of one app, and a few random
queries (``portal_type``, ``review_state``, ``path.query`` + ``path.depth``, one or two
words of ``SearchableText`` ANDed or ORed, ``sort_on``/``sort_order``, now and then a
``b_size`` of 1 or 2 whose pages are followed through their ``next`` links). The queries are
asked once the site is built, and again after one or two random changes by root (a
transition, a block or its removal, a move, a grant or a revocation): the catalog must follow.

The model does not trust the generator: it reads the site back as Manager (GET of each
object, its ``@sharing``), then decides who may View each object with the independent
security model of ``tests/security/security_model.py`` (Plone's rules written from their
definitions) and which objects match each query (its own word and path rules). What it reads
must also be the world the generator asked for, so the build itself is checked. Each
principal — anonymous, every user, root — must get exactly those objects, and in the asked
order when sorting on titles, ids or dates. ``BAOBAB_SEARCH_EXAMPLES`` sets the number of sites
(default 20); runs are derandomized unless ``BAOBAB_SEARCH_RANDOM=1``.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from baobab.asgi import BaobabApp
from baobab.testing import (
    ROOT_PASSWORD,
    BaobabClient,
    add_group,
    add_user,
    make_settings,
    password_of,
    require_postgres,
    update_sharing,
    zap_postgres,
)
from security.security_model import (
    AUTHENTICATED_GROUP,
    CONTRIBUTOR,
    NEW_STATE,
    SHARABLE,
    STATES,
    TRANSITIONS,
    Node,
    World,
    view,
    worlds,
)

EXAMPLES = int(os.environ.get("BAOBAB_SEARCH_EXAMPLES", "20"))
# no English stop words, no digits: a title's sortable form is the title itself
WORDS = ("baobab", "acacia", "cedar", "maple", "olive", "willow")
KINDS = ("Folder", "Document", "File")
SORTS = (None, "sortable_title", "id", "modified", "created", "getObjPositionInParent")
BASE = "http://baobab.test"


@dataclass(frozen=True)
class Query:
    types: tuple[str, ...] = ()
    states: tuple[str, ...] = ()
    where: tuple[tuple[str, ...], int, bool] | None = None  # path, depth, with the prefix
    words: tuple[str, ...] = ()
    any_word: bool = False  # "a OR b" rather than "a b"
    sort_on: str | None = None
    descending: bool = False
    b_size: int | None = None  # small: the answer is read page by page, through its links

    def params(self, site: str) -> list[tuple[str, str]]:
        params = [("portal_type", kind) for kind in self.types]
        params += [("review_state", state) for state in self.states]
        if self.where is not None:
            path, depth, prefixed = self.where
            rel = "/" + "/".join(path)
            params += [("path.query", site + rel if prefixed else rel)]
            params += [("path.depth", str(depth))]
        if self.words:
            params.append(("SearchableText", (" OR " if self.any_word else " ").join(self.words)))
        if self.sort_on is not None:
            params.append(("sort_on", self.sort_on))
            if self.descending:
                params.append(("sort_order", "descending"))
        if self.b_size is not None:
            params.append(("b_size", str(self.b_size)))
        return params


@dataclass(frozen=True)
class Case:
    world: World
    titles: dict[tuple[str, ...], str]
    texts: dict[tuple[str, ...], str]  # Documents' text
    queries: tuple[Query, ...]
    changes: tuple[Change, ...]  # made after the first round of queries, then asked again


@dataclass(frozen=True)
class Change:
    """One change made by root: ``transition`` (a transition's name), ``inherit`` (True or
    False), ``move`` (into a folder's path) or ``share`` ((principal, role, grant))."""

    kind: str
    path: tuple[str, ...]
    arg: Any

    def apply(self, world: World) -> World:
        """The world after the change (what the site read back must then be)."""
        if self.kind == "transition":
            return world.changed(self.path, state=NEW_STATE[self.arg])
        if self.kind == "inherit":
            return world.changed(self.path, inherit=self.arg)
        if self.kind == "move":
            return world.moved(self.path, self.arg)
        pid, role, grant = self.arg
        local = set(world.node(self.path).local) - {(pid, role)}
        if grant:
            local.add((pid, role))
        return world.changed(self.path, local=tuple(sorted(local)))


def _words(draw: st.DrawFn, low: int = 1) -> str:
    return " ".join(draw(st.lists(st.sampled_from(WORDS), min_size=low, max_size=3)))


@st.composite
def queries(draw: st.DrawFn, world: World) -> Query:
    places = [(), *(node.path for node in world.nodes)]
    where = draw(
        st.one_of(
            st.none(),
            st.tuples(st.sampled_from(places), st.sampled_from((-1, 0, 1, 2)), st.booleans()),
        )
    )
    return Query(
        types=tuple(draw(st.lists(st.sampled_from(KINDS), max_size=2, unique=True))),
        states=tuple(draw(st.lists(st.sampled_from(STATES), max_size=2, unique=True))),
        where=where,
        words=tuple(draw(st.lists(st.sampled_from(WORDS), max_size=2, unique=True))),
        any_word=draw(st.booleans()),
        sort_on=draw(st.sampled_from(SORTS)),
        descending=draw(st.booleans()),
        b_size=draw(st.sampled_from((None, None, None, 1, 2))),
    )


@st.composite
def changes(draw: st.DrawFn, world: World) -> Change:
    node = draw(st.sampled_from(world.nodes))
    kind = draw(st.sampled_from(("transition", "inherit", "move", "share")))
    if kind == "transition":
        return Change(kind, node.path, draw(st.sampled_from(TRANSITIONS[node.state]))[0])
    if kind == "inherit":
        return Change(kind, node.path, not node.inherit)
    folders = [
        (),
        *(n.path for n in world.nodes if n.folderish and n.path[: len(node.path)] != node.path),
    ]
    into = [path for path in folders if path != node.parent]
    if kind == "move" and into:
        return Change(kind, node.path, draw(st.sampled_from(into)))
    grantees = [u.login for u in world.users] + [g.name for g in world.groups]
    pid = draw(st.sampled_from([*grantees, AUTHENTICATED_GROUP]))
    role = draw(st.sampled_from(SHARABLE))
    return Change("share", node.path, (pid, role, (pid, role) not in node.local))


@st.composite
def cases(draw: st.DrawFn) -> Case:
    world = draw(worlds(max_nodes=8))
    titles = {node.path: _words(draw) for node in world.nodes}
    texts = {node.path: _words(draw, 0) for node in world.nodes if node.kind == "Document"}
    found = tuple(draw(st.lists(queries(world), min_size=3, max_size=5)))
    made: list[Change] = []
    current = world
    for _ in range(draw(st.integers(1, 2))):
        change = draw(changes(current))
        made.append(change)
        current = change.apply(current)
    return Case(world, titles, texts, found, tuple(made))


# -- building the site, and reading it back ---------------------------------------------------


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _url(site: str, path: tuple[str, ...]) -> str:
    return "/".join((site, *path))


def _client(root: BaobabClient, login: str | None) -> BaobabClient:
    if login == "root":
        return root.as_user("root")
    if login is None:
        return root.as_user(None)
    return root.as_login(login, password_of(login))


async def build(root: BaobabClient, site: str, case: Case) -> None:
    world = case.world
    resp = await root.post("/db", json={"@type": "Container", "id": site.rsplit("/", 1)[1]})
    assert resp.status_code == 201, resp.text
    for user in world.users:
        await add_user(root, site, user.login, roles=list(user.roles))
    for group in world.groups:
        await add_group(root, site, group.name, roles=list(group.roles), users=list(group.members))
    creators = {node.owner for node in world.nodes} - {"root"}
    if creators:  # Contributor while they create; revoked below: they keep only Owner
        await update_sharing(root, site, {c: {CONTRIBUTOR: True} for c in creators})
    for node in world.nodes:
        fields: dict[str, Any] = {"@type": node.kind, "id": node.name}
        fields["title"] = case.titles[node.path]
        if node.kind == "Document":
            fields["text"] = case.texts[node.path]
        if node.kind == "File":
            fields["file"] = {"data": _b64("x"), "encoding": "base64", "filename": "f.bin"}
        async with _client(root, node.owner) as client:
            resp = await client.post(_url(site, node.parent), json=fields)
        assert resp.status_code == 201, resp.text
    if creators:
        await update_sharing(root, site, {c: {CONTRIBUTOR: False} for c in creators})
    for node in world.nodes:
        grants: dict[str, dict[str, bool]] = {}
        for pid, role in node.local:
            grants.setdefault(pid, {})[role] = True
        if grants or not node.inherit:
            inherit = None if node.inherit else False
            await update_sharing(root, _url(site, node.path), grants, inherit=inherit)
        for name in {"private": (), "pending": ("submit",), "published": ("publish",)}[node.state]:
            resp = await root.post(f"{_url(site, node.path)}/@workflow/{name}")
            assert resp.status_code == 200, resp.text


async def make(root: BaobabClient, site: str, change: Change) -> None:
    url = _url(site, change.path)
    if change.kind == "transition":
        resp = await root.post(f"{url}/@workflow/{change.arg}")
    elif change.kind == "inherit":
        resp = await root.post(f"{url}/@sharing", json={"entries": [], "inherit": change.arg})
    elif change.kind == "move":
        resp = await root.post(f"{url}/@move", json={"destination": _url(site, change.arg)})
    else:
        pid, role, grant = change.arg
        entries = [{"id": pid, "roles": {role: grant}}]
        resp = await root.post(f"{url}/@sharing", json={"entries": entries})
    assert resp.status_code in (200, 204), f"{change}: {resp.text}"


@dataclass
class Seen:
    """The site as root reads it through the API: the model's only input about content."""

    nodes: list[Node]
    words: dict[tuple[str, ...], set[str]]  # what a full-text query may match
    titles: dict[tuple[str, ...], str]
    dates: dict[tuple[str, ...], dict[str, str]] = field(default_factory=dict)


async def observe(root: BaobabClient, site: str) -> Seen:
    seen = Seen([], {}, {})

    async def walk(path: tuple[str, ...]) -> None:
        resp = await root.get(_url(site, path), params={"b_size": "1000"})
        assert resp.status_code == 200, resp.text
        data = resp.json()
        if path:
            sharing = (await root.get(f"{_url(site, path)}/@sharing")).json()
            local = sorted(
                (entry["id"], role)
                for entry in sharing["entries"]
                for role, value in entry["roles"].items()
                if value is True
            )
            seen.nodes.append(
                Node(
                    path=path,
                    kind=data["@type"],
                    owner=data["creators"][0],
                    state=data["review_state"],
                    inherit=sharing["inherit"],
                    local=tuple(local),
                )
            )
            text = data.get("text") or ""
            seen.titles[path] = data["title"]
            seen.dates[path] = {name: data[name] for name in ("created", "modified")}
            seen.words[path] = {path[-1], *data["title"].split(), *str(text).split()}
        if data.get("is_folderish"):
            assert data["items_total"] == len(data["items"])
            for item in data["items"]:
                await walk((*path, item["id"]))

    await walk(())
    return seen


# -- the model ---------------------------------------------------------------------------------


def matches(query: Query, node: Node, words: set[str]) -> bool:
    if query.types and node.kind not in query.types:
        return False
    if query.states and node.state not in query.states:
        return False
    if query.where is not None:
        base, depth, _ = query.where
        if node.path[: len(base)] != base:
            return False
        below = len(node.path) - len(base)
        # Plone's ExtendedPathIndex: 0 the object, 1 its children, N >= 2 the object and N
        # levels below it, -1 everything from the object down
        lowest = 1 if depth == 1 else 0
        if depth >= 0 and not lowest <= below <= depth:
            return False
    if query.words:
        found = [word in words for word in query.words]
        if not (any(found) if query.any_word else all(found)):
            return False
    return True


def _key(query: Query, path: tuple[str, ...], seen: Seen) -> str | None:
    """What the answer must be ordered by: a title, an id, or a date to the minute (the
    resolution of a date index, as Plone's); None: no order to check."""
    if query.sort_on == "sortable_title":
        return " ".join(seen.titles[path].split())
    if query.sort_on == "id":
        return path[-1]
    if query.sort_on in ("created", "modified"):
        when = dt.datetime.fromisoformat(seen.dates[path][query.sort_on])
        return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M")
    return None


@dataclass
class Tally:
    """How much the examples exercised: an all-empty run would prove nothing."""

    searches: int = 0
    found: int = 0  # searches whose expected answer is not empty
    hidden: int = 0  # searches matching objects the principal may not View


async def answer(client: BaobabClient, url: str, query: Query, site: str) -> dict[str, Any]:
    """The whole answer: with a small ``b_size``, every page, each reached through the
    previous one's ``next`` link (which must keep every parameter)."""
    resp = await client.get(url, params=query.params(site))
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    items = list(body["items"])
    while query.b_size is not None and "next" in body.get("batching", {}):
        link = body["batching"]["next"]
        assert sorted(parse_qsl(urlsplit(link).query)) == sorted(
            [*query.params(site), ("b_start", str(len(items)))]
        ), link
        resp = await client.get(link)
        assert resp.status_code == 200, resp.text
        body = resp.json()
        assert len(body["items"]) <= query.b_size
        items.extend(body["items"])
    return {"items": items, "items_total": body["items_total"]}


async def check_case(
    root: BaobabClient, site: str, case: Case, expected: World, tally: Tally
) -> None:
    seen = await observe(root, site)
    generated = {
        (n.path, n.kind, n.owner, n.state, n.inherit, frozenset(n.local)) for n in expected.nodes
    }
    read = {(n.path, n.kind, n.owner, n.state, n.inherit, frozenset(n.local)) for n in seen.nodes}
    assert read == generated, "the site built is not the world asked for"
    world = World("observed", case.world.users, case.world.groups, tuple(seen.nodes))
    for login in (None, "root", *(user.login for user in world.users)):
        who = world.principal(login)
        visible = [node for node in world.nodes if view(world, node.path, who)]
        async with _client(root, login) as client:
            for query in case.queries:
                want = {n.path for n in visible if matches(query, n, seen.words[n.path])}
                matching = sum(matches(query, n, seen.words[n.path]) for n in world.nodes)
                tally.searches += 1
                tally.found += bool(want)
                tally.hidden += matching > len(want)
                where = f"{login or 'anonymous'} at {site}: {query.params(site)}"
                body = await answer(client, f"{site}/@search", query, site)
                got = [
                    tuple(item["@id"].removeprefix(f"{BASE}{site}/").split("/"))
                    for item in body["items"]
                ]
                assert body["items_total"] == len(got), where
                assert set(got) == want, (
                    f"{where}\n extra {sorted(set(got) - want)}\n missing {sorted(want - set(got))}"
                    f"\n{world}"
                )
                assert len(got) == len(set(got)), where
                keys = [_key(query, path, seen) for path in got]
                if query.sort_on not in (None, "getObjPositionInParent"):
                    assert keys == sorted(keys, reverse=query.descending), where  # type: ignore[type-var]


# -- the test ----------------------------------------------------------------------------------


def test_search_returns_exactly_what_the_model_says(baobab_storage: str, tmp_path: Path) -> None:
    if baobab_storage == "postgresql":
        zap_postgres(require_postgres())
    loop = asyncio.new_event_loop()
    app = BaobabApp(make_settings(tmp_path / "var", baobab_storage))
    loop.run_until_complete(app.startup())
    root = BaobabClient(
        transport=httpx.ASGITransport(app=app), base_url=BASE, auth=("root", ROOT_PASSWORD)
    )
    count = 0
    tally = Tally()

    @settings(
        max_examples=EXAMPLES,
        derandomize=os.environ.get("BAOBAB_SEARCH_RANDOM") != "1",
        database=None,
        deadline=None,
        phases=(Phase.explicit, Phase.generate),  # a failure names its site and query
        suppress_health_check=list(HealthCheck),
    )
    @given(case=cases())
    def sites(case: Case) -> None:
        nonlocal count
        count += 1
        site = f"/db/s{count}"
        loop.run_until_complete(build(root, site, case))
        loop.run_until_complete(check_case(root, site, case, case.world, tally))
        world = case.world
        for change in case.changes:
            loop.run_until_complete(make(root, site, change))
            world = change.apply(world)
        loop.run_until_complete(check_case(root, site, case, world, tally))

    try:
        sites()
    finally:
        loop.run_until_complete(root.aclose())
        loop.run_until_complete(app.shutdown())
        loop.close()
    assert count >= min(EXAMPLES, 10)
    print(f"{count} sites, {tally}")
    assert tally.found >= tally.searches // 5, tally
    assert tally.hidden >= tally.searches // 10, tally


@pytest.mark.parametrize("depth", [-1, 0, 1, 2])
def test_model_path_depth(depth: int) -> None:
    """The model's path rule itself, on a chain a/b/c: Plone's depth semantics."""
    query = Query(where=(("a",), depth, False))
    chain = [Node(("a",), "Folder", "root"), Node(("a", "b"), "Folder", "root")]
    chain.append(Node(("a", "b", "c"), "Document", "root"))
    got = {"/".join(n.path) for n in chain if matches(query, n, set())}
    want = {-1: {"a", "a/b", "a/b/c"}, 0: {"a"}, 1: {"a/b"}, 2: {"a", "a/b", "a/b/c"}}
    assert got == want[depth]

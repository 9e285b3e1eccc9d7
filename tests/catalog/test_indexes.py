"""Each built-in index and query form of ``GET @search``, an add-on's indexes and column, and
every kind of bad query (a 400 naming the parameter, nothing committed), on both backends.

One small tree serves most tests (``tree``)::

    site/
      news/            Folder  "News"                 published
        cafe           Document "Café au lait"        subjects tree, africa; effective 2020
        strasse        Document "Item 10"             text "baobabs and STRASSE"; subjects tree
        sub/           Folder  "Item 2"
          greek        Document "Καλημέρα κόσμε"      text "東京 大阪"
      events/          Folder  "item 1"
        party          Document "Straße party"        by contributor; expires 2030
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from baobab.testing import BaobabClient, Unchanged, add, assert_envelope, transition

Params = list[tuple[str, str]] | dict[str, Any]


@pytest.fixture
def baobab_overrides() -> dict[str, Any]:
    return {"addons": ["baobab_catalog_addon"]}


async def search(client: BaobabClient, path: str, params: Params) -> dict[str, Any]:
    resp = await client.get(f"{path}/@search", params=params)
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


def names(body: dict[str, Any]) -> list[str]:
    """The ids of a result page, in its order."""
    return [item["@id"].rsplit("/", 1)[1] for item in body["items"]]


async def found(client: BaobabClient, path: str, params: Params) -> set[str]:
    body = await search(client, path, params)
    assert body["items_total"] == len(body["items"]), body  # every test page fits
    return set(names(body))


ALL = {"news", "cafe", "strasse", "sub", "greek", "events", "party"}
FOLDERS = {"news", "sub", "events"}
DOCS = ALL - FOLDERS


@pytest.fixture
async def tree(client: BaobabClient, site: str) -> str:
    news = await add(client, site, "Folder", "news", title="News")
    await transition(client, news, "publish")
    await add(
        client,
        news,
        "Document",
        "cafe",
        title="Café au lait",
        text="<p>The baobab tree grows</p>",
        subjects=["tree", "africa"],
        effective="2020-01-01T00:00:00+00:00",
    )
    await add(
        client,
        news,
        "Document",
        "strasse",
        title="Item 10",
        text="baobabs and STRASSE",
        subjects=["tree"],
    )
    sub = await add(client, news, "Folder", "sub", title="Item 2")
    await add(client, sub, "Document", "greek", title="Καλημέρα κόσμε", text="東京 大阪")
    events = await add(client, site, "Folder", "events", title="item 1")
    # a global Contributor may add to the site's folders (its creator is "contributor")
    contributor = client.as_user("contributor")
    async with contributor:
        await add(
            contributor,
            events,
            "Document",
            "party",
            title="Straße party",
            expires="2030-06-01T12:00:00+00:00",
        )
    return site


async def test_portal_type_review_state_and_folderish(client: BaobabClient, tree: str) -> None:
    assert await found(client, tree, {"portal_type": "Document"}) == DOCS
    assert (
        await found(client, tree, [("portal_type", "Document"), ("portal_type", "Folder")]) == ALL
    )
    assert await found(client, tree, {"portal_type:list": "Folder"}) == FOLDERS  # Zope marker
    assert await found(client, tree, {"portal_type": "Image"}) == set()
    assert await found(client, tree, {"review_state": "published"}) == {"news"}
    assert await found(client, tree, {"review_state": "private"}) == ALL - {"news"}
    both = [("review_state", "private"), ("review_state", "published")]
    assert await found(client, tree, both) == ALL
    assert await found(client, tree, {"is_folderish": "true"}) == FOLDERS
    assert await found(client, tree, {"is_folderish": "false"}) == DOCS
    assert await found(client, tree, {"is_folderish": "0"}) == DOCS
    # several indexes are ANDed
    query = {"portal_type": "Folder", "review_state": "private"}
    assert await found(client, tree, query) == {"sub", "events"}


async def test_path_and_depth(client: BaobabClient, tree: str) -> None:
    news = f"{tree}/news"
    assert await found(client, tree, {}) == ALL  # the context's subtree, not the container
    assert await found(client, news, {}) == {"news", "cafe", "strasse", "sub", "greek"}
    assert await found(client, tree, {"path.query": news}) == {
        "news",
        "cafe",
        "strasse",
        "sub",
        "greek",
    }
    assert await found(client, tree, {"path.query": news, "path.depth": "-1"}) == {
        "news",
        "cafe",
        "strasse",
        "sub",
        "greek",
    }
    assert await found(client, tree, {"path.query": news, "path.depth": "0"}) == {"news"}
    assert await found(client, tree, {"path.query": news, "path.depth": "1"}) == {
        "cafe",
        "strasse",
        "sub",
    }
    # depth >= 2 includes the start, as Plone's ExtendedPathIndex (depth 1 does not)
    assert await found(client, tree, {"path.query": news, "path.depth": "2"}) == {
        "news",
        "cafe",
        "strasse",
        "sub",
        "greek",
    }
    assert await found(client, tree, {"path.depth": "1"}) == {"news", "events"}
    several = [("path.query", f"{news}/sub"), ("path.query", f"{tree}/events"), ("path.depth", "0")]
    assert await found(client, tree, several) == {"sub", "events"}
    several_below = [("path.query", f"{news}/sub"), ("path.query", f"{tree}/events")]
    assert await found(client, tree, several_below) == {"sub", "greek", "events", "party"}
    # as Plone clients send it: the path below the site, without the container's prefix
    assert await found(client, tree, {"path.query": "/news", "path.depth": "1"}) == {
        "cafe",
        "strasse",
        "sub",
    }
    assert await found(client, tree, {"path.query": "/news/sub/", "path.depth": "0"}) == {"sub"}
    assert await found(client, tree, {"path": "/events"}) == {"events", "party"}
    assert await found(client, tree, {"path.query": "/nowhere"}) == set()
    # a path query from a subfolder's @search is not limited to that subfolder
    assert await found(client, news, {"path.query": "/events", "path.depth": "0"}) == {"events"}


async def test_uid(client: BaobabClient, tree: str) -> None:
    uid = {}
    for name, path in [("cafe", "news/cafe"), ("greek", "news/sub/greek")]:
        uid[name] = (await client.get(f"{tree}/{path}")).json()["UID"]
    assert await found(client, tree, {"UID": uid["cafe"]}) == {"cafe"}
    assert await found(client, tree, [("UID", uid["cafe"]), ("UID", uid["greek"])]) == {
        "cafe",
        "greek",
    }
    assert await found(client, tree, {"UID": "0" * 32}) == set()
    # ANDed with the path: the UID of an object outside the context's subtree is not found
    assert await found(client, f"{tree}/events", {"UID": uid["cafe"]}) == set()


async def test_subject_and_creator(client: BaobabClient, tree: str) -> None:
    assert await found(client, tree, {"Subject": "tree"}) == {"cafe", "strasse"}
    assert await found(client, tree, [("Subject", "africa"), ("Subject", "tree")]) == {
        "cafe",
        "strasse",
    }
    both = [("Subject.query", "africa"), ("Subject.query", "tree"), ("Subject.operator", "and")]
    assert await found(client, tree, both) == {"cafe"}
    either = [("Subject.query", "africa"), ("Subject.query", "tree"), ("Subject.operator", "or")]
    assert await found(client, tree, either) == {"cafe", "strasse"}
    assert await found(client, tree, {"Subject": "nothing"}) == set()
    # not: every entry without the keyword (those without any subject included, as they
    # do not have it)
    assert await found(client, tree, {"Subject.not": "africa"}) == ALL - {"cafe"}
    query = {"Subject.not": "africa", "portal_type": "Document"}
    assert await found(client, tree, query) == {"strasse", "greek", "party"}
    assert await found(client, tree, {"Creator": "contributor"}) == {"party"}
    assert await found(client, tree, {"Creator": "root"}) == ALL - {"party"}
    assert await found(client, tree, [("Creator", "root"), ("Creator", "contributor")]) == ALL
    assert await found(client, tree, {"Creator.not": "root"}) == {"party"}


def _iso(value: dt.datetime) -> str:
    return value.isoformat()


async def test_dates(client: BaobabClient, tree: str) -> None:
    cafe = (await client.get(f"{tree}/news/cafe")).json()
    created = dt.datetime.fromisoformat(cafe["created"])
    day, minute = dt.timedelta(days=1), dt.timedelta(minutes=1)
    for name in ("created", "modified"):
        value = dt.datetime.fromisoformat(cafe[name])
        everything = await found(client, tree, {})
        assert "cafe" in await found(client, tree, {name: _iso(value)})  # exact: to the minute
        assert await found(client, tree, {name: _iso(value - day)}) == set()
        low = {f"{name}.query": _iso(value - day), f"{name}.range": "min"}
        assert await found(client, tree, low) == everything
        high = {f"{name}.query": _iso(value - day), f"{name}.range": "max"}
        assert await found(client, tree, high) == set()
        span = [
            (f"{name}.query", _iso(value - day)),
            (f"{name}.query", _iso(value + day)),
            (f"{name}.range", "min:max"),
        ]
        assert await found(client, tree, span) == everything
        future = {f"{name}.query": _iso(value + minute + day), f"{name}.range": "min"}
        assert await found(client, tree, future) == set()
    # a date without time, and a trailing Z, are accepted
    assert (
        await found(
            client, tree, {"created.query": created.date().isoformat(), "created.range": "min"}
        )
        == ALL
    )
    # effective: only cafe has one (2020-01-01); the others are effective since always
    assert await found(client, tree, {"effective": "2020-01-01T00:00:00Z"}) == {"cafe"}
    assert await found(client, tree, {"effective": "2020-01-01"}) == {"cafe"}
    query = {"effective.query": "2019-12-31", "effective.range": "min"}
    assert await found(client, tree, query) == {"cafe"}
    query = {"effective.query": "2019-12-31", "effective.range": "max"}
    assert await found(client, tree, query) == ALL - {"cafe"}
    span = [
        ("effective.query", "2019-12-31"),
        ("effective.query", "2020-01-02"),
        ("effective.range", "min:max"),
    ]
    assert await found(client, tree, span) == {"cafe"}
    # expires: only party expires (2030-06-01 12:00); the others never do
    assert await found(client, tree, {"expires": "2030-06-01T12:00:00+00:00"}) == {"party"}
    assert await found(client, tree, {"expires": "2030-06-01T14:00:00+02:00"}) == {"party"}
    query = {"expires.query": "2031-01-01", "expires.range": "max"}
    assert await found(client, tree, query) == {"party"}
    query = {"expires.query": "2031-01-01", "expires.range": "min"}
    assert await found(client, tree, query) == ALL - {"party"}
    # plone.app.querystring's "published, not expired" listing
    now = dt.datetime.now(dt.UTC).isoformat()
    query = {"expires.query": now, "expires.range": "min", "portal_type": "Document"}
    assert await found(client, tree, query) == DOCS


async def test_sorting(client: BaobabClient, tree: str) -> None:
    folders = {"portal_type": "Folder", "sort_on": "sortable_title"}
    # "item 1" < "Item 2" < "News": case folded, numbers padded
    assert names(await search(client, tree, folders)) == ["events", "sub", "news"]
    titled = [
        ("path.query", f"{tree}/news"),
        ("path.query", f"{tree}/events"),
        ("path.depth", "1"),
        ("sort_on", "sortable_title"),
    ]
    # "Café au lait" < "Item 2" < "Item 10" (numbers padded) < "Straße party"
    assert names(await search(client, tree, titled)) == ["cafe", "sub", "strasse", "party"]
    down = [*titled, ("sort_order", "descending")]
    assert names(await search(client, tree, down)) == ["party", "strasse", "sub", "cafe"]
    assert names(await search(client, tree, [*titled, ("sort_order", "reverse")])) == [
        "party",
        "strasse",
        "sub",
        "cafe",
    ]
    limited = await search(client, tree, [*titled, ("sort_limit", "2")])
    assert names(limited) == ["cafe", "sub"]
    assert limited["items_total"] == 2
    # dates, both ways; ties are allowed, but the order must be consistent with the values
    body = await search(client, tree, {"sort_on": "effective", "metadata_fields": "effective"})
    assert names(body)[-1] == "cafe"  # the others have no effective date: the earliest
    body = await search(client, tree, {"sort_on": "expires", "sort_order": "descending"})
    assert names(body)[-1] == "party"
    body = await search(
        client,
        tree,
        {"sort_on": "modified", "sort_order": "descending", "metadata_fields": "modified"},
    )
    # a date index keeps minutes (as Plone's DateIndex): the order is to the minute
    minutes = [
        dt.datetime.fromisoformat(item["modified"]).replace(second=0, microsecond=0)
        for item in body["items"]
    ]
    assert minutes == sorted(minutes, reverse=True)
    # the folder order: sorting on it works (the order itself is tested with ordering)
    body = await search(client, tree, {"sort_on": "getObjPositionInParent", "path.depth": "1"})
    assert set(names(body)) == {"news", "events"}
    body = await search(client, tree, {"sort_on": "getObjPositionInParent"})
    assert set(names(body)) == ALL
    # a full-text query without sort_on: best first
    body = await search(client, tree, {"SearchableText": "baobab*"})
    assert set(names(body)) == {"cafe", "strasse"}


async def test_searchable_text(client: BaobabClient, tree: str) -> None:
    async def text(query: str) -> set[str]:
        return await found(client, tree, {"SearchableText": query})

    assert await text("baobab") == {"cafe"}
    assert await text("baobabs") == {"strasse"}
    assert await text("baobab tree") == {"cafe"}  # AND of words
    assert await text("baobab AND tree") == {"cafe"}
    assert await text("baobab lait") == {"cafe"}  # title and text
    assert await text("baobab strasse") == set()
    assert await text("baobab OR baobabs") == {"cafe", "strasse"}
    assert await text("tree NOT baobab") == {"strasse"}  # its subject is "tree"
    assert await text('"baobab tree"') == {"cafe"}
    assert await text('"tree baobab"') == set()
    assert await text("baob*") == {"cafe", "strasse"}
    assert await text("BAOB*") == {"cafe", "strasse"}
    # Unicode: accents and case folded, both ways
    assert await text("cafe") == {"cafe"}
    assert await text("CAFÉ") == {"cafe"}
    assert await text("café") == {"cafe"}
    assert await text("straße") == {"strasse", "party"}  # STRASSE and Straße
    assert await text("STRASSE") == {"strasse", "party"}
    assert await text("καλημερα") == {"greek"}
    assert await text("ΚΑΛΗΜΈΡΑ") == {"greek"}
    assert await text("東京") == {"greek"}
    assert await text("大阪 東京") == {"greek"}
    assert await text("greek") == {"greek"}  # the id is searchable
    assert await text("africa") == {"cafe"}  # and the subjects
    assert await text("p") == set()  # the <p> of the text was stripped
    assert await text("nothing-like-it") == set()
    # combined with other indexes and a path
    assert await found(client, f"{tree}/events", {"SearchableText": "straße"}) == {"party"}


async def test_allowed_roles_and_users_cannot_widen(client: BaobabClient, tree: str) -> None:
    """Querying the security index ANDs with the caller's own tokens: nobody sees more."""
    member = client.as_user("member")
    async with member:
        assert await found(member, tree, {}) == {"news"}  # published; the rest is private
        for tokens in (
            ["baobab.Manager"],
            ["baobab.Owner", "user:root"],
            ["baobab.Manager", "baobab.Anonymous", "baobab.Reader", "user:root"],
        ):
            query = [("allowedRolesAndUsers", t) for t in tokens]
            assert await found(member, tree, query) <= {"news"}
        assert await found(member, tree, {"allowedRolesAndUsers": "baobab.Anonymous"}) == {"news"}
        assert await found(member, tree, {"allowedRolesAndUsers.not": "user:member"}) == {"news"}
        assert await found(member, tree, {"allowedRolesAndUsers.not": "baobab.Anonymous"}) == set()
    anonymous = client.as_user(None)
    async with anonymous:
        # every entry's tokens include Manager: the published folder, and nothing more
        assert await found(anonymous, tree, {"allowedRolesAndUsers": "baobab.Manager"}) == {"news"}
    # root (a Manager) narrows with it like with any keyword index
    assert await found(client, tree, {"allowedRolesAndUsers": "baobab.Anonymous"}) == {"news"}


async def test_batching_keeps_every_parameter(client: BaobabClient, tree: str) -> None:
    params = [
        ("portal_type", "Document"),
        ("portal_type", "Folder"),
        ("sort_on", "sortable_title"),
        ("b_size", "3"),
    ]
    first = await search(client, tree, params)
    assert first["items_total"] == len(ALL)
    assert len(first["items"]) == 3
    links = first["batching"]
    assert set(links) == {"@id", "first", "last", "next"}
    seen = names(first)
    url = links["next"]
    while True:
        query = parse_qsl(urlsplit(url).query)
        assert [v for k, v in query if k == "portal_type"] == ["Document", "Folder"], url
        assert ("sort_on", "sortable_title") in query
        assert dict(query)["b_size"] == "3"
        page = (await client.get(url)).json()
        assert page["items_total"] == len(ALL)
        seen.extend(names(page))
        if "next" not in page["batching"]:
            assert "prev" in page["batching"]
            break
        url = page["batching"]["next"]
    assert len(seen) == len(ALL) and set(seen) == ALL
    everything = names(await search(client, tree, params[:3]))
    assert seen == everything
    assert "batching" not in await search(client, tree, params[:3])
    last = await search(client, tree, [*params[:3], ("b_start", "6"), ("b_size", "3")])
    assert len(last["items"]) == 1
    beyond = await search(client, tree, [*params[:3], ("b_start", "50")])
    assert beyond["items"] == [] and beyond["items_total"] == len(ALL)


async def test_metadata_fields_fullobjects_and_shape(client: BaobabClient, tree: str) -> None:
    body = await search(
        client, tree, {"UID": (await client.get(f"{tree}/news/cafe")).json()["UID"]}
    )
    assert body["@id"] == f"http://baobab.test{tree}/@search"
    (item,) = body["items"]
    assert set(item) == {
        "@id",
        "@type",
        "id",
        "UID",
        "title",
        "description",
        "review_state",
        "is_folderish",
    }
    assert item["@id"] == f"http://baobab.test{tree}/news/cafe"
    assert (item["@type"], item["title"], item["review_state"]) == (
        "Document",
        "Café au lait",
        "private",
    )
    assert item["is_folderish"] is False
    body = await search(
        client,
        tree,
        [
            ("path.query", f"{tree}/news/cafe"),
            ("metadata_fields", "Subject"),
            ("metadata_fields", "created"),
        ],
    )
    (item,) = body["items"]
    assert sorted(item["Subject"]) == ["africa", "tree"]
    created = (await client.get(f"{tree}/news/cafe")).json()["created"]
    assert dt.datetime.fromisoformat(item["created"]) == dt.datetime.fromisoformat(created)
    body = await search(
        client, tree, {"path.query": f"{tree}/news/cafe", "metadata_fields": "_all"}
    )
    (item,) = body["items"]
    for column in (
        "Subject",
        "created",
        "modified",
        "effective",
        "expires",
        "listCreators",
        "title_initial",
    ):
        assert column in item, column
    assert item["listCreators"] == ["root"]
    assert item["title_initial"] == "C"
    assert item["effective"] is not None and item["effective"].startswith("2020-01-01")
    body = await search(client, tree, {"path.query": f"{tree}/news/cafe", "fullobjects": "1"})
    (item,) = body["items"]
    assert item["@id"] == f"http://baobab.test{tree}/news/cafe"
    assert "baobab tree" in str(item["text"])  # the object as GET shows it
    assert sorted(item["subjects"]) == ["africa", "tree"]
    assert body["items_total"] == 1
    body = await search(client, tree, {"portal_type": "Folder", "fullobjects": "true"})
    assert {item["@type"] for item in body["items"]} == {"Folder"}
    assert body["items_total"] == 3


async def test_addon_indexes_and_column(client: BaobabClient, tree: str) -> None:
    # title_length (int): "News" 4, "Item 2" 6, "item 1" 6, "Item 10" 7
    assert await found(client, tree, {"title_length": "4"}) == {"news"}
    assert await found(client, tree, [("title_length", "6"), ("title_length", "7")]) == {
        "sub",
        "events",
        "strasse",
    }
    query = [
        ("title_length.query", "6"),
        ("title_length.query", "7"),
        ("title_length.range", "min:max"),
    ]
    assert await found(client, tree, query) == {"sub", "events", "strasse"}
    query = [("title_length.query", "10"), ("title_length.range", "min")]
    assert await found(client, tree, query) == {"cafe", "greek", "party"}
    body = await search(client, tree, {"portal_type": "Folder", "sort_on": "title_length"})
    assert names(body)[0] == "news"
    # title_words (keyword)
    assert await found(client, tree, {"title_words": "item"}) == {"sub", "events", "strasse"}
    both = [
        ("title_words.query", "item"),
        ("title_words.query", "2"),
        ("title_words.operator", "and"),
    ]
    assert await found(client, tree, both) == {"sub"}
    body = await search(client, tree, {"title_words": "party", "metadata_fields": "title_initial"})
    assert [item["title_initial"] for item in body["items"]] == ["S"]
    # the add-on's index stays in step with changes
    resp = await client.patch(f"{tree}/news", json={"title": "Newsroom"})
    assert resp.status_code == 204
    assert await found(client, tree, {"title_length": "4"}) == set()
    assert await found(client, tree, {"title_length": "8"}) == {"news"}
    assert await found(client, tree, {"title_words": "newsroom"}) == {"news"}


BAD: list[tuple[Params, str]] = [
    ({"nosuchindex": "x"}, "nosuchindex"),
    ({"portal_type.bogus": "x"}, "portal_type.bogus"),
    ({"Subject.depth": "1"}, "Subject.depth"),
    ({"path.range": "min"}, "path"),
    ({"is_folderish": "maybe"}, "is_folderish"),
    ({"getObjPositionInParent": "abc"}, "getObjPositionInParent"),
    ({"getObjPositionInParent": "1.5"}, "getObjPositionInParent"),
    ({"title_length": "long"}, "title_length"),
    ({"title_length.query": "x", "title_length.range": "min"}, "title_length.query"),
    ({"modified.query": "2020-01-01", "modified.range": "sideways"}, "modified.range"),
    ({"modified.query": "2020-01-01", "modified.range": "min:max"}, "modified.range"),
    (
        [
            ("modified.query", "2020-01-01"),
            ("modified.query", "2021-01-01"),
            ("modified.range", "min"),
        ],
        "modified.range",
    ),
    (
        [
            ("modified.query", "2021-01-01"),
            ("modified.query", "2020-01-01"),
            ("modified.range", "min:max"),
        ],
        "modified.range",
    ),
    ({"modified.range": "min"}, "modified.query"),
    ({"Subject.query": "x", "Subject.range": "min"}, "Subject.range"),
    ({"Subject.query": "x", "Subject.operator": "xor"}, "Subject"),
    ({"b_start": "-1"}, "b_start"),
    ({"b_start": "x"}, "b_start"),
    ({"b_size": "100000"}, "b_size"),
    ({"b_size": "0"}, "b_size"),
    ({"effective": "notadate"}, "effective"),
    ({"created.query": "2020-13-45", "created.range": "min"}, "created.query"),
    ({"SearchableText": "the and"}, "SearchableText"),
    ({"SearchableText": "!!!"}, "SearchableText"),
    ({"SearchableText": "..., ;"}, "SearchableText"),
    ({"SearchableText": ""}, "SearchableText"),
    ({"SearchableText.range": "min", "SearchableText.query": "x"}, "SearchableText"),
    ({"sort_on": "Subject"}, "sort_on"),
    ({"sort_on": "SearchableText"}, "sort_on"),
    ({"sort_on": "allowedRolesAndUsers"}, "sort_on"),
    ({"sort_on": "nosuchindex"}, "sort_on"),
    ([("sort_on", "modified"), ("sort_on", "created")], "sort_on"),
    ({"sort_order": "sideways"}, "sort_order"),
    ({"sort_limit": "0"}, "sort_limit"),
    ({"sort_limit": "x"}, "sort_limit"),
    ({"path.depth": "-2"}, "path.depth"),
    ({"path.depth": "x"}, "path.depth"),
    ({"metadata_fields": "nope"}, "metadata_fields"),
    ({"fullobjects": "maybe"}, "fullobjects"),
]


async def test_bad_queries_are_400_naming_the_parameter(
    client: BaobabClient, tree: str, unchanged: Unchanged
) -> None:
    member = client.as_user("member")
    async with unchanged(tree, f"{tree}/news"), member:
        for params, parameter in BAD:
            for who in (client, member):
                resp = await who.get(f"{tree}/@search", params=params)
                body = assert_envelope(resp, 400)
                assert parameter in str(body), (params, body)


async def test_a_path_is_not_a_prefix_of_its_siblings(client: BaobabClient, site: str) -> None:
    """``/a`` holds ``/a/…``, never ``/a2``, ``/a-b`` or ``/a.b`` (neighbours in path order)."""
    for name in ("a", "a2", "a-b", "a.b", "a0"):
        folder = await add(client, site, "Folder", name)
        await add(client, folder, "Document", "child")
    below = {"path.query": "/a"}
    assert await found(client, site, below) == {"a", "child"}
    body = await search(client, site, {**below, "path.depth": "1"})
    assert [item["@id"] for item in body["items"]] == [f"http://baobab.test{site}/a/child"]
    body = await search(client, site, {**below, "path.depth": "2", "sort_on": "path"})
    assert [item["@id"] for item in body["items"]] == [
        f"http://baobab.test{site}/a",
        f"http://baobab.test{site}/a/child",
    ]
    assert await found(client, site, {"path.query": "/a-b", "path.depth": "0"}) == {"a-b"}
    assert (await client.delete(f"{site}/a")).status_code == 204
    assert await found(client, site, {"path.depth": "1"}) == {"a2", "a-b", "a.b", "a0"}
    assert (await search(client, site, {"portal_type": "Document"}))["items_total"] == 4

"""``@querystring`` and ``@querystring-search`` end to end: every operation against content
made through the API, sorting, limits and batches, what a member may see, and criteria that
cannot run answered 400 naming them."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any
from urllib.parse import quote

from baobab.catalog.querystring import OPERATIONS, PREFIX, parse_criteria
from baobab.catalog.store import date_key
from baobab.testing import BaobabClient, add, assert_envelope, share

NOW = dt.datetime.now(dt.UTC)


def iso(moment: dt.datetime) -> str:
    return moment.replace(microsecond=0).isoformat()


def op(name: str) -> str:
    return PREFIX + name


async def world(client: BaobabClient, site: str) -> dict[str, str]:
    """site/news (Folder, published) with n1, n2 (Documents) and sub/deep; site/about
    (private); site/mine (the contributor's). Every document has an effective date."""
    news = await add(client, site, "Folder", "news", title="News")
    n1 = await add(
        client,
        news,
        "Document",
        "n1",
        title="Alpha",
        subjects=["a", "b"],
        effective="2020-01-10T12:00:00Z",
        text="baobab forest",
    )
    n2 = await add(
        client,
        news,
        "Document",
        "n2",
        title="Beta",
        subjects=["b"],
        effective=iso(NOW - dt.timedelta(days=5)),
    )
    sub = await add(client, news, "Folder", "sub", title="Sub")
    deep = await add(
        client, sub, "Document", "deep", title="Deep", effective=iso(NOW - dt.timedelta(minutes=2))
    )
    about = await add(
        client,
        site,
        "Document",
        "about",
        title="Gamma",
        subjects=["c"],
        effective=iso(NOW + dt.timedelta(days=3)),
        expires=iso(NOW + dt.timedelta(days=10)),
    )
    for path in (news, n1, n2):
        resp = await client.post(f"{path}/@workflow/publish")
        assert resp.status_code == 200, resp.text
    contributor = client.as_user("contributor")
    mine = await add(
        contributor,
        site,
        "Document",
        "mine",
        title="Delta",
        effective=iso(NOW - dt.timedelta(days=400)),
    )
    return {
        "news": news,
        "n1": n1,
        "n2": n2,
        "sub": sub,
        "deep": deep,
        "about": about,
        "mine": mine,
    }


async def search(client: BaobabClient, path: str, *criteria: dict[str, Any], **body: Any) -> Any:
    resp = await client.post(f"{path}/@querystring-search", json={"query": list(criteria), **body})
    assert resp.status_code == 200, resp.text
    return resp.json()


async def names(
    client: BaobabClient, path: str, *criteria: dict[str, Any], **body: Any
) -> list[str]:
    found = await search(client, path, *criteria, **body)
    ids = [item["@id"].rsplit("/", 1)[1] for item in found["items"]]
    return ids if "sort_on" in body else sorted(ids)


def row(i: str, o: str, v: Any = None) -> dict[str, Any]:
    return {"i": i, "o": op(o)} if v is None else {"i": i, "o": op(o), "v": v}


DOCS = row("portal_type", "selection.any", ["Document"])


async def test_selection_and_string_operations(client: BaobabClient, site: str) -> None:
    await world(client, site)
    assert await names(client, site, DOCS) == ["about", "deep", "mine", "n1", "n2"]
    assert await names(client, site, row("portal_type", "selection.any", "Folder")) == [
        "news",
        "sub",
    ]
    assert await names(client, site, row("portal_type", "selection.is", ["Folder"])) == [
        "news",
        "sub",
    ]
    assert await names(
        client, site, row("portal_type", "selection.none", ["Document", "Container"])
    ) == ["news", "sub"]
    assert await names(client, site, DOCS, row("review_state", "selection.any", ["published"])) == [
        "n1",
        "n2",
    ]
    assert await names(client, site, row("Subject", "selection.any", ["a", "c"])) == ["about", "n1"]
    assert await names(client, site, row("Subject", "selection.all", ["a", "b"])) == ["n1"]
    # on a field index (one value per object): all of one value is that value, of two none
    all_docs = row("portal_type", "selection.all", ["Document"])
    assert await names(client, site, all_docs) == ["about", "deep", "mine", "n1", "n2"]
    assert (
        await names(client, site, row("portal_type", "selection.all", ["Document", "Folder"])) == []
    )
    # the same through @search's operator=and (was a 500: a field index has no applyAll)
    resp = await client.get(
        f"{site}/@search", params={"portal_type": "Folder", "portal_type.operator": "and"}
    )
    assert sorted(i["id"] for i in resp.json()["items"]) == ["news", "sub"]
    assert await names(client, site, row("Subject", "list.contains", ["b"])) == ["n1", "n2"]
    assert await names(client, site, DOCS, row("Subject", "selection.none", ["b"])) == [
        "about",
        "deep",
        "mine",
    ]
    assert await names(client, site, row("getId", "string.is", "n2")) == ["n2"]
    assert await names(client, site, DOCS, row("getId", "string.isNot", "n2")) == [
        "about",
        "deep",
        "mine",
        "n1",
    ]
    assert await names(client, site, row("SearchableText", "string.contains", "forest")) == ["n1"]
    # on a field index, "contains" is equality, as in Plone
    assert await names(client, site, row("sortable_title", "string.contains", "beta")) == ["n2"]
    # an empty selection is no condition (Plone's catalog ignores an empty query)
    assert await names(client, site, DOCS, row("Subject", "selection.any", [])) == [
        "about",
        "deep",
        "mine",
        "n1",
        "n2",
    ]
    # rows on different indexes combine with AND
    assert await names(
        client, site, DOCS, row("Subject", "selection.any", ["b"]), row("getId", "string.is", "n2")
    ) == ["n2"]


async def test_current_user_int_and_boolean(client: BaobabClient, site: str) -> None:
    await world(client, site)
    creator = row("Creator", "string.currentUser")
    assert await names(client.as_user("contributor"), site, creator) == ["mine"]
    assert "mine" not in await names(client, site, creator)
    assert await names(client.as_user(None), site, creator) == []  # anonymous: nobody's
    assert await names(client, site, row("Creator", "selection.any", ["contributor"])) == ["mine"]
    news = f"{site}/news"
    in_news = row("path", "string.absolutePath", "/news::1")
    # positions are keys with gaps (content/ordering.py): positive, increasing in order
    pos = "getObjPositionInParent"
    assert await names(client, site, in_news, row(pos, "int.largerThan", 0)) == ["n1", "n2", "sub"]
    assert await names(client, site, in_news, row(pos, "int.lessThan", "0")) == []
    assert await names(client, site, in_news, row(pos, "int.is", ["0", "7"])) == []
    assert await names(client, site, in_news, row(pos, "int.largerThan", 2**62)) == []
    assert await names(client, news, row("is_folderish", "boolean.isTrue")) == [
        "sub"
    ]  # not news: the context
    assert await names(client, site, in_news, row("is_folderish", "boolean.isFalse")) == [
        "n1",
        "n2",
    ]


async def test_date_operations(client: BaobabClient, site: str) -> None:
    await world(client, site)
    eff = "effective"

    async def dates(o: str, v: Any = None) -> list[str]:
        return await names(client, site, DOCS, row(eff, o, v))

    # effective: mine -400 days, n1 2020-01-10, n2 -5 days, deep now, about +3 days
    assert await dates("date.lessThan", "2020/01/11") == ["n1"]
    assert await dates("date.largerThan", iso(NOW - dt.timedelta(days=6))) == [
        "about",
        "deep",
        "n2",
    ]
    assert await dates("date.between", ["2020-01-01", iso(NOW - dt.timedelta(days=1))]) == [
        "mine",
        "n1",
        "n2",
    ]
    assert await dates("date.between", [iso(NOW - dt.timedelta(days=6)), ""]) == [
        "deep",
        "n2",
    ]  # no end: now
    assert await dates("date.between", [iso(NOW + dt.timedelta(days=4)), ""]) == [
        "about"
    ]  # Plone sorts the pair
    assert await dates("date.today") == ["deep"]
    assert await dates("date.beforeToday") == ["deep", "mine", "n1", "n2"]  # before now, as Plone
    assert await dates("date.afterToday") == ["about"]
    assert await dates("date.lessThanRelativeDate", 5) == [
        "about",
        "deep",
    ]  # within the next 5 days
    assert await dates("date.lessThanRelativeDate", "2") == ["deep"]
    assert await dates("date.largerThanRelativeDate", 7) == ["deep", "n2"]  # within the last 7 days
    assert await dates("date.beforeRelativeDate", 3) == ["mine", "n1", "n2"]  # before 3 days ago
    assert await dates("date.afterRelativeDate", 1) == ["about"]  # from tomorrow on
    assert await dates("date.afterRelativeDate", -500) == ["about", "deep", "mine", "n2"]
    # expires: only about has one; the others never expire
    assert await names(client, site, DOCS, row("expires", "date.lessThanRelativeDate", 30)) == [
        "about"
    ]
    # server-kept dates: everything was created today
    assert await names(client, site, DOCS, row("created", "date.today")) == [
        "about",
        "deep",
        "mine",
        "n1",
        "n2",
    ]
    assert await names(client, site, DOCS, row("modified", "date.beforeRelativeDate", 1)) == []
    # two rows on one date index intersect (Plone merges them into one range)
    assert await names(
        client,
        site,
        DOCS,
        row(eff, "date.largerThan", "2020-01-01"),
        row(eff, "date.lessThan", iso(NOW - dt.timedelta(days=1))),
    ) == ["mine", "n1", "n2"]


async def test_paths(client: BaobabClient, site: str) -> None:
    w = await world(client, site)
    assert await names(client, site, row("path", "string.absolutePath", "/news")) == [
        "deep",
        "n1",
        "n2",
        "news",
        "sub",
    ]
    assert await names(client, site, row("path", "string.absolutePath", f"{site}/news::1")) == [
        "n1",
        "n2",
        "sub",
    ]
    assert await names(client, site, row("path", "string.absolutePath", "/news/sub::0")) == ["sub"]
    assert await names(client, site, row("path", "string.path", "/news/sub")) == ["deep", "sub"]
    # several path rows: either place (the first row's depth holds for all, as in Plone)
    assert await names(
        client,
        site,
        row("path", "string.absolutePath", "/news/sub"),
        row("path", "string.absolutePath", "/about::0"),
    ) == ["about", "deep", "sub"]
    uid = (await client.get(w["sub"])).json()["UID"]
    assert await names(client, site, row("path", "string.absolutePath", uid)) == ["deep", "sub"]
    unknown = row("path", "string.absolutePath", "0" * 32)  # a UID nobody has
    assert await names(client, site, unknown) == []
    # several path rows are "or": an unknown UID in one does not empty the others
    assert await names(client, site, unknown, row("path", "string.path", uid)) == ["deep", "sub"]
    assert await names(client, site, row("UID", "selection.any", [uid])) == ["sub"]
    # relative to the context (which is never in its own results)
    n1 = w["n1"]
    assert await names(client, n1, row("path", "string.relativePath", "..::1")) == ["n2", "sub"]
    assert await names(client, n1, row("path", "string.relativePath", "../sub")) == ["deep", "sub"]
    assert await names(client, n1, row("path", "string.relativePath", "../../about")) == ["about"]
    assert await names(client, n1, row("path", "string.relativePath", "../nothing::1")) == [
        "n2",
        "sub",
    ]
    # '..' stops at the container
    assert await names(client, w["news"], row("path", "string.relativePath", "../../../..::1")) == [
        "about",
        "mine",
    ]
    assert await names(client, w["sub"], row("path", "string.relativePath", ".")) == ["deep"]
    # without a path row: the whole container, less the context
    assert await names(client, w["about"], DOCS) == ["deep", "mine", "n1", "n2"]


async def test_sort_limit_batches_and_what_is_shown(client: BaobabClient, site: str) -> None:
    await world(client, site)
    by_title = {"sort_on": "sortable_title"}
    assert await names(client, site, DOCS, **by_title) == ["n1", "n2", "deep", "mine", "about"]
    assert await names(client, site, DOCS, **by_title, sort_order="descending") == [
        "about",
        "mine",
        "deep",
        "n2",
        "n1",
    ]
    assert await names(client, site, DOCS, sort_on="effective", sort_order="ascending") == [
        "n1",
        "mine",
        "n2",
        "deep",
        "about",
    ]
    limited = await search(client, site, DOCS, **by_title, limit=3)
    assert limited["items_total"] == 3 and len(limited["items"]) == 3
    page = await search(client, site, DOCS, **by_title, b_start=2, b_size=2)
    assert [i["title"] for i in page["items"]] == ["Deep", "Delta"]
    assert page["items_total"] == 5
    assert set(page["batching"]) == {"@id", "first", "last", "next", "prev"}
    assert page["batching"]["last"].endswith("b_start=4&b_size=2")
    shown = await search(
        client, site, row("getId", "string.is", "n1"), metadata_fields=["Subject", "effective"]
    )
    (item,) = shown["items"]
    assert item["Subject"] == ["a", "b"] and item["effective"].startswith("2020-01-10T12:00")
    assert {"@id", "@type", "title", "description", "review_state"} <= set(item)
    full = await search(client, site, row("getId", "string.is", "n1"), fullobjects=True)
    assert full["items"][0]["title"] == "Alpha" and "text" in full["items"][0]
    # the GET form: the JSON in ?query=, batching links that work
    body = {"query": [DOCS], "sort_on": "sortable_title", "b_size": 2}
    resp = await client.get(f"{site}/@querystring-search?query={quote(quote(json.dumps(body)))}")
    assert resp.status_code == 200, resp.text
    first = resp.json()
    assert [i["title"] for i in first["items"]] == ["Alpha", "Beta"] and first["items_total"] == 5
    nxt = await client.get(first["batching"]["next"])
    assert [i["title"] for i in nxt.json()["items"]] == ["Deep", "Delta"]


async def test_results_are_what_the_caller_may_view(client: BaobabClient, site: str) -> None:
    await world(client, site)
    member = client.as_user("member")
    assert await names(member, site, DOCS) == ["n1", "n2"]
    assert await names(client.as_user(None), site, DOCS) == ["n1", "n2"]
    await share(client, f"{site}/about", "member", "baobab.Reader")
    # about is not effective yet: searches leave it out for all but who may see inactive
    # content (docs/catalog.md, "Inactive content")
    assert await names(member, site, DOCS) == ["n1", "n2"]
    resp = await client.patch(f"{site}/about", json={"effective": iso(NOW)})
    assert resp.status_code == 204, resp.text
    assert await names(member, site, DOCS) == ["about", "n1", "n2"]
    # asking for a state does not widen what is seen: the one private document shared
    assert await names(member, site, row("review_state", "selection.any", ["private"])) == ["about"]
    # no criterion on the security index
    resp = await member.post(
        f"{site}/@querystring-search",
        json={"query": [row("allowedRolesAndUsers", "selection.any", ["Anonymous"])]},
    )
    assert assert_envelope(resp, 400)["details"]["parameter"] == "query[0].i"


BAD: list[tuple[Any, str]] = [
    ({}, "query"),
    ({"query": []}, "query"),
    ({"query": "portal_type"}, "query"),
    ({"query": [DOCS, "x"]}, "query[1]"),
    ({"query": [DOCS, {"i": "nosuch", "o": op("selection.any"), "v": ["x"]}]}, "query[1].i"),
    ({"query": [{"i": "portal_type", "o": "nosuch", "v": ["x"]}]}, "query[0].o"),
    ({"query": [{"i": "portal_type", "o": op("string.showInactive"), "v": ["x"]}]}, "query[0].o"),
    ({"query": [row("effective", "selection.any", ["x"])]}, "query[0].o"),  # not a date operation
    ({"query": [row("portal_type", "date.today")]}, "query[0].o"),
    ({"query": [{"i": "getId", "o": op("string.is"), "v": "x", "w": 1}]}, "query[0].w"),
    ({"query": [row("getId", "string.is", ["a", "b"])]}, "query[0].v"),  # a list for a string
    ({"query": [row("portal_type", "selection.any", [1])]}, "query[0].v[0]"),
    ({"query": [row("portal_type", "selection.any", {"a": 1})]}, "query[0].v"),
    ({"query": [DOCS, DOCS, row("effective", "date.lessThan", "yesterday")]}, "query[2].v"),
    ({"query": [row("effective", "date.lessThan", ["2020-01-01"])]}, "query[0].v"),
    ({"query": [row("effective", "date.between", ["2020-01-01"])]}, "query[0].v"),
    ({"query": [row("effective", "date.between", ["2020-13-01", ""])]}, "query[0].v[0]"),
    ({"query": [row("effective", "date.lessThanRelativeDate", "soon")]}, "query[0].v"),
    ({"query": [row("effective", "date.lessThanRelativeDate", 1.5)]}, "query[0].v"),
    ({"query": [row("getObjPositionInParent", "int.is", "one")]}, "query[0].v"),
    ({"query": [row("getObjPositionInParent", "int.lessThan", [1])]}, "query[0].v"),
    ({"query": [row("SearchableText", "string.contains", "!!!")]}, "query[0].v"),
    ({"query": [row("path", "string.absolutePath", "/news::deep")]}, "query[0].v"),
    ({"query": [row("path", "string.absolutePath", ["/news"])]}, "query[0].v"),
    ({"query": [DOCS], "sort_on": "SearchableText"}, "sort_on"),
    ({"query": [DOCS], "sort_order": "sideways"}, "sort_order"),
    ({"query": [DOCS], "sort_order": ["descending"]}, "sort_order"),
    ({"query": [DOCS], "sort_on": ["sortable_title"]}, "sort_on"),
    ({"query": [DOCS], "b_size": 100_000}, "b_size"),
    ({"query": [DOCS], "b_size": 0}, "b_size"),
    ({"query": [DOCS], "b_start": -1}, "b_start"),
    ({"query": [DOCS], "b_start": "x"}, "b_start"),
    ({"query": [DOCS], "limit": -3}, "limit"),
    ({"query": [DOCS], "metadata_fields": ["nope"]}, "metadata_fields"),
    ({"query": [DOCS], "fullobjects": "perhaps"}, "fullobjects"),
    ({"query": [DOCS], "surprise": 1}, "surprise"),
    ([DOCS], "query"),
]


async def test_bad_criteria_are_400_naming_them(
    client: BaobabClient, site: str, unchanged: Any
) -> None:
    await add(client, site, "Folder", "news")
    async with unchanged(site):
        for body, parameter in BAD:
            resp = await client.post(f"{site}/@querystring-search", json=body)
            details = assert_envelope(resp, 400, "InvalidQuery")["details"]
            assert details["parameter"] == parameter, (body, resp.json())
        for query in ("", "%7Bnot json", quote(json.dumps({"query": [row("x", "y")]}))):
            resp = await client.get(f"{site}/@querystring-search?query={query}")
            assert assert_envelope(resp, 400, "InvalidQuery")["details"]["parameter"].startswith(
                "query"
            )


async def test_querystring_describes_the_query_builder(client: BaobabClient, site: str) -> None:
    folder = await add(client, site, "Folder", "news")
    resp = await client.get(f"{folder}/@querystring")
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert set(body) == {"@id", "indexes", "sortable_indexes"}
    assert body["@id"].endswith("/db/site/news/@querystring")
    indexes = body["indexes"]
    assert "allowedRolesAndUsers" not in indexes and "UID" not in indexes
    for name, entry in indexes.items():
        assert set(entry) == {
            "title",
            "description",
            "group",
            "enabled",
            "sortable",
            "operations",
            "operators",
            "vocabulary",
            "fetch_vocabulary",
            "values",
        }, name
        assert entry["operations"] and set(entry["operators"]) == set(entry["operations"])
        for o in entry["operations"]:
            assert o in OPERATIONS
            assert set(entry["operators"][o]) == {"title", "description", "operation", "widget"}
    assert indexes["portal_type"]["values"]["Document"] == {"title": "Document"}
    assert indexes["review_state"]["values"]["published"] == {"title": "Published [published]"}
    assert indexes["review_state"]["vocabulary"] == "plone.app.vocabularies.WorkflowStates"
    assert op("date.lessThanRelativeDate") in indexes["effective"]["operations"]
    assert indexes["path"]["operations"] == [
        op("string.absolutePath"),
        op("string.path"),
        op("string.relativePath"),
    ]
    assert indexes["Creator"]["operators"][op("string.currentUser")]["widget"] is None
    assert indexes["created"]["sortable"] and not indexes["SearchableText"]["sortable"]
    assert set(body["sortable_indexes"]) == {n for n, e in indexes.items() if e["sortable"]}
    # every listed operation runs (none is advertised and then refused)
    doc = await add(client, folder, "Document", "doc", title="Doc")
    samples = {"date": "2020-01-01", "int": 1, "path": "/news", "text": "doc"}
    for name, entry in indexes.items():
        for o in entry["operations"]:
            kind = (
                "date"
                if entry["group"] == "Dates"
                else "int"
                if name == "getObjPositionInParent"
                else "path"
                if name == "path"
                else "text"
                if name == "SearchableText"
                else None
            )
            v: Any = samples.get(kind or "", ["x"] if "selection" in o else "x")
            if o.endswith(("RelativeDate",)):
                v = 2
            elif o.endswith("between"):
                v = ["2020-01-01", "2030-01-01"]
            resp = await client.post(
                f"{doc}/@querystring-search", json={"query": [{"i": name, "o": o, "v": v}]}
            )
            assert resp.status_code == 200, (name, o, resp.text)
    # anywhere in a container, not above
    assert (await client.get(f"{doc}/@querystring")).status_code == 200
    assert (await client.get("/db/@querystring")).status_code == 404


async def test_relative_dates_are_whole_utc_days(baobab_app: Any) -> None:
    """The windows each date operation computes from a fixed now (2026-03-10 15:30 UTC), in
    the index's minutes: "today" and the relative days run from 00:00 to 23:59 UTC."""
    assert baobab_app.state is not None
    registry = baobab_app.state.registry
    now = dt.datetime(2026, 3, 10, 15, 30, tzinfo=dt.UTC)

    def window(o: str, v: Any = None) -> tuple[int | None, int | None]:
        search = parse_criteria(
            [row("effective", o, v)], registry, catalog=None, context=None, container=None,
            user_id=None, now=now,
        )  # fmt: skip
        (term,) = search.terms
        assert term.op == "range"
        return term.low, term.high

    def at(*parts: int) -> int:
        return date_key(dt.datetime(*parts, tzinfo=dt.UTC))  # type: ignore[misc]

    assert window("date.today") == (at(2026, 3, 10), at(2026, 3, 10, 23, 59))
    assert window("date.beforeToday") == (None, at(2026, 3, 10, 15, 30))
    assert window("date.afterToday") == (at(2026, 3, 10, 15, 30), None)
    assert window("date.lessThanRelativeDate", 2) == (at(2026, 3, 10), at(2026, 3, 12, 23, 59))
    assert window("date.largerThanRelativeDate", "2") == (at(2026, 3, 8), at(2026, 3, 10, 23, 59))
    assert window("date.beforeRelativeDate", 2) == (None, at(2026, 3, 8))
    assert window("date.afterRelativeDate", 2) == (at(2026, 3, 12), None)
    assert window("date.afterRelativeDate", -2) == (at(2026, 3, 8), None)
    assert window("date.lessThan", "2026/03/01") == (None, at(2026, 3, 1))
    assert window("date.largerThan", "2026-03-01T12:00:00+02:00") == (at(2026, 3, 1, 10), None)
    assert window("date.between", ["2026-03-20", "2026-03-01"]) == (at(2026, 3, 1), at(2026, 3, 20))
    assert window("date.between", ["", ""]) == (None, at(2026, 3, 10, 15, 30))

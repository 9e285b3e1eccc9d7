"""plone.restapi's documented examples for ``@search``, ``@querystring`` and
``@querystring-search``, replayed on Baobab.

The examples are plone.restapi's ``src/plone/restapi/tests/http-examples/*.req`` and
``*.resp`` (made by its ``tests/test_documentation.py``; plone.restapi is GPLv2, so the files
are not copied here: each test names the file it replays, and the expected shapes below are
written from reading them). Each test builds the content the example assumes (``/plone``
becomes the test site), sends the same request, and compares the *shape* of the answer: the
keys, the value types, the batching keys, what ``items_total`` counts. Where Baobab differs on
purpose, the test asserts what Baobab does and says why.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from baobab.catalog.querystring import PREFIX
from baobab.testing import BaobabClient, add, assert_envelope

# the summary of a result in every search example (search.resp, querystringsearch_post.resp …)
PLONE_SUMMARY = {"@id", "@type", "description", "review_state", "title", "type_title"}
# Baobab's summary: no type_title (the type's title is one GET @types away, and a summary is
# built from catalog metadata alone); id, UID and is_folderish added, so a client can address,
# compare and open a result without loading it
BAOBAB_SUMMARY = PLONE_SUMMARY - {"type_title"} | {"id", "UID", "is_folderish"}


def assert_summary(item: dict[str, Any], extra: frozenset[str] = frozenset()) -> None:
    assert set(item) == BAOBAB_SUMMARY | extra, item
    assert all(isinstance(item[k], str) for k in ("@id", "@type", "description", "title", "id"))
    assert isinstance(item["review_state"], str | None)
    assert isinstance(item["is_folderish"], bool)


def assert_listing(body: dict[str, Any], total: int) -> None:
    # {"@id", "items", "items_total"}, and "batching" only when there is more than one page
    assert set(body) == {"@id", "items", "items_total"}, body
    assert isinstance(body["items"], list) and body["items_total"] == total
    assert len(body["items"]) == total  # one page: items_total counts every match


async def test_search(client: BaobabClient, site: str) -> None:
    """search.req: ``GET /plone/@search?sort_on=path`` on a fresh site answers the site and
    its front page, in path order, items_total 2."""
    await add(
        client,
        site,
        "Document",
        "front-page",
        title="Welcome to Plone",
        description="Congratulations! You have successfully installed Plone.",
    )
    resp = await client.get(f"{site}/@search", params={"sort_on": "path"})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    # Baobab's catalog holds a container's content, not the container itself (it is the
    # catalog's owner, and its own GET describes it): one item where Plone lists two
    assert_listing(body, 1)
    assert body["@id"] == f"{client.base_url}{site}/@search"
    (item,) = body["items"]
    assert_summary(item)
    assert item["@id"].endswith(f"{site}/front-page")
    assert (item["@type"], item["review_state"], item["title"]) == (
        "Document",
        "private",
        "Welcome to Plone",
    )
    assert item["description"] == "Congratulations! You have successfully installed Plone."


async def test_search_options(client: BaobabClient, site: str) -> None:
    """search_options.req: ``path.query=/plone/folder1&path.depth=1`` answers folder1's
    child folder2 only (not folder1)."""
    folder1 = await add(client, site, "Folder", "folder1", title="Folder 1")
    await add(client, folder1, "Folder", "folder2", title="Folder 2")
    params = {"sort_on": "path", "path.query": folder1, "path.depth": "1"}
    body = (await client.get(f"{site}/@search", params=params)).json()
    assert_listing(body, 1)
    (item,) = body["items"]
    assert_summary(item)
    assert item["@id"].endswith(f"{folder1}/folder2") and item["title"] == "Folder 2"
    assert item["@type"] == "Folder" and item["is_folderish"] is True


async def test_search_multiple_paths(client: BaobabClient, site: str) -> None:
    """search_multiple_paths.req: two ``path.query`` with ``path.depth=2`` answer, in path
    order, folder1, folder1/doc1, folder2, folder2/doc2 (items_total 4)."""
    folder1 = await add(client, site, "Folder", "folder1", title="Folder 1")
    await add(client, folder1, "Document", "doc1", title="Lorem Ipsum")
    folder2 = await add(client, site, "Folder", "folder2", title="Folder 2")
    await add(client, folder2, "Document", "doc2", title="Lorem Ipsum")
    params = [("sort_on", "path"), ("path.query", folder1), ("path.query", folder2)]
    body = (await client.get(f"{site}/@search", params=[*params, ("path.depth", "2")])).json()
    # Plone's ExtendedPathIndex answers depth=1 from its parents table (the children only)
    # and depth>=2 by levels (the folder itself included); Baobab answers the same
    assert_listing(body, 4)
    assert [i["@id"].rsplit("/", 2)[1:] for i in body["items"]] == [
        [site.rsplit("/", 1)[1], "folder1"],
        ["folder1", "doc1"],
        [site.rsplit("/", 1)[1], "folder2"],
        ["folder2", "doc2"],
    ]
    for item in body["items"]:
        assert_summary(item)
    body = (await client.get(f"{site}/@search", params=params)).json()
    assert [i["title"] for i in body["items"]] == [
        "Folder 1",
        "Lorem Ipsum",
        "Folder 2",
        "Lorem Ipsum",
    ]
    assert body["items_total"] == 4


async def test_search_sort_multiple_indexes(client: BaobabClient, site: str) -> None:
    """search_sort_multiple_indexes.req: ``sort_on=portal_type&sort_on=sortable_title``
    sorts by type, then title, in Plone."""
    for type_, id_, title in [
        ("Folder", "folder1", "Folder 1"),
        ("Document", "doc1", "Lorem Ipsum"),
        ("Folder", "folder2", "Folder 2"),
        ("Document", "doc2", "Lorem Ipsum"),
    ]:
        await add(client, site, type_, id_, title=title)
    resp = await client.get(
        f"{site}/@search", params=[("sort_on", "portal_type"), ("sort_on", "sortable_title")]
    )
    # Baobab sorts on one index (hypatia's sort is one index's order); a second sort_on is
    # refused rather than silently dropped
    assert assert_envelope(resp, 400, "InvalidQuery")["details"]["parameter"] == "sort_on"
    body = (await client.get(f"{site}/@search", params={"sort_on": "portal_type"})).json()
    assert_listing(body, 4)
    assert [i["@type"] for i in body["items"]] == ["Document", "Document", "Folder", "Folder"]


async def test_search_metadata_fields(client: BaobabClient, site: str) -> None:
    """search_metadata_fields.req: ``metadata_fields=modified&metadata_fields=created`` adds
    the two dates (ISO 8601 strings) to the summary."""
    await add(client, site, "Document", "doc1", title="Lorem Ipsum")
    params = [("SearchableText", "lorem"), ("metadata_fields", "modified")]
    body = (
        await client.get(f"{site}/@search", params=[*params, ("metadata_fields", "created")])
    ).json()
    assert_listing(body, 1)
    (item,) = body["items"]
    assert_summary(item, frozenset({"created", "modified"}))
    assert item["title"] == "Lorem Ipsum"
    for name in ("created", "modified"):
        assert isinstance(item[name], str) and item[name][:4].isdigit() and "T" in item[name]


# the keys of the one item of search_fullobjects.resp (GET of the document, as Plone shows it)
PLONE_FULL = {
    "@components", "@id", "@type", "UID", "allow_discussion", "changeNote", "contributors",
    "created", "creators", "description", "effective", "exclude_from_nav", "expires", "id",
    "is_folderish", "language", "layout", "lock", "modified", "next_item", "parent",
    "previous_item", "relatedItems", "review_state", "rights", "subjects", "table_of_contents",
    "text", "title", "type_title", "version", "versioning_enabled", "working_copy",
    "working_copy_of",
}  # fmt: skip


async def test_search_fullobjects(client: BaobabClient, site: str) -> None:
    """search_fullobjects.req: ``fullobjects=1`` answers each result as its GET does."""
    doc = await add(client, site, "Document", "doc1", title="Lorem Ipsum")
    params = {"SearchableText": "lorem", "fullobjects": "1"}
    body = (await client.get(f"{site}/@search", params=params)).json()
    assert_listing(body, 1)
    (item,) = body["items"]
    assert item == (await client.get(doc)).json()  # exactly the object's GET
    # Baobab's document is a subset of Plone's: what it lacks are Plone features it does not
    # have (components, layouts, locking, versioning, working copies, discussion,
    # next/previous navigation, relations, type_title as in the summary)
    assert set(item) <= PLONE_FULL
    assert {
        "@id",
        "@type",
        "UID",
        "id",
        "title",
        "description",
        "created",
        "modified",
        "review_state",
        "creators",
        "parent",
        "text",
        "subjects",
    } <= set(item)
    assert item["creators"] == ["root"] and isinstance(item["parent"], dict)


FRONT = (
    "front-page",
    "Welcome to Plone",
    "Congratulations! You have successfully installed Plone.",
)
DOCUMENTS = {"query": [{"i": "portal_type", "o": PREFIX + "selection.any", "v": ["Document"]}]}


async def plone_site(client: BaobabClient, site: str) -> None:
    """What the querystring examples' fixture holds: the front page and a test document
    (and a folder, which the query leaves out)."""
    await add(client, site, "Document", FRONT[0], title=FRONT[1], description=FRONT[2])
    await add(client, site, "Document", "testdocument", title="Test Document")
    await add(client, site, "Folder", "folder", title="Folder")


def assert_two_documents(body: dict[str, Any]) -> None:
    assert_listing(body, 2)
    for item in body["items"]:
        assert_summary(item)
    # no sort_on: Plone answers in its catalog's order, Baobab in its docids' (random): the
    # same set
    found = {
        (i["@id"].rsplit("/", 1)[1], i["title"], i["description"], i["review_state"])
        for i in body["items"]
    }
    assert found == {(*FRONT, "private"), ("testdocument", "Test Document", "", "private")}


async def test_querystringsearch_post(client: BaobabClient, site: str) -> None:
    """querystringsearch_post.req: ``POST /plone/@querystring-search`` with one criterion,
    portal_type selection.any ["Document"]: two documents, items_total 2."""
    await plone_site(client, site)
    resp = await client.post(f"{site}/@querystring-search", json=DOCUMENTS)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["@id"] == f"{client.base_url}{site}/@querystring-search"
    assert_two_documents(body)


async def test_querystringsearch_get(client: BaobabClient, site: str) -> None:
    """querystringsearch_get.req: the same search as a GET, the body URL-encoded twice in
    ``?query=``; the answer's @id repeats the query string as sent."""
    await plone_site(client, site)
    # the example's body, byte for byte (note the space after "o":)
    text = (
        '{"query":[{"i":"portal_type","o": "plone.app.querystring.operation.selection.any",'
        '"v":["Document"]}]}'
    )
    target = f"{site}/@querystring-search?query={quote(quote(text, safe=''), safe='')}"
    # the start of the example's request line
    assert "?query=%257B%2522query%2522%253A%255B%257B%2522i%2522%253A%2522portal_type" in target
    resp = await client.get(target)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["@id"] == f"{client.base_url}{target}"
    assert_two_documents(body)


# the shape of one index in querystring_get.resp and querystring_get_contextual.resp
INDEX_KEYS = {
    "description",
    "enabled",
    "fetch_vocabulary",
    "group",
    "operations",
    "operators",
    "sortable",
    "title",
    "values",
    "vocabulary",
}
OPERATOR_KEYS = {"description", "operation", "title", "widget"}
# querystring_get.resp: each index Baobab has under the same name, and its operations
PLONE_OPERATIONS = {
    "Creator": ["string.currentUser", "selection.any", "selection.none"],
    "SearchableText": ["string.contains"],
    "Subject": ["selection.any", "selection.all", "selection.none"],
    "getId": ["string.is", "string.isNot"],
    "getObjPositionInParent": ["int.is", "int.lessThan", "int.largerThan"],
    "path": ["string.absolutePath", "string.path", "string.relativePath"],
    "portal_type": ["selection.any", "selection.none"],
    "review_state": ["selection.any", "selection.none"],
    "sortable_title": ["string.contains", "string.is", "string.isNot"],
    **{
        name: ["date.lessThan", "date.largerThan", "date.between", "date.lessThanRelativeDate",
               "date.largerThanRelativeDate", "date.today", "date.beforeToday",
               "date.afterToday", "date.beforeRelativeDate", "date.afterRelativeDate"]
        for name in ("created", "effective", "expires", "modified")
    },
}  # fmt: skip
# querystring_get.resp's indexes that Baobab has not: Title and Description (no title or
# description text index: SearchableText covers them), start/end (no event type),
# effectiveRange and show_inactive (no "inactive" filtering), getRawRelatedItems (no
# relations), isDefaultPage (no default pages); isFolderish is Baobab's is_folderish
PLONE_ONLY = {
    "Description",
    "Title",
    "effectiveRange",
    "end",
    "getRawRelatedItems",
    "isDefaultPage",
    "isFolderish",
    "show_inactive",
    "start",
}
# Baobab's own: Language (plone.app.multilingual's index name), id, is_folderish
BAOBAB_ONLY = {"Language", "id", "is_folderish"}
# operator definitions as querystring_get.resp shows them
PLONE_OPERATORS = {
    "selection.any": {"description": "Tip: you can use * to autocomplete.",
                      "operation": "plone.app.querystring.queryparser._contains",
                      "title": "Matches any of", "widget": "MultipleSelectionWidget"},
    "string.currentUser": {"description": "The user viewing the querystring results",
                           "operation": "plone.app.querystring.queryparser._currentUser",
                           "title": "Current logged in user", "widget": None},
    "string.contains": {"description": None,
                        "operation": "plone.app.querystring.queryparser._contains",
                        "title": "Contains", "widget": "StringWidget"},
    "string.relativePath": {"description": "Use '../' to navigate to parent objects.",
                            "operation": "plone.app.querystring.queryparser._relativePath",
                            "title": "Relative path", "widget": "RelativePathWidget"},
}  # fmt: skip


def assert_querystring(body: dict[str, Any]) -> None:
    assert set(body) == {"@id", "indexes", "sortable_indexes"}
    indexes = body["indexes"]
    assert set(indexes) == set(PLONE_OPERATIONS) | BAOBAB_ONLY
    assert not set(indexes) & PLONE_ONLY
    for name, entry in indexes.items():
        assert set(entry) == INDEX_KEYS, name
        assert isinstance(entry["title"], str) and isinstance(entry["enabled"], bool)
        assert set(entry["operators"]) == set(entry["operations"])
        for definition in entry["operators"].values():
            assert set(definition) == OPERATOR_KEYS
        assert all(set(v) == {"title"} for v in entry["values"].values())
    for name, operations in PLONE_OPERATIONS.items():
        assert indexes[name]["operations"] == [PREFIX + o for o in operations], name
    for name, definition in PLONE_OPERATORS.items():
        owner = next(e for e in indexes.values() if PREFIX + name in e["operators"])
        assert owner["operators"][PREFIX + name] == definition
    # the vocabulary-backed indexes list their values as {token: {"title"}}; review_state's
    # titles are "Title [id]" as in Plone
    assert indexes["portal_type"]["vocabulary"] == "plone.app.vocabularies.ReallyUserFriendlyTypes"
    assert {"Document", "Folder"} <= set(indexes["portal_type"]["values"])
    assert indexes["review_state"]["values"] == {
        "pending": {"title": "Pending review [pending]"},
        "private": {"title": "Private [private]"},
        "published": {"title": "Published [published]"},
    }
    # sortable: what Baobab's catalog can sort on (its field and date indexes, and path),
    # where Plone's registry marks some sortable indexes not sortable (portal_type, path)
    assert {
        "created",
        "modified",
        "effective",
        "expires",
        "getId",
        "sortable_title",
        "review_state",
        "Creator",
        "portal_type",
        "path",
    } <= set(body["sortable_indexes"])
    assert "SearchableText" not in body["sortable_indexes"]
    assert all(body["sortable_indexes"][n] == indexes[n] for n in body["sortable_indexes"])
    assert {n for n, e in indexes.items() if e["sortable"]} == set(body["sortable_indexes"])


async def test_querystring_get(client: BaobabClient, site: str) -> None:
    """querystring_get.req: ``GET /plone/@querystring``."""
    resp = await client.get(f"{site}/@querystring")
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["@id"] == f"{client.base_url}{site}/@querystring"
    assert_querystring(body)


async def test_querystring_get_contextual(client: BaobabClient, site: str) -> None:
    """querystring_get_contextual.req: ``GET /plone/front-page/@querystring``: the same
    description, its @id on the document."""
    page = await add(client, site, "Document", FRONT[0], title=FRONT[1])
    body = (await client.get(f"{page}/@querystring")).json()
    assert body["@id"] == f"{client.base_url}{page}/@querystring"
    assert_querystring(body)
    assert body["indexes"] == (await client.get(f"{site}/@querystring")).json()["indexes"]


async def test_querystringsearch_on_a_page_leaves_the_page_out(
    client: BaobabClient, site: str
) -> None:
    """plone.restapi's querystringsearch/get.py: on anything but the site root, the context
    itself is excluded (a listing block on a page does not list the page)."""
    await plone_site(client, site)
    body = (await client.post(f"{site}/front-page/@querystring-search", json=DOCUMENTS)).json()
    assert [i["@id"].rsplit("/", 1)[1] for i in body["items"]] == ["testdocument"]
    assert body["items_total"] == 1

"""Folder order (Plone's explicit ordering): children list in the order they were added, and
``PATCH {"ordering": {"obj_id", "delta", "subset_ids"}}`` moves one, as plone.restapi does.

The moves replay plone.restapi's own test (``tests/mixin_ordering.py``: nine documents, top,
bottom, ±n, then the same among ``subset_ids``). A principal who may not View a child cannot
name it (an unknown id, word for word) and counts places among the children it sees.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import transaction
from BTrees.OOBTree import OOBTree, OOTreeSet

from baobab.content import ordering
from baobab.testing import (
    BaobabClient,
    Unchanged,
    add,
    assert_envelope,
    share,
    update_sharing,
    without_request_id,
)

EDITOR = "baobab.Editor"
DOCS = [f"doc{n}" for n in range(1, 10)]


async def ids(client: BaobabClient, path: str, **params: Any) -> list[str]:
    resp = await client.get(path, params={"b_size": 1000, **params})
    assert resp.status_code == 200, resp.text
    return [item["id"] for item in resp.json()["items"]]


async def reorder(client: BaobabClient, path: str, **ordering_: Any) -> Any:
    return await client.patch(path, json={"ordering": ordering_})


async def folder_of_nine(client: BaobabClient, site: str) -> str:
    folder = await add(client, site, "Folder", "folder")
    for name in DOCS:
        await add(client, folder, "Document", name)
    return folder


async def test_children_list_in_the_order_they_were_added(client: BaobabClient, site: str) -> None:
    folder = await add(client, site, "Folder", "f")
    for name in ("zebra", "apple", "mango", "banana"):
        await add(client, folder, "Document", name)
    assert await ids(client, folder) == ["zebra", "apple", "mango", "banana"]
    await client.delete(f"{folder}/apple")
    await add(client, folder, "Document", "apple")  # back again: last
    assert await ids(client, folder) == ["zebra", "mango", "banana", "apple"]


async def test_plone_restapi_reorder_sequence(client: BaobabClient, site: str) -> None:
    """plone.restapi's ``test_reorder``, step by step, with its expected orders."""
    folder = await folder_of_nine(client, site)
    steps: list[tuple[dict[str, Any], str]] = [
        ({"delta": "top", "obj_id": "doc9"}, "9 1 2 3 4 5 6 7 8"),
        ({"delta": "bottom", "obj_id": "doc9"}, "1 2 3 4 5 6 7 8 9"),
        ({"delta": -2, "obj_id": "doc5"}, "1 2 5 3 4 6 7 8 9"),
        ({"delta": 2, "obj_id": "doc6"}, "1 2 5 3 4 7 8 6 9"),
        (
            {"delta": "top", "obj_id": "doc8", "subset_ids": ["doc2", "doc3", "doc8"]},
            "1 8 5 2 4 7 3 6 9",
        ),
        (
            {"delta": "bottom", "obj_id": "doc8", "subset_ids": ["doc8", "doc2", "doc3"]},
            "1 2 5 3 4 7 8 6 9",
        ),
        (
            {"delta": -1, "obj_id": "doc8", "subset_ids": ["doc2", "doc3", "doc8"]},
            "1 2 5 8 4 7 3 6 9",
        ),
        (
            {"delta": 1, "obj_id": "doc2", "subset_ids": ["doc2", "doc8", "doc3"]},
            "1 8 5 2 4 7 3 6 9",
        ),
    ]
    for body, expected in steps:
        resp = await reorder(client, folder, **body)
        assert resp.status_code == 204, (body, resp.text)
        assert await ids(client, folder) == [f"doc{n}" for n in expected.split()], body


async def test_deltas_past_the_ends_stop_there_and_no_move_is_no_error(
    client: BaobabClient, site: str
) -> None:
    folder = await folder_of_nine(client, site)
    assert (await reorder(client, folder, obj_id="doc3", delta=-100)).status_code == 204
    assert (await reorder(client, folder, obj_id="doc4", delta=10**6)).status_code == 204
    assert (await reorder(client, folder, obj_id="doc3", delta="top")).status_code == 204
    assert await ids(client, folder) == ["doc3", "doc1", "doc2", *DOCS[4:], "doc4"]


async def test_ordering_with_fields_and_representation(client: BaobabClient, site: str) -> None:
    folder = await folder_of_nine(client, site)
    before = (await client.get(folder)).json()["modified"]
    resp = await client.patch(
        folder,
        json={"title": "Sorted", "ordering": {"obj_id": "doc2", "delta": "bottom"}},
        headers={"Prefer": "return=representation"},
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["title"] == "Sorted"
    assert [item["id"] for item in body["items"]] == [d for d in DOCS if d != "doc2"] + ["doc2"]
    assert body["modified"] != before
    # a reorder alone changes no field, nor the modification date (as in Plone)
    resp = await reorder(client, folder, obj_id="doc2", delta="top")
    assert resp.status_code == 204
    after = (await client.get(folder)).json()
    assert after["modified"] == body["modified"] and after["items"][0]["id"] == "doc2"
    assert resp.headers["etag"] == (await client.get(folder)).headers["etag"]


async def test_subset_ids_out_of_the_servers_order_is_a_mismatch(
    client: BaobabClient, site: str, unchanged: Unchanged
) -> None:
    folder = await folder_of_nine(client, site)
    async with unchanged(folder):
        resp = await reorder(
            client, folder, obj_id="doc8", delta=1, subset_ids=["doc2", "doc8", "doc6"]
        )
        body = assert_envelope(resp, 400, "BadRequest")
        assert body["message"] == "Client/server ordering mismatch"
        assert body["details"][0]["field"] == "ordering.subset_ids"


BAD_ORDERINGS: list[tuple[Any, str]] = [
    ("top", "ordering"),
    ([], "ordering"),
    ({"delta": 1}, "ordering.obj_id"),
    ({"obj_id": "doc1", "delta": 1, "position": 2}, "ordering.position"),
    ({"obj_id": 3, "delta": 1}, "ordering.obj_id"),
    ({"obj_id": "", "delta": 1}, "ordering.obj_id"),
    ({"obj_id": "nope", "delta": 1}, "ordering.obj_id"),
    ({"obj_id": "doc1"}, "ordering.delta"),
    ({"obj_id": "doc1", "delta": 0}, "ordering.delta"),
    ({"obj_id": "doc1", "delta": True}, "ordering.delta"),
    ({"obj_id": "doc1", "delta": 1.5}, "ordering.delta"),
    ({"obj_id": "doc1", "delta": "up"}, "ordering.delta"),
    ({"obj_id": "doc1", "delta": "2"}, "ordering.delta"),
    ({"obj_id": "doc1", "delta": None}, "ordering.delta"),
    ({"obj_id": "doc1", "delta": 1, "subset_ids": "doc1"}, "ordering.subset_ids"),
    ({"obj_id": "doc1", "delta": 1, "subset_ids": ["doc1", 2]}, "ordering.subset_ids"),
    ({"obj_id": "doc1", "delta": 1, "subset_ids": ["doc1", "nope"]}, "ordering.subset_ids"),
    ({"obj_id": "doc1", "delta": 1, "subset_ids": ["doc1", "doc1"]}, "ordering.subset_ids"),
    ({"obj_id": "doc1", "delta": 1, "subset_ids": ["doc2", "doc3"]}, "ordering.subset_ids"),
]


@pytest.mark.parametrize(("value", "field"), BAD_ORDERINGS)
async def test_bad_ordering_is_a_400_naming_the_field(
    client: BaobabClient, site: str, unchanged: Unchanged, value: Any, field: str
) -> None:
    folder = await folder_of_nine(client, site)
    async with unchanged(folder):
        resp = await client.patch(folder, json={"title": "not kept", "ordering": value})
        body = assert_envelope(resp, 400, "BadRequest")
        assert [d["field"] for d in body["details"]] == [field], body


async def test_ordering_a_document_is_a_400(
    client: BaobabClient, site: str, unchanged: Unchanged
) -> None:
    doc = await add(client, site, "Document", "doc")
    async with unchanged(doc):
        resp = await reorder(client, doc, obj_id="x", delta=1)
        body = assert_envelope(resp, 400, "BadRequest")
        assert body["details"][0]["field"] == "ordering"


async def test_reordering_needs_modify_on_the_folder(
    client: BaobabClient, site: str, unchanged: Unchanged
) -> None:
    folder = await folder_of_nine(client, site)
    await share(client, folder, "member", "baobab.Reader")
    async with unchanged(folder), client.as_user("member") as member:
        assert await ids(member, folder) == DOCS
        resp = await reorder(member, folder, obj_id="doc2", delta="top")
        assert_envelope(resp, 403, "Forbidden")


@pytest.fixture
async def with_secret(client: BaobabClient, site: str) -> str:
    """``folder``: doc1 … doc9 with ``secret`` (after doc3) that member, Editor of the folder,
    may not View (it blocks inheritance)."""
    folder = await add(client, site, "Folder", "folder")
    for name in DOCS[:3]:
        await add(client, folder, "Document", name)
    secret = await add(client, folder, "Document", "secret")
    await update_sharing(client, secret, inherit=False)
    for name in DOCS[3:]:
        await add(client, folder, "Document", name)
    await share(client, folder, "member", EDITOR)
    return folder


async def test_a_hidden_child_is_unknown_to_ordering(
    client: BaobabClient, with_secret: str, unchanged: Unchanged
) -> None:
    folder = with_secret
    async with unchanged(folder), client.as_user("member") as member:
        assert await ids(member, folder) == DOCS
        hidden = await reorder(member, folder, obj_id="secret", delta="top")
        missing = await reorder(member, folder, obj_id="secreu", delta="top")
        assert hidden.status_code == missing.status_code == 400
        assert without_request_id(hidden.text).replace("secret", "secreu") == without_request_id(
            missing.text
        )
        subset = ["doc1", "secret", "doc4"]
        hidden = await reorder(member, folder, obj_id="doc1", delta=1, subset_ids=subset)
        subset[1] = "secreu"
        missing = await reorder(member, folder, obj_id="doc1", delta=1, subset_ids=subset)
        assert hidden.status_code == missing.status_code == 400
        assert without_request_id(hidden.text).replace("secret", "secreu") == without_request_id(
            missing.text
        )


async def test_places_are_counted_among_the_children_one_sees(
    client: BaobabClient, with_secret: str
) -> None:
    folder = with_secret
    async with client.as_user("member") as member:
        assert (await reorder(member, folder, obj_id="doc4", delta=-1)).status_code == 204
        # one place up among what member sees: above doc3, and so above the hidden secret
        assert await ids(member, folder) == ["doc1", "doc2", "doc4", "doc3", *DOCS[4:]]
        assert await ids(client, folder) == ["doc1", "doc2", "doc4", "doc3", "secret", *DOCS[4:]]
        assert (await reorder(member, folder, obj_id="doc3", delta=1)).status_code == 204
        assert await ids(member, folder) == ["doc1", "doc2", "doc4", "doc5", "doc3", *DOCS[5:]]
        resp = await reorder(member, folder, obj_id="doc9", delta="top")
        assert resp.status_code == 204
        assert (await ids(member, folder))[0] == "doc9"


async def test_pages_follow_the_order_and_skip_hidden_children(
    client: BaobabClient, with_secret: str
) -> None:
    folder = with_secret
    await reorder(client, folder, obj_id="secret", delta="top")
    await reorder(client, folder, obj_id="doc7", delta="top")
    await reorder(client, folder, obj_id="doc2", delta="bottom")
    every = ["doc7", "secret", "doc1", "doc3", "doc4", "doc5", "doc6", "doc8", "doc9", "doc2"]
    assert await ids(client, folder) == every
    seen = [name for name in every if name != "secret"]
    async with client.as_user("member") as member:
        pages, start = [], 0
        while True:
            resp = await member.get(folder, params={"b_start": start, "b_size": 4})
            body = resp.json()
            assert body["items_total"] == len(seen)
            pages.append([item["id"] for item in body["items"]])
            if "next" not in body.get("batching", {}):
                break
            start += 4
        assert pages == [seen[:4], seen[4:8], seen[8:]]
    resp = await client.get(folder, params={"b_start": 8, "b_size": 4})
    assert [item["id"] for item in resp.json()["items"]] == every[8:]


async def test_a_rename_keeps_the_place_a_move_goes_last(client: BaobabClient, site: str) -> None:
    folder = await folder_of_nine(client, site)
    other = await add(client, site, "Folder", "other")
    await add(client, other, "Document", "first")
    resp = await client.post(f"{folder}/doc4/@move", json={"new_id": "four"})
    assert resp.status_code == 200, resp.text
    assert await ids(client, folder) == [*DOCS[:3], "four", *DOCS[4:]]
    resp = await client.post(f"{folder}/doc2/@move", json={"destination": other})
    assert resp.status_code == 200, resp.text
    assert await ids(client, other) == ["first", "doc2"]
    # moved back under another id: last, not at its old place
    resp = await client.post(f"{other}/doc2/@move", json={"destination": folder, "new_id": "two"})
    assert resp.status_code == 200, resp.text
    assert await ids(client, folder) == ["doc1", "doc3", "four", *DOCS[4:], "two"]


async def test_a_copy_keeps_the_order_of_what_it_copies(
    client: BaobabClient, site: str, with_secret: str
) -> None:
    folder = with_secret
    await reorder(client, folder, obj_id="doc9", delta="top")
    await reorder(client, folder, obj_id="secret", delta="top")
    await reorder(client, folder, obj_id="doc1", delta=3)
    every = await ids(client, folder)
    assert every == ["secret", "doc9", "doc2", "doc3", "doc4", "doc1", *DOCS[4:8]]
    home = await add(client, site, "Folder", "home")
    await share(client, home, "member", "baobab.Contributor")
    resp = await client.post(f"{folder}/@copy", json={"destination": home})
    assert resp.status_code == 201, resp.text
    assert await ids(client, f"{home}/folder") == every
    async with client.as_user("member") as member:  # a filtered copy keeps it too
        resp = await member.post(f"{folder}/@copy", json={"destination": home, "new_id": "m"})
        assert resp.status_code == 201, resp.text
    assert await ids(client, f"{home}/m") == [n for n in every if n != "secret"]
    # the copy's order is its own
    await reorder(client, f"{home}/folder", obj_id="doc8", delta="top")
    assert await ids(client, folder) == every


async def test_moves_past_exhausted_gaps_respace_and_keep_the_order(
    client: BaobabClient, site: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a gap of 4 keys, two moves into one spot use it up: the neighbourhood (or the
    folder) is re-spaced, and the order stays exactly the model's."""
    monkeypatch.setattr(ordering, "GAP", 4)
    folder = await add(client, site, "Folder", "f")
    model = [f"d{n:02d}" for n in range(12)]
    for name in model:
        await add(client, folder, "Document", name)
    rng = random.Random(13)
    for _ in range(60):
        name = rng.choice(model)
        delta: Any = rng.choice(["top", "bottom", rng.choice([-3, -2, -1, 1, 2, 3])])
        assert (await reorder(client, folder, obj_id=name, delta=delta)).status_code == 204
        at = model.index(name)
        model.remove(name)
        to = {"top": 0, "bottom": len(model)}.get(delta)
        model.insert(to if to is not None else min(max(at + delta, 0), len(model)), name)
        assert await ids(client, folder) == model
    for name in model[:3]:  # the same spot again and again
        assert (await reorder(client, folder, obj_id=name, delta=5)).status_code == 204
        model.remove(name)
        model.insert(5, name)
    assert await ids(client, folder) == model


@contextmanager
def stored(db: Any) -> Iterator[Any]:
    """The database's site, in a transaction of the test's own, committed at the end."""
    manager = transaction.TransactionManager()
    conn = db.open(manager)
    try:
        manager.begin()
        yield conn.root()["baobab"]["site"]
        manager.commit()
    finally:
        manager.abort()
        conn.close()


def make_legacy(folder: Any) -> None:
    """Make ``folder`` as stored before order existed: no order structures, the security
    index by child id (``_visible``: token → ids)."""
    visible = OOBTree()
    for token, keys in folder._visible_at.items():
        visible[token] = OOTreeSet([folder._order[key] for key in keys])
    folder._visible = visible
    for name in ("_order", "_positions", "_visible_at"):
        delattr(folder, name)


async def test_a_folder_stored_before_order_lists_in_id_order_then_reorders(
    client: BaobabClient, site: str, db: Any
) -> None:
    folder = await add(client, site, "Folder", "old")
    for name in ("zebra", "apple", "mango", "banana"):
        await add(client, folder, "Document", name)
    await add(client, site, "Folder", "dest")
    secret = await add(client, folder, "Document", "secret")
    await update_sharing(client, secret, inherit=False)
    await share(client, folder, "member", EDITOR)
    with stored(db) as site_obj:
        make_legacy(site_obj["old"])
    with stored(db) as site_obj:
        assert site_obj["old"]._order is None  # the class default: nothing stored
    by_id = ["apple", "banana", "mango", "secret", "zebra"]
    assert await ids(client, folder) == by_id
    async with client.as_user("member") as member:
        assert await ids(member, folder) == [n for n in by_id if n != "secret"]
        resp = await member.get(folder, params={"b_start": 1, "b_size": 2})
        assert [item["id"] for item in resp.json()["items"]] == ["banana", "mango"]
        # its first write builds the order, in id order
        resp = await reorder(member, folder, obj_id="zebra", delta="top")
        assert resp.status_code == 204, resp.text
        assert await ids(member, folder) == ["zebra", "apple", "banana", "mango"]
        assert (await reorder(member, folder, obj_id="secret", delta=1)).status_code == 400
    assert await ids(client, folder) == ["zebra", "apple", "banana", "mango", "secret"]
    await add(client, folder, "Document", "aardvark")
    assert (await ids(client, folder))[-1] == "aardvark"
    with stored(db) as site_obj:
        old = site_obj["old"]
        assert old._order is not None
        assert "_visible" not in vars(old)  # the id-based index is gone


async def test_other_writes_to_an_old_folder_build_its_order(
    client: BaobabClient, site: str, db: Any
) -> None:
    folder = await add(client, site, "Folder", "old")
    for name in ("c", "a", "b"):
        await add(client, folder, "Document", name)
    with stored(db) as site_obj:
        make_legacy(site_obj["old"])
    await add(client, folder, "Document", "0")  # last, though first by id
    assert await ids(client, folder) == ["a", "b", "c", "0"]
    with stored(db) as site_obj:
        make_legacy(site_obj["old"])
    assert (await client.delete(f"{folder}/b")).status_code == 204
    assert await ids(client, folder) == ["0", "a", "c"]
    with stored(db) as site_obj:
        make_legacy(site_obj["old"])
    resp = await client.post(f"{folder}/a/@move", json={"new_id": "z"})
    assert resp.status_code == 200
    assert await ids(client, folder) == ["0", "z", "c"]  # a rename keeps its (id-order) place


async def test_unknown_query_parameters_on_get_are_a_400(client: BaobabClient, site: str) -> None:
    folder = await folder_of_nine(client, site)
    for path in (folder, f"{folder}/doc1", "/db"):
        resp = await client.get(path, params={"sort_on": "getObjPositionInParent"})
        body = assert_envelope(resp, 400, "BadRequest")
        assert body["details"] == {"name": "sort_on"}
    resp = await client.get(folder, params={"b_size": 2, "b_start": 1})
    assert [item["id"] for item in resp.json()["items"]] == ["doc2", "doc3"]

"""Keeping the catalog true: every path that changes an object, its place or who may View it
reindexes what changed, in the same transaction, once; an aborted one changes nothing.

After each change the stored catalog is compared with a fresh indexing of the stored tree
(:func:`catalog_check.assert_true`: one entry per object, every index value and metadata
column as the object gives them now), and searches are asked as the principals concerned.
Files have no workflow here, so they take who may View them from their folder: a transition
of the folder changes their entries.
"""

from __future__ import annotations

import base64
from collections import Counter
from collections.abc import Callable
from typing import Any

import baobab_catalog_addon
import pytest
from baobab_catalog_addon import REFUSED_TITLE

from baobab.asgi import BaobabApp
from baobab.catalog.store import Catalog
from baobab.testing import (
    BaobabClient,
    Unchanged,
    add,
    add_group,
    add_user,
    assert_envelope,
    move,
    password_of,
    share,
    transition,
    update_sharing,
)

from .catalog_check import assert_true, snapshot

Check = Callable[..., dict[str, int]]
TUS = {"tus-resumable": "1.0.0"}


@pytest.fixture
def baobab_overrides() -> dict[str, Any]:
    return {
        "addons": ["baobab_catalog_addon"],
        "workflows": {"types": {"File": None}},
        "request": {"conflict_retries": 2},
    }


@pytest.fixture
def check(db: Any, baobab_app: BaobabApp, site: str) -> Check:
    """``check()``: the site's catalog is true now (``check(other)`` for another site)."""
    assert baobab_app.state is not None
    registry = baobab_app.state.registry

    def run(where: str = site) -> dict[str, int]:
        return assert_true(db, registry, where)

    return run


async def ids(client: BaobabClient, path: str, **params: Any) -> set[str]:
    resp = await client.get(f"{path}/@search", params=params)
    assert resp.status_code == 200, resp.text
    return {item["@id"].split("/db/", 1)[1] for item in resp.json()["items"]}


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


async def test_create_patch_delete(client: BaobabClient, site: str, check: Check) -> None:
    check()  # the new site's catalog: empty
    folder = await add(client, site, "Folder", "f", title="Folder")
    await add(client, folder, "Document", "a", title="Alpha", text="first words")
    sub = await add(client, folder, "Folder", "sub", title="Sub")
    await add(client, sub, "Document", "c", title="Gamma", subjects=["x"])
    await add(
        client, sub, "File", "x", title="File", file={"data": b64("hi"), "encoding": "base64"}
    )
    assert len(check()) == 5
    resp = await client.patch(f"{folder}/a", json={"title": "Delta", "subjects": ["y", "z"]})
    assert resp.status_code == 204
    check()
    assert await ids(client, site, SearchableText="delta") == {"site/f/a"}
    assert await ids(client, site, SearchableText="alpha") == set()
    assert await ids(client, site, Subject="z") == {"site/f/a"}
    assert await ids(client, site, title_words="delta") == {"site/f/a"}  # the add-on's
    assert (await client.delete(sub)).status_code == 204
    assert len(check()) == 2  # the subtree is gone
    assert await ids(client, site, SearchableText="gamma") == set()
    assert (await client.delete(folder)).status_code == 204
    assert check() == {}
    assert await ids(client, site) == set()


async def test_move_and_rename_reindex_the_subtree(
    client: BaobabClient, site: str, check: Check
) -> None:
    f = await add(client, site, "Folder", "f")
    g = await add(client, site, "Folder", "g")
    sub = await add(client, f, "Folder", "sub", title="Sub")
    deeper = await add(client, sub, "Folder", "deeper")
    await add(client, deeper, "Document", "c", title="Gamma")
    before = check()
    moved = await move(client, sub, g)
    assert moved == f"{g}/sub"
    after = check()
    assert after == before  # same objects, same docids: reindexed in place, not re-added
    assert await ids(client, f) == {"site/f"}
    assert await ids(client, g, **{"path.depth": "-1"}) == {
        "site/g",
        "site/g/sub",
        "site/g/sub/deeper",
        "site/g/sub/deeper/c",
    }
    assert await ids(client, site, **{"path.query": "/g/sub/deeper", "path.depth": "1"}) == {
        "site/g/sub/deeper/c"
    }
    assert await ids(client, site, SearchableText="gamma") == {"site/g/sub/deeper/c"}
    # a rename: no destination, a new id
    resp = await client.post(f"{moved}/@move", json={"new_id": "renamed"})
    assert resp.status_code == 200, resp.text
    assert check() == before
    assert await ids(client, site, SearchableText="gamma") == {"site/g/renamed/deeper/c"}
    assert await ids(client, site, **{"path.query": "/g/renamed", "path.depth": "2"}) == {
        "site/g/renamed",
        "site/g/renamed/deeper",
        "site/g/renamed/deeper/c",
    }
    assert await ids(client, site, **{"path.query": "/g/sub"}) == set()
    assert await ids(client, site, SearchableText="sub") == {"site/g/renamed"}  # title "Sub"


async def test_move_to_another_container(client: BaobabClient, site: str, check: Check) -> None:
    other = await add(client, "/db", "Container", "other", title="Other")
    f = await add(client, site, "Folder", "f")
    await add(client, f, "Document", "c", title="Gamma")
    resp = await client.post(f"{f}/@move", json={"destination": other})
    assert resp.status_code == 200, resp.text
    assert check() == {}
    assert len(check(other)) == 2
    assert await ids(client, site) == set()
    assert await ids(client, other, SearchableText="gamma") == {"other/f/c"}


async def test_copy_indexes_the_copied_subtree_without_hidden_items(
    client: BaobabClient, site: str, check: Check
) -> None:
    src = await add(client, site, "Folder", "src", title="Source")
    await transition(client, src, "publish")
    pub = await add(client, src, "Document", "pub", title="Public page")
    await transition(client, pub, "publish")
    await add(client, src, "Document", "draft", title="Draft page")  # private
    sub = await add(client, src, "Folder", "sub")
    await transition(client, sub, "publish")
    deep = await add(client, sub, "Document", "deep", title="Deep page")
    await transition(client, deep, "publish")
    dest = await add(client, site, "Folder", "dest")
    await add_user(client, site, "alice")
    await share(client, dest, "alice", "baobab.Contributor")
    async with client.as_login("alice", password_of("alice")) as alice:
        resp = await alice.post(f"{src}/@copy", json={"destination": dest})
        assert resp.status_code == 201, resp.text
        copied = {"site/dest", "site/dest/src", "site/dest/src/pub"}
        copied |= {"site/dest/src/sub", "site/dest/src/sub/deep"}
        assert await ids(alice, dest) == copied
    docids = check()
    assert len(docids) == 6 + 4
    assert await ids(client, dest) == copied  # the draft was left out, even for a Manager
    assert await ids(client, site, SearchableText="draft") == {"site/src/draft"}
    assert await ids(client, site, SearchableText="deep") == {
        "site/src/sub/deep",
        "site/dest/src/sub/deep",
    }
    # a copy beside the original, as root: everything, under the new id
    resp = await client.post(f"{src}/@copy", json={"new_id": "again"})
    assert resp.status_code == 201, resp.text
    assert len(check()) == 10 + 5
    assert await ids(client, site, SearchableText="draft") == {
        "site/src/draft",
        "site/again/draft",
    }


async def test_transition_reindexes_the_object_and_who_may_view_below(
    client: BaobabClient, site: str, check: Check
) -> None:
    folder = await add(client, site, "Folder", "f", title="Reports")
    await add(client, folder, "Document", "d", title="Draft")
    sub = await add(client, folder, "Folder", "sub")
    await add(client, folder, "File", "x", file={"data": b64("x"), "encoding": "base64"})
    await add(client, sub, "File", "y", file={"data": b64("y"), "encoding": "base64"})
    check()
    member = client.as_user("member")
    async with member:
        assert await ids(member, site) == set()
        await transition(client, folder, "publish")
        check()
        # the files have no workflow: they are public with their folder; the rest is private
        assert await ids(member, site) == {"site/f", "site/f/x"}
        assert await ids(client, site, review_state="published") == {"site/f"}
        await transition(client, sub, "publish")
        check()
        assert await ids(member, site) == {"site/f", "site/f/x", "site/f/sub", "site/f/sub/y"}
        await transition(client, folder, "retract")
        check()
        assert await ids(member, site) == {"site/f/sub", "site/f/sub/y"}
        assert await ids(client, site, review_state="private") == {"site/f", "site/f/d"}
        await transition(client, f"{folder}/d", "submit")
        check()
        assert await ids(client, site, review_state="pending") == {"site/f/d"}


async def test_sharing_and_blocking_reindex_the_whole_subtree(
    client: BaobabClient, site: str, check: Check
) -> None:
    a = await add(client, site, "Folder", "a")
    b = await add(client, a, "Folder", "b")
    c = await add(client, b, "Folder", "c")
    await add(client, c, "Document", "d", title="Deep down")
    await add(client, b, "File", "x", file={"data": b64("x"), "encoding": "base64"})
    await add_user(client, site, "alice")
    await add_group(client, site, "readers", users=["alice"])
    everything = {"site/a", "site/a/b", "site/a/b/c", "site/a/b/c/d", "site/a/b/x"}
    async with client.as_login("alice", password_of("alice")) as alice:
        assert await ids(alice, site) == set()
        await share(client, a, "alice", "baobab.Reader")
        check()
        assert await ids(alice, site) == everything
        assert await ids(alice, site, SearchableText="deep") == {"site/a/b/c/d"}
        await update_sharing(client, b, inherit=False)
        check()
        assert await ids(alice, site) == {"site/a"}
        assert await ids(alice, site, SearchableText="deep") == set()
        await share(client, c, "readers", "baobab.Reader")  # through a group, below the block
        check()
        assert await ids(alice, site) == {"site/a", "site/a/b/c", "site/a/b/c/d"}
        await update_sharing(client, b, inherit=True)
        check()
        assert await ids(alice, site) == everything
        await share(client, a, "alice", "baobab.Reader", grant=False)
        check()
        assert await ids(alice, site) == {"site/a/b/c", "site/a/b/c/d"}
    assert await ids(client, site, allowedRolesAndUsers="user:readers") == {
        "site/a/b/c",
        "site/a/b/c/d",
    }


async def test_uploads_reindex(client: BaobabClient, site: str, check: Check) -> None:
    path = await add(
        client, site, "File", "f", title="Uploaded", file={"data": b64("old"), "encoding": "base64"}
    )
    before = check()
    resp = await client.put(
        f"{path}/@upload/file",
        content=b"new content",
        headers={
            "content-type": "text/plain",
            "content-disposition": 'attachment; filename="n.txt"',
        },
    )
    assert resp.status_code == 200, resp.text
    assert check() == before  # reindexed in place (its modified date and metadata)
    resp = await client.post(f"{path}/@upload", files={"file": ("form.txt", b"form")})
    assert resp.status_code == 200, resp.text
    check()
    # TUS: a new File created by the last PATCH, then the file of an item replaced
    meta = {"filename": "r.bin", "@type": "File", "id": "report", "title": "The report"}
    header = ",".join(f"{k} {b64(v)}" for k, v in meta.items())
    resp = await client.post(
        f"{site}/@tus", headers={**TUS, "upload-length": "4", "upload-metadata": header}
    )
    assert resp.status_code == 201, resp.text
    upload = resp.headers["location"]
    octets = {"content-type": "application/offset+octet-stream"}
    resp = await client.patch(
        upload, content=b"data", headers={**TUS, **octets, "upload-offset": "0"}
    )
    assert resp.status_code == 204, resp.text
    check()
    assert await ids(client, site, SearchableText="report") == {"site/report"}
    header = f"filename {b64('again.bin')}"
    resp = await client.post(
        f"{path}/@tus", headers={**TUS, "upload-length": "2", "upload-metadata": header}
    )
    assert resp.status_code == 201, resp.text
    resp = await client.patch(
        resp.headers["location"], content=b"ab", headers={**TUS, **octets, "upload-offset": "0"}
    )
    assert resp.status_code == 204, resp.text
    check()


async def test_deleting_a_principal_forgets_its_tokens(
    client: BaobabClient, site: str, check: Check
) -> None:
    f = await add(client, site, "Folder", "f")
    await add(client, f, "Document", "d")
    g = await add(client, site, "Folder", "g")
    await add_user(client, site, "alice")
    await add_group(client, site, "team")
    await share(client, f, "alice", "baobab.Reader")
    await share(client, g, "team", "baobab.Editor")
    assert await ids(client, site, allowedRolesAndUsers="user:alice") == {"site/f", "site/f/d"}
    assert await ids(client, site, allowedRolesAndUsers="user:team") == {"site/g"}
    assert (await client.delete(f"{site}/@users/alice")).status_code == 204
    check()
    assert await ids(client, site, allowedRolesAndUsers="user:alice") == set()
    assert (await client.delete(f"{site}/@groups/team")).status_code == 204
    check()
    assert await ids(client, site, allowedRolesAndUsers="user:team") == set()
    await add_user(client, site, "alice")  # the same id again inherits nothing
    async with client.as_login("alice", password_of("alice")) as alice:
        assert await ids(alice, site) == set()


async def test_an_aborted_transaction_leaves_the_catalog_unchanged(
    client: BaobabClient, site: str, db: Any, check: Check, unchanged: Unchanged
) -> None:
    folder = await add(client, site, "Folder", "f")
    doc = await add(client, folder, "Document", "d", title=REFUSED_TITLE)
    await add(client, folder, "File", "x", file={"data": b64("x"), "encoding": "base64"})
    check()
    before = snapshot(db, site)
    async with unchanged(site, folder, doc):
        # the transition changes the state and queues the new tokens; then the add-on's
        # subscriber refuses it: the request fails, and the queue goes with the transaction
        assert_envelope(await client.post(f"{doc}/@workflow/publish"), 403)
    assert snapshot(db, site) == before
    resp = await client.patch(folder, json={"title": REFUSED_TITLE})
    assert resp.status_code == 204
    check()
    before = snapshot(db, site)
    member = client.as_user("member")
    async with member, unchanged(site, folder, doc):
        # the folder's publication would reindex its File too (it has no workflow)
        assert_envelope(await client.post(f"{folder}/@workflow/publish"), 403)
        assert await ids(member, site) == set()
        assert await ids(client, site, review_state="published") == set()
        # a PATCH refused by If-Match
        resp = await client.patch(doc, json={"title": "changed"}, headers={"if-match": '"stale"'})
        assert_envelope(resp, 412)
        assert await ids(client, site, SearchableText="changed") == set()
    assert snapshot(db, site) == before
    assert snapshot(db, site)[0] == 3
    check()


async def test_a_replayed_request_is_indexed_as_its_last_attempt(
    client: BaobabClient, site: str, db: Any, check: Check
) -> None:
    """A write conflict found at commit, after the queue was flushed into the catalog: the
    attempt is aborted with its catalog changes, the request replayed and indexed afresh."""
    doc = await add(client, site, "Document", "d", title="first")
    baobab_catalog_addon.ATTEMPTS.clear()
    resp = await client.post(f"{doc}/@racing-retitle", params={"fail": "2"})
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"attempts": 3}
    check()
    assert await ids(client, site, SearchableText="attempt") == {"site/d"}
    assert await ids(client, site, SearchableText="first") == set()
    assert await ids(client, site, title_length="9") == {"site/d"}  # "attempt 3"
    # every attempt loses: 409, and the catalog is as before (the rivals' writes index
    # nothing)
    before = snapshot(db, site)
    baobab_catalog_addon.ATTEMPTS.clear()
    resp = await client.post(f"{doc}/@racing-retitle", params={"fail": "99"})
    assert_envelope(resp, 409)
    assert len(baobab_catalog_addon.ATTEMPTS) == 3  # conflict_retries: 2
    assert snapshot(db, site) == before
    check()


async def test_one_request_indexes_each_object_once(
    client: BaobabClient, site: str, check: Check, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: Counter[str] = Counter()
    real = Catalog.catalog_object

    def counting(self: Catalog, uid: str, *args: Any, **kwargs: Any) -> int:
        calls[uid] += 1
        return real(self, uid, *args, **kwargs)

    monkeypatch.setattr(Catalog, "catalog_object", counting)
    folder = await add(client, site, "Folder", "f")
    assert list(calls.values()) == [1]  # added, its tokens computed, indexed once
    for name in ("a", "b"):
        await add(client, folder, "File", name, file={"data": b64(name), "encoding": "base64"})
    docids = check()
    calls.clear()
    # sharing and blocking at once: the whole subtree's tokens change, each indexed once
    await update_sharing(client, folder, {"member": {"baobab.Reader": True}}, inherit=False)
    assert sorted(calls.values()) == [1, 1, 1]
    calls.clear()
    # the folder changes state and tokens; its files' tokens change: each indexed once
    await transition(client, folder, "publish")
    assert sorted(calls.values()) == [1, 1, 1]
    assert check() == docids
    calls.clear()
    # one PATCH changing several fields
    resp = await client.patch(folder, json={"title": "T", "description": "D", "subjects": ["s"]})
    assert resp.status_code == 204
    assert list(calls.values()) == [1]
    calls.clear()
    # a move: the subtree once each
    other = await add(client, site, "Folder", "other")
    calls.clear()
    await move(client, folder, other)
    assert sorted(calls.values()) == [1, 1, 1]
    after = check()
    assert {uid: after[uid] for uid in docids} == docids

"""Events and subscribers: plain ones inside the transaction, coroutines after the commit."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from baobab_events_addon import RECEIVED

from baobab.events import (
    LocalRolesChanged,
    ObjectAdded,
    ObjectCopied,
    ObjectModified,
    ObjectMoved,
    ObjectRemoved,
    UserLoggedIn,
    WorkflowTransitioned,
)
from baobab.testing import BaobabClient, Unchanged, assert_envelope


@pytest.fixture
def baobab_overrides() -> dict[str, Any]:
    return {"addons": ["baobab_events_addon"]}


@pytest.fixture(autouse=True)
def received() -> Iterator[list[tuple[str, Any]]]:
    RECEIVED.clear()
    yield RECEIVED
    RECEIVED.clear()


async def fresh() -> None:
    """Forget what the fixtures' own requests (the site) emitted."""
    await settled()
    RECEIVED.clear()


async def settled() -> list[Any]:
    """The events coroutine subscribers received, once the scheduled ones have run."""
    for _ in range(20):  # the subscribers here do no I/O: a few loop turns are plenty
        await asyncio.sleep(0.01)
    return [event for kind, event in RECEIVED if kind == "async"]


async def test_plain_subscriber_runs_inside_the_transaction(
    client: BaobabClient, site: str
) -> None:
    await fresh()
    resp = await client.post(site, json={"@type": "Document", "id": "doc", "title": "Doc"})
    assert resp.status_code == 201, resp.text
    # it changed the object, and that change was committed with the create
    assert resp.json()["description"] == "stamped by root"
    assert (await client.get(f"{site}/doc")).json()["description"] == "stamped by root"
    sync = [event for kind, event in RECEIVED if kind == "sync"]
    assert [type(e) for e in sync] == [ObjectAdded]
    assert sync[0].obj is not None  # the live object, inside the transaction
    # the context filter: folders reach the folder subscriber, items the item one
    await client.post(site, json={"@type": "Folder", "id": "f"})
    assert [k for k, _ in RECEIVED if k.startswith("sync")] == ["sync", "sync-folder"]


async def test_coroutine_subscribers_get_a_snapshot_after_commit(
    client: BaobabClient, site: str
) -> None:
    await fresh()
    await client.post(site, json={"@type": "Document", "id": "doc", "title": "Doc"})
    events = await settled()
    assert len(events) == 1
    added = events[0]
    assert isinstance(added, ObjectAdded)
    assert added.obj is None  # never the live object outside its transaction
    assert (added.path, added.parent, added.type_name) == ("/db/site/doc", "/db/site", "Document")
    assert (added.actor, added.review_state) == ("root", "private")
    assert "user:root" in added.allowed or "baobab.Owner" in added.allowed
    objects = [e for kind, e in RECEIVED if kind == "async-object"]
    assert objects == events  # the ObjectEvent subscriber saw the same event


async def test_a_veto_commits_nothing_and_emits_nothing(
    client: BaobabClient, site: str, unchanged: Unchanged
) -> None:
    await fresh()
    async with unchanged(site):
        resp = await client.post(site, json={"@type": "Document", "title": "veto"})
        assert_envelope(resp, 403, "Forbidden")
    assert await settled() == []


async def test_an_aborted_request_emits_nothing(
    client: BaobabClient, site: str, unchanged: Unchanged
) -> None:
    await client.post(site, json={"@type": "Document", "id": "doc"})
    await fresh()
    async with unchanged(site):
        resp = await client.patch(f"{site}/doc", json={"title": 42})  # invalid: aborted
        assert_envelope(resp, 422, "ValidationError")
        resp = await client.post(site, json={"@type": "Document", "id": "doc"})  # taken
        assert_envelope(resp, 409, "AlreadyExists")
    assert await settled() == []


async def test_every_change_emits_its_event_in_commit_order(
    client: BaobabClient, site: str
) -> None:
    await client.post(site, json={"@type": "Folder", "id": "news"})
    await client.post(site, json={"@type": "Document", "id": "doc", "title": "Doc"})
    await fresh()
    doc = f"{site}/doc"
    assert (await client.patch(doc, json={"title": "New", "subjects": ["a"]})).status_code == 204
    sharing = {"entries": [{"id": "reader", "roles": {"baobab.Editor": True}}]}
    assert (await client.post(f"{doc}/@sharing", json=sharing)).status_code == 204
    assert (await client.post(f"{doc}/@workflow/publish")).status_code == 200
    moved = await client.post(f"{doc}/@move", json={"destination": f"{site}/news"})
    assert moved.status_code == 200, moved.text
    copied = await client.post(f"{site}/news/doc/@copy", json={"destination": site})
    assert copied.status_code == 201, copied.text
    assert (await client.delete(f"{site}/news/doc")).status_code == 204
    events = await settled()
    kinds = [type(e) for e in events]
    assert kinds == [
        ObjectModified,
        LocalRolesChanged,
        WorkflowTransitioned,
        ObjectMoved,
        ObjectCopied,
        ObjectRemoved,
    ]
    modified, shared, transitioned, move, copy, removed = events
    assert modified.changed == ("subjects", "title")
    assert (transitioned.transition, transitioned.old_state, transitioned.new_state) == (
        "publish",
        "private",
        "published",
    )
    assert "baobab.Anonymous" in transitioned.allowed
    assert "baobab.Anonymous" not in transitioned.allowed_before
    assert "user:reader" in shared.allowed and "user:reader" not in shared.allowed_before
    assert (move.old_path, move.path) == (doc, f"{site}/news/doc")
    assert (copy.original, copy.path) == (f"{site}/news/doc", doc)
    assert removed.path == f"{site}/news/doc"
    assert removed.allowed == () and "baobab.Anonymous" in removed.allowed_before


async def test_login_emits_user_logged_in(client: BaobabClient) -> None:
    await fresh()
    resp = await client.post("/@login", json={"login": "reader", "password": "reader-secret"})
    assert resp.status_code == 200, resp.text
    events = await settled()
    assert events == [UserLoggedIn(actor="reader", container="")]


async def test_a_failing_subscriber_is_logged_and_spoils_nothing(
    client: BaobabClient, site: str, caplog: pytest.LogCaptureFixture
) -> None:
    await fresh()
    with caplog.at_level(logging.ERROR, logger="baobab.events.delivery"):
        resp = await client.post(site, json={"@type": "Document", "id": "doc"})
        assert resp.status_code == 201
        events = await settled()
    assert [type(e) for e in events] == [ObjectAdded]  # the other subscribers still ran
    assert (await client.get(f"{site}/doc")).status_code == 200  # the commit stands
    failures = [r for r in caplog.records if "broken" in r.getMessage()]
    assert failures and failures[0].exc_info is not None

"""``@workflow``: state, the transitions open to this user, history, transitions and their
effect, and which workflow each type follows (configuration)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from baobab.asgi import BaobabApp
from baobab.errors import ConfigError
from baobab.testing import (
    ROOT_PASSWORD,
    BaobabClient,
    Unchanged,
    assert_envelope,
    make_settings,
    transition,
)

DOC = "/db/site/doc"
BASE = "http://baobab.test"

# what root reads back to check that a refused request changed nothing
WATCHED = (f"{DOC}/@workflow",)


@pytest.fixture
async def doc(client: BaobabClient, site: str) -> str:
    """A private document owned by the global user ``contributor``."""
    async with client.as_user("contributor") as contributor:
        resp = await contributor.post(site, json={"@type": "Document", "id": "doc", "title": "D"})
    assert resp.status_code == 201, resp.text
    assert resp.json()["review_state"] == "private"
    return DOC


async def workflow(client: BaobabClient, path: str) -> dict[str, Any]:
    resp = await client.get(f"{path}/@workflow")
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


async def transitions_for(client: BaobabClient, login: str | None, path: str) -> list[str]:
    async with client.as_user(login) as user:
        body = await workflow(user, path)
    return [t["id"] for t in body["transitions"]]


async def test_get_shape(client: BaobabClient, doc: str) -> None:
    body = await workflow(client, doc)
    assert set(body) == {"@id", "workflow", "state", "transitions", "history"}
    assert body["@id"] == f"{BASE}{doc}/@workflow"
    assert body["workflow"] == "simple_publication_workflow"
    assert body["state"] == {"id": "private", "title": "Private"}
    assert body["transitions"] == [
        {
            "@id": f"{BASE}{doc}/@workflow/publish",
            "id": "publish",
            "title": "Reviewer publishes content",
        },
        {
            "@id": f"{BASE}{doc}/@workflow/submit",
            "id": "submit",
            "title": "Member submits content for publication",
        },
    ]
    [created] = body["history"]
    assert created["action"] is None
    assert created["actor"] == "contributor"
    assert created["review_state"] == "private"
    assert created["comments"] == ""
    assert created["title"] == "Private"
    assert created["time"].startswith("20")


async def test_transitions_depend_on_the_user(client: BaobabClient, doc: str) -> None:
    # private: the owner may submit, not publish; an Editor too; a Manager both
    assert await transitions_for(client, "contributor", doc) == ["submit"]
    assert await transitions_for(client, "editor", doc) == ["submit"]
    assert await transitions_for(client, "siteadmin", doc) == ["publish", "submit"]
    assert await transitions_for(client, "reader", doc) == []
    async with client.as_user("reviewer") as reviewer:  # may not see a private item
        assert_envelope(await reviewer.get(f"{doc}/@workflow"), 404, "NotFound")

    async with client.as_user("contributor") as owner:
        await transition(owner, doc, "submit")
    # pending: a Reviewer publishes or rejects, but may not retract (Request review)
    assert await transitions_for(client, "reviewer", doc) == ["publish", "reject"]
    assert await transitions_for(client, "contributor", doc) == ["retract"]
    assert await transitions_for(client, "editor", doc) == ["retract"]
    async with client.as_user(None) as anon:
        assert_envelope(await anon.get(f"{doc}/@workflow"), 401, "Unauthorized")
    assert await transitions_for(client, "root", doc) == ["publish", "reject", "retract"]

    async with client.as_user("reviewer") as reviewer:
        await transition(reviewer, doc, "publish")
    # published: anonymous sees it, with nothing to do
    assert await transitions_for(client, None, doc) == []
    assert await transitions_for(client, "member", doc) == []
    assert await transitions_for(client, "contributor", doc) == ["retract"]
    assert await transitions_for(client, "reviewer", doc) == ["reject"]


async def test_history_visibility(client: BaobabClient, doc: str) -> None:
    async with client.as_user("contributor") as owner:
        await transition(owner, doc, "submit", "please review")
        assert len((await workflow(owner, doc))["history"]) == 2
    async with client.as_user("reader") as reader:  # may view, may neither request nor review
        body = await workflow(reader, doc)
        assert body["history"] == []
        assert body["state"] == {"id": "pending", "title": "Pending review"}
    async with client.as_user("reviewer") as reviewer:
        history = (await workflow(reviewer, doc))["history"]
        assert [h["action"] for h in history] == [None, "submit"]
        await transition(reviewer, doc, "publish")
    async with client.as_user(None) as anon:
        body = await workflow(anon, doc)
        assert body["state"]["id"] == "published"
        assert body["history"] == []
    async with client.as_user("member") as member:
        assert (await workflow(member, doc))["history"] == []


async def test_transition_with_and_without_comment(client: BaobabClient, doc: str) -> None:
    async with client.as_user("contributor") as owner:
        entry = await transition(owner, doc, "submit", "Ready for review")
        assert entry["action"] == "submit"
        assert entry["actor"] == "contributor"
        assert entry["review_state"] == "pending"
        assert entry["comments"] == "Ready for review"
        assert entry["title"] == "Pending review"
        assert set(entry) == {"action", "actor", "review_state", "time", "comments", "title"}
    async with client.as_user("reviewer") as reviewer:
        entry = await transition(reviewer, doc, "reject")  # no body at all
        assert entry["comments"] == ""
        assert entry["review_state"] == "private"
    entry = await transition(client, doc, "publish", "")  # an empty comment
    assert entry["actor"] == "root"
    resp = await client.post(f"{doc}/@workflow/retract", json={"comment": None})
    assert resp.status_code == 200
    history = (await workflow(client, doc))["history"]
    assert [(h["action"], h["actor"], h["review_state"], h["comments"]) for h in history] == [
        (None, "contributor", "private", ""),
        ("submit", "contributor", "pending", "Ready for review"),
        ("reject", "reviewer", "private", ""),
        ("publish", "root", "published", ""),
        ("retract", "root", "private", ""),
    ]
    times = [h["time"] for h in history]
    assert times == sorted(times)


async def test_review_state_follows(client: BaobabClient, site: str, doc: str) -> None:
    async def states() -> tuple[str, str]:
        obj = (await client.get(doc)).json()["review_state"]
        items = {i["id"]: i["review_state"] for i in (await client.get(site)).json()["items"]}
        return obj, items["doc"]

    assert await states() == ("private", "private")
    async with client.as_user(None) as anon:
        assert (await anon.get(doc)).status_code == 401
        assert (await anon.get(site)).json()["items"] == []
        await transition(client, doc, "publish")
        assert await states() == ("published", "published")
        resp = await anon.get(doc)
        assert resp.status_code == 200
        assert resp.json()["review_state"] == "published"
        assert [i["id"] for i in (await anon.get(site)).json()["items"]] == ["doc"]
        await transition(client, doc, "retract")
        assert await states() == ("private", "private")
        assert (await anon.get(doc)).status_code == 401
        assert (await anon.get(site)).json()["items"] == []
        await transition(client, doc, "submit")
        assert await states() == ("pending", "pending")
    async with client.as_user("reviewer") as reviewer:
        assert [i["id"] for i in (await reviewer.get(site)).json()["items"]] == ["doc"]
        # a Reviewer may edit a pending item; the owner may not
        assert (await reviewer.patch(doc, json={"title": "Fixed"})).status_code == 204
    async with client.as_user("contributor") as owner:
        assert (await owner.patch(doc, json={"title": "Mine"})).status_code == 403


async def test_guard_refused(client: BaobabClient, doc: str, unchanged: Unchanged) -> None:
    async with unchanged(*WATCHED):
        async with client.as_user("contributor") as owner:
            body = assert_envelope(await owner.post(f"{doc}/@workflow/publish"), 403, "Forbidden")
            assert body["details"] == {"permission": "baobab.ReviewContent"}
        async with client.as_user("reader") as reader:
            assert_envelope(await reader.post(f"{doc}/@workflow/submit"), 403, "Forbidden")
        async with client.as_user("member") as member:
            assert_envelope(await member.post(f"{doc}/@workflow/submit"), 404, "NotFound")
        async with client.as_user(None) as anon:
            assert_envelope(await anon.post(f"{doc}/@workflow/submit"), 401, "Unauthorized")


async def test_unavailable_transition(client: BaobabClient, doc: str, unchanged: Unchanged) -> None:
    async with unchanged(*WATCHED):
        body = assert_envelope(await client.post(f"{doc}/@workflow/retract"), 400, "BadRequest")
        assert body["details"] == {"state": "private", "transitions": ["publish", "submit"]}
        assert "retract" in body["message"]
        body = assert_envelope(await client.post(f"{doc}/@workflow/fly"), 400, "BadRequest")
        assert body["details"]["transitions"] == ["publish", "submit"]
        resp = await client.post(f"{doc}/@workflow")
        assert_envelope(resp, 404, "NotFound")
        resp = await client.post(f"{doc}/@workflow/submit/now")
        assert_envelope(resp, 404, "NotFound")


@pytest.mark.parametrize("comment", [5, True, False, 0, [], ["x"], {}, {"text": "x"}, "x" * 10_001])
async def test_bad_comment(
    client: BaobabClient, doc: str, unchanged: Unchanged, comment: Any
) -> None:
    async with unchanged(*WATCHED):
        resp = await client.post(f"{doc}/@workflow/submit", json={"comment": comment})
        body = assert_envelope(resp, 422, "ValidationError")
        assert body["details"] == [{"field": "comment"}]


async def test_bad_body(client: BaobabClient, doc: str, unchanged: Unchanged) -> None:
    async with unchanged(*WATCHED):
        resp = await client.post(f"{doc}/@workflow/submit", json={"comments": "typo"})
        assert_envelope(resp, 422, "ValidationError")
        resp = await client.post(
            f"{doc}/@workflow/submit",
            content=b'{"comment": ',
            headers={"content-type": "application/json"},
        )
        assert_envelope(resp, 400, "MalformedJSON")
        resp = await client.post(f"{doc}/@workflow/submit", json=["comment"])
        assert_envelope(resp, 400, "BadRequest")


async def test_container_is_one_state(client: BaobabClient, site: str) -> None:
    body = (await client.get(site)).json()
    assert body["review_state"] == "published"
    body = await workflow(client, site)
    assert body["workflow"] == "one_state_workflow"
    assert body["state"] == {"id": "published", "title": "Published"}
    assert body["transitions"] == []
    body = assert_envelope(await client.post(f"{site}/@workflow/retract"), 400, "BadRequest")
    assert body["details"] == {"state": "published", "transitions": []}
    # a folder follows the default workflow
    await client.post(site, json={"@type": "Folder", "id": "folder"})
    assert (await workflow(client, f"{site}/folder"))["workflow"] == ("simple_publication_workflow")
    # a database has none
    assert_envelope(await client.get("/db/@workflow"), 404, "NotFound")
    assert_envelope(await client.post("/db/@workflow/publish"), 400, "BadRequest")


# -- which workflow each type follows: configuration ----------------------------------------


async def test_configured_one_state_documents(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path / "var", "memory", workflows={"types": {"Document": "one_state_workflow"}}
    )
    app = BaobabApp(settings)
    await app.startup()
    try:
        transport = httpx.ASGITransport(app=app)
        async with BaobabClient(
            transport=transport, base_url=BASE, auth=("root", ROOT_PASSWORD)
        ) as client:
            resp = await client.post("/db", json={"@type": "Container", "id": "site"})
            assert resp.status_code == 201
            resp = await client.post("/db/site", json={"@type": "Document", "id": "doc"})
            assert resp.status_code == 201
            assert resp.json()["review_state"] == "published"
            body = await workflow(client, "/db/site/doc")
            assert body["workflow"] == "one_state_workflow"
            assert body["transitions"] == []
            resp = await client.post("/db/site", json={"@type": "Folder", "id": "folder"})
            assert resp.json()["review_state"] == "private"  # other types keep the default
            async with client.as_user(None) as anon:
                assert (await anon.get("/db/site/doc")).status_code == 200
                assert [i["id"] for i in (await anon.get("/db/site")).json()["items"]] == ["doc"]
    finally:
        await app.shutdown()


async def test_no_workflow(tmp_path: Path) -> None:
    """``null`` for a type: no workflow, permissions come from above."""
    settings = make_settings(tmp_path / "var", "memory", workflows={"types": {"Document": None}})
    app = BaobabApp(settings)
    await app.startup()
    try:
        transport = httpx.ASGITransport(app=app)
        async with BaobabClient(
            transport=transport, base_url=BASE, auth=("root", ROOT_PASSWORD)
        ) as client:
            await client.post("/db", json={"@type": "Container", "id": "site"})
            resp = await client.post("/db/site", json={"@type": "Document", "id": "doc"})
            assert resp.json()["review_state"] is None
            body = await workflow(client, "/db/site/doc")
            assert body["workflow"] is None
            assert body["state"] is None
            assert body["transitions"] == []
            resp = await client.post("/db/site/doc/@workflow/publish")
            assert_envelope(resp, 400, "BadRequest")
    finally:
        await app.shutdown()


@pytest.mark.parametrize(
    ("workflows", "named"),
    [
        ({"types": {"Document": "nope_workflow"}}, "nope_workflow"),
        ({"types": {"Spaceship": "one_state_workflow"}}, "Spaceship"),
        ({"default": "missing_default"}, "missing_default"),
        ({"files": ["/nonexistent/workflow.json"]}, "/nonexistent/workflow.json"),
    ],
)
async def test_bad_workflow_settings(tmp_path: Path, workflows: dict[str, Any], named: str) -> None:
    app = BaobabApp(make_settings(tmp_path / "var", "memory", workflows=workflows))
    with pytest.raises(ConfigError) as caught:
        await app.startup()
    assert named in str(caught.value)
    assert app.state is None
    await app.shutdown()

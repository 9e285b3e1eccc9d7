"""An add-on's types, behaviours, permissions and services, through the API."""

from __future__ import annotations

from typing import Any

import pytest

from baobab.testing import BaobabClient, add


@pytest.fixture
def baobab_overrides() -> dict[str, Any]:
    return {"addons": ["baobab_sample_addon"]}


@pytest.fixture
async def agenda(client: BaobabClient) -> str:
    site = await add(client, "/db", "Container", "site")
    return await add(client, site, "Agenda", "agenda")


async def test_addon_type_with_behaviour_fields(client: BaobabClient, agenda: str) -> None:
    resp = await client.post(
        agenda,
        json={
            "@type": "Event",
            "id": "conf",
            "title": "Conference",
            "start": "2027-03-01",
            "capacity": 200,
            "price": 9.5,
            "stars": 4,
            "extra": {"rooms": 3},
        },
    )
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert (body["start"], body["kind"], body["stars"]) == ("2027-03-01", "talk", 4)


async def test_addon_validation(client: BaobabClient, agenda: str) -> None:
    resp = await client.post(
        agenda, json={"@type": "Event", "capacity": 0, "stars": 9, "kind": "party"}
    )
    assert resp.status_code == 422
    fields = {d["field"] for d in resp.json()["details"]}
    assert fields == {"start", "capacity", "stars", "kind"}


async def test_allowed_types_are_enforced(client: BaobabClient, agenda: str) -> None:
    resp = await client.post(agenda, json={"@type": "Document"})
    assert resp.status_code == 400
    assert resp.json()["details"]["allowed"] == ["Event"]
    resp = await client.post("/db/site", json={"@type": "Event", "start": "2027-01-01"})
    assert resp.status_code == 201  # Event is globally addable


async def test_addon_permission(client: BaobabClient, agenda: str) -> None:
    event = {"@type": "Event", "start": "2027-01-01"}
    async with client.as_user("contributor") as contributor:
        assert (await contributor.post(agenda, json=event)).status_code == 201
    async with client.as_user("reader") as reader:
        assert (await reader.post(agenda, json=event)).status_code == 403


async def test_addon_service_with_subpath(client: BaobabClient, agenda: str) -> None:
    resp = await client.get(f"{agenda}/@hello/a/b")
    assert resp.status_code == 404  # @hello does not take a subpath
    resp = await client.get(f"{agenda}/@hello")
    assert resp.json() == {"hello": "root", "subpath": []}


async def test_type_schema_of_addon(client: BaobabClient, agenda: str) -> None:
    schema = (await client.get(f"{agenda}/@types/Event")).json()
    assert schema["required"] == ["start"]
    assert schema["properties"]["kind"]["enum"] == ["talk", "workshop", None]
    assert schema["properties"]["stars"]["maximum"] == 5


async def test_field_read_and_write_permissions(client: BaobabClient, agenda: str) -> None:
    event = {"@type": "Event", "id": "ev", "start": "2027-01-01", "notes": "internal"}
    assert (await client.post(agenda, json=event)).status_code == 201
    assert (await client.post(f"{agenda}/ev/@workflow/publish")).status_code == 200
    async with client.as_user(None) as anon:
        data = (await anon.get(f"{agenda}/ev")).json()
        assert "notes" not in data  # published: readable, but notes need ModifyContent
        assert data["start"] == "2027-01-01"
    async with client.as_user("editor") as editor:
        assert (await editor.get(f"{agenda}/ev")).json()["notes"] == "internal"
        resp = await editor.patch(f"{agenda}/ev", json={"notes": "changed", "title": "T"})
        assert resp.status_code == 403
        assert resp.json()["details"] == {"fields": ["notes"]}
        assert (await editor.get(f"{agenda}/ev")).json()["title"] == ""  # nothing written
        assert (await editor.patch(f"{agenda}/ev", json={"title": "T"})).status_code == 204
    assert (await client.patch(f"{agenda}/ev", json={"notes": "changed"})).status_code == 204
    assert (await client.get(f"{agenda}/ev")).json()["notes"] == "changed"

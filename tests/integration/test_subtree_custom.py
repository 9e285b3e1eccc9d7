"""Subtree operations with an add-on's field read permission and a custom workflow: what a
copy or a move would hand out there, beyond the default configuration (docs/security.md,
"Subtree operations")."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from baobab.testing import (
    BaobabClient,
    add,
    add_user,
    assert_envelope,
    login,
    password_of,
    share,
    update_sharing,
)

# Documents here are seen by Reviewers only (and Managers): not by their Owner or an Editor.
CONFIDENTIAL = {
    "id": "confidential_workflow",
    "title": "Confidential",
    "initial_state": "confidential",
    "states": {
        "confidential": {
            "title": "Confidential",
            "transitions": [],
            "permissions": {
                "baobab.View": ["baobab.Reviewer"],
                "baobab.AccessContentInformation": ["baobab.Reviewer"],
                "baobab.ModifyContent": ["baobab.Reviewer"],
            },
        }
    },
    "transitions": {},
}


@pytest.fixture
def baobab_overrides(tmp_path: Path) -> dict[str, Any]:
    path = tmp_path / "confidential.json"
    path.write_text(json.dumps(CONFIDENTIAL))
    return {
        "addons": ["baobab_sample_addon"],
        "workflows": {"files": [str(path)], "types": {"Document": "confidential_workflow"}},
    }


@pytest.fixture
async def site(client: BaobabClient) -> str:
    return await add(client, "/db", "Container", "site")


async def test_copy_resets_fields_the_copier_may_not_read(client: BaobabClient, site: str) -> None:
    agenda = await add(client, site, "Agenda", "agenda")
    await share(client, agenda, "member", "baobab.Reader")
    event = {"@type": "Event", "id": "ev", "title": "Board", "start": "2027-01-01"}
    assert (await client.post(agenda, json={**event, "notes": "layoffs"})).status_code == 201
    mine = await add(client, site, "Agenda", "mine")
    await share(client, mine, "member", "baobab.Contributor")
    member = client.as_user("member")
    assert "notes" not in (await member.get(f"{agenda}/ev")).json()  # Reader: not readable
    resp = await member.post(f"{agenda}/ev/@copy", json={"destination": mine})
    assert resp.status_code == 201, resp.text
    copied = resp.json()
    assert copied["title"] == "Board" and copied["start"] == "2027-01-01"
    assert copied["notes"] is None  # as Owner of the copy she may read it: it is not copied
    assert (await client.get(f"{mine}/ev")).json()["notes"] is None
    # whoever may read the field copies it
    resp = await client.post(f"{agenda}/ev/@copy", json={"destination": mine, "new_id": "ev2"})
    assert resp.json()["notes"] == "layoffs"


async def test_move_would_show_a_hidden_item_to_the_destinations_reviewer(
    client: BaobabClient, site: str
) -> None:
    """``member`` (Editor and Contributor on ``area``) sees ``proj`` but not the confidential
    ``proj/memo``; at ``dest``, carol is a Reviewer, whom the memo's state lets View it."""
    area = await add(client, site, "Folder", "area")
    await update_sharing(
        client, area, {"member": {"baobab.Editor": True, "baobab.Contributor": True}}
    )
    proj = await add(client, area, "Folder", "proj")
    memo = await add(client, proj, "Document", "memo", text="confidential")
    dest = await add(client, area, "Folder", "dest")
    await add_user(client, site, "carol")
    await share(client, dest, "carol", "baobab.Reviewer")
    carol = client.with_token(await login(client, site, "carol", password_of("carol")))
    member = client.as_user("member")
    assert (await member.get(proj)).status_code == 200
    assert (await member.get(memo)).status_code == 404
    resp = await member.post(f"{proj}/@move", json={"destination": dest})
    assert_envelope(resp, 403, "Forbidden")
    assert (await carol.get(f"{dest}/proj/memo")).status_code == 404
    assert (await client.get(memo)).json()["text"] == "confidential"  # still in place

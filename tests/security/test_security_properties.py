"""Security properties against an independent model (``security_model.py``), on both backends.

For hand-picked adversarial trees and random ones (hypothesis: users with global roles,
groups, local roles, blocked inheritance, owners, the three states of
``simple_publication_workflow``), every principal — anonymous, members, group members,
local Readers, Contributors, Editors, Reviewers, site administrators — asks every route that
reveals content, and gets exactly what the model says it may View: ``GET`` (200, or the very
answer a missing path gets), ``items``, ``parent``, ``@sharing``, ``@workflow``,
``@download``, a 412's current copy, twenty-odd request kinds on hidden objects, ``@copy``
(what it hands over) and ``@copy``/``@move`` into hidden destinations, ids made from names,
TUS uploads of others, WebSocket frames after others' changes (edits, a move, a copy, a
transition, a block, a member leaving a group or a user losing its roles) and their ``since``
replays, and GET after each change; and no answer anywhere carries data of an object it may
not View (see ``security_campaign.py``; the properties are listed in docs/security.md).

One campaign per backend builds every world in its own container of one app and records
violations per property; each property is then one test, so a failure names the property
and lists its violations (world, principal, request, answer). ``BAOBAB_PROPS_EXAMPLES``
sets the number of random worlds (default 6); runs are derandomized (the same worlds every
time) unless ``BAOBAB_PROPS_RANDOM=1``; ``BAOBAB_PROPS_REPORT=<prefix>`` writes every
violation and world to ``<prefix>.<backend>.json``.
"""

from __future__ import annotations

import asyncio
import json
import os
from importlib import resources
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from security_campaign import Campaign
from security_model import ADVERSARIAL, NEW_STATE, TRANSITIONS, WORKFLOW, Findings, World, worlds

from baobab.asgi import BaobabApp
from baobab.testing import (
    ROOT_PASSWORD,
    BaobabClient,
    make_settings,
    require_postgres,
    zap_postgres,
)

EXAMPLES = int(os.environ.get("BAOBAB_PROPS_EXAMPLES", "6"))
PROPERTIES = (
    "GET",
    "items",
    "parent",
    "@sharing",
    "@workflow",
    "@download",
    "If-Match",
    "hidden-vs-missing",
    "hidden-untouched",
    "@copy",
    "@move",
    "generated-ids",
    "move-effect",
    "access-effect",
    "TUS",
    "live",
    "since",
)


def _campaign(storage: str, var: Path) -> tuple[Findings, dict[str, str]]:
    if storage == "postgresql":
        zap_postgres(require_postgres())
    findings = Findings()
    labels: dict[str, str] = {}
    loop = asyncio.new_event_loop()
    app = BaobabApp(make_settings(var, storage))
    loop.run_until_complete(app.startup())
    root = BaobabClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://baobab.test",
        auth=("root", ROOT_PASSWORD),
    )
    campaign = Campaign(app, root, findings)

    def run(world: World, label: str) -> None:
        labels[label] = repr(world)
        loop.run_until_complete(campaign.run(world, label))

    @settings(
        max_examples=EXAMPLES,
        derandomize=os.environ.get("BAOBAB_PROPS_RANDOM") != "1",
        database=None,
        deadline=None,
        phases=(Phase.explicit, Phase.generate),  # no shrinking: violations are recorded
        suppress_health_check=list(HealthCheck),
    )
    @given(world=worlds())
    def random_worlds(world: World) -> None:
        run(world, f"random #{campaign.count + 1}")

    try:
        for world in ADVERSARIAL:
            run(world, world.label)
        random_worlds()
    finally:
        loop.run_until_complete(root.aclose())
        loop.run_until_complete(app.shutdown())
        loop.close()
    report = os.environ.get("BAOBAB_PROPS_REPORT")
    if report:  # every violation and every world, for reading at leisure
        dump = {"checks": findings.checks, "found": findings.found, "worlds": labels}
        Path(f"{report}.{storage}.json").write_text(json.dumps(dump, indent=1))
    return findings, labels


@pytest.fixture(
    scope="module",
    params=["filestorage", pytest.param("postgresql", marks=pytest.mark.postgresql)],
)
def findings(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Findings, dict[str, str]]:
    return _campaign(str(request.param), tmp_path_factory.mktemp("props") / "var")


@pytest.mark.parametrize("prop", PROPERTIES)
def test_property(findings: tuple[Findings, dict[str, str]], prop: str) -> None:
    found, labels = findings
    assert found.checks.get(prop, 0) > 0, f"{prop} was never exercised"
    violations = found.of(prop)
    worlds_involved = sorted({v.split(" at ")[0].lstrip("[") for v in violations})
    detail = "\n".join(f"  {label}: {labels.get(label, '?')}" for label in worlds_involved[:3])
    assert not violations, (
        f"{len(violations)} of {found.checks[prop]} checks of {prop!r} failed:\n"
        + "\n".join(violations[:25])
        + f"\nworlds:\n{detail}"
    )


def test_model_matches_the_shipped_workflow() -> None:
    """The model's table, written from Plone's definition, is the shipped workflow's data."""
    text = (
        resources.files("baobab.security.workflow_definitions")
        .joinpath("simple_publication_workflow.json")
        .read_text()
    )
    data = json.loads(text)
    for state, permissions in WORKFLOW.items():
        shipped = data["states"][state]
        assert {p: frozenset(r) for p, r in shipped["permissions"].items()} == permissions
        assert set(shipped["transitions"]) == {name for name, _ in TRANSITIONS[state]}
        for name, guard in TRANSITIONS[state]:
            assert data["transitions"][name]["guard_permission"] == guard
            assert data["transitions"][name]["new_state"] == NEW_STATE[name]

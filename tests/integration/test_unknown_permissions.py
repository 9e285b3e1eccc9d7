"""Start-up refuses a declaration naming a permission no scan declared (a typo would answer
403 to everyone, root included), naming the declaration's file and line."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import baobab_typo_addon
import pytest

from baobab.asgi import BaobabApp
from baobab.asgi.state import build_registry
from baobab.config import parse_settings
from baobab.errors import ConfigError
from baobab.testing import make_settings

FIXTURES = Path(baobab_typo_addon.__file__).parent


def _line_of(module: str, text: str) -> str:
    """``path:line`` of the first line of the fixture ``module`` containing ``text``."""
    path = FIXTURES / f"{module}.py"
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if text in line:
            return f"{path}:{number}"
    raise AssertionError(f"{text!r} not in {path}")


async def _refused(tmp_path: Path, **overrides: Any) -> str:
    app = BaobabApp(make_settings(tmp_path / "var", "memory", **overrides))
    with pytest.raises(ConfigError) as caught:
        await app.startup()
    assert app.state is None
    await app.shutdown()
    return caught.value.message


@pytest.mark.parametrize(
    ("module", "declared", "unknown", "suggested"),
    [
        ("service", "@service(", "baobab.Veiw", "baobab.View"),
        ("add_permission", "@content_type(", "baobab.AddContnet", "baobab.AddContent"),
        ("field", "verdict = Text(", "baobab.ReveiwContent", "baobab.ReviewContent"),
    ],
)
async def test_unknown_permission_stops_start_up(
    tmp_path: Path, module: str, declared: str, unknown: str, suggested: str
) -> None:
    message = await _refused(tmp_path, addons=[f"baobab_typo_addon.{module}"])
    assert message.startswith(f"{_line_of(module, declared)}: ")
    assert f"unknown permission {unknown!r}" in message
    assert f"did you mean {suggested!r}?" in message


def test_messages_name_what_declared_the_permission() -> None:
    cases = {
        "service": "service GET @typo",
        "add_permission": "content type 'Memo' (add_permission)",
        "field": "field 'verdict' of NoteSchema (write_permission)",
    }
    for module, what in cases.items():
        settings = parse_settings(json.dumps({"addons": [f"baobab_typo_addon.{module}"]}))
        with pytest.raises(ConfigError, match=re.escape(f"{what} names unknown permission")):
            build_registry(settings)


def test_a_role_delegating_through_an_unknown_permission_is_refused() -> None:
    settings = parse_settings('{"addons": ["baobab_typo_addon.role"]}')
    with pytest.raises(ConfigError) as caught:
        build_registry(settings)
    assert caught.value.message.startswith("baobab_typo_addon.role.CURATOR: role 'typo.Curator'")
    assert "unknown permission 'typo.ShareCurator'" in caught.value.message
    assert "did you mean" not in caught.value.message  # nothing declared is close


def _workflow(tmp_path: Path, permission: str, guard: str) -> str:
    definition = {
        "id": "typo_workflow",
        "initial_state": "private",
        "states": {
            "private": {"transitions": ["publish"], "permissions": {permission: ["baobab.Owner"]}},
            "published": {},
        },
        "transitions": {"publish": {"new_state": "published", "guard_permission": guard}},
    }
    path = tmp_path / "typo_workflow.json"
    path.write_text(json.dumps(definition))
    return str(path)


@pytest.mark.parametrize(
    ("permission", "guard", "what"),
    [
        ("baobab.Veiw", "baobab.ReviewContent", "workflow 'typo_workflow', state 'private'"),
        (
            "baobab.View",
            "baobab.ReveiwContent",
            "workflow 'typo_workflow', transition 'publish' (guard_permission)",
        ),
    ],
)
async def test_a_workflow_naming_an_unknown_permission_stops_start_up(
    tmp_path: Path, permission: str, guard: str, what: str
) -> None:
    path = _workflow(tmp_path, permission, guard)
    message = await _refused(tmp_path, workflows={"files": [path]})
    assert message.startswith(f"{path}: {what} names unknown permission")
    assert "did you mean" in message


async def test_declared_permissions_start(tmp_path: Path) -> None:
    """The sample add-on names its own and built-in permissions: nothing is refused."""
    app = BaobabApp(make_settings(tmp_path / "var", "memory", addons=["baobab_sample_addon"]))
    await app.startup()
    assert app.state is not None
    await app.shutdown()


async def test_a_notification_rule_naming_an_unknown_permission(tmp_path: Path) -> None:
    rule = {"state": "pending", "to": "baobab.ReveiwContent", "reason": "review"}
    message = await _refused(tmp_path, live={"notifications": [rule]})
    assert "$.live.notifications[0].to" in message
    assert "'baobab.ReveiwContent'" in message and "'baobab.ReviewContent'" in message
    owner = {"state": "published", "to": "owner", "reason": "published"}
    registry = build_registry(parse_settings(json.dumps({"live": {"notifications": [owner]}})))
    assert "baobab.ReviewContent" in registry.permissions

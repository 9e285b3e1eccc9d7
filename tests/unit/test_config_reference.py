"""The configuration's documentation is the schema's: every key the code accepts is in the
reference table (docs/configuration.md) and nothing else is, and the README's configuration
block is the real defaults, every section and key of them."""

from __future__ import annotations

import json
import re
from pathlib import Path

import msgspec
import pytest

from baobab.config.settings import Settings, parse_settings

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
REFERENCE = ROOT / "docs" / "configuration.md"


def _leaves(info: msgspec.inspect.Type, prefix: str) -> list[str]:
    """Key paths under ``info``: ``NAME`` for a table's keys, ``[]`` for a list's items."""
    if isinstance(info, msgspec.inspect.StructType):
        paths: list[str] = []
        for field in info.fields:
            paths += _leaves(
                field.type, f"{prefix}.{field.encode_name}" if prefix else field.encode_name
            )
        return paths
    if isinstance(info, msgspec.inspect.DictType) and _is_struct(info.value_type):
        return _leaves(info.value_type, f"{prefix}.NAME")
    if isinstance(info, msgspec.inspect.ListType) and _is_struct(info.item_type):
        return [prefix, *_leaves(info.item_type, f"{prefix}[]")]  # the list, and its items' keys
    return [prefix]


def _is_struct(info: msgspec.inspect.Type) -> bool:
    return isinstance(info, msgspec.inspect.StructType)


def schema_keys() -> set[str]:
    return set(_leaves(msgspec.inspect.type_info(Settings), ""))


def table_keys(text: str) -> list[str]:
    """The key paths of the ``| key | meaning |`` table: every backticked name of the first
    cell (a row may document several keys)."""
    section = text.split("## Keys", 1)[1].split("\n## ", 1)[0]
    keys: list[str] = []
    for line in section.splitlines():
        cells = line.split("|")
        if len(cells) < 3 or set(cells[1].strip()) <= {"-", " "} or cells[1].strip() == "key":
            continue
        keys += re.findall(r"`([^`]+)`", cells[1])
    return keys


def test_the_walk_sees_nested_tables_and_lists() -> None:
    keys = schema_keys()
    expected = [
        "cors.allow_origins",
        "databases.NAME.dsn",
        "auth.users.NAME.roles",
        "live.notifications[].to",
        "utilities.NAME.factory",
        "workflows.types",
    ]
    for key in expected:
        assert key in keys


def test_every_key_is_in_the_reference_and_nothing_else() -> None:
    documented = table_keys(REFERENCE.read_text())
    missing = sorted(schema_keys() - set(documented))
    unknown = sorted(set(documented) - schema_keys())
    doubled = sorted({k for k in documented if documented.count(k) > 1})
    assert not missing, f"keys missing from {REFERENCE.name}'s table: {missing}"
    assert not unknown, f"keys in {REFERENCE.name}'s table that the schema lacks: {unknown}"
    assert not doubled, f"keys documented twice: {doubled}"


def _json_blocks(section: str) -> list[str]:
    text = README.read_text().split(f"## {section}\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```json\n(.*?)```", text, re.DOTALL)


def test_the_readme_block_is_the_real_defaults() -> None:
    defaults, _example = _json_blocks("Configuration")
    assert json.loads(defaults) == msgspec.to_builtins(Settings())
    assert parse_settings(defaults) == Settings()


def test_the_readme_example_is_valid_and_not_the_defaults() -> None:
    _defaults, example = _json_blocks("Configuration")
    settings = parse_settings(example)
    assert settings != Settings()
    assert list(settings.auth.users) == ["alice"]


@pytest.mark.parametrize(
    "block", re.findall(r"```json\n(\{.*?)```", REFERENCE.read_text(), re.DOTALL)
)
def test_the_reference_examples_are_valid(block: str) -> None:
    parse_settings(block)

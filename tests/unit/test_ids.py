from __future__ import annotations

import pytest

from baobab.content.ids import generate_id, validate_id
from baobab.errors import InvalidId


def test_generate_id_from_title() -> None:
    assert generate_id("Héllo, Wörld!", set()) == "hello-world"
    assert generate_id("Hello", {"hello", "hello-1"}) == "hello-2"
    assert len(generate_id("???", set())) == 32
    assert len(generate_id(None, set())) == 32


@pytest.mark.parametrize("good", ["a", "doc-1", "file.txt", "ünïcode", "x" * 255])
def test_valid_ids(good: str) -> None:
    assert validate_id(good) == good


@pytest.mark.parametrize("bad", ["", "a/b", "a\\b", ".", "..", "@x", "_x", "a\x00", "x" * 256])
def test_invalid_ids(bad: str) -> None:
    with pytest.raises(InvalidId):
        validate_id(bad)

"""Schema fields: conversion, limits and JSON Schema."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from baobab.errors import ValidationError
from baobab.schema import (
    Bool,
    Choice,
    Date,
    Datetime,
    Dict,
    FieldError,
    Float,
    Int,
    List,
    String,
    Text,
    fields_of,
    validate_data,
)


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        (Text(), "a\nb", "a\nb"),
        (String(max_length=3), "abc", "abc"),
        (Int(min=1, max=3), 2, 2),
        (Float(), 1, 1.0),
        (Bool(), False, False),
        (Datetime(), "2026-01-02T03:04:05", dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)),
        (Date(), "2026-01-02", dt.date(2026, 1, 2)),
        (Choice(vocabulary=["a", "b"]), "b", "b"),
        (List(value_type=Int()), [1, 2], [1, 2]),
        (Dict(value_type=Bool()), {"x": True}, {"x": True}),
        (Text(), None, None),
    ],
)
def test_valid_values(field: Any, value: Any, expected: Any) -> None:
    assert field.validate(value) == expected


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        (Text(), 5, "must be a string, not a number"),
        (String(), "a\nb", "must be a single line"),
        (String(max_length=2), "abc", "at most 2 characters"),
        (Int(), True, "must be an integer, not a boolean"),
        (Int(), 1.5, "must be an integer, not a number"),
        (Int(max=3), 4, "at most 3"),
        (Float(min=0), -1, "at least 0"),
        (Float(), float("nan"), "finite"),
        (Bool(), "yes", "must be a boolean"),
        (Datetime(), "noon", "ISO 8601"),
        (Date(), "2026-13-01", "YYYY-MM-DD"),
        (Choice(vocabulary=["a"]), "z", "must be one of 'a'"),
        (List(value_type=Int()), [1, "2"], "item 1 must be an integer"),
        (List(max_length=1), [1, 2], "at most 1 items"),
        (List(unique=True), ["a", "a"], "duplicates"),
        (Dict(value_type=Int()), {"k": "v"}, "key 'k' must be an integer"),
        (Text(required=True), None, "is required"),
    ],
)
def test_invalid_values(field: Any, value: Any, message: str) -> None:
    with pytest.raises(FieldError) as info:
        field.validate(value)
    assert message in info.value.message


class Schema:
    title = String(required=True)
    count = Int(default=0)
    stamp = Datetime(readonly=True)


def test_validate_data_collects_every_error() -> None:
    fields = fields_of(Schema)
    assert list(fields) == ["title", "count", "stamp"]
    with pytest.raises(ValidationError) as info:
        validate_data(fields, {"count": "x", "stamp": "2026-01-01", "bogus": 1}, create=True)
    assert {d["field"] for d in info.value.details} == {"count", "stamp", "bogus", "title"}
    assert validate_data(fields, {"count": 2}, create=False) == {"count": 2}


def test_json_schema() -> None:
    schema = Int(min=1, max=5, required=True, title="N").json_schema()
    assert schema == {"type": "integer", "minimum": 1, "maximum": 5, "title": "N"}
    choice = Choice(vocabulary=["a", "b"]).json_schema()
    assert choice["enum"] == ["a", "b", None]

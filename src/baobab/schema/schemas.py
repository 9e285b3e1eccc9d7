"""Collecting fields from schema classes and validating a JSON object against them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from baobab.errors import ValidationError
from baobab.schema.fields import Field, FieldError

__all__ = ["fields_of", "json_schema", "validate_data"]


def fields_of(schema: type[Any]) -> dict[str, Field]:
    """The fields a schema class declares, base classes first, in definition order."""
    out: dict[str, Field] = {}
    for klass in reversed(schema.__mro__):
        for name, value in vars(klass).items():
            if isinstance(value, Field):
                out[name] = value
    return out


def validate_data(
    fields: Mapping[str, Field],
    data: Mapping[str, Any],
    *,
    create: bool,
    ignore: Iterable[str] = (),
    present: Iterable[str] = (),
) -> dict[str, Any]:
    """Validate ``data`` for a create (required fields checked) or a partial update.

    Unknown keys and read-only fields are errors; every problem is collected so the client
    sees all of them at once in ``details``. ``present`` names fields given another way (an
    uploaded file): they satisfy ``required``.
    """
    skip = set(ignore)
    given = set(present)
    errors: list[dict[str, str]] = []
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key in skip:
            continue
        field = fields.get(key)
        if field is None:
            errors.append({"field": key, "message": "is not a field of this type"})
            continue
        if field.readonly:
            errors.append({"field": key, "message": "is read-only (kept by the server)"})
            continue
        try:
            values[key] = field.validate(value)
        except FieldError as exc:
            errors.append({"field": key, "message": exc.message})
    if create:
        for name, field in fields.items():
            missing = (
                field.required
                and name not in values
                and name not in given
                and field.default is None
            )
            if missing and not any(err["field"] == name for err in errors):
                errors.append({"field": name, "message": "is required"})
    if errors:
        names = ", ".join(sorted({err["field"] for err in errors}))
        raise ValidationError(f"Invalid data for: {names}", details=errors)
    return values


def json_schema(fields: Mapping[str, Field], *, title: str = "") -> dict[str, Any]:
    return {
        "type": "object",
        "title": title,
        "properties": {name: field.json_schema() for name, field in fields.items()},
        "required": [name for name, field in fields.items() if field.required],
        "additionalProperties": False,
    }

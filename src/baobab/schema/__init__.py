"""Schema fields and validation (pure: no persistence, no HTTP)."""

from __future__ import annotations

from baobab.schema.fields import (
    Bool,
    Choice,
    Date,
    Datetime,
    Dict,
    Field,
    FieldError,
    File,
    Float,
    Image,
    InlineFile,
    Int,
    List,
    String,
    Text,
)
from baobab.schema.schemas import fields_of, json_schema, validate_data

__all__ = [
    "Bool",
    "Choice",
    "Date",
    "Datetime",
    "Dict",
    "Field",
    "FieldError",
    "File",
    "Float",
    "Image",
    "InlineFile",
    "Int",
    "List",
    "String",
    "Text",
    "fields_of",
    "json_schema",
    "validate_data",
]

"""Typed schema fields: validation of JSON input, JSON output and JSON Schema.

Pure code, no persistence. A schema is a plain class whose attributes are fields; the
attribute name becomes the field name (``__set_name__``). ``validate`` turns a JSON value
into the stored Python value or raises :class:`FieldError`; ``to_json`` does the reverse.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

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
]


class FieldError(ValueError):
    """One field's value is invalid; ``message`` says why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


_MISSING: Any = object()


class Field:
    """Base of every field. Subclasses implement ``_convert`` and ``_schema``."""

    json_type: str = "string"

    def __init__(
        self,
        *,
        title: str = "",
        description: str = "",
        required: bool = False,
        default: Any = None,
        readonly: bool = False,
        read_permission: str | None = None,
        write_permission: str | None = None,
        searchable: bool = False,
    ) -> None:
        self.name = ""
        self.where = _declared_at(self)  # "file:line", for errors found at start-up
        # Permissions beyond the object's View/Modify: without them the field is left out of
        # the JSON, and writing it is refused (403).
        self.read_permission = read_permission
        self.write_permission = write_permission
        self.title = title
        self.description = description
        self.required = required
        self.default = default
        self.readonly = readonly  # kept by the server; clients may not write it
        self.searchable = searchable  # its text goes into the catalog's SearchableText

    def __set_name__(self, owner: type[Any], name: str) -> None:
        self.name = name

    def validate(self, value: Any) -> Any:
        """Return the value to store for JSON ``value``; ``None`` clears a non-required field."""
        if value is None:
            if self.required:
                raise FieldError("is required and may not be null")
            return None
        return self._convert(value)

    def _convert(self, value: Any) -> Any:
        return value

    def to_json(self, value: Any) -> Any:
        return value

    def json_schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": self.json_type, **self._schema()}
        if not self.required:
            schema["type"] = [schema["type"], "null"]
        if self.title:
            schema["title"] = self.title
        if self.description:
            schema["description"] = self.description
        if self.default is not None:
            schema["default"] = self.to_json(self.default)
        if self.readonly:
            schema["readOnly"] = True
        return schema

    def _schema(self) -> dict[str, Any]:
        return {}


class Text(Field):
    """Multi-line text."""

    def __init__(
        self, *, min_length: int | None = None, max_length: int | None = None, **kw: Any
    ) -> None:
        super().__init__(**kw)
        self.min_length = min_length
        self.max_length = max_length

    def _convert(self, value: Any) -> Any:
        if not isinstance(value, str):
            raise FieldError(f"must be a string, not {_json_name(value)}")
        if self.max_length is not None and len(value) > self.max_length:
            raise FieldError(f"must be at most {self.max_length} characters")
        if self.min_length is not None and len(value) < self.min_length:
            raise FieldError(f"must be at least {self.min_length} characters")
        return value

    def _schema(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.max_length is not None:
            out["maxLength"] = self.max_length
        if self.min_length is not None:
            out["minLength"] = self.min_length
        return out


class String(Text):
    """Single-line text: no line breaks."""

    def _convert(self, value: Any) -> Any:
        value = super()._convert(value)
        if "\n" in value or "\r" in value:
            raise FieldError("must be a single line")
        return value


class _Number(Field):
    kinds: tuple[type, ...] = ()

    def __init__(self, *, min: float | None = None, max: float | None = None, **kw: Any) -> None:
        super().__init__(**kw)
        self.min = min
        self.max = max

    def _convert(self, raw: Any) -> Any:
        if isinstance(raw, bool) or not isinstance(raw, self.kinds):
            raise FieldError(f"must be {self.json_type_article}, not {_json_name(raw)}")
        value: float = cast(float, raw)
        if isinstance(value, float) and not math.isfinite(value):
            raise FieldError("must be a finite number")
        if self.min is not None and value < self.min:
            raise FieldError(f"must be at least {self.min}")
        if self.max is not None and value > self.max:
            raise FieldError(f"must be at most {self.max}")
        return value

    @property
    def json_type_article(self) -> str:
        return "an integer" if self.json_type == "integer" else "a number"

    def _schema(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.min is not None:
            out["minimum"] = self.min
        if self.max is not None:
            out["maximum"] = self.max
        return out


class Int(_Number):
    json_type = "integer"
    kinds = (int,)


class Float(_Number):
    json_type = "number"
    kinds = (int, float)

    def _convert(self, value: Any) -> Any:
        return float(super()._convert(value))


class Bool(Field):
    json_type = "boolean"

    def _convert(self, value: Any) -> Any:
        if not isinstance(value, bool):
            raise FieldError(f"must be a boolean, not {_json_name(value)}")
        return value


class Datetime(Field):
    """An ISO 8601 date-time; naive input is taken as UTC, stored timezone-aware."""

    def _convert(self, value: Any) -> Any:
        if not isinstance(value, str):
            raise FieldError(f"must be an ISO 8601 date-time string, not {_json_name(value)}")
        try:
            parsed = dt.datetime.fromisoformat(value)
        except ValueError:
            raise FieldError("must be an ISO 8601 date-time") from None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)

    def to_json(self, value: Any) -> Any:
        return value.isoformat() if isinstance(value, dt.datetime) else value

    def _schema(self) -> dict[str, Any]:
        return {"format": "date-time"}


class Date(Field):
    def _convert(self, value: Any) -> Any:
        if not isinstance(value, str):
            raise FieldError(f"must be an ISO 8601 date string, not {_json_name(value)}")
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            raise FieldError("must be an ISO 8601 date (YYYY-MM-DD)") from None

    def to_json(self, value: Any) -> Any:
        return value.isoformat() if isinstance(value, dt.date) else value

    def _schema(self) -> dict[str, Any]:
        return {"format": "date"}


class Choice(Field):
    """One value out of a fixed vocabulary."""

    def __init__(self, *, vocabulary: Sequence[Any], **kw: Any) -> None:
        super().__init__(**kw)
        self.vocabulary = tuple(vocabulary)

    def _convert(self, value: Any) -> Any:
        if value not in self.vocabulary or isinstance(value, bool | list | dict):
            allowed = ", ".join(repr(v) for v in self.vocabulary)
            raise FieldError(f"must be one of {allowed}")
        return value

    def json_schema(self) -> dict[str, Any]:
        schema = super().json_schema()
        del schema["type"]
        schema["enum"] = [*self.vocabulary] + ([] if self.required else [None])
        return schema


class List(Field):
    json_type = "array"

    def __init__(
        self,
        *,
        value_type: Field | None = None,
        min_length: int | None = None,
        max_length: int | None = None,
        unique: bool = False,
        **kw: Any,
    ) -> None:
        super().__init__(**kw)
        self.value_type = value_type
        self.min_length = min_length
        self.max_length = max_length
        self.unique = unique

    def _convert(self, value: Any) -> Any:
        if not isinstance(value, list):
            raise FieldError(f"must be an array, not {_json_name(value)}")
        if self.max_length is not None and len(value) > self.max_length:
            raise FieldError(f"must have at most {self.max_length} items")
        if self.min_length is not None and len(value) < self.min_length:
            raise FieldError(f"must have at least {self.min_length} items")
        if self.value_type is not None:
            out = []
            for index, item in enumerate(value):
                try:
                    out.append(self.value_type.validate(item))
                except FieldError as exc:
                    raise FieldError(f"item {index} {exc.message}") from None
            value = out
        if self.unique and len({repr(v) for v in value}) != len(value):
            raise FieldError("must not contain duplicates")
        return value

    def to_json(self, value: Any) -> Any:
        if self.value_type is None or not isinstance(value, list):
            return value
        return [self.value_type.to_json(v) for v in value]

    def _schema(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.value_type is not None:
            out["items"] = self.value_type.json_schema()
        if self.max_length is not None:
            out["maxItems"] = self.max_length
        if self.min_length is not None:
            out["minItems"] = self.min_length
        if self.unique:
            out["uniqueItems"] = True
        return out


class Dict(Field):
    """A JSON object with string keys; ``value_type`` checks each value."""

    json_type = "object"

    def __init__(self, *, value_type: Field | None = None, **kw: Any) -> None:
        super().__init__(**kw)
        self.value_type = value_type

    def _convert(self, value: Any) -> Any:
        if not isinstance(value, dict):
            raise FieldError(f"must be an object, not {_json_name(value)}")
        if self.value_type is None:
            return value
        out = {}
        for key, item in value.items():
            try:
                out[key] = self.value_type.validate(item)
            except FieldError as exc:
                raise FieldError(f"key {key!r} {exc.message}") from None
        return out

    def to_json(self, value: Any) -> Any:
        if self.value_type is None or not isinstance(value, dict):
            return value
        return {k: self.value_type.to_json(v) for k, v in value.items()}

    def _schema(self) -> dict[str, Any]:
        if self.value_type is None:
            return {}
        return {"additionalProperties": self.value_type.json_schema()}


@dataclass(frozen=True)
class InlineFile:
    """A file sent inside JSON (plone.restapi's shape, as Volto sends it); the content layer
    stores it as a blob."""

    data: bytes
    filename: str
    content_type: str | None


_FILE_KEYS = frozenset({"data", "encoding", "filename", "content-type"})


class File(Field):
    """A file kept as a ZODB blob. Large files are uploaded with ``@upload``, ``@tus`` or a
    multipart form; JSON carries small ones as ``{"data", "encoding", "filename",
    "content-type"}``. Reads give ``{"download", "filename", "content-type", "size"}``."""

    json_type = "object"
    image = False

    def _convert(self, value: Any) -> Any:
        if not isinstance(value, dict) or "data" not in value:
            raise FieldError(
                "must be an object with data, encoding, filename and content-type, or null"
            )
        unknown = sorted(set(value) - _FILE_KEYS)
        if unknown:
            raise FieldError(f"has unknown keys: {', '.join(unknown)}")
        data, encoding = value["data"], value.get("encoding", "base64")
        filename, ctype = value.get("filename", ""), value.get("content-type")
        if not isinstance(data, str) or not isinstance(filename, str):
            raise FieldError("data and filename must be strings")
        if ctype is not None and not isinstance(ctype, str):
            raise FieldError("content-type must be a string")
        if encoding == "base64":
            try:
                raw = base64.b64decode(data, validate=True)
            except (binascii.Error, ValueError):
                raise FieldError("data is not valid base64") from None
        elif encoding in ("utf8", "utf-8"):
            raw = data.encode("utf-8")
        else:
            raise FieldError("encoding must be base64 or utf8")
        return InlineFile(raw, filename, ctype)

    def _schema(self) -> dict[str, Any]:
        props: dict[str, Any] = {
            "download": {"type": "string", "format": "uri", "readOnly": True},
            "filename": {"type": "string"},
            "content-type": {"type": "string"},
            "size": {"type": "integer", "readOnly": True},
        }
        if self.image:
            props["width"] = {"type": "integer", "readOnly": True}
            props["height"] = {"type": "integer", "readOnly": True}
        return {"properties": props}


class Image(File):
    """A file that must be an image Pillow can read; reads add ``width`` and ``height``."""

    image = True


def _declared_at(field: Field) -> str:
    """``file:line`` of the code that built ``field``: the first caller outside its
    constructors (each ``__init__`` up a subclass chain has ``self`` set to the field)."""
    frame = sys._getframe(1)
    while frame.f_back is not None and frame.f_locals.get("self") is field:
        frame = frame.f_back
    return f"{frame.f_code.co_filename}:{frame.f_lineno}"


def _json_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return "an unsupported value"

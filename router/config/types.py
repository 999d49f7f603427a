"""The building blocks of the router.yaml models: the `Section` base (unknown keys refused,
types strict) and the value types a section's fields use (`Flag`, `Int`, `Count`, `Number`,
`Duration`, `Size`), each with a message a person can act on and its JSON Schema."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    ValidationInfo,
    WithJsonSchema,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError

from router.env import Expanded

__all__ = [
    "Count",
    "Duration",
    "Flag",
    "Int",
    "NonNegativeInt",
    "NonNegativeNumber",
    "Number",
    "Section",
    "Size",
    "problem",
]

_DURATION_TEXT = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m)")
_SIZE_TEXT = re.compile(r"(\d+(?:\.\d+)?)\s*([kmg]i?b|b)")
"""Matched against the lower-cased, stripped text; the schema's pattern has no flags."""
_DURATION = f"^{_DURATION_TEXT.pattern}$"
_SIZE = r"^\s*\d+(\.\d+)?\s*([kKmMgG][iI]?[bB]|[bB])\s*$"
_DIGITS = re.compile(r"\d+(?:\.\d+)?")
VARIABLE_SCHEMA = {
    "type": "string",
    "pattern": r"^\$\{env\.[A-Za-z_][A-Za-z0-9_]*(:-[^}]*)?\}$",
    "description": "${env.NAME} or ${env.NAME:-default}, read as this key's type",
}
"""A whole value taken from the environment, as the file holds it before expansion."""


def problem(message: str, key: str | None = None) -> PydanticCustomError:
    """A config error about the value being validated, or about its `key` (dotted for nested)
    when the check spans several keys; errors.py reads it into the one `ConfigError` message."""
    return PydanticCustomError("router_config", "{message}", {"message": message, "key": key})


class Section(BaseModel):
    """One mapping of router.yaml: frozen, strict (no string-to-number guessing), unknown keys
    refused with the keys known there; a key with nothing after it (`key:`, null) is the key
    left out, so it keeps its default."""

    model_config = ConfigDict(
        extra="forbid", strict=True, frozen=True, use_attribute_docstrings=True
    )

    @model_validator(mode="before")
    @classmethod
    def _known_keys(cls, data: Any) -> Any:
        if data is None:
            return {}
        if isinstance(data, dict):
            known = sorted(field.alias or name for name, field in cls.model_fields.items())
            unknown = sorted(str(key) for key in data if key not in known)
            if unknown:
                raise PydanticCustomError(
                    "unknown_key", "unknown key", {"key": unknown[0], "known": known}
                )
            return {key: value for key, value in data.items() if value is not None}
        return data


class _OrVariable:
    """Schema metadata: the value, or `${env.…}` standing for it (an editor then accepts
    `concurrency_limit: "${env.LIMIT:-500}"`)."""

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {"anyOf": [handler(schema), VARIABLE_SCHEMA]}


def _from_env(parse: Callable[[str], Any]) -> BeforeValidator:
    """A value `${env.NAME}` expanded to text, typed by the field it lands in (`true` for a
    flag, `1000` for a number); a value written in the file is left to the strict check."""

    def convert(value: Any, _: ValidationInfo) -> Any:
        if isinstance(value, Expanded):
            try:
                return parse(value.strip())
            except ValueError:
                return str(value)
        return value

    return BeforeValidator(convert)


def _flag(text: str) -> bool:
    if text in ("true", "false"):
        return text == "true"
    raise ValueError(text)


def _integer(text: str) -> int:
    if re.fullmatch(r"-?\d+", text) is None:
        raise ValueError(text)
    return int(text)


Flag = Annotated[bool, _from_env(_flag), _OrVariable()]
"""true or false."""
Int = Annotated[int, _from_env(_integer), _OrVariable()]
"""An integer."""
NonNegativeInt = Annotated[int, Field(ge=0), _from_env(_integer), _OrVariable()]
"""An integer, 0 or more (a constraint goes before the validator, or the schema misreads it)."""
Count = Annotated[int, Field(ge=1), _from_env(_integer), _OrVariable()]
"""A positive integer."""
Number = Annotated[float, _from_env(float), _OrVariable()]
"""A number (an integer is one too)."""
NonNegativeNumber = Annotated[float, Field(ge=0), _from_env(float), _OrVariable()]
"""A number, 0 or more."""


def _duration(value: Any) -> float:
    """Seconds: a number, or a number with a unit (`500ms`, `5s`, `1m`)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, Expanded) and _DIGITS.fullmatch(value):
        return float(value)
    match = _DURATION_TEXT.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise problem(f"must be a duration like 500ms, 5s or 1m, got {value!r}")
    number = float(match.group(1))
    return {"ms": number / 1000, "s": number, "m": number * 60}[match.group(2)]


def _size(value: Any) -> int:
    """Bytes: an integer, or a number with a unit (`512kb`, `10MiB`, `2GB`)."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, Expanded) and value.strip().isdigit():
        return int(value)
    text = value.strip().lower() if isinstance(value, str) else ""
    match = _SIZE_TEXT.fullmatch(text)
    if match is None:
        raise problem(f"must be a size in bytes like 2000000, 512kb or 10MiB, got {value!r}")
    unit = match.group(2)
    scale = {"b": 1, "k": 1000, "m": 1000**2, "g": 1000**3}[unit[0]]
    if "i" in unit:
        scale = {"k": 1024, "m": 1024**2, "g": 1024**3}[unit[0]]
    return int(float(match.group(1)) * scale)


def _number_or_text(kind: str, pattern: str, description: str) -> WithJsonSchema:
    """The schema of a value written as a number or as text with a unit."""
    return WithJsonSchema(
        {
            "anyOf": [
                {"type": kind, "minimum": 0},
                {"type": "string", "pattern": pattern},
                VARIABLE_SCHEMA,
            ],
            "description": description,
        }
    )


Duration = Annotated[
    float,
    BeforeValidator(_duration),
    _number_or_text("number", _DURATION, "seconds, or a number with a unit: 500ms, 5s, 1m"),
]
Size = Annotated[
    int,
    BeforeValidator(_size),
    _number_or_text("integer", _SIZE, "bytes, or a number with a unit: 512kb, 10MB, 10MiB"),
]

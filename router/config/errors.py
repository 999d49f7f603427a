"""`ConfigError`, and how pydantic's validation errors read as its one message: each problem
as `path.to.key: what is wrong` (list items as `[0]`), the first line the first problem."""

from __future__ import annotations

import difflib
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from router.errors import RouterError

__all__ = ["ConfigError", "describe"]

_TAG = "~"
"""Prefix of the tags of the models' tagged unions, which are no keys of the file."""

_EXPECTED = {
    "bool_type": "must be true or false",
    "int_type": "must be an integer",
    "int_from_float": "must be an integer",
    "float_type": "must be a number",
    "string_type": "must be a string",
    "list_type": "must be a list",
    "dict_type": "must be a mapping",
    "model_type": "must be a mapping",
    "model_attributes_type": "must be a mapping",
}


class ConfigError(RouterError):
    """router.yaml is wrong; the message names the key (`limits.max_depth: must be ...`)."""

    code = "ROUTER_CONFIG_INVALID"


def describe(error: ValidationError) -> str:
    """The problems of one validation, one line each."""
    lines = [_line(detail) for detail in error.errors(include_url=False)]
    return "\n".join(dict.fromkeys(lines))


def _line(detail: ErrorDetails) -> str:
    parts = [part for part in detail["loc"] if not str(part).startswith(_TAG)]
    context: dict[str, Any] = dict(detail.get("ctx") or {})
    if context.get("key"):
        parts.extend(str(context["key"]).split("."))
    return f"{_path(parts) or 'the router config'}: {_problem(detail, context)}"


def _path(parts: list[int | str]) -> str:
    path = ""
    for part in parts:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path


def _problem(detail: ErrorDetails, context: dict[str, Any]) -> str:
    kind = detail["type"]
    if kind == "router_config":
        return str(context["message"])
    if kind == "unknown_key":
        known: list[str] = context["known"]
        close = difflib.get_close_matches(str(context["key"]), known, n=1)
        hint = f"did you mean {close[0]}? " if close else ""
        return f"unknown key ({hint}known here: {', '.join(known)})"
    if kind == "missing":
        return "is required"
    if kind == "greater_than":
        return f"must be more than {context['gt']}, got {detail['input']!r}"
    if kind == "greater_than_equal":
        return f"must be {context['ge']} or more, got {detail['input']!r}"
    if kind == "literal_error":
        return f"must be {context['expected']}, got {detail['input']!r}"
    if kind == "value_error":
        return str(context.get("error", detail["msg"]))
    expected = _EXPECTED.get(kind, detail["msg"][:1].lower() + detail["msg"][1:])
    return f"{expected}, got {detail['input']!r}"

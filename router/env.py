"""`${env.NAME}` and `${env.NAME:-default}` in a parsed YAML document, as Apollo Router and rover
expand them: in string values only, after parsing, so a variable's value is always text in one
value and never YAML structure (`"x\\n  evil: key"` stays one string)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from router.errors import RouterError

__all__ = ["Expanded", "expand_env", "expand_values"]

_ENV = re.compile(r"\$\{env\.([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class Expanded(str):
    """A string value that held `${env.…}`: a typed field may read it as its type (`"1000"`
    for an integer), where text written as a string in the file is refused
    (router/config/types.py)."""

    __slots__ = ()


def expand_env(text: str, environ: Mapping[str, str], error: type[RouterError]) -> str:
    """`text` with each `${env.NAME}` replaced by the variable (or its `:-default`); an unset
    variable without a default raises `error`."""

    def replace(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in environ:
            return environ[name]
        if default is not None:
            return default
        raise error(f"environment variable {name} is not set (used as ${{env.{name}}})")

    return _ENV.sub(replace, text)


def expand_values(value: Any, environ: Mapping[str, str], error: type[RouterError]) -> Any:
    """A copy of the parsed document `value` with `${env.…}` expanded in every string value
    (mapping keys are left as written); an expanded string is an `Expanded`."""
    if isinstance(value, str):
        if "${env." not in value:
            return value
        return Expanded(expand_env(value, environ, error))
    if isinstance(value, list):
        return [expand_values(item, environ, error) for item in value]
    if isinstance(value, dict):
        return {key: expand_values(item, environ, error) for key, item in value.items()}
    return value

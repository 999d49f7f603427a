"""Python source written at run time, once per operation, for the hot loops that would
otherwise interpret the operation per value (shape/shaper.py, execute/projection.py).

    source = FunctionSource("shape", "Query.orders")   what it is, for its filename
    source.name(field)      a GraphQL name as a string literal: the only way a name gets in
    source.bind(value)      any other value, as a global of the function under a fresh name
    source.emit(line)       a line of code the generator wrote itself
    source.build("_shape")  compiled, registered in `linecache`, returned

A name is refused (`GeneratedCodeError`) unless it is a GraphQL name, `[_A-Za-z][_0-9A-Za-z]*`,
which graphql-core's parser guarantees for every name it reads; the check makes that a fact of
this module rather than of its callers. Every function is compiled under its own filename,
`<fedrouter-KIND:LABEL#N>` (N counts the functions this process generated), and its source is
put in `linecache`, so tracebacks and profilers show its lines; the entry is removed when the
function is collected (its operation left the plan cache, or its plan node the executor's cache),
so `linecache` holds only what is alive. `FEDROUTER_SHOW_GENERATED=1` in the environment, or
`show_generated(stream)`, prints each function's source as it is built (`fedrouter plan
--show-generated` prints an operation's).
"""

from __future__ import annotations

import itertools
import linecache
import os
import re
import sys
import weakref
from typing import Any, TextIO

from router.errors import RouterError

__all__ = [
    "SHOW_GENERATED_ENV",
    "FunctionSource",
    "GeneratedCodeError",
    "generated_filenames",
    "name_literal",
    "show_generated",
]

SHOW_GENERATED_ENV = "FEDROUTER_SHOW_GENERATED"
"""Set to 1 to print every generated function's source to stderr as it is built."""

FILENAME_PREFIX = "<fedrouter-"

_NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]*")
_serial = itertools.count(1)
_sink: TextIO | None = sys.stderr if os.environ.get(SHOW_GENERATED_ENV) == "1" else None


class GeneratedCodeError(RouterError):
    """Something other than a GraphQL name was about to be written into generated source."""


def name_literal(name: object) -> str:
    """`name` as a Python string literal, when it is a GraphQL name; else GeneratedCodeError."""
    if not isinstance(name, str) or _NAME.fullmatch(name) is None:
        raise GeneratedCodeError(
            f"refusing to write {name!r} into generated code: only GraphQL names "
            "([_A-Za-z][_0-9A-Za-z]*) may appear in it; this is a bug in the router or in what "
            "it was given, not in the request"
        )
    return f"'{name}'"


def show_generated(stream: TextIO | None) -> None:
    """Print each function's source to `stream` as it is built from now on (None: stop)."""
    global _sink
    _sink = stream


def generated_filenames() -> list[str]:
    """The filenames of the generated functions now registered in `linecache`."""
    return [name for name in list(linecache.cache) if name.startswith(FILENAME_PREFIX)]


class FunctionSource:
    """The lines of one function `def NAME(...)` and the globals it reads; `kind` and `label`
    say what it is (`shape`, `Query.orders.edges`) in its filename."""

    def __init__(self, kind: str, label: str, **globals_: Any) -> None:
        self.kind = kind
        self.label = label
        self.namespace: dict[str, Any] = dict(globals_)
        self._lines: list[str] = []

    def name(self, name: object) -> str:
        """A GraphQL name as a string literal, to use in the source (see name_literal)."""
        return name_literal(name)

    def bind(self, value: Any) -> str:
        """A global name for `value`, to use in the source."""
        name = f"_g{len(self.namespace)}"
        self.namespace[name] = value
        return name

    def emit(self, line: str) -> None:
        """Append one line: code, the `_gN` names of bind() and the literals of name() only."""
        self._lines.append(line)

    def build(self, function: str) -> Any:
        """Compile the lines under a filename of their own, register the source in `linecache`
        for as long as the function lives, and return the function they define as `function`."""
        filename = f"{FILENAME_PREFIX}{self.kind}:{self.label}#{next(_serial)}>"
        lines = [line + "\n" for line in self._lines]
        source = "".join(lines)
        exec(compile(source, filename, "exec"), self.namespace)
        built = self.namespace[function]
        linecache.cache[filename] = (len(source), None, lines, filename)
        weakref.finalize(built, linecache.cache.pop, filename, None).atexit = False
        if _sink is not None:
            print(f"# {filename}\n{source}{self._globals()}", file=_sink)
        return built

    def _globals(self) -> str:
        """What the function's `_gN` names are bound to, as comments (for show_generated)."""
        described = []
        for name, value in self.namespace.items():
            if name.startswith("_g"):
                code = getattr(value, "__code__", None)
                text = code.co_filename if code is not None else repr(value)
                text = text if len(text) <= 100 else text[:99] + "…"
                described.append(f"#   {name} = {text}\n")
        return "".join(described)

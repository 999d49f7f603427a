"""Python source written at run time, once per operation, for the hot loops that would
otherwise interpret the operation per value (shape/shaper.py, execute/projection.py).

Only GraphQL names (`[_A-Za-z][_0-9A-Za-z]*`, safe as repr() literals) are written into the
source; every other value the code needs (field records, sets, child functions) is bound as a
global of the generated function under a fresh name.
"""

from __future__ import annotations

from typing import Any


class FunctionSource:
    """The lines of one function `def NAME(...)` and the globals it reads."""

    def __init__(self, **globals_: Any) -> None:
        self.namespace: dict[str, Any] = dict(globals_)
        self.lines: list[str] = []

    def bind(self, value: Any) -> str:
        """A global name for `value`, to use in the source."""
        name = f"_g{len(self.namespace)}"
        self.namespace[name] = value
        return name

    def build(self, name: str, label: str) -> Any:
        """Compile the lines and return the function they define as `name` (`label` names the
        source in tracebacks and profiles)."""
        source = "\n".join(self.lines) + "\n"
        exec(compile(source, f"<{label}>", "exec"), self.namespace)
        return self.namespace[name]

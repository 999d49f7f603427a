"""The pass before planning: the operation without what the requester may not see.

`needs(operation)` (once per operation) lists what the operation's selections require at all;
an operation needing nothing skips authorization entirely. `restrict(operation, grant)` (once
per operation and grant) removes each field the grant does not allow and each fragment on a
type it does not allow, and records where: Apollo Router's paths, response names with `@` for
each list level (`["users", "@", "email"]`; a removed fragment's path is its parent's). A
selection set left empty keeps `__typename`, so its parent (which is allowed) still answers.

The shaper shapes the operation without the removed fragments (their objects answer as if
the fragment did not apply) but with the removed fields: a removed field comes back null (a
non-null one nulls its parent, as GraphQL's null propagation says), covered by its
UNAUTHORIZED_FIELD_OR_TYPE error. `Removal`s also say which values to drop from fetched data
before shaping, should the planner have fetched a removed field for its own use (a key, a
`@requires`), so none reaches the client.
"""

from __future__ import annotations

from dataclasses import dataclass

from router.authz.access import AccessIndex
from router.authz.identity import Grant
from router.operation.ir import Field, InlineFragment, Selection
from router.operation.normalize import Operation
from router.supergraph.model import Access
from router.types import JSONObject

TYPENAME = Field("__typename")
UNAUTHORIZED = "UNAUTHORIZED_FIELD_OR_TYPE"
MESSAGE = "Unauthorized field or type"

Path = tuple[str, ...]
"""Response names, `@` for a list level."""


@dataclass(frozen=True, slots=True)
class Needs:
    """Everything an operation's selections require: authentication, the scopes and the
    policies they mention."""

    authenticated: bool
    scopes: frozenset[str]
    policies: frozenset[str]


@dataclass(frozen=True, slots=True)
class Removal:
    """One removed selection: a field (`key`, its response name) or a fragment (`keys`, its
    selections' response names, dropped from objects of `types`) under `path`."""

    path: Path
    keys: tuple[str, ...]
    types: frozenset[str] | None = None
    """None: every object at `path`; else only objects whose `__typename` is one of these."""

    @property
    def error_path(self) -> Path:
        """The path its error names: `path` followed by `keys` when every object there loses them,
        `path` alone when only objects of some `types` do."""
        return self.path + self.keys if self.types is None else self.path


@dataclass(frozen=True, slots=True)
class Restriction:
    """The operation's selections for one grant and what was removed (empty: nothing)."""

    selections: tuple[Selection, ...]
    """What is planned: without removed fields and fragments."""
    removals: tuple[Removal, ...]
    shaped: tuple[Selection, ...] | None = None
    """What is shaped when a fragment was removed: without it (None: the original)."""
    errors: tuple[JSONObject, ...] = ()
    """One UNAUTHORIZED_FIELD_OR_TYPE error per removed path (shared: never to be changed)."""
    key: str = ""
    """What was removed, as one string (the restricted plan's cache key; hashed once)."""

    @classmethod
    def of(
        cls,
        selections: tuple[Selection, ...],
        removals: tuple[Removal, ...],
        shaped: tuple[Selection, ...] | None,
    ) -> Restriction:
        """A restriction with its errors (one UNAUTHORIZED_FIELD_OR_TYPE per distinct error path, in
        order) and its cache `key`, both made from `removals`."""
        paths = list(dict.fromkeys(r.error_path for r in removals))
        errors = tuple(
            {"message": MESSAGE, "path": list(path), "extensions": {"code": UNAUTHORIZED}}
            for path in paths
        )
        key = "|".join(
            "/".join(r.path) + ":" + ",".join(r.keys) + ":" + ",".join(sorted(r.types or ()))
            for r in removals
        )
        return cls(selections, removals, shaped, errors, key)


def needs(index: AccessIndex, operation: Operation) -> Needs | None:
    """What the operation requires; None when nothing in it is restricted."""
    found: list[Access] = []
    root = index.supergraph.root_types[operation.kind]
    _collect(index, root, operation.selections, found)
    if not found:
        return None
    return Needs(
        authenticated=any(a.authenticated for a in found),
        scopes=frozenset(s for a in found for alts in a.scopes for alt in alts for s in alt),
        policies=frozenset(p for a in found for alts in a.policies for alt in alts for p in alt),
    )


def _collect(
    index: AccessIndex, parent: str, selections: tuple[Selection, ...], found: list[Access]
) -> None:
    for selection in selections:
        if isinstance(selection, InlineFragment):
            condition = selection.type_condition or parent
            if selection.type_condition is not None and (access := index.fragment(condition)):
                found.append(access)
            _collect(index, condition, selection.selections, found)
            continue
        access = index.field(parent, selection.name, _typed_only(selection))
        if access:
            found.append(access)
        model = index.supergraph.field(parent, selection.name)
        if selection.selections and model is not None:
            _collect(index, model.type_name, selection.selections, found)


def restrict(index: AccessIndex, operation: Operation, grant: Grant) -> Restriction:
    """The operation's selections for `grant`, with what it does not allow removed and recorded (a
    root left empty selects `__typename`); no removals when nothing is restricted."""
    removals: list[Removal] = []
    root = index.supergraph.root_types[operation.kind]
    planned, shaped = _restrict(index, grant, root, operation.selections, (), removals)
    if not removals:
        return Restriction(operation.selections, ())
    fragments = any(r.types is not None for r in removals)
    return Restriction.of(planned or (TYPENAME,), tuple(removals), shaped if fragments else None)


def _restrict(
    index: AccessIndex,
    grant: Grant,
    parent: str,
    selections: tuple[Selection, ...],
    path: Path,
    removals: list[Removal],
) -> tuple[tuple[Selection, ...], tuple[Selection, ...]]:
    """The selections to plan and the selections to shape."""
    planned: list[Selection] = []
    shaped: list[Selection] = []
    for selection in selections:
        if isinstance(selection, InlineFragment):
            condition = selection.type_condition or parent
            if selection.type_condition is not None and not grant.allows(index.fragment(condition)):
                keys = tuple(_response_names(selection.selections))
                types = frozenset(index.supergraph.possible_types(condition))
                removals.append(Removal(path, keys, types))
                continue
            inner = _restrict(index, grant, condition, selection.selections, path, removals)
            for kept, chosen in zip((planned, shaped), inner, strict=True):
                if chosen == selection.selections:
                    kept.append(selection)
                elif chosen:
                    kept.append(
                        InlineFragment(
                            selection.type_condition,
                            chosen,
                            selection.directives,
                            selection.variables,
                            selection.conditions,
                        )
                    )
            continue
        if not grant.allows(index.field(parent, selection.name, _typed_only(selection))):
            removals.append(Removal(path, (selection.response_name,)))
            shaped.append(selection)
            continue
        model = index.supergraph.field(parent, selection.name)
        if not selection.selections or model is None:
            planned.append(selection)
            shaped.append(selection)
            continue
        below = (*path, selection.response_name, *("@",) * model.list_depth)
        inner = _restrict(index, grant, model.type_name, selection.selections, below, removals)
        for kept, chosen in zip((planned, shaped), inner, strict=True):
            if chosen == selection.selections:
                kept.append(selection)
            else:
                kept.append(selection.with_selections(chosen or (TYPENAME,)))
    return tuple(planned), tuple(shaped)


def _typed_only(field: Field) -> bool:
    return bool(field.selections) and all(
        isinstance(s, InlineFragment) and s.type_condition is not None
        for s in field.selections or ()
    )


def _response_names(selections: tuple[Selection, ...]) -> list[str]:
    names: list[str] = []
    for selection in selections:
        if isinstance(selection, Field):
            names.append(selection.response_name)
        else:
            names.extend(_response_names(selection.selections))
    return names


def scrub(data: JSONObject | None, removals: tuple[Removal, ...]) -> None:
    """Drop removed selections' values from fetched data (in place) before shaping."""
    if not data:
        return
    for removal in removals:
        _scrub(data, removal.path, 0, removal)


def _scrub(value: object, path: Path, at: int, removal: Removal) -> None:
    if isinstance(value, list):
        for item in value:
            _scrub(item, path, at + (at < len(path) and path[at] == "@"), removal)
        return
    if not isinstance(value, dict):
        return
    if at == len(path):
        if (
            removal.types is None
            or value.get("__typename") in removal.types
            or ("__typename" not in value)
        ):
            for key in removal.keys:
                value.pop(key, None)
        return
    _scrub(value.get(path[at]), path, at + 1, removal)

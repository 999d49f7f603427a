"""Composition rules on each subgraph alone and on visibility, with Apollo's error codes (the
rules across subgraphs are in merge_rules.py, reachability in satisfiability.py, the other
families in `router/compose/rules/`, one module each; composition.py runs them all):

    per subgraph      KEY_INVALID_FIELDS, REQUIRES_INVALID_FIELDS, PROVIDES_INVALID_FIELDS
                      (empty, aliased, unknown fields), *_DIRECTIVE_IN_FIELDS_ARG,
                      EXTERNAL_UNUSED
    visibility        REFERENCED_INACCESSIBLE (an accessible field typed with an inaccessible type)

Each check returns `CompositionError`s naming the types, fields and subgraphs involved.
"""

from graphql import GraphQLError

from router.compose.errors import CompositionError
from router.compose.merge import Merged
from router.compose.subgraph import SField, SType, Subgraph
from router.operation.ir import Field, InlineFragment, Selection, parse_field_set

__all__ = [
    "check_field_set",
    "named",
    "type_shape",
    "validate_inaccessible",
    "validate_subgraph",
]


def named(type_text: str) -> str:
    """The named type of a printed type reference (`[Order!]!` → `Order`)."""
    return type_text.replace("[", "").replace("]", "").replace("!", "")


def type_shape(type_text: str) -> str:
    """The list/non-null structure, without the named type: `[X!]!` → `[_!]!`."""
    return type_text.replace(named(type_text), "_")


# --- per subgraph ----------------------------------------------------------------------------


def validate_subgraph(subgraph: Subgraph) -> list[CompositionError]:
    """The subgraph's field set and @external errors: KEY_INVALID_FIELDS, REQUIRES_INVALID_FIELDS
    and PROVIDES_INVALID_FIELDS (or the `*_DIRECTIVE_IN_FIELDS_ARG` code of each when a directive
    is the problem), and EXTERNAL_UNUSED."""
    errors: list[CompositionError] = []
    used_external: set[tuple[str, str]] = set()
    for stype in subgraph.types.values():
        for key in stype.keys:
            fields = key.get("fields")
            if not isinstance(fields, str):
                continue  # KEY_INVALID_FIELDS_TYPE (rules/keys.py)
            problem, names = check_field_set(subgraph, stype.name, fields)
            if problem:
                errors.append(
                    CompositionError(
                        _field_set_code("KEY_INVALID_FIELDS", problem),
                        f'[{subgraph.name}] On type "{stype.name}", for @key(fields: "{fields}"): {problem}',
                        (subgraph.name,),
                    )
                )
            used_external |= names
        for sfield in stype.fields.values():
            for directive, code, target in (
                ("requires", "REQUIRES_INVALID_FIELDS", stype.name),
                ("provides", "PROVIDES_INVALID_FIELDS", named(sfield.type)),
            ):
                fields = sfield.arg(directive, "fields")
                if not isinstance(fields, str) or not _composite(subgraph, target):
                    continue  # *_INVALID_FIELDS_TYPE, PROVIDES_ON_NON_OBJECT_FIELD (rules/)
                problem, names = check_field_set(subgraph, target, fields)
                if problem:
                    errors.append(
                        CompositionError(
                            _field_set_code(code, problem),
                            f'[{subgraph.name}] On field "{stype.name}.{sfield.name}", for '
                            f'@{directive}(fields: "{fields}"): {problem}',
                            (subgraph.name,),
                        )
                    )
                used_external |= names
    if subgraph.federation2 and not any(
        not _composite(subgraph, named(f.type))
        for t in subgraph.types.values()
        for f in t.fields.values()
        if f.has("provides")
    ):  # as Apollo, no EXTERNAL_UNUSED next to a @provides on a leaf field
        for stype in subgraph.types.values():
            for sfield in stype.fields.values():
                if sfield.has("external") and (stype.name, sfield.name) not in used_external:
                    if stype.has("interfaceObject") or _implements_external_interface_field(
                        subgraph, stype, sfield
                    ):
                        continue
                    errors.append(
                        CompositionError(
                            "EXTERNAL_UNUSED",
                            f'[{subgraph.name}] Field "{stype.name}.{sfield.name}" is marked @external '
                            "but is not used in any federation directive (@key, @provides, @requires) "
                            "or to satisfy an interface; the field declaration has no use and should "
                            "be removed (or the field should not be @external).",
                            (subgraph.name,),
                        )
                    )
    return errors


_DIRECTIVE_IN_FIELDS = "it applies a directive, and a field set cannot: remove it"


def _field_set_code(code: str, problem: str) -> str:
    """KEY_INVALID_FIELDS, or KEY_DIRECTIVE_IN_FIELDS_ARG when a directive is the problem (and
    the same for @requires and @provides)."""
    if problem == _DIRECTIVE_IN_FIELDS:
        return code.replace("INVALID_FIELDS", "DIRECTIVE_IN_FIELDS_ARG")
    return code


def _composite(subgraph: Subgraph, type_name: str) -> bool:
    if type_name in ("String", "Int", "Float", "Boolean", "ID"):
        return False
    stype = subgraph.types.get(type_name)
    return stype is None or stype.kind in ("object", "interface", "union")


def _implements_external_interface_field(subgraph: Subgraph, stype: SType, sfield: SField) -> bool:
    return any(
        sfield.name in subgraph.types[i].fields for i in stype.interfaces if i in subgraph.types
    )


def check_field_set(
    subgraph: Subgraph, type_name: str, text: str
) -> tuple[str | None, set[tuple[str, str]]]:
    """A problem with a field set (None when fine), and the (type, field) pairs it selects."""
    if not text.strip():
        return "it selects no field", set()
    try:
        selections = parse_field_set(text)
    except GraphQLError as exc:
        return f"it cannot be parsed: {exc.message}", set()
    names: set[tuple[str, str]] = set()
    problem = _walk_field_set(subgraph, type_name, selections, names)
    return problem, names


def _walk_field_set(
    subgraph: Subgraph,
    type_name: str,
    selections: tuple[Selection, ...],
    names: set[tuple[str, str]],
) -> str | None:
    stype = subgraph.types.get(type_name)
    if stype is None:
        return f'type "{type_name}" is not defined in this subgraph'
    for selection in selections:
        if isinstance(selection, InlineFragment):
            condition = selection.type_condition or type_name
            problem = _walk_field_set(subgraph, condition, selection.selections, names)
            if problem:
                return problem
            continue
        assert isinstance(selection, Field)
        if selection.alias:
            return f'it aliases field "{selection.name}" as "{selection.alias}": remove the alias'
        if selection.name == "__typename":
            continue
        sfield = stype.fields.get(selection.name)
        if sfield is None:
            return f'field "{selection.name}" is not defined on type "{type_name}"'
        names.add((type_name, selection.name))
        if selection.directives:
            return _DIRECTIVE_IN_FIELDS
        if selection.selections:
            problem = _walk_field_set(subgraph, named(sfield.type), selection.selections, names)
            if problem:
                return problem
        elif named(sfield.type) in subgraph.types and subgraph.types[named(sfield.type)].kind in (
            "object",
            "interface",
            "union",
        ):
            return (
                f'field "{type_name}.{selection.name}" is of a composite type and needs a selection'
            )
    return None


# --- visibility ------------------------------------------------------------------------------


def validate_inaccessible(merged: dict[str, Merged]) -> list[CompositionError]:
    """REFERENCED_INACCESSIBLE for each accessible field whose type is @inaccessible in some
    subgraph."""
    hidden = {
        name for name, entry in merged.items() if any(t.has("inaccessible") for _, t in entry.parts)
    }
    errors = []
    for entry in merged.values():
        if entry.name in hidden:
            continue
        for subgraph, stype in entry.parts:
            for sfield in stype.fields.values():
                if named(sfield.type) in hidden and not sfield.has("inaccessible"):
                    errors.append(
                        CompositionError(
                            "REFERENCED_INACCESSIBLE",
                            f'Type "{named(sfield.type)}" is @inaccessible but is referenced by '
                            f'"{entry.name}.{sfield.name}" (subgraph "{subgraph.name}"), which is in the API schema.',
                            (subgraph.name,),
                        )
                    )
    return errors

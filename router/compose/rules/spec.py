"""The federation spec's directives and types as Apollo's composition 2.14 knows them: per
directive the first federation version that has it, its arguments and its locations. Rules that
check `@link` imports and directive definitions read this table.
"""

from __future__ import annotations

from dataclasses import dataclass

from router.compose.subgraph import Subgraph

KNOWN_VERSIONS = tuple((2, minor) for minor in range(15))
"""federation/v2.0 … v2.14."""

_EVERYWHERE = frozenset(
    {
        "FIELD_DEFINITION",
        "OBJECT",
        "INTERFACE",
        "UNION",
        "ARGUMENT_DEFINITION",
        "SCALAR",
        "ENUM",
        "ENUM_VALUE",
        "INPUT_OBJECT",
        "INPUT_FIELD_DEFINITION",
    }
)
_ACCESS = frozenset({"FIELD_DEFINITION", "OBJECT", "INTERFACE", "SCALAR", "ENUM"})


@dataclass(frozen=True, slots=True)
class DirectiveSpec:
    """A federation directive: since which version, where it may go, what arguments it takes
    (`FieldSet`, `Scope`, `Policy`, `ContextFieldValue` stand for the
    federation scalars under whatever name the subgraph gives them)."""

    name: str
    since: tuple[int, int]
    locations: frozenset[str]
    arguments: dict[str, str]
    """Argument → its type as printed (`FieldSet!`, `[String!]`)."""
    repeatable: bool = False


_COST = frozenset(
    {
        "ARGUMENT_DEFINITION",
        "ENUM",
        "FIELD_DEFINITION",
        "INPUT_FIELD_DEFINITION",
        "OBJECT",
        "SCALAR",
    }
)
_FIELDS = {"fields": "FieldSet!"}
_SIZES = {
    "assumedSize": "Int",
    "slicingArguments": "[String!]",
    "sizedFields": "[String!]",
    "requireOneSlicingArgument": "Boolean",
}
_OBJECT_OR_FIELD = frozenset({"OBJECT", "FIELD_DEFINITION"})

DIRECTIVES: dict[str, DirectiveSpec] = {
    spec.name: spec
    for spec in (
        DirectiveSpec(
            "key",
            (2, 0),
            frozenset({"OBJECT", "INTERFACE"}),
            {**_FIELDS, "resolvable": "Boolean"},
            repeatable=True,
        ),
        DirectiveSpec("requires", (2, 0), frozenset({"FIELD_DEFINITION"}), _FIELDS),
        DirectiveSpec("provides", (2, 0), frozenset({"FIELD_DEFINITION"}), _FIELDS),
        DirectiveSpec("external", (2, 0), _OBJECT_OR_FIELD, {"reason": "String"}),
        DirectiveSpec("tag", (2, 0), _EVERYWHERE | {"SCHEMA"}, {"name": "String!"}, True),
        DirectiveSpec("extends", (2, 0), frozenset({"OBJECT", "INTERFACE"}), {}),
        DirectiveSpec("shareable", (2, 0), _OBJECT_OR_FIELD, {}, repeatable=True),
        DirectiveSpec("inaccessible", (2, 0), _EVERYWHERE, {}),
        DirectiveSpec(
            "override",
            (2, 0),
            frozenset({"FIELD_DEFINITION"}),
            {"from": "String!", "label": "String"},
        ),
        DirectiveSpec("composeDirective", (2, 1), frozenset({"SCHEMA"}), {"name": "String"}, True),
        DirectiveSpec("interfaceObject", (2, 3), frozenset({"OBJECT"}), {}),
        DirectiveSpec("authenticated", (2, 5), _ACCESS, {}),
        DirectiveSpec("requiresScopes", (2, 5), _ACCESS, {"scopes": "[[Scope!]!]!"}),
        DirectiveSpec("policy", (2, 6), _ACCESS, {"policies": "[[Policy!]!]!"}),
        DirectiveSpec(
            "context", (2, 8), frozenset({"OBJECT", "INTERFACE", "UNION"}), {"name": "String!"}
        ),
        DirectiveSpec(
            "fromContext",
            (2, 8),
            frozenset({"ARGUMENT_DEFINITION"}),
            {"field": "ContextFieldValue"},
        ),
        DirectiveSpec("cost", (2, 9), _COST, {"weight": "Int!"}),
        DirectiveSpec("listSize", (2, 9), frozenset({"FIELD_DEFINITION"}), _SIZES),
        DirectiveSpec("cacheTag", (2, 12), _OBJECT_OR_FIELD, {"format": "String!"}, True),
    )
}
FEDERATION1_DIRECTIVES = ("key", "requires", "provides", "external", "tag", "extends")
TYPES: dict[str, tuple[int, int]] = {
    "FieldSet": (2, 0),
    "Scope": (2, 5),
    "Policy": (2, 6),
    "ContextFieldValue": (2, 8),
}
"""The federation scalars a `@link` may import, and since which version."""


def directive_names(subgraph: Subgraph) -> dict[str, str]:
    """Local directive name → federation directive, for the directives this subgraph can use."""
    link = subgraph.link
    if link is None:
        return {name: name for name in FEDERATION1_DIRECTIVES}
    names = {link.prefix + name: name for name in DIRECTIVES}
    for item in link.imports:
        if item.valid and item.name.startswith("@") and item.name[1:] in DIRECTIVES:
            names[item.local.lstrip("@")] = item.name[1:]
    return names


def type_names(subgraph: Subgraph) -> dict[str, str]:
    """Local name → federation scalar (`federation__FieldSet`, an imported `FieldSet`, Fed 1's
    `_FieldSet`)."""
    link = subgraph.link
    if link is None:
        return {"_FieldSet": "FieldSet", "FieldSet": "FieldSet"}
    names = {link.prefix + name: name for name in TYPES}
    for item in link.imports:
        if item.valid and not item.name.startswith("@"):
            names[item.local] = item.name
    return names


def arguments_at(spec: DirectiveSpec, version: tuple[int, int]) -> dict[str, str]:
    """The directive's arguments under a federation version (@override's `label` from 2.7)."""
    if spec.name == "override" and version < (2, 7):
        return {"from": spec.arguments["from"]}
    return spec.arguments


def repeatable_at(spec: DirectiveSpec, version: tuple[int, int]) -> bool:
    """Whether the directive is repeatable under a federation version (@shareable from 2.2)."""
    return spec.repeatable and (spec.name != "shareable" or version >= (2, 2))

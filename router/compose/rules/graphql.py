"""What GraphQL's own schema rules refuse in a subgraph (INVALID_GRAPHQL), with the federation
directives the subgraph's `@link` gives it defined: graphql-core's SDL rules (unknown or
misplaced directives, missing or unknown directive arguments, duplicate names, ...), references
to types the subgraph does not define, directive argument values of the wrong type, and
graphql-core's schema validation (a type without fields, an input type as a field's type, an
interface field missing on an implementation). Apollo checks these before any federation rule,
so a subgraph that breaks one is reported with these errors only."""

from __future__ import annotations

from typing import Any

from graphql import (
    BooleanValueNode,
    DocumentNode,
    EnumTypeDefinitionNode,
    EnumTypeExtensionNode,
    FieldDefinitionNode,
    FloatValueNode,
    GraphQLError,
    InputObjectTypeDefinitionNode,
    InputObjectTypeExtensionNode,
    InterfaceTypeDefinitionNode,
    InterfaceTypeExtensionNode,
    IntValueNode,
    ListValueNode,
    NamedTypeNode,
    NullValueNode,
    ObjectTypeDefinitionNode,
    ObjectTypeExtensionNode,
    ScalarTypeDefinitionNode,
    ScalarTypeExtensionNode,
    StringValueNode,
    TypeDefinitionNode,
    UnionTypeDefinitionNode,
    UnionTypeExtensionNode,
    Visitor,
    build_ast_schema,
    parse,
    print_ast,
    validate_schema,
    visit,
)
from graphql.validation.rules.known_type_names import KnownTypeNamesRule
from graphql.validation.rules.possible_type_extensions import PossibleTypeExtensionsRule
from graphql.validation.specified_rules import specified_sdl_rules
from graphql.validation.validate import validate_sdl

from router.compose.errors import CompositionError
from router.compose.rules.spec import (
    DIRECTIVES,
    arguments_at,
    directive_names,
    repeatable_at,
)
from router.compose.subgraph import MACHINERY_FIELDS, MACHINERY_TYPES, SType, Subgraph

BUILTIN_SCALARS = frozenset({"String", "Int", "Float", "Boolean", "ID"})
_NOT_FEDERATION = frozenset({"deprecated", "specifiedBy", "oneOf"})
_RULES = tuple(
    r for r in specified_sdl_rules if r not in (KnownTypeNamesRule, PossibleTypeExtensionsRule)
)
"""As Apollo: type extensions of types defined elsewhere are fine, and type names are checked
below knowing the federation types."""
_LINK = (
    "directive @link(url: String, as: String, for: link__Purpose, import: [link__Import]) "
    "repeatable on SCHEMA"
)
_EXTENSION_TO_DEFINITION: dict[type, type] = {
    ObjectTypeExtensionNode: ObjectTypeDefinitionNode,
    InterfaceTypeExtensionNode: InterfaceTypeDefinitionNode,
    UnionTypeExtensionNode: UnionTypeDefinitionNode,
    EnumTypeExtensionNode: EnumTypeDefinitionNode,
    InputObjectTypeExtensionNode: InputObjectTypeDefinitionNode,
    ScalarTypeExtensionNode: ScalarTypeDefinitionNode,
}


def check(subgraph: Subgraph) -> list[CompositionError]:
    """INVALID_GRAPHQL for each thing GraphQL's own schema rules refuse in the subgraph, read
    with the federation definitions its `@link` gives it."""
    document = subgraph.document
    if document is None:
        return []
    definitions = _federation_definitions(subgraph)
    augmented = DocumentNode(definitions=(*document.definitions, *definitions.definitions))
    problems = [e.message for e in validate_sdl(augmented, rules=_RULES)]
    problems += _unknown_types(subgraph)
    if not problems:
        problems += _argument_values(subgraph)
    if not problems:
        problems += _schema_problems(augmented)
    return [
        CompositionError(
            "INVALID_GRAPHQL",
            f"[{subgraph.name}] {problem} Fix the schema: GraphQL itself refuses it.",
            (subgraph.name,),
        )
        for problem in problems
    ]


def _federation_definitions(subgraph: Subgraph) -> DocumentNode:
    """Definitions of the federation directives (and @link) the subgraph uses but does not
    define itself, under its local names and at its federation version."""
    version = subgraph.link.version if subgraph.link else (2, 0)
    defined = set(subgraph.directive_definitions)
    texts = [] if "link" in defined else [_LINK]
    for local, canonical in directive_names(subgraph).items():
        spec = DIRECTIVES[canonical]
        if local in defined or spec.since > version:
            continue
        arguments = ", ".join(
            f"{name}: {'String' + ('!' if kind.endswith('!') else '')}"
            for name, kind in arguments_at(spec, version).items()
        )
        texts.append(
            f"directive @{local}{f'({arguments})' if arguments else ''}"
            f"{' repeatable' if repeatable_at(spec, version) else ''} on "
            + " | ".join(sorted(spec.locations))
        )
    return parse("\n".join(texts)) if texts else DocumentNode(definitions=())


def _unknown_types(subgraph: Subgraph) -> list[str]:
    problems = []
    for stype in subgraph.types.values():
        for referenced, where in _references(stype):
            if (
                referenced in subgraph.types
                or referenced in BUILTIN_SCALARS
                or referenced in MACHINERY_TYPES
                or referenced.startswith(("link__", "federation__"))
            ):
                continue
            problems.append(f'{where} refers to type "{referenced}", which is not defined.')
    return problems


def _argument_values(subgraph: Subgraph) -> list[str]:
    """Directive arguments of a built-in scalar type given a value of another kind, e.g.
    `@key(fields: "id", resolvable: "yes")`, by the subgraph's own definition of the directive
    or else the federation spec's."""
    types: dict[tuple[str, str], str] = {}
    for definition in subgraph.directive_definitions.values():
        for argument in definition.arguments or ():
            types[(definition.name.value, argument.name.value)] = print_ast(argument.type)
    for local, canonical in directive_names(subgraph).items():
        if local not in subgraph.directive_definitions:
            for name, kind in DIRECTIVES[canonical].arguments.items():
                types[(local, name)] = kind
    problems: list[str] = []

    class Applications(Visitor):
        def enter_directive(self, node: Any, *_: Any) -> None:
            for argument in node.arguments or ():
                expected = types.get((node.name.value, argument.name.value))
                if expected is not None and not _fits(argument.value, expected):
                    problems.append(
                        f"@{node.name.value}({argument.name.value}:) is given a value that is "
                        f'not a "{expected}".'
                    )

    visit(subgraph.document, Applications())  # type: ignore[arg-type]
    return problems


def _fits(value: Any, expected: str) -> bool:
    if isinstance(value, NullValueNode):
        return not expected.endswith("!")
    expected = expected.removesuffix("!")
    if expected.startswith("["):
        inner = expected[1:-1]
        values = value.values if isinstance(value, ListValueNode) else (value,)
        return all(_fits(v, inner) for v in values)
    kinds: dict[str, tuple[type, ...]] = {
        "Boolean": (BooleanValueNode,),
        "Int": (IntValueNode,),
        "Float": (IntValueNode, FloatValueNode),
        "String": (StringValueNode,),
        "ID": (StringValueNode, IntValueNode),
    }
    if expected not in kinds:
        return True  # custom scalars, enums, inputs: not checked here
    return isinstance(value, kinds[expected]) and not isinstance(value, ListValueNode)


def _schema_problems(document: DocumentNode) -> list[str]:
    """graphql-core's schema validation, on the SDL with federation's machinery left out and
    extensions of types the subgraph does not define read as definitions."""
    defined = {d.name.value for d in document.definitions if isinstance(d, TypeDefinitionNode)}
    kept: list[Any] = []
    for definition in document.definitions:
        name = getattr(getattr(definition, "name", None), "value", None)
        if name in MACHINERY_TYPES or (name or "").startswith(("link__", "federation__")):
            if isinstance(definition, TypeDefinitionNode):
                continue
        fields = getattr(definition, "fields", None)
        if fields is not None and any(
            isinstance(f, FieldDefinitionNode) and f.name.value in MACHINERY_FIELDS for f in fields
        ):
            definition = _copy(
                definition,
                fields=tuple(f for f in fields if f.name.value not in MACHINERY_FIELDS),
            )
        definition_type = _EXTENSION_TO_DEFINITION.get(type(definition))
        if definition_type is not None and name not in defined:
            definition = _as_definition(definition, definition_type)
            defined.add(str(name))
        kept.append(definition)
    referenced: set[str] = set()

    class Names(Visitor):
        def enter_named_type(self, node: NamedTypeNode, *_: Any) -> None:
            referenced.add(node.name.value)

    stripped = DocumentNode(definitions=tuple(kept))
    visit(stripped, Names())
    missing = sorted(referenced - defined - BUILTIN_SCALARS)
    if missing:
        stripped = DocumentNode(
            definitions=(*kept, *parse("\n".join(f"scalar {m}" for m in missing)).definitions)
        )
    try:
        schema = build_ast_schema(stripped, assume_valid_sdl=True)
    except (GraphQLError, TypeError):
        return []  # what cannot be built is reported by the rules above or by federation's
    return [
        e.message
        for e in validate_schema(schema)
        if "root type" not in e.message and not e.message.startswith("Query root")
    ]


def _copy(node: Any, **changes: Any) -> Any:
    values = {key: getattr(node, key) for key in node.keys}
    values.update(changes)
    return type(node)(**values)


def _as_definition(node: Any, definition_type: Any) -> Any:
    values = {key: getattr(node, key) for key in node.keys if key in definition_type.keys}
    values.setdefault("description", None)
    return definition_type(**values)


def unknown_directives(subgraph: Subgraph) -> list[CompositionError]:
    """The federation directives a subgraph applies when its @link names no known version."""
    used = sorted(
        {
            name
            for stype in subgraph.types.values()
            for directives in _directive_maps(stype)
            for name in directives
            if not name.startswith("@") and name not in _NOT_FEDERATION
        }
    )
    return [
        CompositionError(
            "INVALID_GRAPHQL",
            f"[{subgraph.name}] The directive @{name} is applied but not defined, as the "
            "federation version linked does not exist.",
            (subgraph.name,),
        )
        for name in used
    ]


def _named(type_text: str) -> str:
    return type_text.replace("[", "").replace("]", "").replace("!", "")


def _references(stype: SType) -> list[tuple[str, str]]:
    found = [(i, f'Type "{stype.name}"') for i in stype.interfaces]
    found += [(m, f'Union "{stype.name}"') for m in stype.members]
    for sfield in stype.fields.values():
        coordinate = f"{stype.name}.{sfield.name}"
        found.append((_named(sfield.type), f'Field "{coordinate}"'))
        found += [
            (_named(a.type), f'Argument "{coordinate}({a.name}:)"')
            for a in sfield.arguments.values()
        ]
    return found


def _directive_maps(stype: SType) -> list[dict[str, list[dict[str, object]]]]:
    maps = [stype.directives]
    for sfield in [*stype.fields.values(), *stype.values.values()]:
        maps.append(sfield.directives)
        maps += [a.directives for a in sfield.arguments.values()]
    return maps

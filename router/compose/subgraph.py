"""One subgraph's schema, read from its SDL into the shape composition merges.

Federation directives are recognised under whatever names the subgraph's `@link` imports give
them (`@key`, `@federation__shareable`, renames with `as:`); a subgraph without a `@link` to the
federation spec is read as Federation 1 (every field shareable, `extend type` marks extensions).
The machinery subgraph libraries print (`_service`, `_entities`, `_Any`, `_Entity`, `_Service`,
`link__*`, `federation__*`, directive definitions) is dropped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    DirectiveDefinitionNode,
    DirectiveNode,
    DocumentNode,
    EnumTypeDefinitionNode,
    EnumTypeExtensionNode,
    FieldDefinitionNode,
    GraphQLError,
    InputObjectTypeDefinitionNode,
    InputObjectTypeExtensionNode,
    InputValueDefinitionNode,
    InterfaceTypeDefinitionNode,
    InterfaceTypeExtensionNode,
    ObjectTypeDefinitionNode,
    ObjectTypeExtensionNode,
    ScalarTypeDefinitionNode,
    ScalarTypeExtensionNode,
    SchemaDefinitionNode,
    SchemaExtensionNode,
    StringValueNode,
    UnionTypeDefinitionNode,
    UnionTypeExtensionNode,
    parse,
    print_ast,
)

from router.errors import RouterError
from router.operation.ir import Field, InlineFragment, Selection, parse_field_set

FEDERATION_DIRECTIVES = (
    "key",
    "requires",
    "provides",
    "external",
    "shareable",
    "override",
    "inaccessible",
    "interfaceObject",
    "tag",
    "extends",
    "composeDirective",
    "authenticated",
    "requiresScopes",
    "policy",
    "context",
    "fromContext",
    "cost",
    "listSize",
)
MACHINERY_TYPES = {
    "_Service",
    "_Any",
    "_Entity",
    "_FieldSet",
    "FieldSet",
    "link__Import",
    "link__Purpose",
    "federation__FieldSet",
    "federation__Scope",
    "federation__Policy",
    "federation__ContextFieldValue",
}
MACHINERY_FIELDS = {"_service", "_entities"}
_FEDERATION_URL = re.compile(r"https://specs\.apollo\.dev/federation/v(\d+)\.(\d+)")

_KINDS: dict[type, str] = {
    ObjectTypeDefinitionNode: "object",
    ObjectTypeExtensionNode: "object",
    InterfaceTypeDefinitionNode: "interface",
    InterfaceTypeExtensionNode: "interface",
    UnionTypeDefinitionNode: "union",
    UnionTypeExtensionNode: "union",
    EnumTypeDefinitionNode: "enum",
    EnumTypeExtensionNode: "enum",
    InputObjectTypeDefinitionNode: "input",
    InputObjectTypeExtensionNode: "input",
    ScalarTypeDefinitionNode: "scalar",
    ScalarTypeExtensionNode: "scalar",
}
_EXTENSIONS = (
    ObjectTypeExtensionNode,
    InterfaceTypeExtensionNode,
    UnionTypeExtensionNode,
    EnumTypeExtensionNode,
    InputObjectTypeExtensionNode,
    ScalarTypeExtensionNode,
)


class SubgraphError(RouterError):
    """A subgraph schema cannot be read; the message names the subgraph."""


@dataclass
class SField:
    """A field (or input field, or argument) as one subgraph defines it."""

    name: str
    type: str
    """Printed type reference, e.g. `[Order!]!`."""
    node: FieldDefinitionNode | InputValueDefinitionNode
    directives: dict[str, list[dict[str, Any]]]
    """Federation and other directives, by canonical name."""
    arguments: dict[str, SField] = field(default_factory=dict)
    description: str | None = None
    default: str | None = None

    def has(self, name: str) -> bool:
        """Whether the directive `name` (its canonical name) is applied."""
        return name in self.directives

    def arg(self, directive: str, argument: str) -> Any:
        """The argument `argument` of the first application of `directive` that gives it, or
        None."""
        for args in self.directives.get(directive, ()):
            if argument in args:
                return args[argument]
        return None


@dataclass
class SType:
    """A type as one subgraph defines it (definition and extensions together)."""

    name: str
    kind: str
    directives: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    fields: dict[str, SField] = field(default_factory=dict)
    interfaces: list[str] = field(default_factory=list)
    members: list[str] = field(default_factory=list)
    values: dict[str, SField] = field(default_factory=dict)
    description: str | None = None
    extension: bool = True
    """True when the subgraph only extends the type (`extend type`, or `@extends`)."""

    def has(self, name: str) -> bool:
        """Whether the directive `name` (its canonical name) is applied to the type."""
        return name in self.directives

    @property
    def keys(self) -> list[dict[str, Any]]:
        """The arguments of each `@key` on the type, in the order written."""
        return self.directives.get("key", [])


@dataclass(frozen=True, slots=True)
class LinkImport:
    """One element of a `@link(import:)`: `"@key"`, or `{ name: "@key", as: "@primaryKey" }`."""

    name: str
    local: str
    valid: bool = True
    """False when the element is neither a string nor an object with a string `name`."""


@dataclass(frozen=True, slots=True)
class FederationLink:
    """The subgraph's `@link` to the federation spec."""

    url: str
    version: tuple[int, int]
    prefix: str
    """What unimported federation names are prefixed with (`federation__` unless `as:`)."""
    imports: tuple[LinkImport, ...] = ()
    repeated: bool = False
    """True when the schema links the federation spec more than once."""


@dataclass
class Subgraph:
    """One subgraph's schema as composition reads it: its types with their federation directives,
    its root types and its `@link` to federation."""

    name: str
    url: str
    federation2: bool
    types: dict[str, SType]
    roots: dict[str, str]
    """Operation kind → root type name in this subgraph."""
    other_directives: set[str] = field(default_factory=set)
    link: FederationLink | None = None
    """The `@link` to federation (None for a Federation 1 subgraph)."""
    directive_definitions: dict[str, DirectiveDefinitionNode] = field(default_factory=dict)
    """Directive definitions the SDL writes, by their local name."""
    syntax_error: str | None = None
    """Why the SDL does not parse (then the subgraph has no types)."""
    explicit_roots: dict[str, str] = field(default_factory=dict)
    """Root types a `schema { ... }` definition or extension names, by operation kind."""
    document: DocumentNode | None = None
    """The SDL as parsed (None when it does not parse)."""


def read_subgraph(name: str, url: str, sdl: str) -> Subgraph:
    """The subgraph an SDL describes. An SDL that does not parse gives a subgraph with
    `syntax_error` set, which composition refuses as INVALID_GRAPHQL."""
    try:
        document = parse(sdl, no_location=False)
    except GraphQLError as exc:
        return Subgraph(name, url, True, {}, {}, syntax_error=exc.message)
    names, federation2 = _directive_names(document)
    link = _federation_link(document)
    types: dict[str, SType] = {}
    roots = {"query": "Query", "mutation": "Mutation", "subscription": "Subscription"}
    explicit: dict[str, str] = {}
    definitions: dict[str, DirectiveDefinitionNode] = {}
    for definition in document.definitions:
        if isinstance(definition, (SchemaDefinitionNode, SchemaExtensionNode)):
            for operation in definition.operation_types or ():
                roots[operation.operation.value] = operation.type.name.value
                explicit[operation.operation.value] = operation.type.name.value
            continue
        if isinstance(definition, DirectiveDefinitionNode):
            definitions.setdefault(definition.name.value, definition)
            continue
        kind = _KINDS.get(type(definition))
        if kind is None:
            continue
        type_name = definition.name.value  # type: ignore[attr-defined]
        if type_name in MACHINERY_TYPES or type_name.startswith(("link__", "federation__")):
            continue
        current = types.get(type_name)
        if current is None:
            current = types[type_name] = SType(type_name, kind)
        elif current.kind != kind:
            raise SubgraphError(
                f"subgraph {name!r}: {type_name} is defined as both {current.kind} and {kind}"
            )
        _add(current, definition, names)
    present = {kind: root for kind, root in roots.items() if root in types}
    for root in present.values():
        for machinery in MACHINERY_FIELDS:
            types[root].fields.pop(machinery, None)
        types[root].extension = False
    for type_name in [
        t for t, v in types.items() if v.kind == "object" and not v.fields and t in present.values()
    ]:
        del types[type_name]  # a root type that had only _service/_entities
        present = {k: r for k, r in present.items() if r != type_name}
    present = _default_root_names(types, present)
    return Subgraph(
        name=name,
        url=url,
        federation2=federation2,
        types=types,
        roots=present,
        link=link,
        directive_definitions=definitions,
        explicit_roots=explicit,
        document=document,
    )


def _federation_link(document: DocumentNode) -> FederationLink | None:
    links = [
        d
        for definition in document.definitions
        if isinstance(definition, (SchemaDefinitionNode, SchemaExtensionNode))
        for d in definition.directives or ()
        if d.name.value == "link" and _FEDERATION_URL.match(str(_arguments(d).get("url", "")))
    ]
    first = _first_federation_link(document)
    if first is not None and len(links) > 1:
        return FederationLink(first.url, first.version, first.prefix, first.imports, True)
    return first


def _federation_links(
    document: DocumentNode,
) -> Iterator[tuple[re.Match[str], dict[str, Any]]]:
    """Each `@link` to the federation spec on the schema, in order: its URL's match (the
    version) and its arguments."""
    for definition in document.definitions:
        if not isinstance(definition, (SchemaDefinitionNode, SchemaExtensionNode)):
            continue
        for directive in definition.directives or ():
            if directive.name.value != "link":
                continue
            args = _arguments(directive)
            match = _FEDERATION_URL.match(str(args.get("url", "")))
            if match:
                yield match, args


def _first_federation_link(document: DocumentNode) -> FederationLink | None:
    for match, args in _federation_links(document):
        imports = []
        for item in args.get("import") or ():
            if isinstance(item, str):
                imports.append(LinkImport(item, item))
            elif isinstance(item, dict) and isinstance(item.get("name"), str):
                local = item.get("as")
                imports.append(LinkImport(item["name"], str(local or item["name"])))
            else:
                imports.append(LinkImport(str(item), str(item), valid=False))
        return FederationLink(
            url=str(args.get("url", "")),
            version=(int(match.group(1)), int(match.group(2))),
            prefix=str(args.get("as") or "federation") + "__",
            imports=tuple(imports),
        )
    return None


def _directive_names(document: DocumentNode) -> tuple[dict[str, str], bool]:
    """Local directive name → canonical federation name, and whether this is Federation 2."""
    for _, args in _federation_links(document):
        prefix = (args.get("as") or "federation") + "__"
        names = {prefix + d: d for d in FEDERATION_DIRECTIVES}
        for item in args.get("import") or ():
            if isinstance(item, dict):
                if not isinstance(item.get("name"), str):
                    continue  # INVALID_LINK_DIRECTIVE_USAGE (rules/links.py)
                local, original = str(item.get("as") or item["name"]), str(item["name"])
            else:
                local = original = item
            if original.startswith("@"):
                names[local.lstrip("@")] = original.lstrip("@")
        return names, True
    return {d: d for d in FEDERATION_DIRECTIVES}, False


def _arguments(directive: DirectiveNode) -> dict[str, Any]:
    return {a.name.value: _value(a.value) for a in directive.arguments or ()}


def _value(node: Any) -> Any:
    kind = type(node).__name__
    if kind == "ListValueNode":
        return [_value(v) for v in node.values]
    if kind == "ObjectValueNode":
        return {f.name.value: _value(f.value) for f in node.fields}
    if kind in ("IntValueNode",):
        return int(node.value)
    if kind in ("FloatValueNode",):
        return float(node.value)
    if kind == "NullValueNode":
        return None
    return node.value


def _directives(node: Any, names: dict[str, str]) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for directive in getattr(node, "directives", None) or ():
        local = directive.name.value
        canonical = names.get(
            local, local if local in ("deprecated", "specifiedBy", "oneOf") else f"@{local}"
        )
        found.setdefault(canonical, []).append(_arguments(directive))
        if canonical.startswith("@"):
            found[canonical][-1]["__node__"] = directive
    return found


def _description(node: Any) -> str | None:
    description = getattr(node, "description", None)
    return description.value if isinstance(description, StringValueNode) else None


def _field(node: Any, names: dict[str, str]) -> SField:
    result = SField(
        name=node.name.value,
        type=print_ast(node.type),
        node=node,
        directives=_directives(node, names),
        description=_description(node),
        default=print_ast(node.default_value) if getattr(node, "default_value", None) else None,
    )
    for argument in getattr(node, "arguments", None) or ():
        result.arguments[argument.name.value] = _field(argument, names)
    return result


def _add(target: SType, definition: Any, names: dict[str, str]) -> None:
    directives = _directives(definition, names)
    for key, values in directives.items():
        target.directives.setdefault(key, []).extend(values)
    is_extension = isinstance(definition, _EXTENSIONS) or "extends" in directives
    target.extension = target.extension and is_extension
    target.description = target.description or _description(definition)
    for node in getattr(definition, "fields", None) or ():
        sfield = _field(node, names)
        if "external" in directives and "external" not in sfield.directives:
            sfield.directives["external"] = [{}]  # @external on the type: on every field
        target.fields[node.name.value] = sfield
    for node in getattr(definition, "interfaces", None) or ():
        if node.name.value not in target.interfaces:
            target.interfaces.append(node.name.value)
    for node in getattr(definition, "types", None) or ():
        if node.name.value not in target.members:
            target.members.append(node.name.value)
    for node in getattr(definition, "values", None) or ():
        target.values[node.name.value] = _field_like_value(node, names)


def _field_like_value(node: Any, names: dict[str, str]) -> SField:
    return SField(
        name=node.name.value,
        type="",
        node=node,
        directives=_directives(node, names),
        description=_description(node),
    )


def key_field_names(stype: SType) -> set[str]:
    """The top-level fields the type's @key directives select."""
    names: set[str] = set()
    for key in stype.keys:
        fields = key.get("fields")
        if isinstance(fields, str):
            try:
                names |= _top_level_names(parse_field_set(fields))
            except GraphQLError:
                continue  # KEY_INVALID_FIELDS says why
    return names


def _top_level_names(selections: Iterable[Selection]) -> set[str]:
    names: set[str] = set()
    for selection in selections:
        if isinstance(selection, Field):
            names.add(selection.name)
        elif isinstance(selection, InlineFragment):
            names |= _top_level_names(selection.selections)
    return names


def is_external(subgraph: Subgraph, stype: SType, sfield: SField) -> bool:
    """Whether the subgraph only declares the field (another resolves it). @external on the key
    fields of a type extension (or of any Fed 1 type) only restates the key: the subgraph does
    resolve them."""
    if not sfield.has("external"):
        return False
    restated = (stype.extension or not subgraph.federation2) and (
        sfield.name in key_field_names(stype)
    )
    return not restated


_DEFAULT_ROOTS = {"query": "Query", "mutation": "Mutation", "subscription": "Subscription"}


def _default_root_names(types: dict[str, SType], roots: dict[str, str]) -> dict[str, str]:
    """Root types renamed in `schema { ... }` take their default names, as they have in the
    supergraph (unless another type has that name: ROOT_QUERY_USED and its kin say so)."""
    renames = {
        root: _DEFAULT_ROOTS[kind]
        for kind, root in roots.items()
        if root != _DEFAULT_ROOTS[kind] and _DEFAULT_ROOTS[kind] not in types
    }
    if not renames:
        return roots
    for old, new in renames.items():
        stype = types.pop(old)
        stype.name = new
        types[new] = stype
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, renames)) + r")\b")
    for stype in types.values():
        for sfield in stype.fields.values():
            for typed in (sfield, *sfield.arguments.values()):
                typed.type = pattern.sub(lambda m: renames[m.group(1)], typed.type)
        stype.interfaces = [renames.get(i, i) for i in stype.interfaces]
        stype.members = [renames.get(m, m) for m in stype.members]
    return {kind: renames.get(root, root) for kind, root in roots.items()}

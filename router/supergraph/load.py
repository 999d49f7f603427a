"""Read a Federation 2 supergraph SDL (`@link` v1.0, join v0.2–v0.5) into a `Supergraph`.

The authorization features (authenticated, requiresScopes and policy v0.1, linked `for:
SECURITY`) are read onto the types and fields they annotate (`Access`), under whatever name
the `@link` gives them (`as:`, or a renaming `import:`); router/authz/ enforces them."""

from __future__ import annotations

import re
from typing import Any

from graphql import (
    BooleanValueNode,
    DirectiveNode,
    DocumentNode,
    EnumTypeDefinitionNode,
    EnumValueNode,
    GraphQLEnumType,
    GraphQLError,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLUnionType,
    ListValueNode,
    ObjectValueNode,
    SchemaDefinitionNode,
    StringValueNode,
    build_ast_schema,
    get_named_type,
    parse,
)

from router.errors import SupergraphError
from router.operation.ir import parse_field_set
from router.supergraph.api_schema import build_api_schema
from router.supergraph.model import (
    OPEN,
    Access,
    Alternatives,
    EntityKey,
    FieldModel,
    Graph,
    JoinField,
    JoinType,
    Kind,
    Supergraph,
    TypeModel,
)

SUPPORTED_JOIN = ("v0.2", "v0.3", "v0.4", "v0.5")
# Features the router knows how to honour; any other feature linked `for: EXECUTION` or
# `for: SECURITY` would change results or access rules the router would silently ignore.
UNDERSTOOD_FEATURES = {
    "link",
    "join",
    "inaccessible",
    "tag",
    "core",
    "cost",
    "authenticated",
    "requiresScopes",
    "policy",
}
AUTHORIZATION_FEATURES = {"authenticated": "v0.1", "requiresScopes": "v0.1", "policy": "v0.1"}
"""The authorization features the router enforces (router/authz/), at the versions it knows."""
_LINK_URL = re.compile(r"https://specs\.apollo\.dev/(?P<name>[a-zA-Z_]+)/(?P<version>v\d+\.\d+)")


def load_supergraph(sdl: str) -> Supergraph:
    """Parse and check a supergraph; raises SupergraphError with the reason when it can't serve."""
    try:
        document = parse(sdl)
    except GraphQLError as exc:
        raise SupergraphError(f"the supergraph is not valid GraphQL SDL: {exc.message}") from None
    links = _links(document)
    join = links.get("join")
    if join is None:
        raise SupergraphError(
            "the supergraph has no @link to the join spec (https://specs.apollo.dev/join/v0.x): "
            "it is a plain schema, not a supergraph composed for a federation router"
        )
    if join["version"] not in SUPPORTED_JOIN:
        raise SupergraphError(
            f"join spec {join['version']} is not supported (supported: {', '.join(SUPPORTED_JOIN)})"
        )
    for name, link in links.items():
        known = AUTHORIZATION_FEATURES.get(name, link["version"])
        if link["for"] in ("EXECUTION", "SECURITY") and (
            name not in UNDERSTOOD_FEATURES or link["version"] != known
        ):
            raise SupergraphError(
                f"the supergraph links {link['url']} for {link['for']}, which this router does "
                "not support; serving it would give wrong results or skip access rules"
            )
    try:
        schema = build_ast_schema(document, assume_valid_sdl=True)
    except (GraphQLError, TypeError) as exc:
        raise SupergraphError(f"the supergraph schema cannot be built: {exc}") from None

    prefix = f"{join['alias']}__"
    graphs = _graphs(document, prefix)
    access = _AccessReader(links)
    types: dict[str, TypeModel] = {}
    for named in schema.type_map.values():
        if named.name.startswith("__") or _is_machinery(named.name, links):
            continue
        model = _type_model(named, prefix, graphs, access)
        if model is not None:
            types[model.name] = model
    roots = {
        kind: root.name
        for kind, root in (
            ("query", schema.query_type),
            ("mutation", schema.mutation_type),
            ("subscription", schema.subscription_type),
        )
        if root is not None
    }
    inaccessible = links.get("inaccessible", {}).get("alias", "inaccessible")
    api_schema = build_api_schema(document, links=set(_aliases(links)), inaccessible=inaccessible)
    return Supergraph(
        sdl=sdl,
        graphs=graphs,
        types=types,
        schema=schema,
        api_schema=api_schema,
        join_version=join["version"],
        root_types=roots,
        has_access=access.used,
    )


def _aliases(links: dict[str, dict[str, Any]]) -> list[str]:
    return [link["alias"] for link in links.values()]


def _is_machinery(type_name: str, links: dict[str, dict[str, Any]]) -> bool:
    return any(type_name.startswith(f"{alias}__") for alias in _aliases(links))


def _links(document: DocumentNode) -> dict[str, dict[str, Any]]:
    """Every `@link` (or legacy `@core`) on the schema: name → url, version, alias, purpose."""
    found: dict[str, dict[str, Any]] = {}
    for definition in document.definitions:
        if not isinstance(definition, SchemaDefinitionNode):
            continue
        for directive in definition.directives or ():
            if directive.name.value not in ("link", "core"):
                continue
            args = _arguments(directive)
            url = args.get("url") or args.get("feature")
            match = _LINK_URL.match(url or "")
            if match is None:
                continue
            name = match["name"]
            found[name] = {
                "url": url,
                "version": match["version"],
                "alias": args.get("as") or name,
                "for": args.get("for"),
                "import": args.get("import") or [],
            }
    return found


def _arguments(directive: DirectiveNode) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for argument in directive.arguments or ():
        values[argument.name.value] = _literal(argument.value)
    return values


def _literal(node: Any) -> Any:
    if isinstance(node, (StringValueNode, EnumValueNode)):
        return node.value
    if isinstance(node, BooleanValueNode):
        return node.value
    if isinstance(node, ListValueNode):
        return [_literal(v) for v in node.values]
    if isinstance(node, ObjectValueNode):
        return {f.name.value: _literal(f.value) for f in node.fields}
    return getattr(node, "value", None)


class _AccessReader:
    """Reads `@authenticated`, `@requiresScopes` and `@policy` under the names the
    supergraph's `@link`s give them."""

    def __init__(self, links: dict[str, dict[str, Any]]) -> None:
        self.names = {
            feature: _directive_name(links[feature], feature)
            for feature in AUTHORIZATION_FEATURES
            if feature in links
        }
        self.used = False

    def read(self, node: Any) -> Access:
        if not self.names or node is None:
            return OPEN
        access = OPEN
        for feature, name in self.names.items():
            for args in _directives(node, name):
                if feature == "authenticated":
                    access = access & Access(authenticated=True)
                elif feature == "requiresScopes":
                    access = access & Access(scopes=(_alternatives(args.get("scopes")),))
                else:
                    access = access & Access(policies=(_alternatives(args.get("policies")),))
        self.used = self.used or bool(access)
        return access


def _directive_name(link: dict[str, Any], feature: str) -> str:
    """The name a feature's main directive has in this schema: as imported (`import:
    [{name: "@requiresScopes", as: "@scopes"}]`, `import: ["@policy"]`), else the link's
    alias (`as: "auth"` → `@auth`)."""
    for entry in link["import"]:
        if entry == f"@{feature}":
            return feature
        if isinstance(entry, dict) and entry.get("name") == f"@{feature}":
            return str(entry.get("as") or entry["name"]).removeprefix("@")
    return str(link["alias"])


def _alternatives(value: Any) -> Alternatives:
    return tuple(frozenset(inner or ()) for inner in value or ())


def _directives(node: Any, name: str) -> list[dict[str, Any]]:
    if node is None:
        return []
    return [_arguments(d) for d in node.directives or () if d.name.value == name]


def _graphs(document: DocumentNode, prefix: str) -> dict[str, Graph]:
    for definition in document.definitions:
        if (
            isinstance(definition, EnumTypeDefinitionNode)
            and definition.name.value == f"{prefix}Graph"
        ):
            graphs = {}
            for value in definition.values or ():
                (args,) = _directives(value, f"{prefix}graph") or [{}]
                graphs[value.name.value] = Graph(
                    id=value.name.value,
                    name=args.get("name", value.name.value.lower()),
                    url=args.get("url", ""),
                )
            return graphs
    raise SupergraphError(f"the supergraph has no enum {prefix}Graph listing its subgraphs")


def _kind(named: GraphQLNamedType) -> Kind:
    if isinstance(named, GraphQLObjectType):
        return "object"
    if isinstance(named, GraphQLInterfaceType):
        return "interface"
    if isinstance(named, GraphQLUnionType):
        return "union"
    if isinstance(named, GraphQLEnumType):
        return "enum"
    if isinstance(named, GraphQLInputObjectType):
        return "input"
    assert isinstance(named, GraphQLScalarType)
    return "scalar"


def _type_model(
    named: GraphQLNamedType, prefix: str, graphs: dict[str, Graph], access: _AccessReader
) -> TypeModel | None:
    kind = _kind(named)
    node = named.ast_node
    joins: dict[str, JoinType] = {}
    for args in _directives(node, f"{prefix}type"):
        graph = args["graph"]
        key_text = args.get("key")
        previous = joins.get(graph)
        keys = list(previous.keys) if previous else []
        if key_text:
            keys.append(
                EntityKey(graph, key_text, parse_field_set(key_text), args.get("resolvable", True))
            )
        joins[graph] = JoinType(
            graph=graph,
            keys=tuple(keys),
            extension=bool(args.get("extension", False))
            or (previous.extension if previous else False),
            is_interface_object=bool(args.get("isInterfaceObject", False))
            or (previous.is_interface_object if previous else False),
        )
    if not joins:
        # A type with no @join__type (built-in scalars, some v0.2 supergraphs) is in every graph.
        joins = {graph: JoinType(graph, ()) for graph in graphs}
    model = TypeModel(name=named.name, kind=kind, joins=joins, fields={}, access=access.read(node))
    if isinstance(named, (GraphQLObjectType, GraphQLInterfaceType)):
        for field_name, field_def in named.fields.items():
            model.fields[field_name] = _field_model(named.name, field_name, field_def, prefix)
            model.fields[field_name].access = access.read(field_def.ast_node)
        implements: dict[str, set[str]] = {}
        for args in _directives(node, f"{prefix}implements"):
            implements.setdefault(args["graph"], set()).add(args["interface"])
        if not implements and named.interfaces:
            implements = {g: {i.name for i in named.interfaces} for g in joins}
        model.implements = {g: frozenset(i) for g, i in implements.items()}
    if isinstance(named, GraphQLUnionType):
        members: dict[str, set[str]] = {}
        for args in _directives(node, f"{prefix}unionMember"):
            members.setdefault(args["graph"], set()).add(args["member"])
        if not members:
            members = {g: {t.name for t in named.types} for g in joins}
        model.members = {g: frozenset(m) for g, m in members.items()}
    return model


def _list_depth(type_: Any) -> int:
    depth = 0
    while hasattr(type_, "of_type"):
        if isinstance(type_, GraphQLList):
            depth += 1
        type_ = type_.of_type
    return depth


def _field_model(parent: str, name: str, field_def: Any, prefix: str) -> FieldModel:
    joins = tuple(
        JoinField(
            graph=args.get("graph"),
            requires=args.get("requires"),
            provides=args.get("provides"),
            type=args.get("type"),
            external=bool(args.get("external", False)),
            override=args.get("override"),
            used_overridden=bool(args.get("usedOverridden", False)),
            override_label=args.get("overrideLabel"),
        )
        for args in _directives(field_def.ast_node, f"{prefix}field")
    )
    model = FieldModel(
        parent=parent,
        name=name,
        type_name=get_named_type(field_def.type).name,
        joins=joins,
        type_text=str(field_def.type),
        list_depth=_list_depth(field_def.type),
    )
    for join in joins:
        if join.graph is None:
            continue
        if join.requires:
            model.requires_by_graph[join.graph] = parse_field_set(join.requires)
        if join.provides:
            model.provides_by_graph[join.graph] = parse_field_set(join.provides)
    return model

"""Custom directives a subgraph asks to keep in the supergraph with `@composeDirective`, chosen
and checked as Apollo does.

A composed directive must be defined in the subgraph and belong to a spec the subgraph
`@link`s (`@link(url: "https://example.com/audit/v1.0", import: ["@audit"])`); not to the
federation spec or one of Apollo's own (a directive composed anyway, @tag, @inaccessible and
the access-control ones, only gets the hint DIRECTIVE_COMPOSITION_INFO); named alike in every
subgraph that composes it and by the same spec, whose major versions agree. Each broken rule is
a DIRECTIVE_COMPOSITION_ERROR. The supergraph links the newest version of each composed spec,
importing the composed directives, defines them as that version's subgraph does, and keeps
their applications from the subgraphs that compose them: every distinct one for a repeatable
directive; otherwise the one most subgraphs give (INCONSISTENT_NON_REPEATABLE_DIRECTIVE_ARGUMENTS
when they differ).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    DirectiveDefinitionNode,
    DirectiveNode,
    SchemaDefinitionNode,
    SchemaExtensionNode,
    print_ast,
    value_from_ast_untyped,
)

from router.compose.errors import CompositionError
from router.compose.subgraph import FEDERATION_DIRECTIVES, Subgraph

_URL = re.compile(r"(?P<identity>.+/(?P<name>[^/]+))/v(?P<major>\d+)\.(?P<minor>\d+)/?$")
APOLLO_SPECS = tuple(
    f"https://specs.apollo.dev/{name}"
    for name in (
        "core",
        "join",
        "link",
        "tag",
        "inaccessible",
        "federation",
        "authenticated",
        "requiresScopes",
        "source",
        "context",
        "cost",
    )
)
"""Specs whose directives cannot be composed by name."""
COMPOSED_BY_DEFAULT = (
    "tag",
    "inaccessible",
    "authenticated",
    "requiresScopes",
    "policy",
    "context",
)


@dataclass(frozen=True, slots=True)
class Feature:
    """A spec a subgraph `@link`s."""

    url: str
    identity: str
    name: str
    version: tuple[int, int]
    alias: str
    imports: tuple[tuple[str, str], ...]
    """(name in the spec, name in the subgraph) of each import, `@` included."""

    def name_in_feature(self, local: str) -> str | None:
        """The spec's name for the subgraph's directive `@local`; None when the subgraph uses
        a default name (`audit__x`) for an element it imports under another one."""
        for original, imported in self.imports:
            if imported == f"@{local}":
                return original[1:]
        if local.startswith(f"{self.alias}__"):
            default = local[len(self.alias) + 2 :]
        elif local == self.alias:
            default = self.name
        else:
            return None
        imported_elsewhere = any(original == f"@{default}" for original, _ in self.imports)
        return None if imported_elsewhere else default

    def owns(self, local: str) -> bool:
        """Whether the subgraph's name `@local` belongs to this spec: imported from it, or under
        its prefix (`audit__x`) or its alias."""
        return (
            any(imported == f"@{local}" for _, imported in self.imports)
            or local.startswith(f"{self.alias}__")
            or local == self.alias
        )


def features(subgraph: Subgraph) -> list[Feature]:
    """The specs the subgraph links (with a URL naming a spec and a version)."""
    found = []
    for directive in _schema_directives(subgraph):
        if directive.name.value != "link":
            continue
        args = _arguments(directive)
        match = _URL.match(str(args.get("url", "")))
        if match is None:
            continue
        imports = []
        for item in args.get("import") or ():
            if isinstance(item, str):
                imports.append((item, item))
            elif isinstance(item, dict) and isinstance(item.get("name"), str):
                imports.append((item["name"], str(item.get("as") or item["name"])))
        found.append(
            Feature(
                url=str(args["url"]),
                identity=match["identity"],
                name=match["name"],
                version=(int(match["major"]), int(match["minor"])),
                alias=str(args.get("as") or match["name"]),
                imports=tuple(imports),
            )
        )
    return found


@dataclass(frozen=True, slots=True)
class _Item:
    subgraph: str
    feature: Feature
    name: str
    """The directive's name in the subgraph (and the supergraph)."""
    original: str
    """Its name in the spec."""


@dataclass
class ComposedDirectives:
    """What `@composeDirective` keeps in one composition."""

    errors: list[CompositionError] = field(default_factory=list)
    hints: list[CompositionError] = field(default_factory=list)
    by_subgraph: dict[str, set[str]] = field(default_factory=dict)
    """Subgraph → the directives whose applications it contributes."""
    definitions: dict[str, str] = field(default_factory=dict)
    """Directive → its definition, printed."""
    links: list[str] = field(default_factory=list)
    """The `@link`s the supergraph adds, printed."""
    repeatable: set[str] = field(default_factory=set)

    def applied(self, coordinate: str, sources: Iterable[tuple[str, dict[str, Any]]]) -> list[str]:
        """The composed directives an element gets, from (subgraph, directive map) pairs."""
        printed: list[str] = []
        for name in sorted(self.definitions):
            given = [
                a
                for subgraph, directives in sources
                if name in self.by_subgraph.get(subgraph, ())
                for a in directives.get(f"@{name}", ())
            ]
            distinct: list[tuple[str, int]] = []
            for applied in given:
                text = print_ast(applied["__node__"])
                found = next((i for i, (t, _) in enumerate(distinct) if t == text), None)
                if found is None:
                    distinct.append((text, 1))
                else:
                    distinct[found] = (text, distinct[found][1] + 1)
            if name in self.repeatable:
                printed += [text for text, _ in distinct]
            elif distinct:
                most = max(distinct, key=lambda d: d[1])  # the first of the most given
                printed.append(most[0])
                if len(distinct) > 1:
                    self.hints.append(
                        CompositionError(
                            "INCONSISTENT_NON_REPEATABLE_DIRECTIVE_ARGUMENTS",
                            f'@{name} is applied to "{coordinate}" with different arguments'
                            f" across subgraphs; the supergraph keeps {most[0]}.",
                        )
                    )
        return printed


def composed_directives(subgraphs: Sequence[Subgraph]) -> ComposedDirectives:
    """The directives the subgraphs keep with `@composeDirective`: the supergraph's links,
    definitions and applications for them, with the DIRECTIVE_COMPOSITION_ERROR errors and the
    hints."""
    result = ComposedDirectives()
    reserved: dict[str, list[str]] = {}  # the local names of @tag and @inaccessible
    for subgraph in subgraphs:
        for local, canonical in _local_names(subgraph).items():
            if canonical in ("tag", "inaccessible"):
                reserved.setdefault(local, []).append(subgraph.name)
    items: list[_Item] = []
    for subgraph in subgraphs:
        items += _items(subgraph, reserved, result)
    by_identity: dict[str, list[_Item]] = {}
    for item in items:
        by_identity.setdefault(item.feature.identity, []).append(item)
    refused = _conflicts(items, result)
    for identity, composing in sorted(by_identity.items()):
        latest = _latest(identity, composing, subgraphs, result)
        if latest is None:
            refused |= {i.name for i in composing}
            continue
        feature, versions = latest
        names = sorted({i.name: i.original for i in composing if i.name not in refused}.items())
        for name, _ in names:
            definition = _definition(name, versions)
            if definition is None:
                result.errors.append(
                    _error(
                        f'The spec {feature.url} linked by subgraph "{versions[0].name}" has no'
                        f' definition of the composed directive "@{name}": define it there.',
                        [i for i in composing if i.name == name],
                    )
                )
                continue
            result.definitions[name] = _printed(definition, name)
            if definition.repeatable:
                result.repeatable.add(name)
        imports = [
            f'"@{name}"' if name == original else f'{{ name: "@{original}", as: "@{name}" }}'
            for name, original in names
            if name in result.definitions
        ]
        if imports:
            result.links.append(f'@link(url: "{feature.url}", import: [{", ".join(imports)}])')
    for item in items:
        if item.name in result.definitions:
            result.by_subgraph.setdefault(item.subgraph, set()).add(item.name)
    return result


def _conflicts(items: list[_Item], result: ComposedDirectives) -> set[str]:
    """The composed names refused because the subgraphs disagree on them: one name for
    different directives or different specs, or one directive under different names (each
    recorded as an error in `result`)."""
    refused: set[str] = set()
    for name in {i.name for i in items}:
        named = [i for i in items if i.name == name]
        if len({i.original for i in named}) > 1:
            refused.add(name)
            result.errors.append(
                _error(
                    f'The composed directive "@{name}" is a different directive of its spec in'
                    " different subgraphs: compose the same one under one name.",
                    named,
                )
            )
        if len({i.feature.identity for i in named}) > 1:
            refused.add(name)
            result.errors.append(
                _error(
                    f'The composed directive "@{name}" comes from different specs in different'
                    " subgraphs: link it from the same spec everywhere.",
                    named,
                )
            )
    for original in {(i.feature.identity, i.original) for i in items}:
        same = [i for i in items if (i.feature.identity, i.original) == original]
        if len({i.name for i in same}) > 1:
            refused |= {i.name for i in same}
            result.errors.append(
                _error(
                    f'The composed directive "@{original[1]}" of {original[0]} is named'
                    " differently in different subgraphs ("
                    + ", ".join(sorted({f"@{i.name}" for i in same}))
                    + "): import it under one name everywhere.",
                    same,
                )
            )
    return refused


def _items(
    subgraph: Subgraph, reserved: dict[str, list[str]], result: ComposedDirectives
) -> list[_Item]:
    """The directives the subgraph composes, each checked on its own."""
    if subgraph.link is None:
        return []
    local = {v: k for k, v in _local_names(subgraph).items()}.get("composeDirective")
    linked = features(subgraph)
    items = []
    for directive in _schema_directives(subgraph):
        if directive.name.value != local:
            continue
        argument = _arguments(directive).get("name")

        def error(message: str) -> None:
            result.errors.append(
                CompositionError(
                    "DIRECTIVE_COMPOSITION_ERROR", f"[{subgraph.name}] {message}", (subgraph.name,)
                )
            )

        if not isinstance(argument, str) or not argument:
            error('@composeDirective needs the name of a directive, such as "@audit".')
            continue
        if not argument.startswith("@"):
            error(f'@composeDirective(name: "{argument}") needs a leading "@": "@{argument}".')
            continue
        name = argument[1:]
        federation = _local_names(subgraph).get(name)
        if name not in subgraph.directive_definitions and federation is None:
            error(
                f'@composeDirective names "@{name}", which the subgraph does not define: define'
                " the directive (and @link the spec it belongs to), or correct the name."
            )
            continue
        feature = next((f for f in linked if f.owns(name)), None)
        if federation is not None or (feature is not None and feature.identity in APOLLO_SPECS):
            canonical = federation or (feature.name_in_feature(name) if feature else None) or name
            if canonical in COMPOSED_BY_DEFAULT:
                result.hints.append(
                    CompositionError(
                        "DIRECTIVE_COMPOSITION_INFO",
                        f'[{subgraph.name}] "@{name}" is composed by default, as every federation'
                        " directive the supergraph keeps: @composeDirective is not needed.",
                        (subgraph.name,),
                    )
                )
            else:
                error(
                    f'@composeDirective names "@{name}", a federation directive, which cannot be'
                    " composed: the supergraph carries what it means in its join metadata."
                )
            continue
        if feature is None:
            error(
                f'@composeDirective names "@{name}", which belongs to no spec the subgraph'
                ' @links: link its spec, e.g. @link(url: "https://example.com/<spec>/v1.0",'
                f' import: ["@{name}"]).'
            )
            continue
        original = feature.name_in_feature(name)
        if original is None:
            error(
                f'"@{name}" cannot be composed: its spec\'s directive is imported under another'
                " name; compose it under that name."
            )
            continue
        if name in reserved:
            error(
                f'"@{name}" cannot be composed: subgraph '
                + ", ".join(f'"{s}"' for s in reserved[name])
                + " names @tag or @inaccessible so, which the supergraph keeps under that name."
            )
            continue
        items.append(_Item(subgraph.name, feature, name, original))
    return items


def _latest(
    identity: str,
    composing: list[_Item],
    subgraphs: Sequence[Subgraph],
    result: ComposedDirectives,
) -> tuple[Feature, list[Subgraph]] | None:
    """The newest version of the spec among the subgraphs that compose its directives, and the
    subgraphs that link that version (the last first); None when their major versions differ."""
    composers = {i.subgraph for i in composing}
    linked = [(s, f) for s in subgraphs for f in features(s) if f.identity == identity]
    majors = {f.version[0] for s, f in linked if s.name in composers}
    if len(majors) > 1:
        result.errors.append(
            _error(
                f"The spec {identity}, whose directives are composed, is linked with different"
                " major versions: link one major version everywhere.",
                composing,
            )
        )
        return None
    newest = max((f for s, f in linked if s.name in composers), key=lambda f: f.version)
    versions = [s for s, f in reversed(linked) if f.version == newest.version]
    return newest, versions


def _definition(name: str, subgraphs: list[Subgraph]) -> DirectiveDefinitionNode | None:
    return next(
        (s.directive_definitions[name] for s in subgraphs if name in s.directive_definitions),
        None,
    )


def _printed(definition: DirectiveDefinitionNode, name: str) -> str:
    text = print_ast(definition)
    return text if definition.name.value == name else text.replace(definition.name.value, name, 1)


def _error(message: str, items: list[_Item]) -> CompositionError:
    return CompositionError(
        "DIRECTIVE_COMPOSITION_ERROR", message, tuple(dict.fromkeys(i.subgraph for i in items))
    )


def _local_names(subgraph: Subgraph) -> dict[str, str]:
    """Local name → federation directive, for the subgraph's federation directives."""
    link = subgraph.link
    if link is None:
        return {}
    names = {link.prefix + name: name for name in FEDERATION_DIRECTIVES}
    for item in link.imports:
        if item.valid and item.name.startswith("@") and item.name[1:] in FEDERATION_DIRECTIVES:
            names[item.local.lstrip("@")] = item.name[1:]
    return names


def _schema_directives(subgraph: Subgraph) -> Iterable[DirectiveNode]:
    for definition in subgraph.document.definitions if subgraph.document else ():
        if isinstance(definition, (SchemaDefinitionNode, SchemaExtensionNode)):
            yield from definition.directives or ()


def _arguments(directive: DirectiveNode) -> dict[str, Any]:
    return {a.name.value: value_from_ast_untyped(a.value) for a in directive.arguments or ()}

"""How our composer's verdict on a parity case compares with Apollo's recorded one.

A case is a directory of tests/cases/compose/ (see tools/compose_parity.py, which records
Apollo's outcome there). `apollo()` reads the record, `ours()` composes the subgraphs with
router.compose; for cases both compose, `api_schema()`, `applied_directives()` and `links()` are
the three views compared, and `semantically_equal()` is the first two together. Run as
`python -m tools.parity` for the current gap list (markdown).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from graphql import (
    DirectiveNode,
    DocumentNode,
    EnumTypeDefinitionNode,
    GraphQLError,
    Node,
    lexicographic_sort_schema,
    parse,
    print_ast,
    print_schema,
    value_from_ast_untyped,
)

from router.compose import compose_subgraphs, read_subgraph
from router.compose.composition import CompositionFailed
from router.errors import RouterError
from router.supergraph.api_schema import build_api_schema
from router.supergraph.load import load_supergraph

CASES = Path(__file__).resolve().parent.parent / "tests" / "cases" / "compose"


def all_cases() -> list[str]:
    """Every case's name, sorted."""
    return sorted(p.name for p in CASES.iterdir() if (p / "subgraphs").is_dir())


@dataclass(frozen=True, slots=True)
class Outcome:
    """A composer's verdict on a case: error codes, or a supergraph."""

    codes: frozenset[str]
    supergraph: str | None = None


def apollo(case: str) -> Outcome:
    """Apollo's recorded verdict on the case."""
    directory = CASES / case
    errors = directory / "apollo_errors.txt"
    supergraph = directory / "apollo_supergraph.graphql"
    if errors.exists():
        return Outcome(frozenset(errors.read_text().split()))
    if not supergraph.exists():
        raise FileNotFoundError(
            f"{case}: Apollo's outcome is not recorded: run tools/compose_parity.py"
        )
    return Outcome(frozenset(), supergraph.read_text())


@cache
def ours(case: str) -> Outcome:
    """Our composer's verdict. A subgraph it cannot read counts as its error's `code`, or as the
    exception's class name when the error has none; a crash as `crash: <exception>`. Neither of
    the last two is ever an Apollo code."""
    try:
        subgraphs = [
            read_subgraph(f.stem, f"http://{f.stem}:4000/graphql", f.read_text())
            for f in sorted((CASES / case / "subgraphs").glob("*.graphql"))
        ]
        return Outcome(frozenset(), compose_subgraphs(subgraphs))
    except CompositionFailed as failure:
        return Outcome(frozenset(error.code for error in failure.errors))
    except RouterError as error:
        return Outcome(frozenset({str(getattr(error, "code", None) or type(error).__name__)}))
    except Exception as crash:  # a bug of ours, reported as a code no Apollo case has
        return Outcome(frozenset({f"crash: {type(crash).__name__}"}))


def composed_by_apollo() -> list[str]:
    """The cases Apollo composes."""
    return [c for c in all_cases() if (CASES / c / "apollo_supergraph.graphql").exists()]


# --- semantic comparison of supergraphs --------------------------------------------------------

DEFAULTS = {
    "extension": "false",
    "resolvable": "true",
    "isInterfaceObject": "false",
    "external": "false",
    "usedOverridden": "false",
}
FIELD_SETS = {"key", "requires", "provides", "fields"}


def api_schema(sdl: str) -> str:
    """The API schema, printed sorted. Built from the SDL as the router builds it, but without
    the router's refusal of specs it does not enforce (test_our_output_loads checks that): the
    API schema of a supergraph with @requiresScopes is still comparable."""
    document = parse(sdl)
    aliases = {name: alias for name, alias in _spec_aliases(document)}
    if "join" not in aliases:
        load_supergraph(sdl)  # raises why this is no supergraph
    schema = build_api_schema(
        document,
        links=set(aliases.values()),
        inaccessible=aliases.get("inaccessible", "inaccessible"),
    )
    return print_schema(lexicographic_sort_schema(schema))


def _spec_aliases(document: DocumentNode) -> Iterator[tuple[str, str]]:
    """(spec name, its prefix in the supergraph) for every specs.apollo.dev spec it links."""
    for coordinate, directive in _directives(document):
        if coordinate != "schema" or directive.name.value != "link":
            continue
        args = {a.name.value: value_from_ast_untyped(a.value) for a in directive.arguments or ()}
        parts = str(args.get("url", "")).split("/")
        if str(args.get("url", "")).startswith("https://specs.apollo.dev/") and len(parts) >= 2:
            yield parts[-2], str(args.get("as") or parts[-2])


def applied_directives(sdl: str) -> list[tuple[str, str, tuple[tuple[str, str], ...]]]:
    """Every directive applied in the supergraph but `@link` (test_links_match_apollo) and
    `@join__graph` (graphs are named by subgraph instead): the `@join__*` metadata and what the
    API schema leaves out (`@tag`, `@inaccessible`, `@cost`, `@authenticated`, composed
    directives …), as (schema coordinate, directive, sorted arguments), sorted; field sets
    re-printed, arguments at their default dropped."""
    document = parse(sdl)
    graphs = _graph_names(document)
    found = []
    for coordinate, directive in _directives(document):
        name = directive.name.value
        if name in ("link", "join__graph"):
            continue
        arguments = []
        for argument in directive.arguments or ():
            key, value = argument.name.value, print_ast(argument.value)
            if DEFAULTS.get(key) == value:
                continue
            if key == "graph":
                value = graphs.get(value, value)
            elif key == "graphs":
                value = ",".join(sorted(graphs.get(g, g) for g in _enum_list(argument.value)))
            elif key in FIELD_SETS:
                value = _field_set(value_from_ast_untyped(argument.value))
            arguments.append((key, value))
        found.append((coordinate, name, tuple(sorted(arguments))))
    return sorted(found)


def _graph_names(document: DocumentNode) -> dict[str, str]:
    """join__Graph enum value → subgraph name (from `@join__graph(name:)`)."""
    names = {}
    for definition in document.definitions:
        if (
            isinstance(definition, EnumTypeDefinitionNode)
            and definition.name.value == "join__Graph"
        ):
            for value in definition.values or ():
                for directive in value.directives or ():
                    if directive.name.value == "join__graph":
                        args = {
                            a.name.value: value_from_ast_untyped(a.value)
                            for a in directive.arguments or ()
                        }
                        names[value.name.value] = str(args["name"])
    return names


def _enum_list(node: Any) -> list[str]:
    values = getattr(node, "values", None)
    return [print_ast(v) for v in values] if values is not None else [print_ast(node)]


def _field_set(text: Any) -> str:
    try:
        return " ".join(print_ast(parse("{" + str(text) + "}").definitions[0]).split())
    except GraphQLError:
        return str(text)


def _directives(document: DocumentNode) -> Iterator[tuple[str, DirectiveNode]]:
    """(schema coordinate, directive) for every directive applied in the document."""

    def walk(node: Node, coordinate: str) -> Iterator[tuple[str, DirectiveNode]]:
        for directive in getattr(node, "directives", None) or ():
            yield coordinate, directive
        for child_list in ("fields", "values", "arguments"):
            for child in getattr(node, child_list, None) or ():
                if isinstance(child, DirectiveNode) or not hasattr(child, "name"):
                    continue
                yield from walk(child, f"{coordinate}.{child.name.value}")

    for definition in document.definitions:
        name = getattr(definition, "name", None)
        yield from walk(definition, name.value if name is not None else "schema")


def links(sdl: str) -> list[str]:
    """The spec URLs the supergraph `@link`s, with their purpose, sorted."""
    found = []
    for coordinate, directive in _directives(parse(sdl)):
        if coordinate == "schema" and directive.name.value == "link":
            args = {
                a.name.value: value_from_ast_untyped(a.value) for a in directive.arguments or ()
            }
            found.append(f"{args.get('url')} for:{args.get('for')}")
    return sorted(found)


def semantically_equal(case: str) -> bool:
    """Whether ours composes the case to a supergraph with Apollo's API schema and directives."""
    theirs, mine = apollo(case).supergraph, ours(case).supergraph
    if theirs is None or mine is None:
        return False
    try:
        return api_schema(mine) == api_schema(theirs) and applied_directives(
            mine
        ) == applied_directives(theirs)
    except RouterError:
        return False


def report() -> str:
    """The gap list: every case where ours differs from Apollo, as a markdown table."""
    broken = [case for case in all_cases() if apollo(case).codes]
    valid = composed_by_apollo()
    broken_equal = sum(1 for case in broken if ours(case).codes == apollo(case).codes)
    valid_equal = sum(1 for case in valid if semantically_equal(case))
    lines = [
        f"broken cases with Apollo's codes: {broken_equal}/{len(broken)};"
        f" valid cases semantically equal: {valid_equal}/{len(valid)}",
        "",
        "| case | Apollo | ours |",
        "|---|---|---|",
    ]
    for case in all_cases():
        theirs, mine = apollo(case), ours(case)
        if theirs.codes != mine.codes:
            lines.append(f"| {case} | {_codes(theirs)} | {_codes(mine)} |")
        elif theirs.supergraph is not None and not semantically_equal(case):
            lines.append(f"| {case} | composes | composes, not semantically equal |")
    return "\n".join(lines) + "\n"


def _codes(outcome: Outcome) -> str:
    return ", ".join(sorted(outcome.codes)) or "composes"


if __name__ == "__main__":
    sys.stdout.write(report())

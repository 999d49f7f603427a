"""Composition parity with Apollo's `@apollo/composition` over the corpus in tests/compose_cases/.

Each case is a directory: `subgraphs/<name>.graphql` in (the subgraph named by the file's stem),
and what Apollo's composer (2.14, pinned in tools/compose_parity.py) says about that set,
recorded by `python tools/compose_parity.py` (re-run it after adding or changing a case; its
`--check` re-derives every record and fails on any difference):

- `apollo_errors.txt`: the error codes Apollo refuses the set with, one a line; or
- `apollo_supergraph.graphql` and `apollo_hints.txt`: Apollo's supergraph and hint codes.

Apollo's records are the expectations here, for every case. The older files of the first 16
cases (`expected_errors.txt`, `supergraph.graphql`) are snapshots of *our* composer's exact
output, a regression check of its printing and order-independence (tests/test_compose_cases.py,
those cases only); where one disagrees with Apollo's record, the case is a known difference below.

This file asserts, per case:
- test_codes_match_apollo: our set of error codes equals Apollo's (both empty when it composes);
- test_supergraph_matches_apollo (cases Apollo composes): ours composes too, its API schema
  prints as Apollo's does (graphql-core, lexicographically sorted), and its join metadata (every
  `@join__*` directive, graphs named by subgraph, field sets re-printed, default arguments
  dropped) equals Apollo's;
- test_links_match_apollo (cases Apollo composes): the `@link`ed spec URLs (so versions) agree;
- test_our_output_loads: whatever our composer outputs loads in our router;
and over the corpus, test_parity_floor: the parity percentages measured never go down.

Known differences are listed below, each with a reason, as strict xfails: a fix in our composer
turns its case into an XPASS failure, and the entry must then be removed (raise the floor too).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest
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
from router.compose.merge import CompositionFailed
from router.errors import RouterError
from router.supergraph.load import load_supergraph

CASES = Path(__file__).parent / "compose_cases"
ALL = sorted(p.name for p in CASES.iterdir() if (p / "subgraphs").is_dir())

# --- known differences: case → why ours differs (strict xfail; remove the entry once fixed) ---

CODES_DIFFER: dict[str, str] = {
    "satisfiability-key-field-unreachable": "ours accepts it",
}
"""Cases where our set of error codes is not Apollo's."""

SUPERGRAPH_DIFFERS: dict[str, str] = {}
"""Cases Apollo composes where our supergraph is not semantically equal to Apollo's."""

LINKS_DIFFER: dict[str, str] = {}
"""Cases Apollo composes where our supergraph links other spec versions than Apollo's."""

OUTPUT_DOES_NOT_LOAD: dict[str, str] = {}
"""Cases where our composer outputs a supergraph our router cannot load."""

MIN_CASES = 50

# Measured parity (see test_parity_floor): it may only go up.
BROKEN_PARITY_FLOOR = 0.9772
VALID_PARITY_FLOOR = 1.0


@dataclass(frozen=True, slots=True)
class Outcome:
    """A composer's verdict on a case: error codes, or a supergraph."""

    codes: frozenset[str]
    supergraph: str | None = None


def apollo(case: str) -> Outcome:
    directory = CASES / case
    errors = directory / "apollo_errors.txt"
    supergraph = directory / "apollo_supergraph.graphql"
    if errors.exists():
        return Outcome(frozenset(errors.read_text().split()))
    assert supergraph.exists(), (
        f"{case}: Apollo's outcome is not recorded: run tools/compose_parity.py"
    )
    return Outcome(frozenset(), supergraph.read_text())


@cache
def ours(case: str) -> Outcome:
    """Our composer's verdict; a subgraph it cannot read counts as its error's `code` (or the
    exception's class name when it has none, which never equals an Apollo code)."""
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


def cases(known: dict[str, str], names: list[str]) -> list[Any]:
    """The cases as test parameters, a known difference marked as a strict xfail."""
    return [
        pytest.param(
            name,
            id=name,
            marks=[pytest.mark.xfail(strict=True, reason=known[name])] if name in known else [],
        )
        for name in names
    ]


def composed_by_apollo() -> list[str]:
    return [case for case in ALL if (CASES / case / "apollo_supergraph.graphql").exists()]


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
    return print_schema(lexicographic_sort_schema(load_supergraph(sdl).api_schema))


def join_metadata(sdl: str) -> list[tuple[str, str, tuple[tuple[str, str], ...]]]:
    """Every `@join__*` directive as (schema coordinate, directive, sorted arguments), sorted;
    graphs by subgraph name, field sets re-printed, arguments at their default dropped."""
    document = parse(sdl)
    graphs = _graph_names(document)
    found = []
    for coordinate, directive in _directives(document):
        name = directive.name.value
        if not name.startswith("join__") or name == "join__graph":
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


# --- the tests ---------------------------------------------------------------------------------


def test_every_case_is_recorded() -> None:
    for case in ALL:
        directory = CASES / case
        refused = (directory / "apollo_errors.txt").exists()
        composed = (directory / "apollo_supergraph.graphql").exists()
        assert refused != composed, (
            f"{case}: run tools/compose_parity.py to record Apollo's outcome"
        )
        assert composed == (directory / "apollo_hints.txt").exists(), case
    assert len(ALL) >= MIN_CASES, f"the corpus has {len(ALL)} cases, fewer than {MIN_CASES}"


@pytest.mark.parametrize("case", cases(CODES_DIFFER, ALL))
def test_codes_match_apollo(case: str) -> None:
    assert sorted(ours(case).codes) == sorted(apollo(case).codes)


@pytest.mark.parametrize("case", cases(SUPERGRAPH_DIFFERS, composed_by_apollo()))
def test_supergraph_matches_apollo(case: str) -> None:
    theirs, mine = apollo(case).supergraph, ours(case).supergraph
    assert theirs is not None
    assert mine is not None, f"{case}: ours refuses with {sorted(ours(case).codes)}"
    assert api_schema(mine) == api_schema(theirs)
    assert join_metadata(mine) == join_metadata(theirs)


@pytest.mark.parametrize("case", cases(LINKS_DIFFER, composed_by_apollo()))
def test_links_match_apollo(case: str) -> None:
    theirs, mine = apollo(case).supergraph, ours(case).supergraph
    assert theirs is not None and mine is not None
    assert links(mine) == links(theirs)


@pytest.mark.parametrize("case", cases(OUTPUT_DOES_NOT_LOAD, ALL))
def test_our_output_loads(case: str) -> None:
    supergraph = ours(case).supergraph
    if supergraph is not None:
        load_supergraph(supergraph)


def _semantically_equal(case: str) -> bool:
    theirs, mine = apollo(case).supergraph, ours(case).supergraph
    if theirs is None or mine is None:
        return False
    try:
        return api_schema(mine) == api_schema(theirs) and join_metadata(mine) == join_metadata(
            theirs
        )
    except RouterError:
        return False


def test_parity_floor(capsys: pytest.CaptureFixture[str]) -> None:
    broken = [case for case in ALL if apollo(case).codes]
    valid = composed_by_apollo()
    broken_equal = sum(1 for case in broken if ours(case).codes == apollo(case).codes)
    valid_equal = sum(1 for case in valid if _semantically_equal(case))
    with capsys.disabled():
        print(
            f"\ncomposition parity: broken {broken_equal}/{len(broken)} cases with Apollo's codes,"
            f" valid {valid_equal}/{len(valid)} semantically equal"
        )
    assert broken_equal / len(broken) >= BROKEN_PARITY_FLOOR
    assert valid_equal / len(valid) >= VALID_PARITY_FLOOR
    differing = {case for case in ALL if ours(case).codes != apollo(case).codes}
    assert differing == set(CODES_DIFFER), "CODES_DIFFER is out of date"

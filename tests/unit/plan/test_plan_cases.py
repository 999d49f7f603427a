"""Query plans, snapshot-tested as text: one directory per case under tests/cases/plan/.

A case holds `subgraphs/<name>.graphql` (composed here, routing URL `http://<name>`), or a
`supergraph.graphql`, or neither (then the project's own supergraph.graphql is used); an
`operation.graphql`; and the expected `plan.txt`, in Apollo's text format
(`prettyFormatQueryPlan`). A case without `plan.txt` fails; set UPDATE_SNAPSHOTS=1 to write
or rewrite `plan.txt` files, and review their diff before committing.
Each case is also planned with its subgraphs in every order: the plan must not change.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from graphql import (
    DocumentNode,
    Node,
    OperationDefinitionNode,
    SelectionSetNode,
    Visitor,
    parse,
    print_ast,
    validate,
    visit,
)

from router.compose import compose_subgraphs, read_subgraph
from router.compose.config import load_config, read_sdl
from router.router import Router
from tests.support import paths
from tests.support.snapshots import check_snapshot
from tests.support.subgraph_schema import subgraph_schema

CASES = paths.CASES / "plan"


def case_dirs() -> list[Path]:
    return sorted(p for p in CASES.iterdir() if (p / "operation.graphql").exists())


def supergraph_sdls(case: Path) -> list[str]:
    """The case's supergraph; for subgraph cases, composed from every order of the subgraphs."""
    if (case / "supergraph.graphql").exists():
        return [(case / "supergraph.graphql").read_text()]
    if not (case / "subgraphs").exists():
        return [(paths.REPO / "supergraph.graphql").read_text()]
    files = sorted((case / "subgraphs").glob("*.graphql"))
    subgraphs = [read_subgraph(f.stem, f"http://{f.stem}", f.read_text()) for f in files]
    orders = list(itertools.permutations(subgraphs))[:6]
    return [compose_subgraphs(list(order)) for order in orders]


def subgraph_sdls(case: Path) -> dict[str, str]:
    """Each subgraph's own SDL by name ({} for a case given as a supergraph only)."""
    if (case / "supergraph.graphql").exists():
        return {}
    if (case / "subgraphs").exists():
        return {f.stem: f.read_text() for f in sorted((case / "subgraphs").glob("*.graphql"))}
    config = load_config(paths.REPO / "supergraph.yaml")
    return {s.name: read_sdl(s) for s in config.subgraphs}


@pytest.mark.parametrize("case", case_dirs(), ids=lambda p: p.name)
def test_plan_snapshot(case: Path) -> None:
    operation = (case / "operation.graphql").read_text()
    plans = {Router.from_sdl(sdl).prepare(operation).plan.print() for sdl in supergraph_sdls(case)}
    assert len(plans) == 1, "the plan depends on the order of the subgraphs"
    (plan,) = plans
    check_snapshot(case / "plan.txt", plan)


@pytest.mark.parametrize("case", case_dirs(), ids=lambda p: p.name)
def test_fetches_declare_the_client_variables_they_use(case: Path) -> None:
    """Each subgraph operation parses and declares exactly the variables it uses, each with the
    client's type and default value (printed from the AST, so a default such as
    `"hello @world"` arrives whole) and without the directives of the client's definition,
    which Apollo's planner leaves out too."""
    operation = (case / "operation.graphql").read_text()
    (client,) = [d for d in parse(operation).definitions if isinstance(d, OperationDefinitionNode)]
    wanted = {v.variable.name.value: v for v in client.variable_definitions or ()}
    plan = Router.from_sdl(supergraph_sdls(case)[0]).prepare(operation).plan
    for fetch in plan.fetches:
        (sent,) = parse(fetch.operation).definitions
        assert isinstance(sent, OperationDefinitionNode)
        declared = {v.variable.name.value: v for v in sent.variable_definitions or ()}
        declared.pop("representations", None)
        assert sorted(declared) == sorted(fetch.variable_usages)
        for name, definition in declared.items():
            assert print_ast(definition.type) == print_ast(wanted[name].type)
            assert _printed(definition.default_value) == _printed(wanted[name].default_value)
            assert not definition.directives, fetch.operation


def _printed(node: Node | None) -> str | None:
    return None if node is None else print_ast(node)


@pytest.mark.parametrize("case", [c for c in case_dirs() if subgraph_sdls(c)], ids=lambda p: p.name)
def test_fetches_are_valid_in_the_subgraph_that_receives_them(case: Path) -> None:
    """Every operation sent validates against the receiving subgraph's own schema: no empty
    selection, no field or type condition that subgraph lacks, no conflicting response names."""
    schemas = {name: subgraph_schema(sdl) for name, sdl in subgraph_sdls(case).items()}
    operation = (case / "operation.graphql").read_text()
    plan = Router.from_sdl(supergraph_sdls(case)[0]).prepare(operation).plan
    for fetch in plan.fetches:
        document = parse(fetch.operation)
        errors = validate(schemas[fetch.service], document)
        assert not errors, f"{fetch.service}: {fetch.operation}\n{errors}"
        assert not _empty_selection_sets(document), f"{fetch.service}: {fetch.operation}"


def _empty_selection_sets(document: DocumentNode) -> int:
    """How many `{ }` the document holds: graphql-core parses and validates them, the spec's
    grammar (and graphql-js) refuse them."""
    found = 0

    class Finder(Visitor):
        def enter_selection_set(self, node: SelectionSetNode, *_: object) -> None:
            nonlocal found
            found += not node.selections

    visit(document, Finder())
    return found

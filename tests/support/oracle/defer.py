"""The oracle for `@defer`: an operation with some of its selections deferred, answered
incrementally by the router over the oracle's fakes, must merge back into the monolith's
answer to the operation without `@defer`."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from graphql import (
    ArgumentNode,
    DirectiveNode,
    FieldNode,
    InlineFragmentNode,
    NameNode,
    OperationDefinitionNode,
    SelectionSetNode,
    StringValueNode,
    parse,
    print_ast,
)

from router.types import JSONObject
from tests.support.oracle.harness import Harness
from tests.support.oracle.monolith import monolith_answer

__all__ = ["defer_mismatch", "with_defers"]


def with_defers(query: str, choose: Callable[[], bool]) -> str | None:
    """`query` with, where `choose()` says so, the selections of a selection set after its
    first one wrapped in `... @defer(label: "dN") { … }` (nested where chosen inside one
    already deferred); None when none was chosen."""
    document = parse(query, no_location=True)
    count = 0

    def rewrite(selection_set: SelectionSetNode) -> SelectionSetNode:
        nonlocal count
        selections = []
        for selection in selection_set.selections:
            if isinstance(selection, (FieldNode, InlineFragmentNode)) and selection.selection_set:
                inner = rewrite(selection.selection_set)
                selection = (
                    FieldNode(
                        alias=selection.alias,
                        name=selection.name,
                        arguments=selection.arguments,
                        directives=selection.directives,
                        selection_set=inner,
                    )
                    if isinstance(selection, FieldNode)
                    else InlineFragmentNode(
                        type_condition=selection.type_condition,
                        directives=selection.directives,
                        selection_set=inner,
                    )
                )
            selections.append(selection)
        if len(selections) > 1 and choose():
            count += 1
            label = ArgumentNode(
                name=NameNode(value="label"), value=StringValueNode(value=f"d{count}")
            )
            deferred = InlineFragmentNode(
                directives=(DirectiveNode(name=NameNode(value="defer"), arguments=(label,)),),
                selection_set=SelectionSetNode(selections=tuple(selections[1:])),
            )
            selections = [selections[0], deferred]
        return SelectionSetNode(selections=tuple(selections))

    definitions = [
        OperationDefinitionNode(
            operation=d.operation,
            name=d.name,
            variable_definitions=d.variable_definitions,
            directives=d.directives,
            selection_set=rewrite(d.selection_set),
        )
        if isinstance(d, OperationDefinitionNode)
        else d
        for d in document.definitions
    ]
    if not count:
        return None
    return print_ast(document.__class__(definitions=tuple(definitions)))


def defer_mismatch(
    harness: Harness, query: str, deferred: str, variables: JSONObject, name: str | None
) -> str | None:
    """Why the incremental answer to `deferred` is wrong, or None: its parts merged must be
    the monolith's `data` for `query` (when the monolith has no errors; else it must have
    errors too), and no fake may have refused a request."""
    router = harness.router
    harness.transport.reset()
    split = router.defer_split(deferred, name, variables)
    problems = []
    payloads: list[JSONObject] = []
    if split is None:
        problems.append("nothing was deferred")
    else:

        async def collect() -> None:
            async for payload in router.incremental(split, variables, name):
                payloads.append(payload)

        harness.loop.run_until_complete(collect())
    expected = monolith_answer(harness.data, query, variables, name)
    merged = merge(payloads)
    errors = any(p.get("errors") for p in payloads) or any(
        i.get("errors") for p in payloads for i in p.get("incremental", ())
    )
    if expected.get("errors"):
        if not errors:
            problems.append("no errors, the monolith has some")
    elif merged != expected.get("data"):
        problems.append("data differs")
    elif errors:
        problems.append("errors, the monolith has none")
    if payloads and payloads[-1].get("hasNext") is not False:
        problems.append("the last payload has hasNext")
    refusals = harness.transport.refusals()
    if refusals:
        problems.append("a subgraph refused a request")
    if not problems:
        return None
    calls = harness.calls_text()
    return (
        f"{', '.join(problems)} on {harness.case.name}\nquery: {deferred}\n"
        f"variables: {json.dumps(variables)}\nexpected: {json.dumps(expected)}\n"
        f"payloads: {json.dumps(payloads)}\nrefusals: {refusals}\nsubgraph calls:\n{calls}"
    )


def merge(payloads: list[JSONObject]) -> Any:
    """The Primary's data with every incremental item's data merged in at its path."""
    if not payloads:
        return None
    data = payloads[0].get("data")
    for payload in payloads[1:]:
        for item in payload.get("incremental", ()):
            if item.get("data") is None:
                continue
            target: Any = data
            for key in item["path"]:
                target = target[key]
            _merge(target, item["data"])
    return data


def _merge(target: dict[str, Any], source: dict[str, Any]) -> None:
    for key, value in source.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        elif isinstance(value, list) and isinstance(target.get(key), list):
            for here, there in zip(target[key], value, strict=True):
                if isinstance(here, dict) and isinstance(there, dict):
                    _merge(here, there)
        else:
            target[key] = value

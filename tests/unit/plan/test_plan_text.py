"""Plan nodes printed as Apollo's `prettyFormatQueryPlan` prints them, and serialised in its
JSON shape, for the node shapes the plan cases do not reach (both branches of a condition, an
empty plan). The expected texts are Apollo's printing of the same nodes."""

from __future__ import annotations

from graphql import parse

from router.operation.ir import Field
from router.plan.nodes import Condition, Fetch, Parallel, QueryPlan
from router.plan.text import print_graphql_js


def _fetch(service: str, field: str) -> Fetch:
    return Fetch(
        service=service,
        graph=service.upper(),
        operation=f"{{ {field} }}",
        operation_kind="query",
        variable_usages=(),
        selections=(Field(field),),
    )


def test_a_condition_with_both_branches_prints_then_and_else() -> None:
    plan = QueryPlan(Condition("v", then=_fetch("a", "x"), otherwise=_fetch("b", "y")))
    assert plan.print() == (
        "QueryPlan {\n"
        "  Condition(if: $v) {\n"
        "    Then {\n"
        '      Fetch(service: "a") {\n'
        "        {\n"
        "          x\n"
        "        }\n"
        "      }\n"
        "    } Else {\n"
        '      Fetch(service: "b") {\n'
        "        {\n"
        "          y\n"
        "        }\n"
        "      }\n"
        "    }\n"
        "  },\n"
        "}"
    )
    assert plan.to_json()["node"]["ifClause"]["serviceName"] == "a"
    assert plan.to_json()["node"]["elseClause"]["serviceName"] == "b"


def test_skip_prints_its_node_without_a_comma_and_serialises_no_if_clause() -> None:
    plan = QueryPlan(Parallel((Condition("s", then=None, otherwise=_fetch("a", "x")),)))
    assert plan.print() == (
        "QueryPlan {\n"
        "  Parallel {\n"
        "    Skip(if: $s) {\n"
        '      Fetch(service: "a") {\n'
        "        {\n"
        "          x\n"
        "        }\n"
        "      }\n"
        "    },\n"
        "  },\n"
        "}"
    )
    assert plan.to_json()["node"]["nodes"][0] == {
        "kind": "Condition",
        "condition": "s",
        "elseClause": {
            "kind": "Fetch",
            "serviceName": "a",
            "variableUsages": [],
            "operation": "{ x }",
            "operationKind": "query",
        },
    }


def test_an_empty_plan_prints_on_one_line() -> None:
    assert QueryPlan(None).print() == "QueryPlan {}"
    assert QueryPlan(None).to_json() == {"kind": "QueryPlan"}


def test_values_print_as_graphql_js_16_prints_them() -> None:
    (operation,) = parse(
        'query { f(o: { a: [1, "two", { b: null }], e: RED }, s: """x""") @d(if: $v) { g } }'
    ).definitions
    assert print_graphql_js(operation.selection_set) == (  # type: ignore[attr-defined]
        '{\n  f(o: {a: [1, "two", {b: null}], e: RED}, s: """x""") @d(if: $v) {\n    g\n  }\n}'
    )


def test_a_fetch_that_does_not_parse_is_printed_as_sent() -> None:
    """Printing a plan never fails: the plan extension of a response must not turn a planner
    bug into a server error."""
    broken = Fetch("a", "A", "query { a { b }", "query", (), (Field("a", selections=()),))
    assert QueryPlan(broken).print() == (
        'QueryPlan {\n  Fetch(service: "a") {\n    query { a { b }\n  },\n}'
    )
    empty = Fetch("a", "A", "query { a { } }", "query", (), (Field("a", selections=()),))
    assert QueryPlan(empty).print() == (
        'QueryPlan {\n  Fetch(service: "a") {\n    {\n      a {}\n    }\n  },\n}'
    )

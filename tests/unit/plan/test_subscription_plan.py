"""A subscription's plan: the Primary subscription sent to one subgraph and the Rest run over each
event, in Apollo's JSON shape (its text is snapshot-tested under tests/cases/plan/subscription-*)."""

from __future__ import annotations

import json

import pytest
from graphql import OperationDefinitionNode, OperationType, parse

from router.__main__ import main
from router.plan.nodes import Fetch, Flatten, Sequence, Subscription
from router.router import Router
from tests.support.paths import REPO

SUPERGRAPH = (REPO / "supergraph.graphql").read_text()


def test_the_primary_is_a_subscription_and_the_rest_completes_each_event() -> None:
    plan = (
        Router.from_sdl(SUPERGRAPH)
        .prepare("subscription Placed { orderCreated { id customer { name } } }")
        .plan
    )
    node = plan.node
    assert isinstance(node, Subscription)
    (sent,) = parse(node.primary.operation).definitions
    assert isinstance(sent, OperationDefinitionNode)
    assert sent.operation == OperationType.SUBSCRIPTION
    assert node.primary.service == "orders" and node.primary.operation_kind == "subscription"
    assert isinstance(node.rest, Sequence)
    (flatten,) = node.rest.nodes
    assert isinstance(flatten, Flatten) and flatten.path == ("orderCreated", "customer")
    assert flatten.node.service == "customers" and flatten.node.operation_kind == "query"
    assert plan.fetches == (node.primary, flatten.node)
    json = plan.to_json()["node"]
    assert json["kind"] == "Subscription"
    assert json["primary"] == {
        "kind": "Fetch",
        "serviceName": "orders",
        "variableUsages": [],
        "operation": (
            "subscription Placed__orders__0 { orderCreated { id customer { __typename id } } }"
        ),
        "operationKind": "subscription",
        "operationName": "Placed__orders__0",
    }
    assert json["rest"]["kind"] == "Sequence"
    assert [n["kind"] for n in json["rest"]["nodes"]] == ["Flatten"]


def test_an_event_one_subgraph_answers_has_no_rest() -> None:
    plan = (
        Router.from_sdl(SUPERGRAPH)
        .prepare("subscription { orderStatusChanged(orderId: 1) { id status } }")
        .plan
    )
    assert isinstance(plan.node, Subscription) and isinstance(plan.node.primary, Fetch)
    assert plan.node.rest is None
    assert "rest" not in plan.to_json()["node"]


def test_fedrouter_plan_prints_a_subscriptions_plan(capsys: pytest.CaptureFixture[str]) -> None:
    case = REPO / "tests/cases/plan/subscription-completed-by-another-subgraph"
    supergraph = str(REPO / "supergraph.graphql")
    assert main(["plan", "--supergraph", supergraph, str(case / "operation.graphql")]) == 0
    assert capsys.readouterr().out == (case / "plan.txt").read_text()
    assert (
        main(["plan", "--json", "--supergraph", supergraph, str(case / "operation.graphql")]) == 0
    )
    assert json.loads(capsys.readouterr().out)["node"]["kind"] == "Subscription"

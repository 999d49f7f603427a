"""Settings come from flags over environment over defaults; unexpected errors are masked."""

from __future__ import annotations

from graphql import GraphQLError, GraphQLSyntaxError, Source

from customer_subgraph.settings import parse_args as customer_args
from order_subgraph.settings import parse_args as order_args
from subgraph_kit.errors import BadUserInput, error_code


def test_customer_settings_precedence() -> None:
    settings, print_only = customer_args([], environ={})
    assert (settings.host, settings.port, settings.seed) == ("127.0.0.1", 4001, True)
    assert settings.database_url.startswith("sqlite:///")
    assert print_only is False

    env = {
        "CUSTOMERS_PORT": "5001",
        "CUSTOMERS_DATABASE_URL": "postgresql://db/customers",
        "CUSTOMERS_SEED": "0",
    }
    settings, _ = customer_args([], environ=env)
    assert (settings.port, settings.database_url, settings.seed) == (
        5001,
        "postgresql://db/customers",
        False,
    )

    settings, print_only = customer_args(["--port", "6001", "--print-schema"], environ=env)
    assert settings.port == 6001
    assert print_only is True


def test_order_settings_name_the_customers_service() -> None:
    settings, _ = order_args([], environ={})
    assert (settings.port, settings.customers_url) == (4002, "http://127.0.0.1:4001/graphql")
    env = {
        "ORDERS_CUSTOMERS_URL": "http://customers:4001/graphql",
        "ORDERS_CUSTOMERS_TIMEOUT": "2.5",
    }
    settings, _ = order_args(["--customers-timeout", "1"], environ=env)
    assert (settings.customers_url, settings.customers_timeout) == (
        "http://customers:4001/graphql",
        1.0,
    )


def test_error_codes() -> None:
    syntax = GraphQLSyntaxError(Source("{"), 1, "Expected Name")
    assert error_code(syntax)[0] == "GRAPHQL_PARSE_FAILED"
    assert (
        error_code(GraphQLError("Cannot query field 'x' on type 'Query'."))[0]
        == "GRAPHQL_VALIDATION_FAILED"
    )
    assert (
        error_code(GraphQLError("Variable '$id' of required type 'ID!' was not provided."))[0]
        == "BAD_USER_INPUT"
    )
    crash = GraphQLError(
        "division by zero", path=["total"], original_error=ZeroDivisionError("division by zero")
    )
    assert error_code(crash) == ("INTERNAL_SERVER_ERROR", "Internal server error")
    assert BadUserInput("bad", field="input.x").extensions == {
        "code": "BAD_USER_INPUT",
        "field": "input.x",
    }

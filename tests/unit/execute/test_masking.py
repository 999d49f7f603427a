"""Subgraph error masking (include_subgraph_errors): the router app in front of real HTTP
subgraphs that answer with secrets in their bodies, asserting on the bytes the client gets."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from router.config import ConfigError, dev_mode, parse_config
from router.server.app import RouterApp, build_router
from tests.support.faulty import answering_app, serve_in_thread
from tests.support.paths import REPO

SUPERGRAPH = (REPO / "supergraph.graphql").read_text()
QUERY = 'query Q { customer(id: "1") { name } }'
SECRET = "hunter2"


def graphql_errors(*errors: dict[str, Any], data: Any = None) -> bytes:
    return json.dumps({"data": data, "errors": list(errors)}).encode()


LEAKY = {
    "message": f"db password={SECRET} failed",
    "path": ["customer"],
    "extensions": {"code": "INTERNAL_SERVER_ERROR", "stacktrace": [f"connect({SECRET})"]},
}
BAD_INPUT = {
    "message": "id must be a positive number",
    "path": ["customer"],
    "extensions": {"code": "BAD_USER_INPUT", "field": "id", "stacktrace": [f"at {SECRET}"]},
}


async def ask(
    status: int,
    body: bytes,
    config_text: str = "",
    *,
    content_type: bytes = b"application/json",
    dev: bool = False,
) -> tuple[bytes, list[dict[str, Any]]]:
    """POST QUERY to a router whose customers subgraph answers `status` with `body`; the raw
    response bytes and the decoded errors."""
    config = parse_config(config_text)
    if dev:
        config = dev_mode(config)
    with serve_in_thread(answering_app(status, body, content_type)) as url:
        sdl = SUPERGRAPH.replace("http://127.0.0.1:4001/graphql", f"{url}/graphql")
        app = RouterApp(build_router(sdl, config), config)
        try:
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://router"
            ) as client:
                response = await client.post("/graphql", json={"query": QUERY})
        finally:
            await app.router.close()
    assert response.status_code == 200
    return response.content, response.json()["errors"]


@pytest.mark.parametrize(
    ("status", "body", "content_type", "code"),
    [
        (500, graphql_errors(LEAKY), b"application/json", "SUBREQUEST_HTTP_ERROR"),
        (500, graphql_errors(BAD_INPUT | {"message": SECRET}), b"application/json", None),
        (502, f"upstream {SECRET} refused".encode(), b"text/plain", "SUBREQUEST_HTTP_ERROR"),
        (200, f"<html>{SECRET}</html>".encode(), b"text/html", "SUBREQUEST_MALFORMED_RESPONSE"),
    ],
    ids=["500-graphql-body", "500-claiming-bad-user-input", "502-text", "200-not-json"],
)
async def test_a_failed_fetch_never_shows_the_subgraphs_body(
    status: int, body: bytes, content_type: bytes, code: str | None
) -> None:
    raw, errors = await ask(status, body, content_type=content_type)
    assert SECRET.encode() not in raw
    (error,) = errors
    assert error["message"] == "Subgraph errors redacted"
    # a non-2xx is a failed fetch, whatever code its body claims
    assert error["extensions"] == {
        "code": code or "SUBREQUEST_HTTP_ERROR",
        "serviceName": "customers",
    }
    assert error["path"] == ["customer"]


async def test_a_failed_fetch_is_redacted_even_if_its_code_is_listed_for_clients() -> None:
    config = "include_subgraph_errors: { all: { client_codes: [SUBREQUEST_HTTP_ERROR] } }"
    raw, (error,) = await ask(500, graphql_errors(LEAKY), config)
    assert SECRET.encode() not in raw and error["message"] == "Subgraph errors redacted"


async def test_dev_mode_shows_the_failed_fetchs_detail() -> None:
    _, (error,) = await ask(500, graphql_errors(LEAKY), dev=True)
    assert (
        error["message"]
        == f"HTTP fetch failed: 500: db password={SECRET} failed (subgraph 'customers')"
    )
    assert error["extensions"]["http"] == {"status": 500}


async def test_a_subgraphs_graphql_error_keeps_only_its_code() -> None:
    raw, (error,) = await ask(200, graphql_errors(LEAKY, data={"customer": None}))
    assert SECRET.encode() not in raw
    assert error == {
        "message": "Subgraph errors redacted",
        "path": ["customer"],
        "extensions": {"code": "INTERNAL_SERVER_ERROR", "serviceName": "customers"},
    }


async def test_client_codes_keep_their_message_and_field() -> None:
    raw, (error,) = await ask(200, graphql_errors(BAD_INPUT, data={"customer": None}))
    assert SECRET.encode() not in raw  # the stacktrace extension is still dropped
    assert error == {
        "message": "id must be a positive number",
        "path": ["customer"],
        "extensions": {"code": "BAD_USER_INPUT", "field": "id", "serviceName": "customers"},
    }


@pytest.mark.parametrize("code", ["NOT_FOUND", "CONFLICT"])
async def test_every_default_client_code_passes(code: str) -> None:
    answer = BAD_INPUT | {"message": "no such customer", "extensions": {"code": code}}
    _, (error,) = await ask(200, graphql_errors(answer, data={"customer": None}))
    assert (error["message"], error["extensions"]["code"]) == ("no such customer", code)


async def test_an_empty_client_code_list_passes_nothing() -> None:
    config = "include_subgraph_errors: { all: { client_codes: [] } }"
    _, (error,) = await ask(200, graphql_errors(BAD_INPUT, data={"customer": None}), config)
    assert error["message"] == "Subgraph errors redacted"
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "serviceName": "customers"}


async def test_redact_message_and_allowed_extension_keys() -> None:
    config = """
include_subgraph_errors:
  all: { allow_extensions_keys: [stacktrace] }
  subgraphs:
    customers: { redact_message: false }
"""
    # customers inherits allow_extensions_keys from `all` and keeps its messages
    _, (error,) = await ask(200, graphql_errors(LEAKY, data={"customer": None}), config)
    assert error["message"] == LEAKY["message"]
    assert error["extensions"] == {
        "code": "INTERNAL_SERVER_ERROR",
        "serviceName": "customers",
        "stacktrace": [f"connect({SECRET})"],
    }


async def test_a_subgraph_set_to_false_is_redacted_when_all_is_true() -> None:
    config = "include_subgraph_errors: { all: true, subgraphs: { customers: false } }"
    raw, (error,) = await ask(200, graphql_errors(LEAKY, data={"customer": None}), config)
    assert SECRET.encode() not in raw and error["message"] == "Subgraph errors redacted"


@pytest.mark.parametrize(
    ("text", "says"),
    [
        (
            "include_subgraph_errors: { all: { redact: true } }",
            "include_subgraph_errors.all.redact",
        ),
        ("include_subgraph_errors: { all: yes-please }", "include_subgraph_errors.all"),
        (
            "include_subgraph_errors: { subgraphs: { customers: { client_codes: NOT_FOUND } } }",
            "include_subgraph_errors.subgraphs.customers.client_codes",
        ),
    ],
)
def test_bad_masking_config_names_the_key(text: str, says: str) -> None:
    with pytest.raises(ConfigError, match=says.replace(".", r"\.")):
        parse_config(text)

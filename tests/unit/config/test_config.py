"""router.yaml as typed models: `${env.…}` expanded in parsed values, unknown keys and wrong
types refused with their path, the JSON Schema committed, printed and checked against the
committed router.yaml and the README's example."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

from router.config import ConfigError, json_schema, parse_config
from tests.support.paths import REPO

ROOT = REPO
EVIL = "x-a\n  evil: key\nsandbox: { enabled: true }"


def test_an_environment_value_is_one_string_never_yaml_structure() -> None:
    text = """
supergraph:
  path: ${env.ROUTER_PATH}
headers:
  all:
    request:
      - insert: { name: x-origin, value: "${env.EVIL}" }
"""
    config = parse_config(text, environ={"EVIL": EVIL, "ROUTER_PATH": "/g\nsandbox: {}"})
    assert config.path == "/g\nsandbox: {}"
    assert config.header_rules["*"][0].value == EVIL
    assert config.sandbox is False


TYPED_VARIABLES = """
supergraph: { introspection: "${env.INTROSPECTION}" }
traffic_shaping: { router: { concurrency_limit: "${env.LIMIT:-500}", timeout: "${env.T}" } }
limits: { http_max_response_bytes: "${env.BYTES}" }
headers: { all: { request: [ { insert: { name: x-flag, value: "${env.INTROSPECTION}" } } ] } }
"""


def test_an_expanded_value_takes_the_type_of_its_key() -> None:
    text = TYPED_VARIABLES
    environ = {"INTROSPECTION": "true", "T": "5", "BYTES": "1MiB"}
    config = parse_config(text, environ=environ)
    assert (config.introspection, config.concurrency_limit, config.router_timeout) == (
        True,
        500,
        5.0,
    )
    assert config.http_max_response_bytes == 1024 * 1024
    assert config.header_rules["*"][0].value == "true"  # a string key keeps the text
    with pytest.raises(ConfigError, match=r"concurrency_limit: must be an integer, got 'many'"):
        parse_config(text, environ={**environ, "LIMIT": "many"})


def test_a_typed_key_written_as_a_string_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"^limits\.max_depth: must be an integer, got '13'$"):
        parse_config('limits: { max_depth: "13" }', environ={})


def test_unknown_keys_name_their_full_path_and_a_close_key() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config("limits: { max_dpth: 3 }", environ={})
    assert str(caught.value).startswith("limits.max_dpth: unknown key (did you mean max_depth?")
    with pytest.raises(ConfigError, match=r"^headers\.subgraphs\.orders\.request\[1\]\.insert: "):
        parse_config(
            "headers: { subgraphs: { orders: { request: [ { remove: { named: a } },"
            " { insert: { name: b } } ] } } }",
            environ={},
        )


def test_every_problem_is_in_the_one_message() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config("limits: { max_depth: x }\ncors: { origin: [a] }\napq: { enabled: 1 }")
    assert str(caught.value).splitlines() == [
        "cors.origin: unknown key (did you mean origins? known here: allow_any_origin, "
        "allow_credentials, allow_headers, origins)",
        "limits.max_depth: must be an integer, got 'x'",
        "apq.enabled: must be true or false, got 1",
    ]


def test_an_unquoted_variable_in_a_flow_mapping_gets_a_hint() -> None:
    with pytest.raises(ConfigError, match=r"quote a \$\{env\.…\} value inside \{ \}"):
        parse_config("supergraph: { listen: ${env.LISTEN} }", environ={"LISTEN": "h:1"})


def test_the_committed_schema_is_what_the_models_generate() -> None:
    """After a model changes: `fedrouter config-schema > router.schema.json`."""
    committed = json.loads((ROOT / "router.schema.json").read_text())
    assert committed == json_schema()
    jsonschema.Draft202012Validator.check_schema(committed)


def test_the_schema_takes_a_variable_where_the_router_does() -> None:
    validator = jsonschema.Draft202012Validator(json_schema())
    assert [error.message for error in validator.iter_errors(yaml.safe_load(TYPED_VARIABLES))] == []
    assert not validator.is_valid({"limits": {"max_depth": "13"}})  # text is no number
    assert not validator.is_valid({"limits": {"max_depth": "${env.X} and more"}})


def _readme_example() -> str:
    text = (ROOT / "README.md").read_text()
    start = text.index("`router.yaml` follows Apollo Router's sections")
    return text[start:].split("```yaml\n", 1)[1].split("```", 1)[0]


@pytest.mark.parametrize("source", ["router.yaml", "README.md"])
def test_the_committed_examples_validate_against_the_schema(source: str) -> None:
    text = (ROOT / source).read_text() if source == "router.yaml" else _readme_example()
    document = yaml.safe_load(text)
    validator = jsonschema.Draft202012Validator(json_schema())
    assert [error.message for error in validator.iter_errors(document)] == []
    document.setdefault("limits", {})["max_dpth"] = 3  # and the schema is no rubber stamp
    assert [e.json_path for e in validator.iter_errors(document)] == ["$.limits"]


def test_config_schema_prints_the_schema_and_checks_a_file(tmp_path: Path) -> None:
    printed = subprocess.run(
        [sys.executable, "-m", "router", "config-schema"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert json.loads(printed.stdout) == json_schema()
    bad = tmp_path / "router.yaml"
    bad.write_text("traffic_shaping:\n  router: { timeout: soon }\n")
    checked = subprocess.run(
        [sys.executable, "-m", "router", "config-schema", "--check", str(bad)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert checked.returncode == 1
    assert checked.stderr == (
        "error: traffic_shaping.router.timeout: must be a duration like 500ms, 5s or 1m, "
        "got 'soon'\n"
    )


def test_the_subscription_section_reads_into_the_settings() -> None:
    default = parse_config("")
    assert (
        default.subscription_enabled,
        default.subscription_max_per_connection,
        default.subscription_max_total,
        default.subscription_ping_interval,
        default.subscription_init_timeout,
    ) == (True, 32, 1_000, 5.0, 10.0)
    config = parse_config(
        "subscription:\n  enabled: false\n  max_per_connection: 2\n  max_total: 3\n"
        "  ping_interval_seconds: 0\n  connection_init_timeout_seconds: 500ms\n"
    )
    assert (
        config.subscription_enabled,
        config.subscription_max_per_connection,
        config.subscription_max_total,
        config.subscription_ping_interval,
        config.subscription_init_timeout,
    ) == (False, 2, 3, 0.0, 0.5)
    with pytest.raises(ConfigError, match=r"subscription\.max_total"):
        parse_config("subscription: { max_total: 0 }")
    with pytest.raises(ConfigError, match=r"subscription\.connection_init_timeout_seconds"):
        parse_config("subscription: { connection_init_timeout_seconds: 0 }")

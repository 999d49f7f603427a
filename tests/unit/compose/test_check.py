"""`python -m router check` catches each kind of failure it exists for."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from router.compose import compose_config
from router.compose.check import run_check
from tests.support.paths import REPO

FED = 'extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key", "@shareable"])\n'
A = (
    FED
    + 'type Query { products: [Product] }\ntype Product @key(fields: "id") { id: ID! name: String }\n'
)
B = FED + 'type Product @key(fields: "id") { id: ID! price: Int }\n'


def project(tmp_path: Path, a: str = A, b: str = B) -> tuple[Path, Path]:
    (tmp_path / "a.graphql").write_text(a)
    (tmp_path / "b.graphql").write_text(b)
    config = tmp_path / "supergraph.yaml"
    config.write_text(
        "federation_version: =2.11.0\nsubgraphs:\n"
        "  a:\n    routing_url: http://a/graphql\n    schema: { file: ./a.graphql }\n"
        "  b:\n    routing_url: http://b/graphql\n    schema: { file: ./b.graphql }\n"
    )
    supergraph = tmp_path / "supergraph.graphql"
    supergraph.write_text(compose_config(config))
    return config, supergraph


def codes(result: object) -> list[str]:
    return [p.code for p in result.problems if p.fails]  # type: ignore[attr-defined]


def test_a_consistent_project_passes(tmp_path: Path) -> None:
    config, supergraph = project(tmp_path)
    result = run_check(config, supergraph)
    assert not result.failed and result.problems == []


def test_composition_failure(tmp_path: Path) -> None:
    config, supergraph = project(tmp_path)
    (tmp_path / "b.graphql").write_text(
        FED + 'type Product @key(fields: "id") { id: ID! name: String }\n'
    )
    result = run_check(config, supergraph)
    assert result.failed
    assert codes(result) == ["INVALID_FIELD_SHARING"]


def test_stale_supergraph(tmp_path: Path) -> None:
    config, supergraph = project(tmp_path)
    (tmp_path / "b.graphql").write_text(B.replace("price: Int", "price: Int\n  stock: Int"))
    result = run_check(config, supergraph)
    assert codes(result) == ["STALE_SUPERGRAPH"]  # an added field is not breaking


def test_subgraph_schema_differs_from_its_code(tmp_path: Path) -> None:
    package = tmp_path / "pkg_b"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "__main__.py").write_text(
        "import sys\nassert sys.argv[1:] == ['--print-schema']\n"
        f"print({B.replace('price: Int', 'price: Float')!r}.strip())\n"
    )
    (package / "schema.graphql").write_text(B)
    config, supergraph = project(tmp_path)
    config.write_text(config.read_text().replace("./b.graphql", "./pkg_b/schema.graphql"))
    supergraph.write_text(compose_config(config))
    result = run_check(config, supergraph)
    assert codes(result) == ["STALE_SUBGRAPH_SCHEMA"]
    assert result.problems[0].subgraph == "b"
    (package / "schema.graphql").write_text(B.replace("price: Int", "price: Float"))
    supergraph.write_text(compose_config(config))
    assert not run_check(config, supergraph).failed


def test_breaking_change_against_the_baseline(tmp_path: Path) -> None:
    config, supergraph = project(tmp_path)
    baseline = tmp_path / "released.graphql"
    baseline.write_text(supergraph.read_text())
    (tmp_path / "b.graphql").write_text(FED + 'type Product @key(fields: "id") { id: ID! }\n')
    supergraph.write_text(compose_config(config))  # recomposed: not stale, but price is gone
    result = run_check(config, supergraph, baseline=str(baseline))
    assert codes(result) == ["BREAKING_FIELD_REMOVED"]
    assert "Product.price was removed" in result.problems[0].message
    accepted = run_check(config, supergraph, baseline=str(baseline), accept_breaking=True)
    assert not accepted.failed and [p.code for p in accepted.problems] == ["BREAKING_FIELD_REMOVED"]


def test_cli_exit_code_and_json(tmp_path: Path) -> None:
    config, supergraph = project(tmp_path)
    (tmp_path / "b.graphql").write_text(B.replace("price: Int", "price: Int\n  stock: Int"))
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "router",
            "check",
            "--config",
            str(config),
            "--supergraph",
            str(supergraph),
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert run.returncode == 1
    report = json.loads(run.stdout)
    assert report["data"]["success"] is False
    assert [p["code"] for p in report["data"]["problems"]] == ["STALE_SUPERGRAPH"]
    assert report["error"]["code"] == "CHECK_FAILED"


def test_no_queries_is_named_by_check_and_compose_writes_nothing(tmp_path: Path) -> None:
    config, supergraph = project(tmp_path)
    (tmp_path / "a.graphql").write_text(FED + 'type Product @key(fields: "id") { id: ID! }\n')
    result = run_check(config, supergraph)
    assert codes(result) == ["NO_QUERIES"]  # the cause, not a syntax error of the output
    output = tmp_path / "out.graphql"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "router",
            "compose",
            "--config",
            str(config),
            "--output",
            str(output),
        ],
        capture_output=True,
        text=True,
    )
    assert run.returncode != 0 and "NO_QUERIES" in run.stderr
    assert not output.exists()


def test_compose_prints_hints_as_warnings(tmp_path: Path) -> None:
    config, _ = project(
        tmp_path,
        a=A + "directive @trace(level: Int) on FIELD | QUERY\n",
        b=B + "directive @trace(level: Int) on FIELD\n",
    )
    run = subprocess.run(
        [sys.executable, "-m", "router", "compose", "--config", str(config)],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0
    assert "warning [INCONSISTENT_EXECUTABLE_DIRECTIVE_LOCATIONS]" in run.stderr
    assert "directive @trace(level: Int) on FIELD\n" in run.stdout  # the locations all allow

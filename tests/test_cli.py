"""`python -m router` as a shell user runs it: in a pipeline whose reader goes away."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx

ROOT = Path(__file__).parents[1]


def test_plan_into_a_closed_pipe_exits_quietly(tmp_path: Path) -> None:
    """`plan --json | head -c0`: no BrokenPipeError traceback, SIGPIPE's exit status."""
    query = tmp_path / "q.graphql"
    query.write_text('{ order(id: "1") { id customer { name } } }')
    command = ["plan", "--json", "--supergraph", str(ROOT / "supergraph.graphql"), str(query)]
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the first write
    try:
        done = subprocess.run(
            [sys.executable, "-m", "router", *command],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            timeout=60,
        )
    finally:
        os.close(write_end)
    assert done.stderr == ""
    assert done.returncode == 141


def test_the_committed_router_yaml_serves_as_the_readme_says() -> None:
    """`python -m router serve --config router.yaml`, from the repository, in production posture."""
    from tests.support.auth import dev_keys
    from tests.support.services import ServiceProcess

    jwks = {"ROUTER_JWKS_URL": dev_keys().jwks_file.resolve().as_uri()}  # what it needs set
    router = ServiceProcess("router", ["--config", "router.yaml"], subcommand=["serve"], env=jwks)
    router.start()
    try:
        assert httpx.get(f"{router.url}/health").json() == {"status": "UP"}
        body = httpx.post(
            f"{router.url}/graphql", json={"query": "{ __schema { types { name } } }"}
        )
        assert [e["extensions"]["code"] for e in body.json()["errors"]] == [
            "INTROSPECTION_DISABLED"
        ]
        page = httpx.get(f"{router.url}/graphql", headers={"accept": "text/html"})
        assert "<html" not in page.text.lower()  # no GraphiQL
    finally:
        router.stop()

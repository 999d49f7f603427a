"""Each service's committed schema.graphql is what its code exports, over `_service { sdl }` too."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.paths import REPO
from tests.support.services import in_process

ROOT = REPO


@pytest.mark.parametrize("module", ["customer_subgraph", "order_subgraph"])
def test_committed_sdl_matches_code(module: str) -> None:
    printed = subprocess.run(
        [sys.executable, "-m", module, "--print-schema"],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    ).stdout
    committed = (ROOT / module / "schema.graphql").read_text()
    assert printed == committed, (
        f"{module}/schema.graphql is stale: run `python -m {module} --print-schema > {module}/schema.graphql`"
    )


@pytest.mark.parametrize("module", ["customer_subgraph", "order_subgraph"])
async def test_service_sdl_matches_committed_file(module: str, tmp_path: Path) -> None:
    package = __import__(module)
    app = package.create_app(
        package.Settings(database_url=f"sqlite:///{tmp_path}/x.sqlite3", seed=False)
    )
    async with in_process(app) as client:
        sdl = (await client.data("{ _service { sdl } }"))["_service"]["sdl"]
    committed = (ROOT / module / "schema.graphql").read_text()
    assert sdl.strip() == committed.strip()


def test_both_subgraphs_declare_the_customer_entity_with_the_same_key() -> None:
    for module in ("customer_subgraph", "order_subgraph"):
        sdl = (ROOT / module / "schema.graphql").read_text()
        assert 'type Customer @key(fields: "id") {' in sdl, module
        assert (
            "union _Entity = " in sdl
            and "Customer" in sdl.split("union _Entity = ")[1].split("\n")[0]
        )

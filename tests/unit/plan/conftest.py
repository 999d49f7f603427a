"""The oracles' harnesses: one per supergraph, started on first use and closed with the
module (tests/unit/plan/test_oracle.py, test_defer_oracle.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.support.oracle import Case, Harness


@pytest.fixture(scope="module")
def harnesses() -> Iterator[Callable[[Case], Harness]]:
    started: dict[str, Harness] = {}
    yield lambda case: started.setdefault(case.name, Harness.start(case))
    for harness in started.values():
        harness.close()

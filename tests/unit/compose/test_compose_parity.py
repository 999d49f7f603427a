"""Composition parity with Apollo's `@apollo/composition` over the corpus in tests/cases/compose/.

Each case is a directory: `subgraphs/<name>.graphql` in (the subgraph named by the file's stem),
and what Apollo's composer (2.14, pinned in tools/compose_parity.py) says about that set,
recorded by `python tools/compose_parity.py` (re-run it after adding or changing a case; its
`--check` re-derives every record and fails on any difference):

- `apollo_errors.txt`: the error codes Apollo refuses the set with, one a line; or
- `apollo_supergraph.graphql` and `apollo_hints.txt`: Apollo's supergraph and hint codes;
- `apollo_inputs.sha256`: the digest of the subgraph files they were recorded from (a case
  edited since fails test_every_case_is_recorded until it is recorded again).

Apollo's records are the expectations here, for every case. The older files of the first 16
cases (`expected_errors.txt`, `supergraph.graphql`) are snapshots of *our* composer's exact
output, a regression check of its printing and order-independence (tests/test_compose_cases.py,
those cases only); where one disagrees with Apollo's record, the case is a known difference below.

This file asserts, per case:
- test_codes_match_apollo: our set of error codes equals Apollo's (both empty when it composes);
- test_supergraph_matches_apollo (cases Apollo composes): ours composes too, its API schema
  prints as Apollo's does (graphql-core, lexicographically sorted), and its join metadata (every
  `@join__*` directive, graphs named by subgraph, field sets re-printed, default arguments
  dropped, and the other directives applied, `@tag`, `@inaccessible` …) equals Apollo's;
- test_links_match_apollo (cases Apollo composes): the `@link`ed spec URLs (so versions) agree;
- test_our_output_loads: whatever our composer outputs loads in our router;
and over the corpus, test_parity_floor: the parity percentages measured never go down, and the
known-difference lists are exactly the cases that differ. The comparison itself is
tools/parity.py (`python -m tools.parity` prints the current gap list).

Known differences are listed below, each with a reason, as strict xfails: a fix in our composer
turns its case into an XPASS failure, and the entry must then be removed (raise the floor too).
"""

from __future__ import annotations

from typing import Any

import pytest

from router.supergraph.load import load_supergraph
from tools.compose_parity import inputs_digest
from tools.parity import (
    CASES,
    all_cases,
    api_schema,
    apollo,
    applied_directives,
    composed_by_apollo,
    links,
    ours,
    semantically_equal,
)

ALL = all_cases()

# --- known differences: case → why ours differs (strict xfail; remove the entry once fixed) ---

CODES_DIFFER: dict[str, str] = {}
"""Cases where our set of error codes is not Apollo's."""

SUPERGRAPH_DIFFERS: dict[str, str] = {}
"""Cases Apollo composes where our supergraph is not semantically equal to Apollo's."""

LINKS_DIFFER: dict[str, str] = {}
"""Cases Apollo composes where our supergraph links other spec versions than Apollo's."""

OUTPUT_DOES_NOT_LOAD: dict[str, str] = {}
"""Cases where our composer outputs a supergraph our router cannot load."""

MIN_CASES = 150

# Measured parity (see test_parity_floor): it may only go up.
BROKEN_PARITY_FLOOR = 1.0
VALID_PARITY_FLOOR = 1.0


def cases(known: dict[str, str], names: list[str]) -> list[Any]:
    """The cases as test parameters, a known difference marked as a strict xfail."""
    return [
        pytest.param(
            name,
            id=name,
            marks=[pytest.mark.xfail(strict=True, reason=known[name])] if name in known else [],
        )
        for name in names
    ]


# --- the tests ---------------------------------------------------------------------------------


def test_every_case_is_recorded() -> None:
    for case in ALL:
        directory = CASES / case
        refused = (directory / "apollo_errors.txt").exists()
        composed = (directory / "apollo_supergraph.graphql").exists()
        assert refused != composed, (
            f"{case}: run tools/compose_parity.py to record Apollo's outcome"
        )
        assert composed == (directory / "apollo_hints.txt").exists(), case
        digest = directory / "apollo_inputs.sha256"
        assert digest.exists() and digest.read_text().strip() == inputs_digest(directory), (
            f"{case}: its subgraphs changed since Apollo's outcome was recorded:"
            " run tools/compose_parity.py"
        )
    assert len(ALL) >= MIN_CASES, f"the corpus has {len(ALL)} cases, fewer than {MIN_CASES}"


@pytest.mark.parametrize("case", cases(CODES_DIFFER, ALL))
def test_codes_match_apollo(case: str) -> None:
    assert sorted(ours(case).codes) == sorted(apollo(case).codes)


@pytest.mark.parametrize("case", cases(SUPERGRAPH_DIFFERS, composed_by_apollo()))
def test_supergraph_matches_apollo(case: str) -> None:
    theirs, mine = apollo(case).supergraph, ours(case).supergraph
    assert theirs is not None
    assert mine is not None, f"{case}: ours refuses with {sorted(ours(case).codes)}"
    assert api_schema(mine) == api_schema(theirs)
    assert applied_directives(mine) == applied_directives(theirs)


@pytest.mark.parametrize("case", cases(LINKS_DIFFER, composed_by_apollo()))
def test_links_match_apollo(case: str) -> None:
    theirs, mine = apollo(case).supergraph, ours(case).supergraph
    assert theirs is not None and mine is not None
    assert links(mine) == links(theirs)


@pytest.mark.parametrize("case", cases(OUTPUT_DOES_NOT_LOAD, ALL))
def test_our_output_loads(case: str) -> None:
    supergraph = ours(case).supergraph
    if supergraph is not None:
        load_supergraph(supergraph)


def test_parity_floor(capsys: pytest.CaptureFixture[str]) -> None:
    broken = [case for case in ALL if apollo(case).codes]
    valid = composed_by_apollo()
    broken_equal = sum(1 for case in broken if ours(case).codes == apollo(case).codes)
    valid_equal = sum(1 for case in valid if semantically_equal(case))
    with capsys.disabled():
        print(
            f"\ncomposition parity: broken {broken_equal}/{len(broken)} cases with Apollo's codes,"
            f" valid {valid_equal}/{len(valid)} semantically equal"
        )
    assert broken_equal / len(broken) >= BROKEN_PARITY_FLOOR
    assert valid_equal / len(valid) >= VALID_PARITY_FLOOR
    differing = {case for case in ALL if ours(case).codes != apollo(case).codes}
    assert differing == set(CODES_DIFFER), "CODES_DIFFER is out of date"
    unequal = {case for case in valid if not semantically_equal(case)}
    assert unequal == set(SUPERGRAPH_DIFFERS), "SUPERGRAPH_DIFFERS is out of date"

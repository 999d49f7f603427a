"""Record what Apollo's composer says about every case of the composition parity corpus.

For each case directory under tests/cases/compose/ (`subgraphs/<name>.graphql`, the subgraph
named by the file's stem, served at `http://<name>:4000/graphql`), this composes the subgraphs
with `@apollo/composition` (pinned below) and writes, next to them:

- `apollo_errors.txt`: Apollo's error codes, sorted, one a line, when Apollo refuses the set;
- `apollo_supergraph.graphql` and `apollo_hints.txt` (hint codes, sorted, one a line, maybe
  empty) when Apollo composes it;
- `apollo_inputs.sha256`: a digest of the subgraph files these were recorded from, so a test can
  tell a record that no longer matches its case without running node.

The files of the other outcome are removed, so re-running is idempotent. A subgraph that does not
parse counts as Apollo's `INVALID_GRAPHQL`, as rover reports it. The npm packages go into an
ignored cache (bench/.cache/compose-parity/), with the small node script that drives them, by
the benchmarks' harness (bench/harness/node.py); Node 22 or newer must come first on PATH (or be
named by $NODE).

    python tools/compose_parity.py             # record every case
    python tools/compose_parity.py --case NAME # one case (repeatable)
    python tools/compose_parity.py --check     # compare only; exit 1 on any difference
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from bench.harness.common import CACHE as BENCH_CACHE
from bench.harness.common import ROOT, BenchError
from bench.harness.node import find_node, npm_install

CASES = ROOT / "tests" / "cases" / "compose"
CACHE = BENCH_CACHE / "compose-parity"
PACKAGES = {"@apollo/composition": "2.14.4", "graphql": "16.11.0"}
ERRORS = "apollo_errors.txt"
SUPERGRAPH = "apollo_supergraph.graphql"
HINTS = "apollo_hints.txt"
INPUTS = "apollo_inputs.sha256"

DRIVER = """\
// Written by tools/compose_parity.py: compose each case given on stdin with Apollo's composer.
const { composeServices } = require("@apollo/composition");
const { parse, GraphQLError } = require("graphql");

const codeOf = (error) => (error.extensions && error.extensions.code) || "UNKNOWN";
const cases = JSON.parse(require("fs").readFileSync(0, "utf8"));
const results = {};
for (const [name, subgraphs] of Object.entries(cases)) {
  const services = [];
  const syntax = [];
  for (const subgraph of subgraphs) {
    try {
      services.push({ name: subgraph.name, url: subgraph.url, typeDefs: parse(subgraph.sdl) });
    } catch (error) {
      if (!(error instanceof GraphQLError)) throw error;
      syntax.push("INVALID_GRAPHQL");
    }
  }
  if (syntax.length) {
    results[name] = { errors: syntax };
    continue;
  }
  const result = composeServices(services);
  results[name] = result.errors
    ? { errors: result.errors.map(codeOf) }
    : {
        supergraph: result.supergraphSdl,
        hints: (result.hints || []).map((hint) => hint.definition.code),
      };
}
process.stdout.write(JSON.stringify(results));
"""


@dataclass(frozen=True, slots=True)
class Outcome:
    """What Apollo says about one case: error codes, or a supergraph and hint codes."""

    errors: tuple[str, ...] = ()
    supergraph: str | None = None
    hints: tuple[str, ...] = ()

    def files(self, case: Path) -> dict[str, str]:
        """The recorded files' contents, by file name."""
        digest = {INPUTS: inputs_digest(case) + "\n"}
        if self.supergraph is None:
            return {ERRORS: _lines(self.errors)} | digest
        return {SUPERGRAPH: self.supergraph, HINTS: _lines(self.hints)} | digest


def inputs_digest(case: Path) -> str:
    """sha256 over the case's subgraph files (names and contents, in name order)."""
    digest = hashlib.sha256()
    for path in sorted((case / "subgraphs").glob("*.graphql")):
        digest.update(f"{path.name}\n{len(path.read_bytes())}\n".encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _lines(codes: tuple[str, ...]) -> str:
    return "".join(f"{code}\n" for code in codes)


def case_dirs(names: list[str] | None = None) -> list[Path]:
    """The corpus' case directories (all, or the named ones), sorted."""
    if names:
        missing = [n for n in names if not (CASES / n / "subgraphs").is_dir()]
        if missing:
            raise SystemExit(f"no such case under {CASES.relative_to(ROOT)}: {', '.join(missing)}")
        return [CASES / n for n in sorted(names)]
    return sorted(p for p in CASES.iterdir() if (p / "subgraphs").is_dir())


def node_binary() -> str:
    """A Node 22+ executable: $NODE, else `node` on PATH (bench/harness/node.py)."""
    try:
        return find_node(22)
    except BenchError as exc:
        raise SystemExit(str(exc)) from None


def install(node: str) -> None:
    """Install the pinned packages into the cache unless they already are, and write the driver."""
    try:
        npm_install(node, CACHE, PACKAGES)
    except BenchError as exc:
        raise SystemExit(str(exc)) from None
    (CACHE / "compose.cjs").write_text(DRIVER)


def compose_with_apollo(node: str, cases: list[Path]) -> dict[str, Outcome]:
    """Apollo's outcome for each case, by case name (one node process for all)."""
    request = {
        case.name: [
            {"name": f.stem, "url": f"http://{f.stem}:4000/graphql", "sdl": f.read_text()}
            for f in sorted((case / "subgraphs").glob("*.graphql"))
        ]
        for case in cases
    }
    run = subprocess.run(
        [node, str(CACHE / "compose.cjs")],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        cwd=CACHE,
        check=False,
    )
    if run.returncode != 0:
        raise SystemExit(f"Apollo's composer failed:\n{run.stderr}")
    outcomes: dict[str, Outcome] = {}
    for name, result in json.loads(run.stdout).items():
        if "errors" in result:
            outcomes[name] = Outcome(errors=tuple(sorted(set(result["errors"]))))
        else:
            hints = tuple(sorted(set(result["hints"])))
            outcomes[name] = Outcome(supergraph=result["supergraph"], hints=hints)
    return outcomes


def differences(case: Path, outcome: Outcome) -> list[str]:
    """How the files recorded in `case` differ from `outcome` (empty when they agree)."""
    wanted = outcome.files(case)
    found = []
    for name in (ERRORS, SUPERGRAPH, HINTS, INPUTS):
        path = case / name
        if name in wanted and (not path.exists() or path.read_text() != wanted[name]):
            found.append(f"{case.name}/{name}: {'differs' if path.exists() else 'missing'}")
        elif name not in wanted and path.exists():
            found.append(f"{case.name}/{name}: stale (Apollo's outcome changed kind)")
    return found


def record(case: Path, outcome: Outcome) -> None:
    wanted = outcome.files(case)
    for name in (ERRORS, SUPERGRAPH, HINTS, INPUTS):
        path = case / name
        if name in wanted:
            if not path.exists() or path.read_text() != wanted[name]:
                path.write_text(wanted[name])
        elif path.exists():
            path.unlink()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="compare only, write nothing")
    parser.add_argument("--case", action="append", metavar="NAME", help="only this case")
    args = parser.parse_args(argv)
    cases = case_dirs(args.case)
    node = node_binary()
    install(node)
    outcomes = compose_with_apollo(node, cases)
    found = [d for case in cases for d in differences(case, outcomes[case.name])]
    if args.check:
        print("\n".join(found) or f"{len(cases)} case(s): recorded files match Apollo's output")
        return 1 if found else 0
    for case in cases:
        record(case, outcomes[case.name])
    refused = sum(1 for case in cases if outcomes[case.name].supergraph is None)
    print(f"{len(cases)} case(s) recorded ({refused} refused, {len(cases) - refused} composed);")
    print(f"{len(found)} file(s) changed" + "".join(f"\n  {d}" for d in found))
    return 0


if __name__ == "__main__":
    sys.exit(main())

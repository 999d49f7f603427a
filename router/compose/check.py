"""`python -m router check`: the CI gate for the graph.

It fails (exit 1) when (1) the subgraphs do not compose, (2) the committed supergraph is not
what composition produces now, (3) a subgraph's committed schema file differs from what its
code exports, or (4) the API schema breaks clients compared with the baseline supergraph (the
committed one, or `--baseline FILE|GIT_REF:PATH`), unless breaking changes are accepted.
Dangerous changes are listed without failing. Text output is one line per problem, grouped by
subgraph; `--format json` uses rover's envelope (`json_version`, `data`, `error`).
"""

from __future__ import annotations

import shlex
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from graphql import find_breaking_changes, find_dangerous_changes

from router.compose.composition import CompositionFailed, compose_subgraphs
from router.compose.config import SupergraphConfig, load_config, read_sdl
from router.compose.subgraph import read_subgraph
from router.errors import RouterError, SupergraphError
from router.supergraph.load import load_supergraph


@dataclass(frozen=True, slots=True)
class Problem:
    """One problem `check` found: its code, its message, the subgraph it belongs to (or the
    supergraph), and whether it fails the check or only warns."""

    code: str
    message: str
    subgraph: str = "supergraph"
    fails: bool = True


@dataclass
class CheckResult:
    """The problems `check` found, and the supergraph composed now (None when composition
    failed)."""

    problems: list[Problem] = field(default_factory=list)
    supergraph: str | None = None

    @property
    def failed(self) -> bool:
        """Whether any problem fails the check (warnings alone do not)."""
        return any(p.fails for p in self.problems)


def run_check(
    config_path: Path,
    supergraph_path: Path,
    *,
    exports: Mapping[str, str] | None = None,
    baseline: str | None = None,
    accept_breaking: bool = False,
) -> CheckResult:
    """Check the graph of a supergraph.yaml: schema drift, composition, the committed supergraph
    and the API's breaking changes against the baseline, in that order (composition errors end
    it)."""
    result = CheckResult()
    config = load_config(config_path)
    result.problems += _schema_drift(config, dict(exports or {}))
    subgraphs = [read_subgraph(s.name, s.routing_url, read_sdl(s)) for s in config.subgraphs]
    try:
        result.supergraph = compose_subgraphs(subgraphs)
    except CompositionFailed as failure:
        for error in failure.errors:
            owner = error.subgraphs[0] if len(error.subgraphs) == 1 else "supergraph"
            result.problems.append(Problem(error.code, error.message, owner))
        return result
    committed = supergraph_path.read_text() if supergraph_path.exists() else None
    if committed != result.supergraph:
        result.problems.append(
            Problem(
                "STALE_SUPERGRAPH",
                f"{supergraph_path} is not what composition produces now: run `python -m router "
                f"compose --config {config_path} --output {supergraph_path}` and commit it"
                if committed is not None
                else f"{supergraph_path} does not exist: compose it and commit it",
            )
        )
    old_sdl = _baseline(baseline, committed)
    if old_sdl is not None:
        result.problems += _api_changes(old_sdl, result.supergraph, accept_breaking)
    return result


def _schema_drift(config: SupergraphConfig, exports: dict[str, str]) -> list[Problem]:
    """Committed subgraph schema files that differ from what the subgraph's code exports."""
    problems = []
    for subgraph in config.subgraphs:
        if subgraph.file is None:
            continue
        command = exports.get(subgraph.name)
        package = subgraph.file.parent
        if command is None and (package / "__main__.py").exists():
            command = f"{shlex.quote(sys.executable)} -m {package.name} --print-schema"
        if command is None:
            continue
        run = subprocess.run(
            command, shell=True, capture_output=True, text=True, cwd=package.parent, timeout=120
        )
        if run.returncode != 0:
            problems.append(
                Problem(
                    "SUBGRAPH_EXPORT_FAILED",
                    f"`{command}` failed: {run.stderr.strip()[-500:]}",
                    subgraph.name,
                )
            )
            continue
        if run.stdout.strip() != subgraph.file.read_text().strip():
            problems.append(
                Problem(
                    "STALE_SUBGRAPH_SCHEMA",
                    f"{subgraph.file} differs from what the code exports (`{command}`): "
                    f"regenerate it with `{command} > {subgraph.file}`",
                    subgraph.name,
                )
            )
    return problems


def _baseline(baseline: str | None, committed: str | None) -> str | None:
    if baseline is None:
        return committed
    if Path(baseline).exists():
        return Path(baseline).read_text()
    shown = subprocess.run(["git", "show", baseline], capture_output=True, text=True)
    if shown.returncode != 0:
        raise RouterError(f"cannot read the baseline {baseline!r}: {shown.stderr.strip()}")
    return shown.stdout


def _api_changes(old_sdl: str, new_sdl: str, accept_breaking: bool) -> list[Problem]:
    try:
        old = load_supergraph(old_sdl).api_schema
    except SupergraphError as exc:
        return [Problem("BASELINE_UNREADABLE", f"the baseline supergraph cannot be read: {exc}")]
    new = load_supergraph(new_sdl).api_schema
    problems = [
        Problem(
            f"BREAKING_{change.type.name}",
            change.description + (" (accepted)" if accept_breaking else ""),
            fails=not accept_breaking,
        )
        for change in find_breaking_changes(old, new)
        if not _builtin_scalar_removed(change)
    ]
    problems += [
        Problem(f"DANGEROUS_{change.type.name}", change.description, fails=False)
        for change in find_dangerous_changes(old, new)
    ]
    return problems


def _builtin_scalar_removed(change: Any) -> bool:
    """Built-in scalars appear in a schema only while something uses them: their removal is
    not a change a client can notice."""
    return bool(
        change.type.name == "TYPE_REMOVED" and change.description.startswith("Standard scalar")
    )


def format_text(result: CheckResult) -> str:
    """The problems one line each, grouped by subgraph (the supergraph's own ones last), then
    the verdict."""
    lines = []
    groups: dict[str, list[Problem]] = {}
    for problem in result.problems:
        groups.setdefault(problem.subgraph, []).append(problem)
    for owner in sorted(groups, key=lambda g: (g == "supergraph", g)):
        lines.append(f"{owner}:")
        for problem in groups[owner]:
            level = "error" if problem.fails else "warning"
            lines.append(f"  {level} [{problem.code}] {problem.message}")
    failures = sum(p.fails for p in result.problems)
    lines.append(f"check failed: {failures} problem(s)" if result.failed else "check passed")
    return "\n".join(lines)


def format_json(result: CheckResult) -> dict[str, Any]:
    """The result in rover's JSON envelope (`json_version`, `data`, `error`); `error` is
    CHECK_FAILED when the check fails."""
    problems = [
        {
            "code": p.code,
            "message": p.message,
            "subgraph": p.subgraph,
            "severity": "error" if p.fails else "warning",
        }
        for p in result.problems
    ]
    return {
        "json_version": "1",
        "data": {"success": not result.failed, "problems": problems},
        "error": None
        if not result.failed
        else {
            "message": f"check failed with {sum(p.fails for p in result.problems)} problem(s)",
            "code": "CHECK_FAILED",
        },
    }

"""What a differential run found, per suite, and the summary written to `<out>.summary.md`.

The summary gives, per suite, the verdicts after the evidence (`agree`, `MISMATCH`,
`references-wrong`, `contested`) and, on the total line, classify's verdicts before it; for the
contested operations, whom our router sides with against whom the evidence supports, counted and
listed one per line with the evidence that decided (or `undecided`); then the MISMATCH and
references-wrong operations themselves.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from bench.differential.compare import AGREE, CONTESTED, MISMATCH, REFERENCES_WRONG
from bench.differential.evidence import UNDECIDED

GATEWAY_NAMES = ("router", "hive", "apollo")
SIDES = ("hive", "apollo", "neither")
SUPPORTS = ("hive", "apollo", "ours", None)


@dataclass(slots=True)
class SuiteResult:
    """One suite's counts and the lines the summary lists."""

    suite: str
    verdicts: Counter[str] = field(default_factory=Counter)  # after the evidence
    first_verdicts: Counter[str] = field(default_factory=Counter)  # classify's, before it
    sides: Counter[str] = field(default_factory=Counter)  # contested: whom we side with
    contested: list[tuple[int, str, str | None, str]] = field(default_factory=list)
    # (index, whom we side with, whom the evidence supports or None, why)
    subgraph_requests: Counter[str] = field(default_factory=Counter)
    shrunk: int = 0
    note: str = ""
    mismatches: list[str] = field(default_factory=list)  # one readable line each
    references_wrong: list[str] = field(default_factory=list)


def _sides(sides: Counter[str]) -> str:
    return "/".join(str(sides[s]) for s in SIDES)


def summary(results: list[SuiteResult], title: str) -> str:
    lines = [
        f"# differential run: {title}",
        "",
        "| suite | ops | agree | MISMATCH | references-wrong | contested (hive/apollo/neither) "
        "| subgraph requests per op (router/hive/apollo) | note |",
        "|---|---|---|---|---|---|---|---|",
    ]
    total: Counter[str] = Counter()
    first: Counter[str] = Counter()
    sides: Counter[str] = Counter()
    requests: Counter[str] = Counter()
    for r in results:
        ops = sum(r.verdicts.values())
        total.update(r.verdicts)
        first.update(r.first_verdicts)
        sides.update(r.sides)
        requests.update(r.subgraph_requests)
        per_op = "/".join(
            f"{r.subgraph_requests[g] / ops:.2f}" if ops else "-" for g in GATEWAY_NAMES
        )
        v = r.verdicts
        lines.append(
            f"| {r.suite} | {ops} | {v[AGREE]} | {v[MISMATCH]} | {v[REFERENCES_WRONG]} "
            f"| {v[CONTESTED]} ({_sides(r.sides)}) | {per_op} | {r.note} |"
        )
    ops = sum(total.values())
    per_op = "/".join(f"{requests[g] / ops:.2f}" if ops else "-" for g in GATEWAY_NAMES)
    agreeing = total[AGREE] + total[MISMATCH] + total[REFERENCES_WRONG]
    lines += [
        f"| **all** | {ops} | {total[AGREE]} | {total[MISMATCH]} | {total[REFERENCES_WRONG]} "
        f"| {total[CONTESTED]} ({_sides(sides)}) | {per_op} | |",
        "",
        f"references agree on {agreeing} of {ops}; we differ on "
        f"{total[MISMATCH] + total[REFERENCES_WRONG]} of those: {total[MISMATCH]} MISMATCH, "
        f"{total[REFERENCES_WRONG]} where the evidence shows both references wrong. Before the "
        f"evidence: {first[MISMATCH]} MISMATCH, {first[CONTESTED]} contested.",
    ]
    contested = [(r.suite, *c) for r in results for c in r.contested]
    if contested:
        grid: Counter[tuple[str, str | None]] = Counter((c[2], c[3]) for c in contested)
        lines += [
            "",
            "## Contested: whom we side with, whom the evidence supports",
            "",
            "| we answer like | evidence: hive | apollo | ours | undecided |",
            "|---|---|---|---|---|",
        ]
        for side in SIDES:
            cells = " | ".join(str(grid[(side, s)]) for s in SUPPORTS)
            lines.append(f"| {side} | {cells} |")
        why = Counter(c[4] for c in contested)
        lines += ["", "| why | operations |", "|---|---|"]
        lines += [f"| {reason} | {n} |" for reason, n in why.most_common()]
        lines += [
            "",
            "| operation | we answer like | evidence supports | why |",
            "|---|---|---|---|",
        ]
        lines += [
            f"| {suite} #{index} | {side} | {supports or UNDECIDED} | {reason} |"
            for suite, index, side, supports, reason in contested
        ]
    listed = [line for r in results for line in r.mismatches]
    if listed:
        lines += ["", "## Mismatches (shrunk where the record has `shrunk`)", "", *listed]
    wrong = [line for r in results for line in r.references_wrong]
    if wrong:
        lines += ["", "## References wrong (MISMATCH by classify; the evidence shows both wrong)"]
        lines += ["", *wrong]
    return "\n".join(lines) + "\n"

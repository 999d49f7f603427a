"""Who is shown wrong on one operation, from evidence the harness gathers itself, and the verdict.

Two kinds of evidence, each sound on its own (it never calls a right answer wrong):

- `alias-renaming`: the gateway's answer to the operation with its aliases renamed
  (`bench/differential/rename.py`), mapped back, differs from its answer to the original, and
  its answer to the original is the same when sent again. Two equivalent operations, two
  answers: one of them is wrong.
- `response-shape`: the answer breaks a rule the spec sets whatever the data
  (`bench/differential/shape.py`): `data: null` without errors, a selected name missing, an
  unselected one present, `null` at a non-null position... (names missing beside an error the
  answer reports at or under their object are not counted: a failed entity fetch's fields, left
  out by both references too)
- `subgraph-answer`: the gateway answers `null` for a root field, without any error, that a
  subgraph it asked answered non-null with the same arguments (`bench/differential/subgraphs.py`).
- `operation-alone`: the operation fixes the whole answer (its root collects only `__typename`,
  or nothing: `{}`), and the answer is another.

`judge` turns the verdict of `compare.classify` and this evidence into the final verdict:

- MISMATCH becomes `references-wrong` only when ours is confirmed: both references change under
  the renaming, ours does not, and ours equals both references' renamed answers (so the three
  agree on the renamed operation and only the references contradict themselves); or the
  operation alone fixes the answer and ours is it. Shape evidence alone never turns a MISMATCH:
  our answer being well-formed does not show its values right.
- MISMATCH stays when ours is shown wrong (the record says by what).
- contested: the evidence supports the reference not shown wrong when exactly one is; `ours`
  when both are and ours is confirmed as above; else it is undecided.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bench.differential.compare import CONTESTED, MISMATCH, REFERENCES_WRONG

RENAMING = "alias-renaming"
SHAPE = "response-shape"
OPERATION = "operation-alone"
SUBGRAPH = "subgraph-answer"
REFERENCES = ("hive", "apollo")
UNDECIDED = "undecided"


@dataclass(frozen=True, slots=True)
class Judgement:
    """The final verdict, what shows each gateway wrong, and (contested) the side supported."""

    verdict: str
    shown_wrong: Mapping[str, Sequence[str]] = field(default_factory=dict)  # gateway -> evidence
    supports: str | None = None  # contested: hive | apollo | ours | None (undecided)
    why: str = UNDECIDED

    def as_json(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            "reference_bugs": {
                g: ", ".join(e) for g, e in self.shown_wrong.items() if g in REFERENCES
            },
            "router_bugs": ", ".join(self.shown_wrong.get("router", ())) or None,
            "supports": self.supports,
            "why": self.why,
        }


def shown_wrong(
    original: Mapping[str, str],
    renamed: Mapping[str, str] | None,
    unstable: frozenset[str],
    shape: Mapping[str, Sequence[str]],
    determined: str | None = None,
    dropped: Mapping[str, Sequence[str]] | None = None,
) -> dict[str, list[str]]:
    """Per gateway, the evidence that shows it wrong (gateways with none are left out).

    `original` and `renamed` are comparable answers (`Answer.key()`, the renamed one mapped back);
    `unstable` are gateways that answered the original differently when it was sent again (their
    renaming evidence does not count); `shape` the spec violations of each original answer;
    `determined` the comparable answer the operation alone fixes, if it does; `dropped` the root
    values each gateway lost that a subgraph gave it."""
    found: dict[str, list[str]] = {}
    for gateway, answer in original.items():
        reasons = []
        if renamed is not None and gateway not in unstable and renamed[gateway] != answer:
            reasons.append(RENAMING)
        if shape.get(gateway):
            reasons.append(SHAPE)
        if determined is not None and answer != determined:
            reasons.append(OPERATION)
        if dropped and dropped.get(gateway):
            reasons.append(SUBGRAPH)
        if reasons:
            found[gateway] = reasons
    return found


def judge(
    verdict: str,
    original: Mapping[str, str],
    renamed: Mapping[str, str] | None,
    unstable: frozenset[str] = frozenset(),
    shape: Mapping[str, Sequence[str]] | None = None,
    determined: str | None = None,
    dropped: Mapping[str, Sequence[str]] | None = None,
) -> Judgement:
    """The final verdict on a MISMATCH or contested operation (others are returned unchanged)."""
    if verdict not in (MISMATCH, CONTESTED):
        return Judgement(verdict)
    wrong = shown_wrong(original, renamed, unstable, shape or {}, determined, dropped)
    ours = original["router"]
    confirmed = (
        renamed is not None
        and not unstable & {"router", *REFERENCES}
        and renamed["router"] == ours
        and all(renamed[r] == ours and RENAMING in wrong.get(r, ()) for r in REFERENCES)
    ) or (determined is not None and ours == determined)
    refs_wrong = [r for r in REFERENCES if r in wrong]
    if "router" in wrong:
        why = f"ours: {', '.join(wrong['router'])}"
        if verdict == MISMATCH:
            return Judgement(MISMATCH, wrong, None, why)
        right = [r for r in REFERENCES if r not in wrong]
        return Judgement(CONTESTED, wrong, right[0] if len(right) == 1 else None, why)
    if verdict == MISMATCH:
        if confirmed and determined is not None:
            why = f"{OPERATION}: the operation fixes the answer, ours is it"
            return Judgement(REFERENCES_WRONG, wrong, None, why)
        if confirmed:
            why = f"{RENAMING}: both references change, ours does not and equals their renamed answers"
            return Judgement(REFERENCES_WRONG, wrong, None, why)
        if refs_wrong:
            shown = "; ".join(f"{r}: {', '.join(wrong[r])}" for r in refs_wrong)
            return Judgement(MISMATCH, wrong, None, f"{shown} (ours not confirmed)")
        return Judgement(MISMATCH, wrong, None, UNDECIDED)
    shown = "; ".join(f"{r}: {', '.join(wrong[r])}" for r in refs_wrong)
    if len(refs_wrong) == 1:
        supported = next(r for r in REFERENCES if r not in wrong)
        return Judgement(CONTESTED, wrong, supported, shown)
    if refs_wrong and confirmed:
        return Judgement(CONTESTED, wrong, "ours", f"{shown}; ours confirmed")
    return Judgement(CONTESTED, wrong, None, f"{shown} (both)" if refs_wrong else UNDECIDED)

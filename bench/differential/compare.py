"""Answers reduced to what is compared, and the verdict on one operation.

An answer is compared by its `data` (exactly, as JSON values) and by whether it has errors; error
messages, paths and extensions are normalised away (each gateway words them its own way). An
answer that is not a GraphQL response (connection refused, time-out, HTTP 5xx without JSON) is
kept as a `transport` failure, which never agrees with anything.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

AGREE = "agree"
MISMATCH = "MISMATCH"
CONTESTED = "contested"
REFERENCES_WRONG = "references-wrong"  # a MISMATCH where evidence shows both references wrong


@dataclass(frozen=True, slots=True)
class Answer:
    """One gateway's answer: status, the raw body and its comparable form."""

    status: int
    body: Any  # the parsed JSON body, or the text when it is not JSON
    transport: str | None = None  # why there is no GraphQL response

    def comparable(self) -> Any:
        if self.transport is not None or not isinstance(self.body, dict):
            return {"transport": self.transport or f"HTTP {self.status}: not a GraphQL response"}
        return {"data": self.body.get("data"), "errors": bool(self.body.get("errors"))}

    def key(self) -> str:
        return json.dumps(self.comparable(), sort_keys=True)

    def as_json(self) -> dict[str, Any]:
        return {"status": self.status, "body": self.body, "transport": self.transport}


def classify(router: Answer, hive: Answer, apollo: Answer) -> tuple[str, str | None]:
    """The verdict and, when contested, whom our router sides with (hive/apollo/neither)."""
    ours, h, a = router.key(), hive.key(), apollo.key()
    if h == a:
        return (AGREE, None) if ours == h else (MISMATCH, None)
    if ours == h:
        return CONTESTED, "hive"
    if ours == a:
        return CONTESTED, "apollo"
    return CONTESTED, "neither"

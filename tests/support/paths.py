"""Where things are, for tests at any depth: the repository, tests/, and tests/cases/ (one
folder per kind: plan, compose, authz, migration, oracle)."""

from __future__ import annotations

from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
REPO = TESTS.parent
CASES = TESTS / "cases"

__all__ = ["CASES", "REPO", "TESTS"]

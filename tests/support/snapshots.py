"""Snapshot files of the case directories (tests/cases/): a snapshot never approves itself.

`check_snapshot(file, text)` fails when `file` is missing or differs; with UPDATE_SNAPSHOTS=1
it writes `text` there first (then review the diff before committing)."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["UPDATE", "check_snapshot"]

UPDATE = os.environ.get("UPDATE_SNAPSHOTS") == "1"
"""Whether this run rewrites snapshots (UPDATE_SNAPSHOTS=1)."""


def check_snapshot(file: Path, text: str) -> None:
    """Assert that `file` holds `text` and a final newline (written first under UPDATE)."""
    if UPDATE:
        file.write_text(text + "\n")
    assert file.exists(), f"{file} is missing: write it with UPDATE_SNAPSHOTS=1, then review it"
    assert text + "\n" == file.read_text()

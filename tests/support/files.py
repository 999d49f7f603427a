"""Files that watchers (hot reload, dev) must see change."""

from __future__ import annotations

import os
from pathlib import Path


def rewrite(path: Path, text: str) -> None:
    """Write a watched file with a modification time the watcher cannot miss."""
    previous = path.stat().st_mtime_ns if path.exists() else 0
    path.write_text(text)
    stamp = max(previous + 1_000_000_000, path.stat().st_mtime_ns)
    os.utime(path, ns=(stamp, stamp))

"""Alembic's environment script: the runner in subgraph_kit.migrations does the work."""

from __future__ import annotations

from subgraph_kit.migrations import run_environment

run_environment()

"""Shaping: merged subgraph data → exactly the response the operation asked for, a separate
pure pass (`Shaper` in shaper.py, generated per operation through router/codegen.py)."""

from router.shape.shaper import Shaper

__all__ = ["Shaper"]

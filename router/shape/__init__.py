"""Shaping: merged subgraph data → exactly the response the operation asked for, a separate
pure pass.

    shaper.py  `Shaper`: per operation, the shaping functions generated through router/codegen.py
    run.py     the state one response's shaping shares: variables, errors, the path, and
               the null propagation rule the generated functions call
"""

from router.shape.shaper import Shaper

__all__ = ["Shaper"]

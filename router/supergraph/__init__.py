"""The supergraph: a Federation 2 supergraph SDL read into a model of which subgraph resolves
what.

    load.py        `load_supergraph(sdl)`: the SDL (`@link` v1.0, join v0.2–v0.5) → `Supergraph`
    model.py       `Supergraph`, `TypeModel`, `FieldModel`, `JoinField`, `EntityKey`: read-only
    api_schema.py  `build_api_schema`: the schema clients see (no machinery, no @inaccessible)
"""

from router.supergraph.api_schema import build_api_schema
from router.supergraph.load import load_supergraph
from router.supergraph.model import Supergraph

__all__ = ["Supergraph", "build_api_schema", "load_supergraph"]

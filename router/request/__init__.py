"""The request phase: everything between a client's document and a plan, each step with a
budget, so a hostile document is refused cheaply and a good one is prepared once.

    document.py   size and token limits on the raw text, then parse
    rules.py      the limits as validation rules, counted per fragment without expanding
    overlap.py    "fields can be merged", in time linear in the document (replaces
                  graphql-core's pairwise rule)
    validate.py   limit rules first, then the specification's rules
    cache.py      an LRU bounded in bytes (plans, persisted queries, rejections)
    limits.py     `Limits`, the request budget
    cost.py       demand control: the operation's static estimated cost, before any fetch
    cost_schema.py  the supergraph's @cost and @listSize, read once for cost.py
"""

from router.request.cache import BoundedCache
from router.request.cost import DemandControl, DemandControlSettings
from router.request.document import parse_document
from router.request.limits import Limits
from router.request.validate import validate_document

__all__ = [
    "BoundedCache",
    "DemandControl",
    "DemandControlSettings",
    "Limits",
    "parse_document",
    "validate_document",
]

"""Operations as the router's IR: small immutable records, printable back to GraphQL.

ir.py         `Field`, `InlineFragment`, `Condition`; printing selections
normalize.py  `normalize(document, name)`: a validated operation with fragments inlined,
              fields merged per response key, variables with their definitions
fold.py       `fold`: `@skip`/`@include` decided by one request's variables
"""

from router.operation.fold import fold
from router.operation.ir import Condition, Field, InlineFragment, Selection
from router.operation.normalize import Operation, normalize

__all__ = ["Condition", "Field", "InlineFragment", "Operation", "Selection", "fold", "normalize"]

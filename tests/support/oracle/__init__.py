"""The CI oracle: a data set generated from a supergraph, a generic fake per subgraph (built
from the join metadata, answering from the data set), and the monolith (graphql-core over the
API schema and the same data) whose answer the router's must equal."""

from tests.support.oracle.dataset import DataSet, Record, build_dataset, value_of
from tests.support.oracle.fake import FakeSubgraph, OracleTransport
from tests.support.oracle.harness import Harness, oracle_settings
from tests.support.oracle.monolith import monolith_answer
from tests.support.oracle.supergraphs import Case, oracle_cases

__all__ = [
    "Case",
    "DataSet",
    "FakeSubgraph",
    "Harness",
    "OracleTransport",
    "Record",
    "build_dataset",
    "monolith_answer",
    "oracle_cases",
    "oracle_settings",
    "value_of",
]

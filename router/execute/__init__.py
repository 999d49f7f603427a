"""Execution: a `QueryPlan`'s fetches sent to subgraphs and merged into one data tree.

executor.py     `Executor.execute(plan, variables)`: Sequence/Parallel/Flatten/Fetch;
                `execute_event` a subscription's Rest over one event
subscriptions.py  a subscription to a subgraph over graphql-transport-ws (WebSocket)
live.py         subscriptions to subgraphs, each event completed by the plan's Rest
fanout.py       one upstream subscription shared by identical client subscriptions
events.py       events queued together completed together (one request per entity fetch)
entities.py     an entity fetch's representations, error paths, merge, expected fields
per_node.py     values computed once per plan node (projectors, expected fields)
data_tree.py    the data tree: objects at a plan path, deep merge
batching.py     entity fetches to one subgraph, ready together, sent as one request
projection.py   the representations an entity fetch sends (generated code)
transport.py    `SubgraphTransport`: HTTP and in-process versions
http_client.py  the lean HTTP/1.1 client the HTTP transport uses
inprocess.py    subgraph ASGI apps served inside the router's process
headers.py      the headers each subgraph request carries (router.yaml's rules)
masking.py      what of a subgraph's errors reaches clients (include_subgraph_errors)
"""

from router.execute.executor import ExecutionResult, Executor
from router.execute.transport import HttpTransport, SubgraphFetchError, SubgraphTransport

__all__ = [
    "ExecutionResult",
    "Executor",
    "HttpTransport",
    "SubgraphFetchError",
    "SubgraphTransport",
]

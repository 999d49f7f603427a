"""Our own graph for `--own`: the customers and orders services on fresh SQLite, seeded through
their API, and our committed supergraph.graphql pointed at the recording proxies.

The services run as the project runs them (`python -m customer_subgraph` / `order_subgraph`,
uvicorn, migrations at start), without their demo seed, on `--port-base`+21 and +22, each on a
new database under the run directory. `seed` creates customers (`createCustomer`) and orders for
most of them (`createOrder`, which the orders service checks with the customers service), so
that entity fetches between the two reach real rows; the answers' ids become argument literals.
In the proxied supergraph each subgraph's URL is `http://127.0.0.1:<proxy>/<graph name>/…`, and
`route` sends such a path to that service.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.harness.common import ROOT, VENV_PYTHON, BenchError
from bench.harness.http import http_call, wait_ready
from bench.harness.processes import Children

SUPERGRAPH = ROOT / "supergraph.graphql"
SERVICES = (("customers", "customer_subgraph"), ("orders", "order_subgraph"))
NAMES = ("Ada", "Grace", "Alan", "Barbara", "Edsger", "Frances", "Donald", "Radia")
SKUS = ("book", "pen", "lamp", "mug")


@dataclass(frozen=True, slots=True)
class OwnGraph:
    """The running services: graph name -> port."""

    ports: Mapping[str, int]

    def route(self, path: str) -> tuple[int, str]:
        """The service and path a proxied request `/<graph>/rest` goes to."""
        graph, _, rest = path.lstrip("/").partition("/")
        if graph not in self.ports:
            raise LookupError(f"no service for {path}")
        return self.ports[graph], "/" + rest


def start(children: Children, run: Path, port_base: int) -> OwnGraph:
    """Both services on fresh SQLite databases, until each answers `{ __typename }`."""
    data = run / "own"
    data.mkdir(parents=True, exist_ok=True)
    ports = {name: port_base + 21 + i for i, (name, _) in enumerate(SERVICES)}
    for name, module in SERVICES:
        database = data / f"{name}.sqlite3"
        database.unlink(missing_ok=True)
        cmd = [str(VENV_PYTHON), "-m", module, "--host", "127.0.0.1", "--port", str(ports[name])]
        cmd += ["--database-url", f"sqlite:///{database}", "--no-seed"]
        if name == "orders":
            cmd += ["--customers-url", f"http://127.0.0.1:{ports['customers']}/graphql"]
        log = run / "logs" / f"own-{name}.log"
        proc = children.start(cmd, log=log, cwd=ROOT)
        body = json.dumps({"query": "{ __typename }"}).encode()
        wait_ready(proc, ports[name], "/graphql", body, log)
    return OwnGraph(ports)


def _call(port: int, query: str, variables: dict[str, Any]) -> Any:
    payload = json.dumps({"query": query, "variables": variables}).encode()
    status, raw = http_call(port, "POST", "/graphql", payload, 30)
    body = json.loads(raw)
    if status != 200 or body.get("errors"):
        raise BenchError(f"seeding failed (HTTP {status}): {raw[:500]!r}")
    return body["data"]


CREATE_CUSTOMER = """
mutation ($input: CreateCustomerInput!) { createCustomer(input: $input) { id name email } }
"""
CREATE_ORDER = """
mutation ($input: CreateOrderInput!) { createOrder(input: $input) { id customer { id } } }
"""


def seed(graph: OwnGraph, customers: int = 8) -> list[Any]:
    """Customers and orders created through the services' API; their answers (for literals)."""
    answers: list[Any] = []
    ids = []
    for index in range(customers):
        name = NAMES[index % len(NAMES)]
        customer = {"name": f"{name} {index}", "email": f"{name.lower()}{index}@example.com"}
        data = _call(graph.ports["customers"], CREATE_CUSTOMER, {"input": customer})
        answers.append({"data": data})
        ids.append(data["createCustomer"]["id"])
    for index, customer_id in enumerate(ids[:-1]):  # the last customer has no order
        for number in range(1 + index % 3):
            items = [
                {
                    "sku": SKUS[(index + k) % len(SKUS)],
                    "quantity": 1 + k,
                    "unitPrice": f"{3 + k}.50",
                }
                for k in range(1 + number)
            ]
            order = {"customerId": customer_id, "items": items}
            answers.append({"data": _call(graph.ports["orders"], CREATE_ORDER, {"input": order})})
    return answers


def proxied_supergraph(sdl: str, proxy_port: int) -> str:
    """`sdl` with each subgraph URL `http://127.0.0.1:<proxy_port>/<graph name>/<its path>`."""

    def url(match: re.Match[str]) -> str:
        return f'{match[1]}http://127.0.0.1:{proxy_port}/{match[2]}{match[3]}"'

    return re.sub(r'(@join__graph\(name:\s*"([^"]+)",\s*url:\s*")https?://[^/"]+([^"]*)"', url, sdl)

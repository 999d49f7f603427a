"""Our own graph for `--own`: the customers and orders services on fresh SQLite, seeded through
their API, and our committed supergraph.graphql pointed at the recording proxies.

The services run as the project runs them (`python -m customer_subgraph` / `order_subgraph`,
uvicorn, migrations at start), without their demo seed, on `--port-base`+21 and +22, each on a
new database under the run directory. `seed` creates customers (`createCustomer`) and orders for
most of them (`createOrder`, which the orders service checks with the customers service), so
that entity fetches between the two reach real rows; the answers' ids become argument literals.
In the proxied supergraph each subgraph's URL is `http://127.0.0.1:<proxy>/<graph name>/…`, and
`route` sends such a path to that service.

The graph's fields are behind @authenticated and @requiresScopes, and the services decide
ownership from the headers the router inserts from a verified token. So every operation is sent
signed in (`sign_in`): a development token for the seeded first customer with every scope the
supergraph asks for (nothing is removed, so the protected fields are compared, and `me` is
someone). Our router verifies it against the development key's JWKS file and inserts
x-customer-id and x-customer-scopes as the committed router.yaml does; the references enforce no
authorization and forward no claims, so their proxies add those same headers (what a router in
front of these services must send). Seeding speaks to the services as staff, the same way.
Apollo Gateway refuses a supergraph linking a `for: SECURITY` feature
(UNSUPPORTED_LINKED_FEATURE: authorization is Apollo Router's), so it is given the supergraph
without the authorization links and directives (`without_authorization`); with every scope held,
nothing would be removed from these operations anyway.
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
from router.authentication.development import ISSUER, DevelopmentKeys
from subgraph_kit.caller import CUSTOMER_ID_HEADER, SCOPES_HEADER, STAFF_SCOPE

SUPERGRAPH = ROOT / "supergraph.graphql"
SERVICES = (("customers", "customer_subgraph"), ("orders", "order_subgraph"))
NAMES = ("Ada", "Grace", "Alan", "Barbara", "Edsger", "Frances", "Donald", "Radia")
SKUS = ("book", "pen", "lamp", "mug")
SCOPES = (STAFF_SCOPE, "read:email")
"""Every scope the committed supergraph asks for (README: read:email, staff)."""
SEEDER = {CUSTOMER_ID_HEADER: "seed", SCOPES_HEADER: STAFF_SCOPE}
"""What the router would insert for a staff token: the services let staff create anything."""


@dataclass(frozen=True, slots=True)
class SignIn:
    """Who every operation is sent as: a development token, and the headers a router inserts
    from its claims (the references' proxies add them)."""

    token: str
    jwks_file: Path
    subject: str

    @property
    def authorization(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.token}"}

    @property
    def claim_headers(self) -> dict[str, str]:
        return {CUSTOMER_ID_HEADER: self.subject, SCOPES_HEADER: " ".join(SCOPES)}

    def router_config(self) -> str:
        """router.yaml for our router: the development key's JWKS, the claim header rules."""
        return f"""\
authentication:
  router:
    jwt:
      jwks:
        - url: {self.jwks_file.resolve().as_uri()}
          issuers: [{ISSUER}]
headers:
  all:
    request:
      - insert: {{ name: {CUSTOMER_ID_HEADER}, from_claim: sub }}
      - insert: {{ name: {SCOPES_HEADER}, from_claim: scope }}
"""


def sign_in(run: Path, answers: list[Any]) -> SignIn:
    """A token for the first customer `seed` created, with every scope (a key made under run)."""
    subject = str(answers[0]["data"]["createCustomer"]["id"])
    keys = DevelopmentKeys(run / "own" / "dev-keys").ensure()
    return SignIn(keys.token(subject, list(SCOPES)), keys.jwks_file, subject)


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
    status, raw = http_call(port, "POST", "/graphql", payload, 30, SEEDER)
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


SECURITY_FEATURES = ("authenticated", "requiresScopes", "policy")


def without_authorization(sdl: str) -> str:
    """`sdl` without its authorization features: their `@link`s, their directives' definitions
    and applications, and their scalars (`requiresScopes__Scope`, `policy__Policy`)."""
    from graphql import DirectiveNode, Visitor, parse, print_ast, visit
    from graphql.language import ast

    names = set(SECURITY_FEATURES)
    scalars = {
        f"{name}__{kind}" for name, kind in (("requiresScopes", "Scope"), ("policy", "Policy"))
    }

    def is_security_link(node: DirectiveNode) -> bool:
        url = next((a.value for a in node.arguments or () if a.name.value == "url"), None)
        return (
            node.name.value == "link"
            and isinstance(url, ast.StringValueNode)
            and url.value.rstrip("/").split("/")[-2] in names
        )

    class Strip(Visitor):
        def enter_directive(self, node: DirectiveNode, *_: Any) -> Any:
            if node.name.value in names or is_security_link(node):
                return self.REMOVE
            return None

        def enter_directive_definition(self, node: ast.DirectiveDefinitionNode, *_: Any) -> Any:
            return self.REMOVE if node.name.value in names else None

        def enter_scalar_type_definition(self, node: ast.ScalarTypeDefinitionNode, *_: Any) -> Any:
            return self.REMOVE if node.name.value in scalars else None

    return print_ast(visit(parse(sdl), Strip()))


def proxied_supergraph(sdl: str, proxy_port: int) -> str:
    """`sdl` with each subgraph URL `http://127.0.0.1:<proxy_port>/<graph name>/<its path>`."""

    def url(match: re.Match[str]) -> str:
        return f'{match[1]}http://127.0.0.1:{proxy_port}/{match[2]}{match[3]}"'

    return re.sub(r'(@join__graph\(name:\s*"([^"]+)",\s*url:\s*")https?://[^/"]+([^"]*)"', url, sdl)

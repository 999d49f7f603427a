"""A GraphQL federation router: one endpoint over many subgraphs, from a Federation 2
supergraph SDL. The phases, in the order a request passes them (each a package whose own
docstring is its table of contents; dependencies point down this list, tests/unit/test_layers.py
checks it):

    server/          HTTP: GraphQL over HTTP, persisted queries, CORS/CSRF, health, GraphiQL
    config/          router.yaml, read into each phase's settings (env.py: `${env.X}`)
    router.py        `Router`: one operation through the phases below
    defer.py         @defer: the parts of an operation, run and delivered incrementally
    defer_keys.py    which deferred parts start from their entity's key, and their plans
    admission.py     what a requester may run of a prepared operation; its response
    restricted.py    what a requester may run of an operation (authz), and that plan
    prepare.py       each operation prepared once (request, plan, shape), cached
    authentication/  JWT from the request, verified against JWKS
    request/         the document: limits, parse, validate, demand control
    authz/           @authenticated / @requiresScopes / @policy: what the caller may see
    plan/            the query planner: operation + supergraph → QueryPlan
    execute/         the plan's fetches over a transport, merged into one data tree
    shape/           merged data → exactly the response the operation asked for
    operation/       an operation as IR (selections, fragments inlined)
    supergraph/      the supergraph SDL as a model of who resolves what
    compose/         composition: subgraph schemas → a supergraph (the `compose`/`check` commands)
    errors.py        the error tree, one coded base class

`Router` and `load_supergraph` are the entry points for embedding (imported lazily, so that
`import router.errors` stays cheap).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from router.router import Router
    from router.supergraph.load import load_supergraph

__all__ = ["Router", "load_supergraph"]


def __getattr__(name: str) -> Any:
    if name == "Router":
        from router.router import Router

        return Router
    if name == "load_supergraph":
        from router.supergraph.load import load_supergraph

        return load_supergraph
    raise AttributeError(f"module 'router' has no attribute {name!r}")

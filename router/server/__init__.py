"""The served router: an ASGI app in front of a `Router`, and the process that serves it.

    factory.py       builds the served app, for one process and for each of `--workers N`
    app.py           RouterApp: dispatches each ASGI scope to its route (this table's rest)
    endpoint.py      the GraphQL path: one HTTP request, its GraphQL requests (or batch), status
    graphql_http.py  reading GraphQL over HTTP: POST bodies, GET query strings, request parts
    persisted.py     automatic persisted queries and the safelist
    csrf.py, cors.py what browsers may send, and from which origins
    identify.py      who sends a request (identify hook, JWT, anonymous)
    dedup.py         inbound de-duplication of identical queries in flight
    reload.py        hot reload of the supergraph and router.yaml
    health.py        /health and readiness
    sandbox.py       GraphiQL's page and assets (graphiql/ bundles them)
    responses.py     writing an answer over raw ASGI
    build.py         build_router: a Router configured by router.yaml
    metrics.py       /metrics (Prometheus, summed over workers)
    connections.py   per-connection limits in uvicorn's HTTP protocol
    drain.py         graceful drain on SIGTERM

Submodules are imported by name (the demo services use drain.py alone, without the router).
"""

__all__ = [
    "app",
    "build",
    "connections",
    "cors",
    "csrf",
    "dedup",
    "drain",
    "endpoint",
    "factory",
    "graphql_http",
    "health",
    "identify",
    "metrics",
    "persisted",
    "reload",
    "responses",
    "sandbox",
]

# syntax=docker/dockerfile:1
# The federation router. Build from the repository root:
#   docker build -f deploy/docker/router.Dockerfile -t pyfederation/router:0.1.0 \
#     --build-arg CUSTOMERS_ROUTING_URL=http://customers:4001/graphql \
#     --build-arg ORDERS_ROUTING_URL=http://orders:4002/graphql .
#
# The committed supergraph.graphql routes to 127.0.0.1 (one machine, bin/run), which inside a
# container is the router itself. So the image composes its own /app/supergraph.graphql from
# supergraph.yaml, whose routing_url entries read ${env.CUSTOMERS_ROUTING_URL} and
# ${env.ORDERS_ROUTING_URL}: the build args below (defaults: the service names used by
# deploy/compose.yaml and deploy/kubernetes/). supergraph.yaml and the subgraph schema files stay
# in /app, so a deployment can compose again for other URLs (the Kubernetes init container does).
#
# It serves with deploy/router.yaml (/app/router.yaml): JWT from the identity provider named by
# ROUTER_JWKS_URL and ROUTER_JWT_ISSUER (set at run time; the router refuses to start without
# them), the verified token's claims forwarded to the subgraphs as x-customer-id and
# x-customer-scopes. Without it every field behind @authenticated or @requiresScopes is refused.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN useradd --system --uid 10001 --user-group --no-create-home --shell /usr/sbin/nologin app

WORKDIR /app
# `pip install .` builds the router's distribution (pyproject.toml): the router and the composer,
# no demo service.
COPY pyproject.toml README.md ./
COPY router ./router
RUN pip install . && rm -rf build ./*.egg-info

# supergraph.yaml names the subgraph schemas by path (./customer_subgraph/schema.graphql, ...):
# the schema files only, not the services' code.
COPY supergraph.yaml ./
COPY customer_subgraph/schema.graphql ./customer_subgraph/
COPY order_subgraph/schema.graphql ./order_subgraph/
ARG CUSTOMERS_ROUTING_URL=http://customers:4001/graphql
ARG ORDERS_ROUTING_URL=http://orders:4002/graphql
RUN python -m router compose --config supergraph.yaml --output /app/supergraph.graphql \
    && grep -qF "url: \"${CUSTOMERS_ROUTING_URL}\"" /app/supergraph.graphql \
    && grep -qF "url: \"${ORDERS_ROUTING_URL}\"" /app/supergraph.graphql
COPY deploy/router.yaml ./router.yaml

USER 10001:10001
EXPOSE 4000

# The router's /health answers 200 {"status": "UP"} once it serves.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:4000/health', timeout=2)"]

ENTRYPOINT ["python", "-m", "router"]
CMD ["serve", "--config", "/app/router.yaml", "--supergraph", "/app/supergraph.graphql", "--host", "0.0.0.0", "--port", "4000"]

# syntax=docker/dockerfile:1
# The customers subgraph (customer_subgraph). Build from the repository root:
#   docker build -f deploy/docker/customers.Dockerfile -t pyfederation/customers:0.1.0 .
# Configure it with CUSTOMERS_DATABASE_URL (postgresql://user:password@host:5432/db) and
# CUSTOMERS_SEED (1: insert the demo data into an empty database, 0: do not).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN useradd --system --uid 10001 --user-group --no-create-home --shell /usr/sbin/nologin app

WORKDIR /app
# `pip install ./demo` builds the demo services' distribution (demo/pyproject.toml): its packages
# sit beside demo/ at the repository's top level. No router in this image.
COPY demo/pyproject.toml demo/README.md ./demo/
COPY subgraph_kit ./subgraph_kit
COPY customer_subgraph ./customer_subgraph
COPY order_subgraph ./order_subgraph
RUN pip install ./demo && rm -rf demo/build ./*.egg-info

USER 10001:10001
EXPOSE 4001

# /health answers 200 while the database answers, 503 otherwise (urlopen raises on 503).
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:4001/health', timeout=2)"]

ENTRYPOINT ["python", "-m", "customer_subgraph"]
CMD ["--host", "0.0.0.0", "--port", "4001"]

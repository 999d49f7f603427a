"""Shared fixtures: a database per test (SQLite file or a fresh PostgreSQL database), the
services running in process or as real processes, and a headless Chromium for GraphiQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import asyncpg
import pytest

from customer_subgraph import Settings as CustomerSettings
from customer_subgraph import create_app as create_customer_app
from tests.support.auth import STAFF_HEADERS
from tests.support.graphiql import headless_chromium
from tests.support.orders import orders_service
from tests.support.postgres import PostgresCluster, find_bindir
from tests.support.services import GraphQLClient, ServiceProcess, free_port, in_process


def _postgres_required() -> bool:
    return bool(os.environ.get("CI") or os.environ.get("REQUIRE_POSTGRES"))


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    """A PostgreSQL server: TEST_POSTGRES_URL if set, else a private cluster for this session.

    Missing server binaries skip the PostgreSQL tests locally and fail them in CI.
    """
    if url := os.environ.get("TEST_POSTGRES_URL"):
        yield url
        return
    bindir = find_bindir()
    if bindir is None:
        message = "PostgreSQL server binaries not found (Debian: apt-get install postgresql)"
        if _postgres_required():
            pytest.fail(message)
        pytest.skip(message)
    cluster = PostgresCluster.start(bindir, free_port())
    try:
        yield cluster.url
    finally:
        cluster.stop()


async def fresh_postgres_database(server_url: str) -> str:
    name = f"t_{uuid.uuid4().hex[:16]}"
    conn = await asyncpg.connect(server_url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return f"{server_url.rsplit('/', 1)[0]}/{name}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def database_url(request: pytest.FixtureRequest, tmp_path: object) -> str:
    """An empty database of each kind the services support."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/service.sqlite3"
    return await fresh_postgres_database(request.getfixturevalue("postgres_server_url"))


@pytest.fixture
async def customers(database_url: str) -> AsyncIterator[GraphQLClient]:
    """The customers service in process, on a fresh seeded database."""
    app = create_customer_app(CustomerSettings(database_url=database_url))
    async with in_process(app) as client:
        client.app = app  # type: ignore[attr-defined]
        client.http.headers.update(STAFF_HEADERS)  # as the router forwards a staff token
        yield client


@pytest.fixture(scope="session")
def customers_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    """A real customers service process (seeded SQLite) that the orders service can call."""
    db = tmp_path_factory.mktemp("customers") / "customers.sqlite3"
    service = ServiceProcess("customer_subgraph", ["--database-url", f"sqlite:///{db}"]).start()
    try:
        yield service
    finally:
        service.stop()


@pytest.fixture
async def orders_client(
    database_url: str, customers_process: ServiceProcess
) -> AsyncIterator[GraphQLClient]:
    """The orders service in process on a fresh seeded database, asking the real customers
    process."""
    async with orders_service(database_url, f"{customers_process.url}/graphql") as client:
        yield client


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """The system Chromium, headless, under Playwright's sync API (`headless_chromium`)."""
    with headless_chromium() as launched:
        yield launched

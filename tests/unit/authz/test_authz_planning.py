"""Restricted plans (router/restricted.py `RestrictedPlans`): made where every plan is made, and shown.

An operation whose requester may not see all of it runs its own plan, without what was removed.
That plan is made in the router's preparation thread, within the budget new operations use
(MAX_PREPARING), so a long planning never holds the event loop; a restriction that cannot be
planned is remembered, as a refused operation is. `Apollo-Expose-Query-Plan` shows the plan
that ran: the restricted one. The router serves the authorization test supergraph
(tests/support/authz.py) over HTTP in front of its recording fake subgraphs.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager

import router.prepare as prepare_module
import router.router as router_module
from router.config import parse_config
from router.operation.ir import Field, Selection
from router.operation.normalize import Operation
from router.plan.graph.walk import PlanningBudgetExceeded
from router.plan.nodes import QueryPlan
from router.server.app import RouterApp, build_router
from router.server.metrics import Metrics
from tests.support.auth import DevJwks, bearer, jwt_yaml
from tests.support.authz import FakeServer, ask, fake_subgraphs, router_over
from tests.support.faulty import serve_in_thread

QUERY = "{ customers { id name email } }"
"""Customer.email needs read:email or admin: anonymous requesters run a restricted plan."""
ADMIN = {"sub": "a1", "scope": "admin"}
UNAUTHORIZED = "UNAUTHORIZED_FIELD_OR_TYPE"


def selects_email(selections: tuple[Selection, ...]) -> bool:
    return any(
        (isinstance(s, Field) and s.name == "email") or selects_email(s.selections or ())
        for s in selections
    )


@contextlib.contextmanager
def planning_watched(router: router_module.Router) -> Any:
    """The router's planner, recording for each plan whether it had `email` and the thread it
    ran in; `hold` (a threading.Event) makes plans without `email` wait for it."""
    planner = router.planner
    original = planner.plan
    calls: list[tuple[bool, str]] = []
    hold: threading.Event | None = None
    entered = threading.Event()

    def plan(operation: Operation, labels: frozenset[str] = frozenset()) -> QueryPlan:
        full = selects_email(operation.selections)
        calls.append((full, threading.current_thread().name))
        if not full and hold is not None:
            entered.set()
            calls.append((hold.wait(timeout=10), "released"))
        return original(operation, labels)

    class Watch:
        def __init__(self) -> None:
            self.calls = calls
            self.entered = entered

        def hold_restricted(self, event: threading.Event) -> None:
            nonlocal hold
            hold = event

    planner.plan = plan  # type: ignore[method-assign]
    try:
        yield Watch()
    finally:
        planner.plan = original  # type: ignore[method-assign]


async def test_a_restricted_plan_is_made_off_the_event_loop() -> None:
    """While the anonymous request's restricted plan is being made (held), another request is
    answered: the planning does not hold the loop. Were it planned on the loop, the held
    planning would block it until the hold timed out, and `released` would be False."""
    with fake_subgraphs() as (sdl, _server):
        async with router_over(sdl) as (client, app):
            other = "{ customers { id } }"
            assert (await ask(client, other)).status_code == 200  # prepared: a cache hit next
            assert (await ask(client, QUERY, ADMIN)).status_code == 200  # the full plan
            with planning_watched(app.router) as watch:
                release = threading.Event()
                watch.hold_restricted(release)
                restricted = asyncio.create_task(ask(client, QUERY))
                for _ in range(2000):  # until the restricted planning waits (or the task ended)
                    if watch.entered.is_set() or restricted.done():
                        break
                    await asyncio.sleep(0.01)
                assert watch.entered.is_set(), "the restricted operation was never planned"
                answered = (await ask(client, other)).json()
                release.set()
                body = (await restricted).json()
            assert "errors" not in answered and answered["data"]["customers"]
            assert body["errors"][0]["extensions"]["code"] == UNAUTHORIZED
            assert all(c["email"] is None for c in body["data"]["customers"])
            (planned, thread), (released, _) = watch.calls
            assert not planned and thread.startswith("router-prepare")
            assert released, "the restricted planning held the event loop"


async def test_restricted_plans_wait_within_the_preparation_budget(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With the preparation budget spent, a request needing a restricted plan not yet made
    is refused 503 REQUEST_CONCURRENCY_LIMITED, as a new operation is; one whose plans are
    made is answered."""
    with fake_subgraphs() as (sdl, _server):
        async with router_over(sdl) as (client, _app):
            assert (await ask(client, QUERY, ADMIN)).status_code == 200
            monkeypatch.setattr(prepare_module, "MAX_PREPARING", 0)
            refused = await ask(client, QUERY)
            assert refused.status_code == 503
            assert refused.json()["errors"][0]["extensions"]["code"] == (
                "REQUEST_CONCURRENCY_LIMITED"
            )
            assert (await ask(client, QUERY, ADMIN)).status_code == 200
            monkeypatch.setattr(prepare_module, "MAX_PREPARING", 64)
            assert (await ask(client, QUERY)).json()["data"]["customers"]


async def test_a_restriction_that_cannot_be_planned_is_planned_once() -> None:
    with fake_subgraphs() as (sdl, server):
        async with router_over(sdl) as (client, app):
            await ask(client, QUERY, ADMIN)
            planner = app.router.planner
            original = planner.plan
            restricted_plans = 0

            def plan(operation: Operation, labels: frozenset[str] = frozenset()) -> QueryPlan:
                nonlocal restricted_plans
                if not selects_email(operation.selections):
                    restricted_plans += 1
                    raise PlanningBudgetExceeded("over the budget of 1 step")
                return original(operation, labels)

            planner.plan = plan  # type: ignore[method-assign]
            server.reset()
            answers = [await ask(client, QUERY) for _ in range(3)]
            assert [a.status_code for a in answers] == [400] * 3
            codes = {a.json()["errors"][0]["extensions"]["code"] for a in answers}
            assert codes == {"MAX_PLANNING_STEPS_LIMIT"}
            assert restricted_plans == 1 and not server.received
            assert (await ask(client, QUERY, ADMIN)).json()["data"]["customers"]


# --- Apollo-Expose-Query-Plan: the plan that ran -------------------------------------------


@contextlib.asynccontextmanager
async def signed_in_router(sdl: str) -> AsyncIterator[httpx.AsyncClient]:
    """The router verifying development tokens against their JWKS served over HTTP, plans
    exposed on request."""
    with serve_in_thread(DevJwks()) as idp:
        extra = "plugins: { experimental.expose_query_plan: true }\n"
        config = parse_config(jwt_yaml(f"{idp}/jwks.json") + extra)
        metrics = Metrics()
        app = RouterApp(build_router(sdl, config, metrics), config, metrics=metrics)
        async with LifespanManager(app) as manager:  # type: ignore[arg-type]
            transport = httpx.ASGITransport(app=manager.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://router") as client:
                yield client


async def exposed(
    client: httpx.AsyncClient, headers: dict[str, str], mode: str = "true"
) -> tuple[dict[str, Any], str]:
    """The response and its exposed plan (JSON and text, as one string to search)."""
    response = await client.post(
        "/graphql",
        json={"query": QUERY},
        headers={**headers, "apollo-expose-query-plan": mode},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    plan = body["extensions"]["apolloQueryPlan"]
    return body, json.dumps(plan["object"]) + plan["text"]


def fetched(server: FakeServer) -> str:
    return " ".join(server.queries())


async def test_the_exposed_plan_is_the_restricted_one_that_ran() -> None:
    with fake_subgraphs() as (sdl, server):
        async with signed_in_router(sdl) as client:
            full, plan = await exposed(client, bearer("a1", ("admin",)))
            assert "errors" not in full and "email" in plan and "email" in fetched(server)
            # a token lacking read:email and admin: its plan never fetches email
            for scopes in ((), ("read:phone",)):
                server.reset()
                body, plan = await exposed(client, bearer("u1", scopes))
                assert body["errors"][0]["extensions"]["code"] == UNAUTHORIZED
                assert all(c["email"] is None for c in body["data"]["customers"])
                assert "email" not in plan and "customers" in plan
                assert server.received and "email" not in fetched(server)
            # the dry run shows the same plan and fetches nothing
            server.reset()
            body, dry_plan = await exposed(client, bearer("u1", ()), "dry-run")
            assert body["data"] is None and dry_plan == plan and not server.received
            _, admin_dry_plan = await exposed(client, bearer("a1", ("admin",)), "dry-run")
            assert "email" in admin_dry_plan


async def test_requesters_needing_one_restricted_plan_at_once_share_its_planning() -> None:
    """More anonymous requesters than MAX_PREPARING at once, each needing the restriction of
    an operation prepared already and its restricted plan (a burst of one subscription or
    query): the restriction is held in the preparation thread until all have arrived; it and
    the restricted plan are made once, and none is refused REQUEST_CONCURRENCY_LIMITED."""
    # each request its own execution, as each subscription is (no inbound de-duplication)
    unshared = "traffic_shaping: { router: { deduplicate_requests: false } }"
    with fake_subgraphs() as (sdl, _server):
        async with router_over(sdl, unshared) as (client, app):
            assert (await ask(client, QUERY, ADMIN)).status_code == 200  # prepared, unrestricted
            authorizer = app.router.authorizer
            assert authorizer is not None
            original = authorizer.restriction
            release = threading.Event()
            restrictions = 0

            def restriction(*args: Any) -> Any:
                nonlocal restrictions
                restrictions += 1
                release.wait(timeout=10)
                return original(*args)

            authorizer.restriction = restriction  # type: ignore[method-assign]
            with planning_watched(app.router) as watched:
                count = prepare_module.MAX_PREPARING * 2
                asking = asyncio.gather(*(ask(client, QUERY) for _ in range(count)))
                while not restrictions:  # noqa: ASYNC110 (the preparation thread counts)
                    await asyncio.sleep(0.01)
                await asyncio.sleep(0.2)  # the others arrive meanwhile (to wait, or be refused)
                release.set()
                answers = await asyncio.wait_for(asking, 60)
    assert [a.status_code for a in answers] == [200] * count
    assert restrictions == 1
    assert [full for full, _thread in watched.calls] == [False]  # one restricted plan

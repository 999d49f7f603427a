"""Subscriptions over HTTP POST (router/server/streams.py): GraphQL over SSE and Apollo's
multipart subscriptions, read with httpx streaming from a real uvicorn server, in front of a
fake `Router.subscribe` (tests/support/subscriber.py): events, the end, a refusal before the
first event, heartbeats, the limit, a client that goes away, and the close on shutdown."""

from __future__ import annotations

import asyncio

import httpx

from tests.support.auth import jwt_yaml, token
from tests.support.streaming import MULTIPART, SSE, WAIT, Reader, http_url
from tests.support.subscriber import FAST, FOREVER, LOST, REFUSED, TWO, UPSTREAM_FAILED, served


async def test_sse_streams_next_events_then_complete() -> None:
    async with served() as (url, fake, _, _), httpx.AsyncClient(timeout=WAIT) as client:
        body = {"query": TWO, "variables": {"v": 1}}
        async with client.stream("POST", http_url(url), json=body, headers=SSE) as response:
            assert response.headers["content-type"] == "text/event-stream"
            events = await Reader(response).sse()
    assert events == [
        ("next", {"data": {"n": 1}}),
        ("next", {"data": {"n": 2}}),
        ("complete", None),
    ]
    assert fake.calls[0][:2] == (TWO, {"v": 1})


async def test_sse_a_refusal_before_the_first_event_is_one_next_then_complete() -> None:
    async with served() as (url, _, _, _), httpx.AsyncClient(timeout=WAIT) as client:
        body = {"query": REFUSED}
        async with client.stream("POST", http_url(url), json=body, headers=SSE) as response:
            assert response.status_code == 200
            events = await Reader(response).sse()
    [(kind, payload), end] = events
    assert (kind, payload["errors"][0]["extensions"]["code"], end) == (
        "next",
        "GRAPHQL_VALIDATION_FAILED",
        ("complete", None),
    )


async def test_sse_heartbeat_comments_and_a_client_leaving_closes_the_iterator() -> None:
    config = "subscription: { ping_interval_seconds: 100ms }"
    async with served(config) as (url, fake, app, _), httpx.AsyncClient(timeout=WAIT) as client:
        body = {"query": FOREVER}
        async with client.stream("POST", http_url(url), json=body, headers=SSE) as response:
            events = await Reader(response).sse(3)
            assert events == [("next", {"data": {"n": 1}}), (":", None), (":", None)]
        for _ in range(300):  # the client closed its connection
            if fake.closed:
                break
            await asyncio.sleep(0.01)
        assert fake.closed == [FOREVER]
        assert app.subscriptions.open == 0


async def test_sse_shutdown_ends_the_stream_with_a_coded_error() -> None:
    async with served() as (url, fake, _, server), httpx.AsyncClient(timeout=WAIT) as client:
        body = {"query": FOREVER}
        async with client.stream("POST", http_url(url), json=body, headers=SSE) as response:
            reader = Reader(response)
            first = await reader.sse(1)
            server.should_exit = True
            rest = await reader.sse()
    assert first == [("next", {"data": {"n": 1}})]
    [(kind, payload), end] = rest
    assert (kind, payload["errors"][0]["extensions"]["code"], end) == (
        "next",
        "SUBSCRIPTION_SHUTDOWN",
        ("complete", None),
    )
    assert fake.closed == [FOREVER]


async def test_a_stream_beyond_max_total_is_refused_with_subscription_max_limit() -> None:
    config = FAST.replace("}", ", max_total: 1 }")
    async with served(config) as (url, _, _, _), httpx.AsyncClient(timeout=WAIT) as client:
        body = {"query": FOREVER}
        async with client.stream("POST", http_url(url), json=body, headers=SSE) as held:
            await Reader(held).sse(1)
            async with client.stream("POST", http_url(url), json=body, headers=SSE) as refused:
                events = await Reader(refused).sse()
    assert events[0][1]["errors"][0]["extensions"]["code"] == "SUBSCRIPTION_MAX_LIMIT"
    assert events[1] == ("complete", None)


async def test_a_request_refused_before_reading_is_answered_as_json() -> None:
    async with served() as (url, _, _, _), httpx.AsyncClient(timeout=WAIT) as client:
        response = await client.post(
            http_url(url), content=b"{}", headers={**SSE, "content-type": "text/plain"}
        )
    assert response.status_code == 400  # a browser's simple request: CSRF
    assert response.json()["errors"][0]["extensions"]["code"] == "CSRF_ERROR"


async def test_multipart_parts_heartbeats_and_the_final_delimiter() -> None:
    config = "subscription: { ping_interval_seconds: 100ms }"
    async with served(config) as (url, _, _, _), httpx.AsyncClient(timeout=WAIT) as client:
        body = {"query": TWO}
        async with client.stream("POST", http_url(url), json=body, headers=MULTIPART) as response:
            assert response.headers["content-type"] == (
                'multipart/mixed;boundary="graphql";subscriptionSpec="1.0"'
            )
            parts = await Reader(response).parts()
        assert parts == [
            {},  # the heartbeat sent at once
            {"payload": {"data": {"n": 1}}},
            {"payload": {"data": {"n": 2}}},
            "END",
        ]
        async with client.stream(
            "POST", http_url(url), json={"query": FOREVER}, headers=MULTIPART
        ) as response:
            assert await Reader(response).parts(4) == [
                {},
                {"payload": {"data": {"n": 1}}},
                {},
                {},
            ]


async def test_multipart_a_refusal_and_a_shutdown() -> None:
    async with served() as (url, fake, _, server), httpx.AsyncClient(timeout=WAIT) as client:
        async with client.stream(
            "POST", http_url(url), json={"query": REFUSED}, headers=MULTIPART
        ) as response:
            refused = await Reader(response).parts()
        code = refused[1]["payload"]["errors"][0]["extensions"]["code"]
        assert (refused[0], code, refused[2:]) == ({}, "GRAPHQL_VALIDATION_FAILED", ["END"])
        async with client.stream(
            "POST", http_url(url), json={"query": FOREVER}, headers=MULTIPART
        ) as response:
            reader = Reader(response)
            assert await reader.parts(2) == [{}, {"payload": {"data": {"n": 1}}}]
            server.should_exit = True
            rest = await reader.parts()
    [closing, end] = rest
    assert closing["payload"] is None
    assert closing["errors"][0]["extensions"]["code"] == "SUBSCRIPTION_SHUTDOWN"
    assert end == "END"
    assert fake.closed == [REFUSED, FOREVER]  # each iterator closed


async def test_a_stream_has_the_identity_of_its_requests_jwt() -> None:
    config = jwt_yaml() + "authorization: { require_authentication: true }\n" + FAST
    async with served(config) as (url, fake, _, _), httpx.AsyncClient(timeout=WAIT) as client:
        anonymous = await client.post(http_url(url), json={"query": TWO}, headers=SSE)
        headers = {**SSE, "authorization": f"Bearer {token('7')}"}
        async with client.stream("POST", http_url(url), json={"query": TWO}, headers=headers) as ok:
            events = await Reader(ok).sse()
    assert anonymous.status_code == 401
    assert anonymous.json()["errors"][0]["extensions"]["code"] == "AUTH_ERROR"
    assert events[-1] == ("complete", None)
    [(_, _, _, identity)] = fake.calls
    assert identity.authenticated and identity.claims["sub"] == "7"


async def test_multipart_an_upstream_lost_is_a_transport_error_and_the_last_part() -> None:
    async with served() as (url, fake, _, _), httpx.AsyncClient(timeout=WAIT) as client:
        body = {"query": LOST}
        async with client.stream("POST", http_url(url), json=body, headers=MULTIPART) as response:
            parts = await Reader(response).parts()
    assert parts == [
        {},
        {"payload": {"data": {"n": 1}}},
        {"payload": None, "errors": UPSTREAM_FAILED["errors"]},
        "END",
    ]
    assert fake.closed == [LOST]


# --- GraphQL over SSE via GET (graphql-sse's distinct connections mode) ----------------------

GET_SSE = {"accept": "text/event-stream", "apollo-require-preflight": "true"}
"""A GET stream: no body, so no content type; a CSRF header, as any GET needs."""


async def test_sse_over_get_streams_the_query_strings_operation() -> None:
    async with served() as (url, fake, _, _), httpx.AsyncClient(timeout=WAIT) as client:
        params = {"query": TWO, "variables": '{"v": 1}', "operationName": "Two"}
        async with client.stream("GET", http_url(url), params=params, headers=GET_SSE) as response:
            assert response.status_code == 200
            assert response.headers["content-type"] == "text/event-stream"
            events = await Reader(response).sse()
    assert events == [
        ("next", {"data": {"n": 1}}),
        ("next", {"data": {"n": 2}}),
        ("complete", None),
    ]
    assert fake.calls[0][:2] == (TWO, {"v": 1})


async def test_sse_over_get_without_a_csrf_header_is_refused_as_json() -> None:
    async with served() as (url, fake, _, _), httpx.AsyncClient(timeout=WAIT) as client:
        response = await client.get(
            http_url(url), params={"query": TWO}, headers={"accept": "text/event-stream"}
        )
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "CSRF_ERROR"
    assert fake.calls == []


async def test_a_mutation_over_get_is_refused_405_and_never_runs() -> None:
    async with served() as (url, fake, _, _), httpx.AsyncClient(timeout=WAIT) as client:
        response = await client.get(
            http_url(url), params={"query": "mutation M { n }"}, headers=GET_SSE
        )
    assert response.status_code == 405
    assert response.json()["errors"][0]["extensions"]["code"] == "METHOD_NOT_ALLOWED"
    assert fake.calls == []  # never subscribed: nothing ran

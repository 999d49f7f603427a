"""How the executor reaches subgraphs: a small protocol with an HTTP and an in-process version.

    SubgraphTransport.send(graph, body) -> decoded JSON response, or raises SubgraphFetchError

`HttpTransport` uses the lean client of http_client.py (pooled keep-alive connections, a
timeout per subgraph): chosen by benchmark (bench/transports.py) over aiohttp, which costs
several times more CPU per call, and httpx, whose AsyncClient is slower still under concurrency
(encode/httpx#3215). `AsgiTransport` calls each subgraph's ASGI app directly: the whole system
in one process, no network hop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any, Protocol

import orjson

from router.errors import RouterError
from router.execute.http_client import Endpoint, HttpClientError, ResponseTooLarge, post
from router.types import JSONObject

JSON_HEADERS = {
    "content-type": "application/json",
    "accept": "application/graphql-response+json, application/json",
}


class SubgraphFetchError(RouterError):
    """A subgraph could not answer: down, slow, non-2xx, or not GraphQL JSON."""

    def __init__(
        self, message: str, code: str = "SUBREQUEST_HTTP_ERROR", status: int | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.subgraph_status = status
        """The subgraph's HTTP status, when it answered one (the router's answer is 200)."""


class Forwarded(dict[str, str]):
    """The headers one client request sends one subgraph, made once per request and subgraph;
    `key` is their part of the in-flight de-duplication key (sorted pairs), made with them."""

    __slots__ = ("key",)

    def __init__(self, headers: Mapping[str, str]) -> None:
        super().__init__(headers)
        self.key: tuple[tuple[str, str], ...] = tuple(sorted(self.items()))


def headers_key(headers: Mapping[str, str] | None) -> tuple[tuple[str, str], ...]:
    """Forwarded headers as a de-duplication key: `Forwarded`'s own, else made here."""
    if isinstance(headers, Forwarded):
        return headers.key
    return tuple(sorted((headers or {}).items()))


class SubgraphTransport(Protocol):
    """How the executor reaches subgraphs: `send` one request each, `close` once the router stops
    (see the module docstring)."""

    async def send(
        self, service: str, body: JSONObject, headers: Mapping[str, str] | None = None
    ) -> JSONObject:
        """POST a GraphQL request to the subgraph named `service`; return its decoded answer."""
        ...

    async def close(self) -> None:
        """Release what the transport holds (its connections) once the router stops."""
        ...


def decode_response(status: int, payload: bytes) -> JSONObject:
    """A subgraph's answer as JSON, or SubgraphFetchError saying what was wrong with it.

    A non-2xx status is a failed fetch even when its body is GraphQL-shaped; the subgraph's
    own first error message is kept in ours."""
    try:
        decoded = orjson.loads(payload)
    except orjson.JSONDecodeError:
        if status >= 300:
            raise SubgraphFetchError(f"HTTP fetch failed: {status}", status=status) from None
        raise SubgraphFetchError(
            "the subgraph's response is not valid JSON", "SUBREQUEST_MALFORMED_RESPONSE", status
        ) from None
    if status >= 300:
        detail = ""
        if (
            isinstance(decoded, dict)
            and isinstance(decoded.get("errors"), list)
            and decoded["errors"]
        ):
            first = decoded["errors"][0]
            if isinstance(first, dict) and isinstance(first.get("message"), str):
                detail = f": {first['message']}"
        raise SubgraphFetchError(f"HTTP fetch failed: {status}{detail}", status=status)
    if not isinstance(decoded, dict) or not ("data" in decoded or "errors" in decoded):
        raise SubgraphFetchError(
            "the subgraph's response has neither `data` nor `errors`",
            "SUBREQUEST_MALFORMED_RESPONSE",
            status,
        )
    return decoded


JOIN_TURNS = 16
"""How many event-loop turns a shared subgraph call waits, at most, for identical queries to
join while the subgraph is busy with others. bench/gateways.py, "on (subgraph)", subgraph
requests per answer against Hive Gateway + Rust planner in the same run (a loaded machine):
one turn 1.2 vs 0.5; 8 turns always 0.6 vs 0.5; 16 turns while busy 0.29 vs 0.49."""


class HttpTransport:
    """Subgraphs over HTTP, one keep-alive connection pool per subgraph.

    With `deduplicate` (the default), identical queries in flight at the same time share one
    HTTP call, as Apollo Router's `deduplicate_query` and Hive Gateway do; mutations never do.
    Only the status and bytes are shared: each caller decodes its own copy, since the executor
    merges into (and so mutates) what it gets. A shared call leaves on the event loop's next
    turn, not at once: the identical queries the other requests make in this turn join it.
    While other calls to the same subgraph are in flight (other requests are at work there),
    it waits up to `join_turns` turns: requests that arrived a little later reach the same
    step of their plans in those turns and join too. Turns, not a time: with nothing else to
    run a turn takes microseconds, under load it is a round of the other requests' steps, so
    the window grows with the load (Hive Gateway's, the time its loaded event loop takes to
    read an answer, does too). Alone, a request waits one turn. Every caller gets an answer
    sent after it asked.

    The shared call runs in a task of its own, not in the first caller's: any caller may
    leave (its client gone) without failing the others, and the call is stopped only once
    every caller has left. A failed call is every caller's same coded error.
    """

    def __init__(
        self,
        urls: Mapping[str, str],
        *,
        timeout: float = 30.0,
        timeouts: Mapping[str, float] | None = None,
        connections_per_subgraph: int = 100,
        deduplicate: bool = True,
        max_response_bytes: int | None = None,
        max_response_bytes_for: Mapping[str, int] | None = None,
        join_turns: int = JOIN_TURNS,
    ) -> None:
        self.urls = dict(urls)
        self.timeouts = {name: (timeouts or {}).get(name, timeout) for name in self.urls}
        self.max_response_bytes = {
            name: (max_response_bytes_for or {}).get(name, max_response_bytes) for name in self.urls
        }
        """Per subgraph, the largest answer read (None: no limit); a larger one fails the
        fetch with SUBREQUEST_HTTP_ERROR and its connection is closed unread."""
        self.deduplicate = deduplicate
        self.join_turns = join_turns
        """Event-loop turns a shared call waits for others to join, at most (at least one)."""
        self._leaving: dict[str, int] = {}
        """Per subgraph, the shared calls waiting to leave or in flight."""
        self.http_calls = 0
        """HTTP requests actually sent (less than fetches when de-duplication shares some)."""
        self._limit = connections_per_subgraph
        self._endpoints: dict[str, Endpoint] = {}
        self._in_flight: dict[_Key, _Shared] = {}

    def _endpoint(self, service: str, url: str) -> Endpoint:
        endpoint = self._endpoints.get(service)
        if endpoint is None:
            try:
                endpoint = self._endpoints[service] = Endpoint(
                    url, self._limit, max_response_bytes=self.max_response_bytes.get(service)
                )
            except ValueError as exc:
                raise SubgraphFetchError(f"HTTP fetch failed: {exc}") from None
        return endpoint

    async def send(
        self, service: str, body: JSONObject, headers: Mapping[str, str] | None = None
    ) -> JSONObject:
        """POST `body` to the subgraph named `service` and decode its answer; identical queries in
        flight share one call. Raises `SubgraphFetchError` for an unknown subgraph, a timeout or a
        failed call."""
        url = self.urls.get(service)
        if url is None:
            raise SubgraphFetchError(f"no URL is known for subgraph {service!r}")
        data = orjson.dumps(body)
        query = body.get("query")
        safe = isinstance(query, str) and not query.lstrip().startswith("mutation")
        if not self.deduplicate or not safe:
            request_headers = {**JSON_HEADERS, **(headers or {})}
            return decode_response(*await self._post(service, url, data, request_headers, safe))
        key: _Key = (service, data, headers_key(headers))  # made once, for the lookup
        shared = self._in_flight.get(key)
        if shared is None:  # the first caller: the headers are built for the call it starts
            self._leaving[service] = self._leaving.get(service, 0) + 1
            request_headers = {**JSON_HEADERS, **(headers or {})}
            call = asyncio.get_running_loop().create_task(
                self._lead(key, service, url, data, request_headers)
            )
            shared = self._in_flight[key] = _Shared(call)
        shared.waiters += 1
        try:
            result = await asyncio.shield(shared.call)
        finally:
            shared.waiters -= 1
            if not shared.waiters and not shared.call.done():  # every caller left: stop it
                self._forget(key, shared)
                shared.call.cancel()
        return decode_response(*result)

    async def _lead(
        self, key: _Key, service: str, url: str, data: bytes, headers: dict[str, str]
    ) -> tuple[int, bytes]:
        """The shared call itself, in a task of its own: a caller leaving (its client gone,
        its request timed out) neither cancels it for the others nor hands them its
        cancellation; it is stopped once no caller is left. Its answer or its error is every
        caller's, the same."""
        try:
            await self._gather(service)
            return await self._post(service, url, data, headers, True)
        finally:
            self._leaving[service] -= 1
            shared = self._in_flight.get(key)
            if shared is not None and shared.call is asyncio.current_task():
                del self._in_flight[key]

    def _forget(self, key: _Key, shared: _Shared) -> None:
        if self._in_flight.get(key) is shared:
            del self._in_flight[key]

    async def _gather(self, service: str) -> None:
        """Let identical queries join: the turn the call's task starts in (the rest of the
        turn it was asked in has run), then more while other shared calls to `service` are
        waiting or in flight, up to `join_turns` in all."""
        for _ in range(self.join_turns - 1):
            if self._leaving[service] <= 1:
                return
            await asyncio.sleep(0)

    async def _post(
        self, service: str, url: str, data: bytes, headers: dict[str, str], safe: bool
    ) -> tuple[int, bytes]:
        """One HTTP call; `safe` (a query) may be retried once on a keep-alive connection the
        subgraph closed before answering, a mutation never is."""
        self.http_calls += 1
        try:
            async with asyncio.timeout(self.timeouts[service]):
                return await post(
                    self._endpoint(service, url), data, headers.items(), retry_if_closed=safe
                )
        except TimeoutError:
            raise SubgraphFetchError(
                f"the subgraph did not answer within {self.timeouts[service]} s",
                "SUBREQUEST_HTTP_ERROR",
            ) from None
        except ResponseTooLarge as exc:
            raise SubgraphFetchError(
                f"HTTP fetch failed: the subgraph's response is larger than {exc.limit} bytes "
                "(limits.subgraph.http_max_response_size)"
            ) from None
        except HttpClientError as exc:
            raise SubgraphFetchError(f"HTTP fetch failed: {exc}") from None

    async def close(self) -> None:
        """Close every subgraph's connection pool; a later `send` opens new ones."""
        endpoints, self._endpoints = self._endpoints, {}
        for endpoint in endpoints.values():
            endpoint.pool.close()


_Key = tuple[str, bytes, tuple[tuple[str, str], ...]]


class _Shared:
    """One shared subgraph call in flight: its task, and how many callers wait for it."""

    __slots__ = ("call", "waiters")

    def __init__(self, call: asyncio.Task[tuple[int, bytes]]) -> None:
        self.call = call
        self.waiters = 0


class AsgiTransport:
    """Subgraphs as ASGI apps in this process: each request is one direct call of the app.

    The apps must already be started (their lifespan run); `router.inprocess` does that.
    """

    def __init__(
        self, apps: Mapping[str, Any], *, path: str = "/graphql", timeout: float = 30.0
    ) -> None:
        self.apps = dict(apps)
        self.path = path
        self.timeout = timeout

    async def send(
        self, service: str, body: JSONObject, headers: Mapping[str, str] | None = None
    ) -> JSONObject:
        """Call the subgraph's ASGI app with `body` as a POST to `path` and decode its answer; a
        timeout or a crash of the app is a `SubgraphFetchError`, as a failed HTTP call is."""
        app = self.apps.get(service)
        if app is None:
            raise SubgraphFetchError(f"no in-process app is registered for subgraph {service!r}")
        payload = orjson.dumps(body)
        request_headers = {**JSON_HEADERS, **(headers or {}), "content-length": str(len(payload))}
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": self.path,
            "raw_path": self.path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": [(k.lower().encode(), v.encode()) for k, v in request_headers.items()],
            "client": ("127.0.0.1", 0),
            "server": ("inprocess", 80),
        }
        sent = False
        status = 500
        chunks: list[bytes] = []

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": payload, "more_body": False}
            await asyncio.Event().wait()  # no disconnect while the app answers
            return {"type": "http.disconnect"}  # pragma: no cover

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        try:
            await asyncio.wait_for(app(scope, receive, send), self.timeout)
        except TimeoutError:
            raise SubgraphFetchError(
                f"the subgraph did not answer within {self.timeout} s"
            ) from None
        except Exception as exc:  # an in-process app crashing is the same as a 500
            raise SubgraphFetchError(
                f"the subgraph failed: {type(exc).__name__}: {exc}", status=500
            ) from None
        return decode_response(status, b"".join(chunks))

    async def close(self) -> None:
        """Nothing to release: the apps' lifespans belong to whoever started them."""
        return None

"""Connections and the HTTP surface, on the wire: the router served by real uvicorn (with
router.yaml's connection limits) on a free port, spoken to over raw sockets, in front of a
real subgraph. Header count and size limits, read deadlines (slowloris, a body that stops
short, idle keep-alive), requests in flight, non-UTF-8 header bytes, WebSocket upgrades,
methods and content types, CORS with any origin, and batches run concurrently."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from router.config import ConfigError, parse_config
from router.server.app import RouterApp, build_router
from router.server.connections import uvicorn_options
from tests.support.auth import jwt_yaml, staff_bearer
from tests.support.faulty import serve_in_thread
from tests.support.paths import REPO
from tests.support.recording_subgraph import RecordingSubgraph, read_body

ROOT = REPO
SUPERGRAPH = (ROOT / "supergraph.graphql").read_text()
QUERY = b'{"query": "query Q { customer(id: \\"1\\") { name } }"}'
ALICE = {
    'query Q__customers__0 { customer(id: "1") { name } }': {
        "data": {"customer": {"name": "Alice"}}
    }
}
SAFETY = 20.0
"""Seconds a socket read may block before the test gives up (never asserted on)."""


@contextlib.contextmanager
def router(config_text: str = "", subgraph: Any = None) -> Iterator[tuple[int, RouterApp]]:
    """The router app served by uvicorn with router.yaml's connection options, in front of
    `subgraph` (a RecordingSubgraph by default) for both services; yields its port."""
    subgraph = subgraph or RecordingSubgraph(ALICE)
    config = parse_config(config_text)
    with serve_in_thread(subgraph) as subgraph_url:
        sdl = SUPERGRAPH.replace(
            "http://127.0.0.1:4001/graphql", f"{subgraph_url}/customers"
        ).replace("http://127.0.0.1:4002/graphql", f"{subgraph_url}/orders")
        app = RouterApp(build_router(sdl, config), config)
        with serve_in_thread(app, **uvicorn_options(config)) as url:
            yield int(url.rsplit(":", 1)[1]), app


def connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=SAFETY)
    return sock


def read_until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (EOF)."""
    received = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            raise AssertionError(f"the server did not close the connection: {received!r}") from None
        except ConnectionResetError:
            return received
        if not chunk:
            return received
        received += chunk


def read_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """One response with a Content-Length, leaving the connection open."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"closed before a response head: {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status, headers = parse_head(head)
    while len(body) < int(headers["content-length"]):
        chunk = sock.recv(65536)
        assert chunk, "closed inside a response body"
        body += chunk
    return status, headers, body


def parse_head(head: bytes) -> tuple[int, dict[str, str]]:
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(lines[0].split()[1]), headers


def split(response: bytes) -> tuple[int, dict[str, str], Any]:
    head, _, body = response.partition(b"\r\n\r\n")
    status, headers = parse_head(head)
    return status, headers, json.loads(body) if body else None


def post(extra_headers: bytes = b"", body: bytes = QUERY) -> bytes:
    return (
        b"POST /graphql HTTP/1.1\r\nHost: router\r\nContent-Type: application/json\r\n"
        + extra_headers
        + b"Content-Length: %d\r\n\r\n" % len(body)
        + body
    )


def code(body: Any) -> str:
    return str(body["errors"][0]["extensions"]["code"])


# --- header limits ---------------------------------------------------------------------------


def test_too_many_headers_get_431_and_the_connection_is_closed() -> None:
    with router("limits: { http1_max_request_headers: 20 }") as (port, _):
        # Host, Content-Type and Content-Length are 3 of the 20
        within = b"".join(b"X-H%d: v\r\n" % i for i in range(17))
        beyond = b"".join(b"X-H%d: v\r\n" % i for i in range(18))
        with connect(port) as sock:
            sock.sendall(post(within))
            status, _, body = read_response(sock)
            assert (status, json.loads(body)) == (200, {"data": {"customer": {"name": "Alice"}}})
        with connect(port) as sock:
            sock.sendall(post(beyond))
            status, headers, answer = split(read_until_closed(sock))
        with connect(port) as sock:  # a client still sending gets the answer, not a reset
            with contextlib.suppress(OSError):
                sock.sendall(post(b"".join(b"X-H%d: v\r\n" % i for i in range(200_000))))
            flood = split(read_until_closed(sock))
    assert (status, code(answer)) == (431, "REQUEST_HEADER_FIELDS_TOO_LARGE")
    assert headers["connection"] == "close"
    assert (flood[0], code(flood[2])) == (431, "REQUEST_HEADER_FIELDS_TOO_LARGE")


def test_a_large_request_head_gets_431_and_the_connection_is_closed() -> None:
    with router("limits: { http1_max_request_buf_size: 4kb }") as (port, _):
        with connect(port) as sock:
            sock.sendall(post(b"X-Small: " + b"a" * 3000 + b"\r\n"))
            assert read_response(sock)[0] == 200
        with connect(port) as sock:
            sock.sendall(post(b"X-Big: " + b"a" * 5000 + b"\r\n"))
            status, _, answer = split(read_until_closed(sock))
        assert (status, code(answer)) == (431, "REQUEST_HEADER_FIELDS_TOO_LARGE")
        # one header that never ends is refused once it is too large, not buffered forever
        with connect(port) as sock:
            sock.sendall(b"POST /graphql HTTP/1.1\r\nHost: router\r\nX-Endless: ")
            with contextlib.suppress(OSError):  # the server may close while we still send
                for _ in range(100):
                    sock.sendall(b"a" * 1000)
            status, _, answer = split(read_until_closed(sock))
        assert (status, code(answer)) == (431, "REQUEST_HEADER_FIELDS_TOO_LARGE")


# --- read deadlines --------------------------------------------------------------------------


def trickle_head(sock: socket.socket) -> bytes:
    """Send a request head one byte at a time, never finishing it, until the server answers
    or closes; returns all it sent back."""
    sock.sendall(b"POST /graphql HTTP/1.1\r\nHost: router\r\n")
    sock.settimeout(0.1)
    received = b""
    for _ in range(int(SAFETY / 0.1)):
        try:
            sock.sendall(b"x")  # one more byte of a header name
            received = sock.recv(65536)
            break
        except TimeoutError:
            continue
        except OSError:  # closed while we were sending
            break
    sock.settimeout(SAFETY)
    return received + read_until_closed(sock)


def test_a_client_trickling_its_headers_is_closed() -> None:
    with router("server: { http: { header_read_timeout: 500ms } }") as (port, _):
        with connect(port) as sock:
            fresh = split(trickle_head(sock))
        with connect(port) as sock:  # the next request on a kept-alive connection
            sock.sendall(post())
            assert read_response(sock)[0] == 200
            kept_alive = split(trickle_head(sock))
        with connect(port) as sock:  # a connection that sends nothing at all
            silent = read_until_closed(sock)
    assert (fresh[0], code(fresh[2])) == (408, "REQUEST_TIMEOUT")
    assert (kept_alive[0], code(kept_alive[2])) == (408, "REQUEST_TIMEOUT")
    assert silent == b""


def test_a_body_that_stops_before_its_content_length_gets_408() -> None:
    with (
        router("server: { http: { body_read_timeout: 500ms } }") as (port, _),
        connect(port) as sock,
    ):
        sock.sendall(
            b"POST /graphql HTTP/1.1\r\nHost: router\r\nContent-Type: application/json\r\n"
            b"Content-Length: 100\r\n\r\n" + QUERY[:10]
        )
        status, headers, answer = split(read_until_closed(sock))
    assert (status, code(answer)) == (408, "REQUEST_TIMEOUT")
    assert headers["connection"] == "close"


def test_an_idle_keep_alive_connection_is_closed() -> None:
    with (
        router("server: { http: { keep_alive_timeout: 500ms } }") as (port, _),
        connect(port) as sock,
    ):
        sock.sendall(post())
        assert read_response(sock)[0] == 200
        # nothing more, then EOF; sooner than uvicorn's default of 5 s would close it
        sock.settimeout(4)
        assert read_until_closed(sock) == b""


# --- admission -------------------------------------------------------------------------------


class GateSubgraph:
    """A subgraph that holds every request until `release()`; counts those waiting."""

    def __init__(self) -> None:
        self.arrived = threading.Semaphore(0)
        self.gate = threading.Event()

    def release(self) -> None:
        self.gate.set()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        while (await receive()).get("more_body"):
            pass
        self.arrived.release()
        while not self.gate.is_set():  # noqa: ASYNC110 (set from the test's thread)
            await asyncio.sleep(0.01)
        body = b'{"data": {"customer": {"name": "Alice"}}}'
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body})


async def test_requests_beyond_the_concurrency_limit_get_503_and_health_still_answers() -> None:
    gate = GateSubgraph()
    config = "traffic_shaping: { router: { concurrency_limit: 1 } }"
    with router(config, gate) as (port, app):
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=SAFETY) as http:
            query = {"query": 'query Q { customer(id: "1") { name } }'}
            first = asyncio.create_task(http.post("/graphql", json=query))
            assert await asyncio.to_thread(gate.arrived.acquire, timeout=SAFETY)
            refused = await http.post("/graphql", json=query)
            health = await http.get("/health")
            gate.release()
            answered = await first
            after = await http.post("/graphql", json=query)
    assert (refused.status_code, code(refused.json())) == (503, "REQUEST_CONCURRENCY_LIMITED")
    assert health.json() == {"status": "UP"}
    assert answered.json() == after.json() == {"data": {"customer": {"name": "Alice"}}}
    assert app.requests_in_flight == 0


async def test_a_request_not_answered_within_the_router_timeout_gets_504() -> None:
    gate = GateSubgraph()  # never released while the requests wait
    with router("traffic_shaping: { router: { timeout: 500ms } }", gate) as (port, app):
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=SAFETY) as http:
            query = {"query": 'query Q { customer(id: "1") { name } }'}
            # two identical queries: the second joins the first's execution, and must still
            # get its own answer when the first is cut off
            answers = await asyncio.gather(*(http.post("/graphql", json=query) for _ in range(2)))
            gate.release()
            after = await http.post("/graphql", json=query)
    assert [(a.status_code, code(a.json())) for a in answers] == [(504, "GATEWAY_TIMEOUT")] * 2
    assert after.json() == {"data": {"customer": {"name": "Alice"}}}
    assert app.requests_in_flight == 0


# --- header bytes, upgrades ------------------------------------------------------------------


def test_header_values_that_are_not_utf8_are_no_error_and_reach_the_subgraph_unchanged() -> None:
    subgraph = RecordingSubgraph(ALICE)
    config = "headers: { all: { request: [ { propagate: { named: authorization } } ] } }"
    with router(config, subgraph) as (port, _):
        with connect(port) as sock:
            sock.sendall(post(b"Authorization: Bearer \xff\xfe\r\nX-Name: caf\xe9\r\n"))
            status, _, body = read_response(sock)
        with connect(port) as sock:  # a byte that is not even allowed in a URL
            sock.sendall(b"GET /graphql?query=\xff HTTP/1.1\r\nHost: router\r\n\r\n")
            bad_url = split(read_until_closed(sock))
    assert (status, json.loads(body)) == (200, {"data": {"customer": {"name": "Alice"}}})
    headers, _ = subgraph.requests[0]
    assert headers["authorization"].encode("latin-1") == b"Bearer \xff\xfe"
    assert (bad_url[0], code(bad_url[2])) == (400, "BAD_REQUEST")  # JSON, not uvicorn's text


def test_a_websocket_upgrade_is_refused_with_a_code_when_subscriptions_are_off() -> None:
    with router("subscription: { enabled: false }") as (port, _), connect(port) as sock:
        sock.sendall(
            b"GET /graphql HTTP/1.1\r\nHost: router\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: graphql-transport-ws\r\n\r\n"
        )
        status, _, answer = split(read_until_closed(sock))
    assert (status, code(answer)) == (400, "SUBSCRIPTION_DISABLED")


# --- methods, content types, CORS ------------------------------------------------------------


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH"])
def test_other_methods_get_405_with_allow(method: str) -> None:
    with router() as (port, _):
        response = httpx.request(method, f"http://127.0.0.1:{port}/graphql", content=QUERY)
    assert (response.status_code, code(response.json())) == (405, "METHOD_NOT_ALLOWED")
    assert response.headers["allow"] == "GET, POST, OPTIONS"


def test_a_body_that_is_not_json_gets_415_and_simple_ones_stay_csrf_errors() -> None:
    subgraph = RecordingSubgraph(ALICE)
    with router("", subgraph) as (port, _):
        url = f"http://127.0.0.1:{port}/graphql"
        xml = httpx.post(url, content=QUERY, headers={"content-type": "application/xml"})
        simple = httpx.post(url, content=QUERY, headers={"content-type": "text/plain"})
        preflighted = httpx.post(
            url,
            content=QUERY,
            headers={"content-type": "text/plain", "apollo-require-preflight": "true"},
        )
        graphql_json = httpx.post(
            url, content=QUERY, headers={"content-type": "application/graphql-response+json"}
        )
    assert (xml.status_code, code(xml.json())) == (415, "INVALID_CONTENT_TYPE_HEADER")
    assert (simple.status_code, code(simple.json())) == (400, "CSRF_ERROR")
    assert (preflighted.status_code, code(preflighted.json())) == (
        415,
        "INVALID_CONTENT_TYPE_HEADER",
    )
    assert graphql_json.json() == {"data": {"customer": {"name": "Alice"}}}
    assert len(subgraph.requests) == 1  # only the JSON one reached a subgraph


def test_any_origin_is_sent_as_a_wildcard_and_never_with_credentials() -> None:
    with router("cors: { origins: ['*'] }") as (port, _):
        response = httpx.post(
            f"http://127.0.0.1:{port}/graphql",
            content=QUERY,
            headers={"content-type": "application/json", "origin": "https://evil.example"},
        )
    assert response.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in response.headers
    for text in (
        "cors: { origins: ['*'], allow_credentials: true }",
        "cors: { allow_any_origin: true, allow_credentials: true }",
    ):
        with pytest.raises(ConfigError, match=r"cors\.allow_credentials"):
            parse_config(text)


# --- batches ---------------------------------------------------------------------------------


class BarrierSubgraph:
    """Holds each request until `parties` are waiting at once (or `patience` has passed);
    records the order of arrival and the most ever waiting together."""

    def __init__(self, parties: int, patience: float = 1.0) -> None:
        self.parties = parties
        self.patience = patience
        self.waiting = 0
        self.peak = 0
        self.arrivals: list[str] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        query = json.loads(await read_body(receive))["query"]
        self.arrivals.append(query)
        self.waiting += 1
        self.peak = max(self.peak, self.waiting)
        deadline = time.monotonic() + self.patience
        while self.peak < self.parties and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.01)
        self.waiting -= 1
        data = {"cancelOrder": None} if "cancelOrder" in query else {"customer": {"name": "A"}}
        body = json.dumps({"data": data}).encode()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body})


@pytest.mark.parametrize(
    ("second", "peak"),
    [
        ('{ customer(id: "2") { name } }', 2),  # queries only: together
        ('mutation { cancelOrder(id: "1") { id } }', 1),  # a mutation: one after another
    ],
)
def test_batch_items_run_concurrently_unless_one_is_a_mutation(second: str, peak: int) -> None:
    subgraph = BarrierSubgraph(parties=2)
    batch = [{"query": '{ customer(id: "1") { name } }'}, {"query": second}]
    # cancelOrder needs a signed-in caller: a staff token, verified against the dev key's JWKS
    with router(jwt_yaml() + "batching: { enabled: true }", subgraph) as (port, _):
        response = httpx.post(
            f"http://127.0.0.1:{port}/graphql", json=batch, headers=staff_bearer(), timeout=SAFETY
        )
    answers = response.json()
    assert subgraph.peak == peak
    assert len(answers) == 2 and answers[0] == {"data": {"customer": {"name": "A"}}}
    assert "customer" in subgraph.arrivals[0] and (
        peak == 2 or "cancelOrder" in subgraph.arrivals[1]
    )


# --- one write per response ------------------------------------------------------------------


class _Counted(asyncio.Protocol):
    """The protocol of the socket under test (it reads nothing: only the writes matter)."""


async def _coalesced() -> tuple[Any, list[str], socket.socket]:
    """CoalescedWrites over a real socket's transport whose write calls are recorded, and the
    socket's other end."""
    from router.server.connections import CoalescedWrites

    ours, theirs = socket.socketpair()
    loop = asyncio.get_running_loop()
    transport, _ = await loop.connect_accepted_socket(_Counted, ours)
    calls: list[str] = []
    write, writelines = transport.write, transport.writelines
    inside: list[bool] = []  # asyncio's own writelines calls write

    def counted_write(data: bytes) -> None:
        if not inside:
            calls.append("write")
        write(data)

    def counted_writelines(data: Any) -> None:
        calls.append("writelines")
        inside.append(True)
        try:
            writelines(data)
        finally:
            inside.pop()

    transport.write = counted_write  # type: ignore[method-assign]
    transport.writelines = counted_writelines  # type: ignore[method-assign]
    theirs.settimeout(SAFETY)
    return CoalescedWrites(transport, loop), calls, theirs  # type: ignore[arg-type]


def _received(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(65536)
        assert chunk, data
        data += chunk
    return data


async def test_a_head_and_the_body_sent_right_after_it_leave_in_one_write() -> None:
    writes, calls, theirs = await _coalesced()
    writes.write(b"HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\n")
    writes.write(b"body")
    assert calls == ["writelines"]
    await asyncio.sleep(0)
    assert calls == ["writelines"]  # nothing was left over for the end of the turn
    assert _received(theirs, 42).endswith(b"\r\n\r\nbody")
    writes.close()
    theirs.close()


async def test_a_head_whose_body_comes_later_still_leaves_in_the_same_turn() -> None:
    writes, calls, theirs = await _coalesced()
    writes.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")  # a stream's head
    assert calls == []
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert calls == ["write"]
    assert _received(theirs, 47).startswith(b"HTTP/1.1 200 OK")
    writes.write(b"5\r\nfirst\r\n")  # a later chunk: held again, then sent
    await asyncio.sleep(0)
    assert calls == ["write", "write"]
    writes.close()
    theirs.close()


async def test_closing_sends_what_is_held_before_the_end_of_the_stream() -> None:
    writes, calls, theirs = await _coalesced()
    writes.write(b"last words")
    writes.close()
    await asyncio.sleep(0.05)
    assert calls == ["write"]
    received = b""
    while chunk := theirs.recv(65536):
        received += chunk
    assert received == b"last words"  # and then EOF
    theirs.close()

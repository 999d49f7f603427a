"""The drain on SIGTERM (router/server/drain.py), on a real uvicorn server and real sockets.

tests/test_scale_out.py restarts real processes under load behind nginx; these tests take each
step of the drain alone, where it can be seen: readiness turns 503, a kept-alive connection is
closed after its next answer, a request in flight finishes before the process exits, and a
connection the kernel had accepted but the server had not is answered, not reset.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
import uvicorn

from order_subgraph.settings import parse_args
from router.config import ConfigError, parse_config
from router.server.drain import Draining, DrainingServer, ShutdownSettings


class SlowApp:
    """`/slow` answers once `release` is set; every other path answers at once."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.slow_started = asyncio.Event()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        if scope["path"] == "/slow":
            self.slow_started.set()
            await self.release.wait()
        body = b'{"path": "' + scope["path"].encode() + b'"}'
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})


@pytest.fixture
async def served() -> AsyncIterator[tuple[DrainingServer, SlowApp, int, asyncio.Task[None]]]:
    app = SlowApp()
    drain = Draining(app, is_readiness=lambda scope: scope["path"] == "/ready")
    config = uvicorn.Config(
        drain, host="127.0.0.1", port=0, lifespan="off", log_level="warning", timeout_keep_alive=60
    )
    server = DrainingServer(config, drain, ShutdownSettings(delay=0, timeout=60))
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 (uvicorn sets a flag)
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield server, app, port, task
    app.release.set()
    server.should_exit = True
    await asyncio.wait_for(task, 10)


async def _get(writer: asyncio.StreamWriter, path: str) -> None:
    writer.write(f"GET {path} HTTP/1.1\r\nHost: test\r\n\r\n".encode())
    await writer.drain()


async def _response(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    head = (await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)).decode()
    status_line, *lines = head.strip().split("\r\n")
    headers = {k.lower(): v.strip() for k, v in (line.split(":", 1) for line in lines)}
    body = await reader.readexactly(int(headers["content-length"]))
    return int(status_line.split()[1]), headers, body


def _read_answer(connection: socket.socket) -> bytes:
    """What a blocking socket receives until a whole answer (head and body) is there."""
    answer = b""
    while b"\r\n\r\n" not in answer or not answer.endswith(b"}"):
        chunk = connection.recv(65536)
        if not chunk:  # closed (or reset, which raises)
            break
        answer += chunk
    return answer


def _refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except ConnectionRefusedError:
        return True
    return False


async def test_draining_finishes_the_request_in_flight_and_closes_kept_alive_connections(
    served: tuple[DrainingServer, SlowApp, int, asyncio.Task[None]],
) -> None:
    server, app, port, serving = served
    slow_reader, slow_writer = await asyncio.open_connection("127.0.0.1", port)
    kept_reader, kept_writer = await asyncio.open_connection("127.0.0.1", port)
    await _get(slow_writer, "/slow")
    await _get(kept_writer, "/ready")
    status, headers, _ = await _response(kept_reader)
    assert status == 200 and headers.get("connection") != "close"
    await asyncio.wait_for(app.slow_started.wait(), 10)

    server.should_exit = True  # what uvicorn's SIGTERM handler does
    while not server.drain.draining:  # noqa: ASYNC110 (uvicorn polls its flag every 0.1 s)
        await asyncio.sleep(0.01)
    for _ in range(100):  # the listening socket closes right after (delay 0)
        if _refused(port):
            break
        await asyncio.sleep(0.02)
    assert _refused(port)

    # a request on a connection kept alive from before: readiness says DRAINING, and the
    # server closes that connection after answering
    await _get(kept_writer, "/ready")
    status, headers, body = await _response(kept_reader)
    assert (status, body, headers["connection"]) == (503, b'{"status":"DRAINING"}', "close")
    assert await asyncio.wait_for(kept_reader.read(), 10) == b""

    # the request in flight is still being served: the server has not shut down
    await asyncio.sleep(0.3)
    assert not serving.done() and not server.servers[0].is_serving()
    app.release.set()
    status, headers, body = await _response(slow_reader)
    assert (status, body, headers["connection"]) == (200, b'{"path": "/slow"}', "close")
    await asyncio.wait_for(serving, 5)  # and then it exits
    slow_writer.close()
    kept_writer.close()


async def test_a_connection_the_kernel_accepted_is_answered_when_listening_stops(
    served: tuple[DrainingServer, SlowApp, int, asyncio.Task[None]],
) -> None:
    server, _, port, _ = served
    # The handshake completes in the kernel: the connection waits in the listening socket's
    # queue, since the event loop does not run before stop_listening() (nothing awaits).
    # Closing the socket with it there would reset it after its request was sent.
    waiting = socket.create_connection(("127.0.0.1", port), timeout=10)
    waiting.sendall(b"GET /queued HTTP/1.1\r\nHost: test\r\n\r\n")
    await server.stop_listening()
    answer = await asyncio.to_thread(_read_answer, waiting)
    waiting.close()
    assert answer.startswith(b"HTTP/1.1 200 "), answer
    assert answer.endswith(b'{"path": "/queued"}')
    assert _refused(port)


async def test_a_second_signal_stops_waiting(
    served: tuple[DrainingServer, SlowApp, int, asyncio.Task[None]],
) -> None:
    server, app, port, serving = served
    _, writer = await asyncio.open_connection("127.0.0.1", port)
    await _get(writer, "/slow")
    await asyncio.wait_for(app.slow_started.wait(), 10)
    server.should_exit = True
    await asyncio.sleep(0.5)
    assert not serving.done()  # waiting for /slow
    server.force_exit = True  # what handle_exit sets on a second signal
    await asyncio.wait_for(serving, 5)
    assert not app.release.is_set()
    writer.close()


async def test_an_idle_kept_alive_connection_does_not_hold_the_drain(
    served: tuple[DrainingServer, SlowApp, int, asyncio.Task[None]],
) -> None:
    server, _, port, serving = served
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    await _get(writer, "/ready")
    assert (await _response(reader))[0] == 200
    server.should_exit = True
    # the client would keep the connection 60 s (the keep-alive timeout, and the drain's):
    # with no request running the server stops waiting for it after IDLE_GRACE and closes it
    await asyncio.wait_for(serving, 10)
    assert await asyncio.wait_for(reader.read(), 5) == b""
    writer.close()


def test_router_yaml_sets_the_drain() -> None:
    config = parse_config("server: { shutdown: { delay: 5s, timeout: 20s } }")
    assert (config.shutdown_delay, config.shutdown_timeout) == (5.0, 20.0)
    defaults = parse_config("")
    assert (defaults.shutdown_delay, defaults.shutdown_timeout) == (0.0, 30.0)
    with pytest.raises(ConfigError, match=r"server\.shutdown\.timeout: must be a duration"):
        parse_config("server: { shutdown: { timeout: soon } }")
    with pytest.raises(ConfigError, match=r"grace"):
        parse_config("server: { shutdown: { grace: 1s } }")


def test_services_take_the_drain_from_flags_and_environment() -> None:
    settings, _ = parse_args(["--shutdown-delay", "2.5"], {"ORDERS_SHUTDOWN_TIMEOUT": "12"})
    assert (settings.shutdown_delay, settings.shutdown_timeout) == (2.5, 12.0)
    defaults, _ = parse_args([], {})
    assert (defaults.shutdown_delay, defaults.shutdown_timeout) == (0.0, 30.0)

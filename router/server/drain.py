"""Graceful drain: on SIGTERM a server finishes what it has been sent, then exits.

A rolling restart stops one process of a pair while a load balancer (nginx, a Kubernetes
Service) keeps sending to both. What the load balancer must never see is a connection that took
a request and then broke: it cannot tell whether the request ran, so it retries only idempotent
ones (nginx never retries a POST it has sent) and a client's write fails. A connection refused
is harmless: nothing was sent, and every load balancer tries the next server. So, on the first
SIGTERM (or Ctrl-C), the server

1. starts draining: the readiness check answers 503 `{"status": "DRAINING"}`, so load balancers
   that probe it (Kubernetes, HAProxy, Envoy) stop choosing this process, and every response
   from now on carries `Connection: close`, so a kept-alive connection carries at most one more
   request and is then closed by the server *after* answering it;
2. keeps listening for `delay` seconds (0 by default; the time a Kubernetes Service needs to
   drop the pod from its endpoints, as a `preStop` sleep would give);
3. stops listening: connections the kernel has already accepted are taken first and served, so
   the listening socket is closed with none waiting in its queue (closing it with some there
   would reset them after the client had sent its request);
4. waits until every connection is closed (by the client, or by the server after a
   `Connection: close` answer), but once no request has been running for `IDLE_GRACE` seconds
   it stops waiting for idle kept-alive connections (a client may keep those open for minutes);
   at most `timeout` seconds in all. Then it shuts down as uvicorn does (idle connections
   closed, requests still running cancelled after what is left of `timeout`, the app's
   lifespan shutdown: subgraph clients and database pools closed).

A second signal exits at once. A supervisor's grace period (Kubernetes'
`terminationGracePeriodSeconds`) should exceed `delay + timeout`.

Under `serve --workers N` each worker runs uvicorn's own server (its supervisor builds plain
ones): there only `close_first_on_signal` runs before uvicorn's drain, so subscriptions still
close with the router's codes.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson
import uvicorn

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

STARTUP_FAILURE = 3  # uvicorn's exit status when the app or the socket fails at start
IDLE_GRACE = 1.0
"""Seconds an idle kept-alive connection may still carry a last request while draining: a load
balancer that keeps choosing this server (open-source nginx does not probe readiness) sends one
on most of them by then, and is answered."""


@dataclass(frozen=True, slots=True)
class ShutdownSettings:
    """How long a stopping server keeps listening (`delay`) and waits for its connections."""

    delay: float = 0.0
    timeout: float = 30.0


class Draining:
    """ASGI middleware: after `begin()`, readiness answers 503 and every response closes its
    connection. `is_readiness(scope)` says which requests are the readiness check."""

    def __init__(self, app: ASGIApp, is_readiness: Callable[[Scope], bool]) -> None:
        self.app = app
        self.is_readiness = is_readiness
        self.draining = False

    def begin(self) -> None:
        """Start draining: from now on readiness answers 503 and every response closes its
        connection."""
        self.draining = True

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.draining and self.is_readiness(scope):
            body = orjson.dumps({"status": "DRAINING"})
            await send(
                {
                    "type": "http.response.start",
                    "status": 503,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode()),
                        (b"connection", b"close"),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return

        async def closing(message: Message) -> None:
            # decided when the answer starts: a request that came before the drain closes its
            # connection too, if it is answered after
            if self.draining and message["type"] == "http.response.start":
                kept = [h for h in message.get("headers", []) if h[0].lower() != b"connection"]
                message = {**message, "headers": [*kept, (b"connection", b"close")]}
            await send(message)

        await self.app(scope, receive, closing)


class DrainingServer(uvicorn.Server):
    """uvicorn's server with the drain above in front of its own shutdown."""

    def __init__(
        self,
        config: uvicorn.Config,
        drain: Draining,
        settings: ShutdownSettings,
        closing: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        super().__init__(config)
        self.drain = drain
        self.settings = settings
        self.closing = closing

    def handle_exit(self, sig: int, frame: Any) -> None:
        """uvicorn's signal handler; a second signal also sets `force_exit`, so the drain stops
        waiting."""
        if self.should_exit:  # a second signal: stop waiting
            self.force_exit = True
        super().handle_exit(sig, frame)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        """The drain of the module docstring within `settings.timeout` (the `closing` hook first),
        then uvicorn's shutdown with what is left of that timeout, at least 1 s."""
        if self.closing is not None:  # e.g. close WebSockets, which would hold the drain
            await self.closing()
        deadline = time.monotonic() + self.settings.timeout
        self.drain.begin()
        await self._pause(time.monotonic() + self.settings.delay)
        await self.stop_listening()
        await self._wait_for_connections(deadline)
        self.config.timeout_graceful_shutdown = max(1, round(deadline - time.monotonic()))
        await super().shutdown(sockets)

    async def _pause(self, until: float) -> None:
        # uvicorn keeps its exit flags as plain attributes, and polls them itself (its main loop
        # ticks every 0.1 s): no event to wait on
        while not self.force_exit and time.monotonic() < until:  # noqa: ASYNC110
            await asyncio.sleep(0.05)

    async def _wait_for_connections(self, deadline: float) -> None:
        state = self.server_state
        quiet_since: float | None = None
        while state.connections and not self.force_exit and time.monotonic() < deadline:
            now = time.monotonic()
            if state.tasks:  # a request is running
                quiet_since = None
            elif quiet_since is None:
                quiet_since = now
            elif now - quiet_since >= IDLE_GRACE:
                return
            await asyncio.sleep(0.05)

    async def stop_listening(self) -> None:
        """Close the listening sockets, first serving the connections waiting in their queues."""
        # Duplicates of the descriptors keep the sockets listening until they are closed here,
        # after the last accept(): nothing arrives in between to be reset.
        duplicates = [
            socket.socket(fileno=os.dup(listener.fileno()))
            for server in self.servers
            for listener in server.sockets
        ]
        for server in self.servers:
            server.close()
        queued: list[socket.socket] = []
        for duplicate in duplicates:
            with duplicate:
                duplicate.setblocking(False)
                while True:
                    try:
                        queued.append(duplicate.accept()[0])
                    except (BlockingIOError, InterruptedError):
                        break
        loop = asyncio.get_running_loop()
        for connection in queued:
            with contextlib.suppress(OSError):  # the client went away meanwhile
                await loop.connect_accepted_socket(self._protocol, connection)

    def _protocol(self) -> asyncio.Protocol:
        """A connection handler as uvicorn makes one for each connection it accepts."""
        return self.config.http_protocol_class(  # type: ignore[call-arg]
            config=self.config, server_state=self.server_state, app_state=self.lifespan.state
        )


def close_first_on_signal(closing: Callable[[], Awaitable[None]], timeout: float) -> None:
    """For a server whose signal handlers are not ours (each of uvicorn's worker processes under
    `serve --workers N` runs a plain uvicorn server): the first SIGTERM or SIGINT runs `closing`
    (for at most `timeout` seconds) before the handler installed before this one sees the signal,
    so open WebSockets are closed with the router's codes (1001) rather than uvicorn's 1012. A
    second signal goes to that handler at once. Called on the running event loop in the main
    thread (the app's lifespan startup, once uvicorn has installed its handlers)."""
    if threading.current_thread() is not threading.main_thread():
        return
    _CloseFirst(closing, timeout, asyncio.get_running_loop()).install()


class _CloseFirst:
    """The signal handlers of `close_first_on_signal`, sharing whether a signal came already."""

    def __init__(
        self,
        closing: Callable[[], Awaitable[None]],
        timeout: float,
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        self.closing = closing
        self.timeout = timeout
        self.loop = loop
        self.signalled = False
        self.previous: dict[int, Callable[[int, Any], Any]] = {}
        self.tasks: set[asyncio.Task[None]] = set()

    def install(self) -> None:
        for sig in (signal.SIGTERM, signal.SIGINT):
            previous = signal.getsignal(sig)
            if callable(previous):
                self.previous[sig] = previous
                signal.signal(sig, self.handle)

    def handle(self, sig: int, frame: Any) -> None:
        if self.signalled:
            self.previous[sig](sig, frame)
            return
        self.signalled = True
        # a signal handler runs between any two bytecodes: hand over to the loop
        self.loop.call_soon_threadsafe(self._start, sig)

    def _start(self, sig: int) -> None:
        task = self.loop.create_task(self._close_then(sig))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _close_then(self, sig: int) -> None:
        with contextlib.suppress(Exception):  # whatever happens, the signal is passed on
            await asyncio.wait_for(self.closing(), self.timeout)
        self.previous[sig](sig, None)


def serve(
    app: ASGIApp,
    *,
    is_readiness: Callable[[Scope], bool],
    settings: ShutdownSettings,
    closing: Callable[[], Awaitable[None]] | None = None,
    **uvicorn_options: Any,
) -> None:
    """Serve `app` with uvicorn until a signal, then drain as the module docstring says
    (`closing` first: what the app must close for the drain to end, such as WebSockets)."""
    drain = Draining(app, is_readiness)
    config = uvicorn.Config(drain, **uvicorn_options)
    server = DrainingServer(config, drain, settings, closing)
    # as uvicorn.run: a Ctrl-C, re-raised once the server has stopped, is no error to show
    with contextlib.suppress(KeyboardInterrupt):
        server.run()
    if not server.started:
        sys.exit(STARTUP_FAILURE)

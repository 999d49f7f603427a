"""Inbound de-duplication (`traffic_shaping.router.deduplicate_requests`): identical queries in
flight at once are executed once, and every request waiting for it gets the same answer."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import orjson

from router.authz import Identity
from router.execute.transport import Forwarded
from router.router import Router
from router.types import JSONObject, Variables

__all__ = ["InFlight", "Run"]

Run = Callable[[], Awaitable[JSONObject]]
"""Executes one request's prepared query (`Router.answer` with its arguments bound)."""


class InFlight:
    """The queries executing now, by what makes two requests identical."""

    def __init__(self) -> None:
        self.executing: dict[tuple[Any, ...], asyncio.Future[JSONObject]] = {}
        self._last: tuple[object, bytes] | None = None

    def serialize(self, body: object) -> bytes:
        """`orjson.dumps(body)`, made once for the requests given this same shared response:
        they complete one after the other, so the last body serialised (held until another
        one is) is what each of them asks for. Only the very object matches, never an equal
        one, and a shared response is never changed once made."""
        last = self._last
        if last is not None and last[0] is body:
            return last[1]
        payload = orjson.dumps(body)
        self._last = (body, payload)
        return payload

    async def execute(
        self,
        run: Run,
        router: Router,
        query: str,
        variables: Variables | None,
        operation_name: str | None,
        forwarded: Mapping[str, Forwarded],
        identity: Identity,
    ) -> JSONObject:
        """`run()` a query, or join an identical one already executing.

        Identical means the same document, operation, variables, and the same headers the
        router's rules forward to subgraphs (`forwarded`, made once for the request, so nobody
        receives an answer made with another client's credentials), and the same identity
        (authorization answers each its own).
        Mutations are never given here. The shared response is only read (serialised) by each
        request, never changed. A refusal (RequestError) reaches every waiter."""
        key = (
            id(router),
            query,
            operation_name,
            orjson.dumps(variables, option=orjson.OPT_SORT_KEYS),
            tuple((service, sent.key) for service, sent in forwarded.items()),
            identity.fingerprint(),
        )
        shared = self.executing.get(key)
        if shared is not None:
            return await _join(shared, run)
        shared = asyncio.get_running_loop().create_future()
        self.executing[key] = shared
        try:
            response = await run()
        except BaseException as exc:
            shared.set_exception(exc)
            shared.exception()  # retrieved: every waiter re-raises it itself
            raise
        finally:
            self.executing.pop(key, None)
        shared.set_result(response)
        return response


async def _join(shared: asyncio.Future[JSONObject], run: Run) -> JSONObject:
    """The answer of the identical query executing now."""
    try:
        return await asyncio.shield(shared)
    except asyncio.CancelledError:
        task = asyncio.current_task()
        if task is None or task.cancelling():
            raise
        # The request executing it was cancelled (its router timeout), not this
        # one: execute it here, within this request's own time.
        return await run()

"""`Subscribing`: a subscription plan's events, its Primary subscribed to its subgraph over
graphql-transport-ws (subscriptions.py), each event completed by the plan's Rest, shared
between identical subscriptions (fanout.py).

    upstream key   (subgraph, URL, the subscribe payload, the headers forwarded there)
    events key     (upstream key, the client's operation and variables, every subgraph's
                    forwarded headers, the requester's fingerprint)

Clients whose subscriptions have the same upstream key share one upstream subscription: the
subgraph sees the same request either way, so nothing one client may see reaches another.
Those whose events keys are equal also share each event's completion (its entity fetches, made
once) and its response. Events that queue up while earlier ones are being completed (or arrive
together) are completed together, up to `batch` at a time: each entity fetch of the Rest is one
request for all of them (events.py), and each event is still its own response, in order. Every
subscriber's queue holds at most `capacity` unread events: one that falls that far behind is
dropped with SUBSCRIPTION_QUEUE_FULL, the others unaffected (fanout.py). With de-duplication
off, every key is unique: each subscription has its own upstream connection, as each client
asked.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Hashable, Mapping
from typing import Any

import orjson

from router.errors import RequestError, RequestErrors
from router.execute.events import execute_events
from router.execute.executor import ExecutionResult, Executor
from router.execute.fanout import CAPACITY, Fanout, FellBehind, Mapped
from router.execute.subscriptions import (
    ACK_TIMEOUT,
    UPSTREAM_FAILED,
    UpstreamFailed,
    UpstreamRefused,
    UpstreamSubscription,
)
from router.execute.transport import Forwarded, headers_key
from router.plan.nodes import Fetch, Subscription
from router.types import JSONObject, Variables

__all__ = ["BATCH", "QUEUE_FULL", "Respond", "Subscribing"]

BATCH = 32
"""Events completed together at most, by default (`subscription.max_events_per_batch`)."""
QUEUE_FULL = "SUBSCRIPTION_QUEUE_FULL"
"""The code of the error a subscriber that fell `capacity` events behind is dropped with."""

Respond = Callable[[ExecutionResult], JSONObject]
"""Makes an event's completed data the client's GraphQL response (the router's shaping)."""


class Subscribing:
    """The subscriptions open to subgraphs and the completed event streams made of them."""

    def __init__(
        self,
        executor: Executor,
        urls: Mapping[str, str],
        *,
        ack_timeout: float = ACK_TIMEOUT,
        deduplicate: bool = True,
        batch: int = BATCH,
        capacity: int = CAPACITY,
    ) -> None:
        self.executor = executor
        self.urls = dict(urls)
        """Per subgraph, the URL subscriptions are sent to (over WebSocket: http → ws)."""
        self.ack_timeout = ack_timeout
        """Seconds a subgraph has to acknowledge a subscription's connection_init."""
        self.deduplicate = deduplicate
        """Identical subscriptions share (router.yaml's `subscription.enable_deduplication`)."""
        self.batch = batch
        """Events completed together at most (`subscription.max_events_per_batch`)."""
        capacity = max(capacity, batch)  # a completed batch reaches each queue at once
        self.upstreams: Fanout[JSONObject] = Fanout(capacity)
        """The subscriptions open to subgraphs, by what they send where."""
        self.streams: Fanout[JSONObject] = Fanout(capacity)
        """The completed event streams open, by upstream, operation and requester."""

    async def events(
        self,
        plan: Subscription,
        variables: Variables,
        forwarded: Mapping[str, Forwarded],
        respond: Respond,
        *,
        requester: Hashable,
        headers: Mapping[str, str] | None = None,
        claims: Mapping[str, Any] | None = None,
    ) -> AsyncGenerator[JSONObject, None]:
        """The plan's events as responses (`Router.subscribe`'s contract). `requester` is what,
        beside the variables and forwarded headers, makes two clients' responses equal (their
        operation and identity); two equal ones share each response object, to be read only."""
        upstream_key, upstream = self._upstream(plan.primary, variables, forwarded)

        async def complete(batch: list[JSONObject]) -> list[JSONObject]:
            if len(batch) == 1:
                one = self.executor.execute_event(
                    plan, batch[0], variables, headers, claims, forwarded
                )
                return [respond(await one)]
            results = await execute_events(
                self.executor, plan, batch, variables, headers, claims, forwarded
            )
            return [respond(result) for result in results]

        sent = tuple(each.key for each in forwarded.values())
        key: Hashable = (
            (upstream_key, requester, _sorted_json(variables), sent)
            if self.deduplicate
            else object()
        )
        events = self.streams.join(
            key,
            lambda: Mapped(self.upstreams, upstream_key, upstream, complete, batch=self.batch),
        )
        try:
            try:
                await events.opened()
            except UpstreamFailed as exc:
                error = exc.to_graphql()
                raise RequestError(
                    error["message"], exc.code, status=502, serviceName=exc.service
                ) from None
            first = True
            try:
                async for response in events:
                    first = False
                    yield response
            except UpstreamRefused as exc:
                errors = self.executor.subgraph_errors(plan.primary, exc.errors)
                if first:
                    raise RequestErrors(errors, status=200) from None
                yield {"errors": errors}
            except UpstreamFailed as exc:
                yield {"errors": [exc.to_graphql()]}
            except FellBehind as exc:
                yield {"errors": [{"message": str(exc), "extensions": {"code": QUEUE_FULL}}]}
        finally:
            await events.leave()

    def _upstream(
        self, primary: Fetch, variables: Variables, forwarded: Mapping[str, Forwarded]
    ) -> tuple[Hashable, Callable[[], UpstreamSubscription]]:
        """The Primary's subscription to its subgraph, with the headers an HTTP fetch there
        would carry (router.yaml's rules, claim headers included): its key and its maker."""
        service = primary.service
        url = self.urls.get(service)
        if url is None:
            raise RequestError(f"subgraph {service!r} has no URL to subscribe at", UPSTREAM_FAILED)
        body: JSONObject = {
            "query": primary.operation,
            "variables": {n: variables[n] for n in primary.variable_usages if n in variables},
        }
        if primary.operation_name:
            body["operationName"] = primary.operation_name
        headers = forwarded.get(service)
        key = (service, url, _sorted_json(body), headers_key(headers))
        return (key if self.deduplicate else object()), lambda: UpstreamSubscription(
            service, url, body, headers, ack_timeout=self.ack_timeout
        )


def _sorted_json(value: Any) -> bytes:
    """`value` as JSON with sorted keys: equal for equal values (a de-duplication key's part)."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)

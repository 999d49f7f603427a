"""One supergraph under the oracle: its data set, its fakes, the router in front of them, and
the comparison of the router's answer with the monolith's."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

from hypothesis import HealthCheck, Phase, settings

from router.execute.batching import requests
from router.router import Router
from router.supergraph.model import Supergraph
from router.types import JSONObject
from tests.support.oracle.dataset import DataSet, build_dataset
from tests.support.oracle.fake import OracleTransport
from tests.support.oracle.monolith import monolith_answer
from tests.support.oracle.supergraphs import Case


@dataclass
class Harness:
    """The router over one supergraph's fakes, on a private event loop (hypothesis tests are
    synchronous)."""

    case: Case
    supergraph: Supergraph
    data: DataSet
    transport: OracleTransport
    router: Router
    loop: asyncio.AbstractEventLoop

    @classmethod
    def start(cls, case: Case, seed: int = 0) -> Harness:
        supergraph = case.load()
        data = build_dataset(supergraph, seed)
        transport = OracleTransport.for_supergraph(supergraph, data, case.labels)
        # entity fetches batched, as the served router does by default (router.yaml
        # traffic_shaping.all.batch_entity_fetches)
        router = Router(supergraph, transport, override_labels=case.labels, batch_entities=True)
        return cls(case, supergraph, data, transport, router, asyncio.new_event_loop())

    def mismatch(
        self, query: str, variables: JSONObject | None = None, name: str | None = None
    ) -> str | None:
        """Why the router's answer is wrong, or None when it is the monolith's: the same `data`
        (key order included), errors exactly when the monolith has some, no request a fake
        refused, and no more subgraph requests than `batching.requests` counts for the plan."""
        self.transport.reset()
        got = self.loop.run_until_complete(self.router.execute(query, variables, name))
        expected = monolith_answer(self.data, query, variables, name)
        problems = []
        prepared, _, _ = self.router.try_prepare_for(query, variables, name, count=False)
        bound = None if prepared is None else requests(prepared.plan.node)
        if bound is not None and len(self.transport.calls) > bound:
            problems.append(
                f"{len(self.transport.calls)} subgraph requests, the plan counts {bound}"
            )
        if _ordered(got.get("data")) != _ordered(expected.get("data")):
            problems.append("data differs")
        if bool(got.get("errors")) != bool(expected.get("errors")):
            problems.append("errors differ")
        refusals = self.transport.refusals()
        if refusals:
            problems.append("a subgraph refused a request")
        if not problems:
            return None
        calls = self.calls_text()
        return (
            f"{', '.join(problems)} on {self.case.name}\n"
            f"query: {query}\nvariables: {json.dumps(variables)}\n"
            f"expected: {json.dumps(expected)}\ngot:      {json.dumps(got)}\n"
            f"refusals: {refusals}\nsubgraph calls:\n{calls}"
        )

    def calls_text(self) -> str:
        """The subgraph requests of the last run and their answers, one pair per call (for a
        failure's message)."""
        return "\n".join(
            f"  {service}: {json.dumps(body)}\n    -> {json.dumps(answer)}"
            for service, body, answer in self.transport.calls
        )

    def close(self) -> None:
        self.loop.run_until_complete(self.router.close())
        self.loop.close()


def _ordered(value: Any) -> Any:
    """A JSON value with its objects as lists of pairs, so that key order is compared too."""
    if isinstance(value, dict):
        return [(k, _ordered(v)) for k, v in value.items()]
    if isinstance(value, list):
        return [_ordered(v) for v in value]
    return value


def oracle_settings(max_examples: int) -> settings:
    """Hypothesis settings of the oracles: `max_examples`, derandomised, no database, no
    deadline, shrinking on, and no health check that a slow or filtered draw would fail."""
    return settings(
        max_examples=max_examples,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.filter_too_much,
        ],
    )

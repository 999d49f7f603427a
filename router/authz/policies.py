"""Policy evaluators: which `@policy` names a request is granted.

router.yaml names one Python callable, `authorization.directives.policy_evaluator:
"package.module:function"`. The router calls it once per request whose operation needs
policies, with the identity and a `PolicyRequest` listing only the policies that operation
mentions; it returns (or, when async, resolves to) the names granted. Names it returns that
were not asked are ignored; an exception grants nothing (and is logged), so a broken evaluator
fails closed.

    def grant(identity: Identity, request: PolicyRequest) -> set[str]:
        return {"finance"} if "finance" in identity.claims.get("groups", ()) else set()
"""

from __future__ import annotations

import importlib
import inspect
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from router.authz.identity import Identity

logger = logging.getLogger("router.authz")


@dataclass(frozen=True, slots=True)
class PolicyRequest:
    """What an evaluator is asked: which of `policies` the identity holds for this operation."""

    policies: frozenset[str]
    operation_name: str | None
    operation_kind: str
    """query, mutation."""


PolicyEvaluator = Callable[["Identity", PolicyRequest], "Iterable[str] | Awaitable[Iterable[str]]"]


def load_evaluator(name: str) -> PolicyEvaluator:
    """The callable `module:function` names; ValueError saying what is wrong otherwise."""
    module_name, _, attribute = name.partition(":")
    if not module_name or not attribute:
        raise ValueError(f"{name!r} must name a callable as module:function")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(f"cannot import {module_name!r} (for {name!r}): {exc}") from None
    target: Any = module
    for part in attribute.split("."):
        target = getattr(target, part, None)
    if not callable(target):
        raise ValueError(f"{name!r} is not a callable in {module_name!r}")
    return target  # type: ignore[no-any-return]


async def evaluate(
    evaluator: PolicyEvaluator, identity: Identity, request: PolicyRequest
) -> frozenset[str]:
    """The policies granted of those asked (none when the evaluator fails)."""
    try:
        granted = evaluator(identity, request)
        if inspect.isawaitable(granted):
            granted = await granted
        return request.policies & frozenset(granted)
    except Exception:
        logger.exception("the policy evaluator failed; no policy is granted")
        return frozenset()

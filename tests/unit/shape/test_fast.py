"""The fast path (router/shape/fast.py) against the full shaping functions: on data with nothing
wrong it answers alone, and whenever it answers at all, on data broken at random, it answers what
the full functions do, with no error they would have reported."""

from __future__ import annotations

import copy
import random
from typing import Any

from graphql import build_schema, parse

from router.operation.normalize import normalize
from router.shape.run import Run
from router.shape.shaper import Shaper

SCHEMA = build_schema(
    """
    enum Status { OPEN SHUT }
    interface Node { id: ID! }
    type Item implements Node { id: ID! sku: String! qty: Int tags: [String!] }
    type Note implements Node { id: ID! text: String }
    union Thing = Item | Note
    type Box {
      id: ID!
      status: Status!
      maybe: Status
      items: [Item!]!
      loose: [Item]
      grid: [[Int!]]
      names: [String]
      first: Item
      things: [Thing]
      node: Node!
    }
    type Query { box: Box boxes: [Box!] }
    """
)

QUERY = """
query ($on: Boolean!) {
  box { ...B }
  boxes { id status first { __typename } things { __typename ... on Item { sku } } }
}
fragment B on Box {
  id status maybe
  items { id sku qty tags }
  loose { sku }
  grid names
  first @include(if: $on) { sku qty }
  alias: first { id }
  things { __typename ... on Item { id sku } ... on Note { text } }
  node { id ... on Note { text } }
}
"""


def box(n: int) -> dict[str, Any]:
    """A box with nothing null where it must not be, and the fields a planner adds."""
    return {
        "__typename": "Box",
        "id": str(n),
        "status": "OPEN",
        "maybe": None,
        "items": [
            {"__typename": "Item", "id": f"{n}.{i}", "sku": f"S{i}", "qty": i, "tags": ["a"]}
            for i in range(2)
        ],
        "loose": [None, {"sku": "L", "__typename": "Item"}],
        "grid": [[1, 2], [3]],
        "names": ["x", None],
        "first": {"__typename": "Item", "id": "f", "sku": "F", "qty": None},
        "alias": {"__typename": "Item", "id": "a"},
        "things": [
            {"__typename": "Item", "id": "t", "sku": "T"},
            {"__typename": "Note", "id": "n", "text": "hi"},
        ],
        "node": {"__typename": "Note", "id": "nn", "text": None},
    }


def data() -> dict[str, Any]:
    return {"box": box(1), "boxes": [box(2), box(3)]}


def shaper() -> Shaper:
    return Shaper(SCHEMA, normalize(parse(QUERY), None))


def full(shaper: Shaper, value: Any, variables: dict[str, Any]) -> tuple[Any, list[Any]]:
    errors: list[Any] = []
    run = Run(variables, errors, {})
    return shaper.root.function(shaper.root_type)(value, run, run.path), errors


def fast(shaper: Shaper, value: Any, variables: dict[str, Any]) -> tuple[bool, Any]:
    run = Run(variables, [], {})
    try:
        return True, shaper.root.fast(shaper.root_type)(value, run)
    except Exception:
        return False, None


def places(value: Any, trail: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a value in the tree."""
    found = [trail] if trail else []
    if isinstance(value, dict):
        for key, inner in value.items():
            found += places(inner, (*trail, key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            found += places(inner, (*trail, index))
    return found


def broken(value: Any, rng: random.Random) -> Any:
    """A copy with one to three values nulled, dropped or swapped for a value of another kind."""
    value = copy.deepcopy(value)
    for _ in range(rng.randint(1, 3)):
        trail = rng.choice(places(value))
        parent = value
        for step in trail[:-1]:
            parent = parent[step]
        how = rng.choice(["null", "drop", "kind", "enum"])
        if how == "drop" and isinstance(parent, dict):
            del parent[trail[-1]]
        else:
            parent[trail[-1]] = {
                "null": None,
                "drop": None,
                "kind": rng.choice([[], {}, "s", 1, [None], {"__typename": "Nope"}]),
                "enum": "AJAR",
            }[how]
    return value


def test_whole_data_is_shaped_by_the_fast_path_alone() -> None:
    for on in (True, False):
        made = shaper()
        expected, errors = full(made, data(), {"on": on})
        assert errors == [] and expected["box"]["items"][1]["sku"] == "S1"
        answered, result = fast(made, data(), {"on": on})
        assert answered and result == expected
        assert list(result["box"]) == list(expected["box"])  # the same key order
        calls: list[Any] = []
        made.root._functions[made.root_type.name] = calls.append  # the full path: not called
        assert made.shape(data(), {"on": on}, []) == expected and calls == []


def test_the_fast_path_answers_only_what_the_full_path_answers() -> None:
    rng = random.Random(17)
    made = shaper()
    answered_some = gave_up = 0
    for _ in range(600):
        case = broken(data(), rng)
        variables = {"on": rng.random() < 0.5}
        expected, errors = full(made, copy.deepcopy(case), variables)
        answered, result = fast(made, copy.deepcopy(case), variables)
        if answered:
            answered_some += 1
            assert errors == [], case
            assert result == expected, case
            assert repr(result) == repr(expected)  # key order too
        else:
            gave_up += 1
        shaped_errors: list[Any] = []
        assert made.shape(copy.deepcopy(case), variables, shaped_errors) == expected
        assert shaped_errors == errors
    assert answered_some > 100 and gave_up > 100  # both paths were taken

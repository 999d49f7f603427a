"""The oracle's own parts (tests/support/oracle/): the data set, the generic fake subgraphs and
the comparison. A fake must refuse what the real subgraph would refuse, or the oracle would
approve a router that sends wrong requests; the comparison must see a wrong answer."""

from __future__ import annotations

import json
from typing import Any

import pytest

from router.types import JSONObject
from tests.support.oracle import (
    Case,
    DataSet,
    FakeSubgraph,
    Harness,
    OracleTransport,
    build_dataset,
    monolith_answer,
    oracle_cases,
    value_of,
)
from tests.support.oracle.fake import project

CASES = {case.name: case for case in oracle_cases()}
ENTITIES = "query($r: [_Any!]!) { _entities(representations: $r) { %s } }"


def fake(case: str, service: str) -> tuple[FakeSubgraph, DataSet]:
    found: Case = CASES[case]
    supergraph = found.load()
    data = build_dataset(supergraph)
    return OracleTransport.for_supergraph(supergraph, data, found.labels).fakes[service], data


def entities(subgraph: FakeSubgraph, selection: str, *representations: JSONObject) -> JSONObject:
    return subgraph.answer(
        {"query": ENTITIES % selection, "variables": {"r": list(representations)}}
    )


def messages(answer: JSONObject) -> str:
    return " | ".join(e["message"] for e in answer.get("errors", []))


# --- the data set ------------------------------------------------------------------------------


def test_the_data_set_is_the_same_for_the_same_seed_and_keys_are_unique() -> None:
    supergraph = CASES["oracle/keys"].load()
    first, second = build_dataset(supergraph, seed=3), build_dataset(supergraph, seed=3)
    dump = lambda data: json.dumps(  # noqa: E731
        {t: [repr(r.values) for r in rs] for t, rs in data.records.items()}
    )
    assert dump(first) == dump(second)
    assert dump(first) != dump(build_dataset(supergraph, seed=4))
    for type_name, model in supergraph.types.items():
        for join in model.joins.values():
            for key in join.keys:
                from tests.support.oracle.dataset import field_set

                keys = [
                    json.dumps(project(first, r, field_set(key.fields)))
                    for r in first.candidates(type_name)
                ]
                assert len(keys) == len(set(keys)), (type_name, key.fields)


def test_a_value_depends_on_the_arguments_and_lookups_find_by_them() -> None:
    supergraph = CASES["oracle/keys"].load()
    data = build_dataset(supergraph)
    depot = data.records["Depot"][1]
    found = value_of(data, data.root, "depot", {"code": depot.values["code"]})
    assert found is depot
    assert value_of(data, data.root, "depot", {"code": "nowhere"}) is None
    bin_ = data.records["Bin"][0]
    labels = {value_of(data, bin_, "label", {"prefix": p}) for p in ("B", "C", "D")}
    assert len(labels) == 3


# --- what the fakes refuse ---------------------------------------------------------------------


def test_an_external_field_is_answered_only_where_provided() -> None:
    reviews, data = fake("plan/provides", "reviews")
    assert "errors" not in reviews.answer({"query": "{ reviews { author { id name } } }"})
    user = data.records["User"][0].values["id"]
    answer = entities(reviews, "... on User { name }", {"__typename": "User", "id": user})
    assert "User.name is external" in messages(answer)


def test_provides_on_a_path_adds_to_the_provides_of_the_fields_below() -> None:
    reviews, _ = fake("oracle/provides", "reviews")
    # topReview provides author { handle }; author itself provides name
    assert "errors" not in reviews.answer({"query": "{ topReview { author { handle name } } }"})
    refused = reviews.answer({"query": "{ reviews { author { handle } } }"})
    assert "User.handle is external" in messages(refused)


def test_provides_on_an_interface_typed_field_covers_only_its_type_conditions() -> None:
    reviews, data = fake("oracle/provides", "reviews")
    assert "errors" not in reviews.answer(
        {"query": "{ reviews { pets { id ... on Dog { name breed } ... on Cat { name } } } }"}
    )
    refused = reviews.answer(
        {"query": "{ reviews { pets { ... on Dog { id } ... on Cat { lives } } } }"}
    )
    assert "Cannot query field 'lives' on type 'Cat'" in messages(refused)
    dog = data.records["Dog"][0].values["id"]
    outside = entities(reviews, "... on Dog { breed }", {"__typename": "Dog", "id": dog})
    assert "Dog.breed is external" in messages(outside)


def test_a_non_resolvable_key_is_refused() -> None:
    reviews, _ = fake("plan/resolvable-false", "reviews")
    answer = entities(reviews, "__typename", {"__typename": "User", "id": "id-1"})
    assert "no resolvable key" in messages(answer)


def test_a_representation_without_a_key_is_refused_and_an_unknown_entity_is_null() -> None:
    shipping, data = fake("plan/requires", "shipping")
    product = data.records["Product"][0].values
    answer = entities(shipping, "__typename", {"__typename": "Product", "weight": 1})
    assert "has the fields of no resolvable key" in messages(answer)
    unknown = entities(shipping, "__typename", {"__typename": "Product", "upc": "nope"})
    assert unknown == {"data": {"_entities": [None]}}
    known = entities(shipping, "__typename", {"__typename": "Product", "upc": product["upc"]})
    assert known == {"data": {"_entities": [{"__typename": "Product"}]}}


@pytest.mark.parametrize(
    ("extra", "refused"),
    [
        ({"weight": "right", "price": "right"}, False),
        ({"weight": "right"}, True),
        ({"weight": "right", "price": "wrong"}, True),
    ],
)
def test_requires_checks_the_representation(extra: dict[str, str], refused: bool) -> None:
    shipping, data = fake("plan/requires", "shipping")
    product = data.records["Product"][0].values
    representation: dict[str, Any] = {"__typename": "Product", "upc": product["upc"]}
    for name, which in extra.items():
        representation[name] = product[name] + (0 if which == "right" else 1)
    answer = entities(shipping, "... on Product { shippingEstimate }", representation)
    assert ("@requires(weight price)" in messages(answer)) is refused


def test_requires_with_a_fragment_on_an_interface_checks_the_chosen_implementation() -> None:
    shipping, data = fake("oracle/requires", "shipping")
    product = data.records["Product"][0]
    owner = product.values["owner"]
    detail = {"name": owner.values["name"]} if owner.typename == "Person" else {}
    if owner.typename == "Company":
        detail = {"taxId": owner.values["taxId"]}
    representation = {"__typename": "Product", "id": product.values["id"]}
    right = {**representation, "owner": {"id": owner.values["id"], **detail}}
    wrong = {**representation, "owner": {"id": owner.values["id"]}}
    assert "errors" not in entities(shipping, "... on Product { billing }", right)
    assert "@requires" in messages(entities(shipping, "... on Product { billing }", wrong))


def test_a_query_invalid_in_the_subgraph_is_refused_whole() -> None:
    books, _ = fake("plan/union-across-subgraphs", "books")
    unknown_type = entities(books, "... on Film { id }", {"__typename": "Book", "id": "x"})
    assert unknown_type == {"errors": [unknown_type["errors"][0]]}
    assert "Unknown type 'Film'" in messages(unknown_type)
    empty = books.answer({"query": "{ _entities(representations: []) { ... on Book { } } }"})
    assert "Syntax Error" in messages(empty)
    assert books.refusals  # recorded, for the oracle's report


def test_an_overridden_field_is_answered_only_by_the_subgraph_that_owns_it() -> None:
    legacy, _ = fake("plan/override", "legacy")
    assert "Cannot query field 'plan'" in messages(
        legacy.answer({"query": "{ accounts { plan } }"})
    )
    # progressive override: with the label on (labels.txt), `tier` moved to `new`
    old, data = fake("oracle/override", "old")
    assert "Account.tier is external (or overridden)" in messages(
        old.answer({"query": "{ accounts { tier } }"})
    )
    new, _ = fake("oracle/override", "new")
    account = {"__typename": "Account", "id": data.records["Account"][0].values["id"]}
    assert "errors" not in entities(new, "... on Account { tier plan }", account)


def test_an_interface_object_answers_entities_of_every_implementation() -> None:
    presence, data = fake("oracle/interface-object", "presence")
    admin, member = data.records["Admin"][0], data.records["Member"][0]
    answer = entities(
        presence,
        "__typename ... on Account { id status }",
        {"__typename": "Account", "id": admin.values["id"]},
        {"__typename": "Account", "id": member.values["id"]},
    )
    assert answer == {
        "data": {
            "_entities": [
                {
                    "__typename": "Account",
                    "id": admin.values["id"],
                    "status": admin.values["status"],
                },
                {
                    "__typename": "Account",
                    "id": member.values["id"],
                    "status": member.values["status"],
                },
            ]
        }
    }


# --- the comparison ----------------------------------------------------------------------------


class Corrupting(OracleTransport):
    """The fakes, with one answer changed on its way back: a router bug as the oracle sees it."""

    async def send(self, service: str, body: JSONObject, headers: Any = None) -> JSONObject:
        answer = await super().send(service, body, headers)
        if service == "stock" and answer.get("data"):
            answer["data"]["_entities"][0]["available"] += 1
        return answer


def test_the_oracle_sees_a_wrong_value_a_wrong_order_and_a_refusal() -> None:
    harness = Harness.start(CASES["plan/compound-key"])
    try:
        assert harness.mismatch("{ variants { label available } }") is None
        harness.transport.__class__ = Corrupting
        problem = harness.mismatch("{ variants { label available } }")
        assert problem is not None and problem.startswith("data differs")
        harness.transport.__class__ = OracleTransport
        expected = monolith_answer(harness.data, "{ variants { label sku } }")
        assert list(expected["data"]["variants"][0]) == ["label", "sku"]
    finally:
        harness.close()


# --- the fakes' schemas ------------------------------------------------------------------------


def _shape(sdl: str) -> dict[str, Any]:
    """Each object, interface and union of a schema: its kind, fields (with types) or members."""
    from graphql import GraphQLInterfaceType, GraphQLObjectType, GraphQLUnionType, build_ast_schema

    schema = build_ast_schema(parse_sdl_without_directives(sdl), assume_valid=True)
    found: dict[str, Any] = {}
    for name, named in schema.type_map.items():
        if name.startswith("_"):
            continue
        if isinstance(named, (GraphQLObjectType, GraphQLInterfaceType)):
            fields = {f: str(d.type) for f, d in named.fields.items() if not f.startswith("_")}
            interfaces = sorted(i.name for i in named.interfaces)
            if fields or name != "Query":
                found[name] = (type(named).__name__, fields, interfaces)
        elif isinstance(named, GraphQLUnionType):
            found[name] = ("union", sorted(m.name for m in named.types))
    return found


def parse_sdl_without_directives(sdl: str) -> Any:
    from graphql import REMOVE, DirectiveNode, SchemaExtensionNode, Visitor, parse, visit

    class Strip(Visitor):
        def enter(self, node: Any, *_: Any) -> Any:
            if isinstance(node, (DirectiveNode, SchemaExtensionNode)):
                return REMOVE
            return None

    return visit(parse(sdl + "\nscalar _Any"), Strip())


OVERRIDDEN_AWAY = {
    ("plan/override", "legacy"): {"Account": {"plan"}},
    ("oracle/override", "old"): {"Account": {"plan"}},
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_fake_exposes_its_subgraphs_own_schema(name: str) -> None:
    """Rebuilt from the join metadata, a fake's schema is the subgraph's SDL (federation
    directives aside), but for fields another subgraph overrides without a label."""
    from tests.support.oracle.subgraph_schema import subgraph_sdl
    from tests.support.paths import CASES as CASE_FOLDERS

    supergraph = CASES[name].load()
    for graph in supergraph.graphs.values():
        own = _shape((CASE_FOLDERS / name / "subgraphs" / f"{graph.name}.graphql").read_text())
        for type_name, fields in OVERRIDDEN_AWAY.get((name, graph.name), {}).items():
            kind, known, interfaces = own[type_name]
            own[type_name] = (kind, {f: t for f, t in known.items() if f not in fields}, interfaces)
        assert _shape(subgraph_sdl(supergraph, graph.id)) == own, graph.name

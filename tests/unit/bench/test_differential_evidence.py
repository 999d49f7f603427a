"""The differential harness's own evidence (bench/differential): alias renaming, response shape,
the verdicts they give, and the summary that reports them.

Both kinds of evidence must be sound: a right answer is never shown wrong. The properties below
check that on graphql-core's own execution (the spec's reference executor) of random operations:
renaming the aliases and mapping the answer back gives the same answer, and the answer breaks no
shape rule; then that each rule does catch a wrong answer.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

import pytest
from graphql import build_schema, graphql_sync, parse, print_schema, validate
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.differential.compare import AGREE, CONTESTED, MISMATCH, REFERENCES_WRONG, Answer
from bench.differential.evidence import OPERATION, RENAMING, SHAPE, SUBGRAPH, UNDECIDED, judge
from bench.differential.own import SUPERGRAPH, OwnGraph, proxied_supergraph, without_authorization
from bench.differential.rename import map_back, rename_aliases
from bench.differential.report import SuiteResult, summary
from bench.differential.shape import determined, violations
from bench.differential.subgraphs import dropped_root_values, root_owners
from router.supergraph.load import load_supergraph
from tests.support.operations import HypothesisChooser, random_operation

SCHEMA = build_schema(
    """
    interface Node { id: ID! }
    type User implements Node { id: ID! name: String age: Int! friends: [User!]! best: Node }
    type Post implements Node { id: ID! title: String! author: User kind: Kind }
    enum Kind { NEWS BLOG }
    union Item = User | Post
    type Query {
      node(id: ID!): Node
      user(id: ID!): User
      items: [Item!]!
      nodes: [Node]
    }
    """
)

ANN = {"__typename": "User", "id": "u1", "name": "Ann", "age": 31}
BOB = {"__typename": "User", "id": "u2", "name": None, "age": 40}
ANN["friends"], BOB["friends"] = [BOB], [ANN, BOB]
POST = {"__typename": "Post", "id": "p1", "title": "Hi", "author": ANN, "kind": "NEWS"}
ANN["best"], BOB["best"] = POST, None
ROOT = {"node": POST, "user": ANN, "items": [ANN, POST, BOB], "nodes": [POST, None, BOB]}

PROPERTY = settings(
    max_examples=150,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def execute(query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    """graphql-core's answer as a gateway's JSON body."""
    result = graphql_sync(SCHEMA, query, root_value=ROOT, variable_values=variables)
    body: dict[str, Any] = {"data": result.data}
    if result.errors:
        body["errors"] = [{"message": e.message} for e in result.errors]
    return json.loads(json.dumps(body))


# --- renaming ------------------------------------------------------------------------------------


def test_renaming_gives_each_aliased_name_one_fresh_name_everywhere() -> None:
    query = """
    query Q { user(id: "u1") { name: id id: name ... on User { name: id } renamed1: age }
              items { ... on User { name: id } } n: node(id: "p1") { id } }
    """
    renaming = rename_aliases(query)
    assert renaming is not None
    assert validate(SCHEMA, parse(renaming.query)) == []
    back = dict(renaming.back)
    # name, id, n and renamed1 are response names given by an alias; renamed1 is taken
    assert sorted(back.values()) == ["id", "n", "name", "renamed1"]
    assert "renamed1" not in back
    fresh = {old: new for new, old in back.items()}
    assert f"{fresh['name']}: id" in renaming.query and f"{fresh['id']}: name" in renaming.query
    assert renaming.query.count(f"{fresh['name']}: id") == 3  # the same name merges again
    assert f"{fresh['n']}: node" in renaming.query
    assert "query Q" in renaming.query  # the operation keeps its name
    got = execute(renaming.query)
    assert map_back(got["data"], back) == execute(query)["data"]
    assert got["data"] != execute(query)["data"]  # the renaming did rename the answer


def test_an_unaliased_field_sharing_an_aliased_name_is_renamed_with_it() -> None:
    query = '{ user(id: "u1") { name ... on User { name: name } } }'
    renaming = rename_aliases(query)
    assert renaming is not None
    assert renaming.query.split().count("renamed1:") == 2, renaming.query
    assert map_back(execute(renaming.query)["data"], renaming.back) == execute(query)["data"]


def test_an_operation_without_aliases_has_no_renaming() -> None:
    assert rename_aliases('{ user(id: "u1") { name friends { id } } }') is None


def test_mapping_back_renames_keys_at_every_depth_and_in_lists() -> None:
    back = {"r1": "name", "r2": "id"}
    data = {"r1": [{"r2": 1, "x": {"r1": None}}, None], "r2": "r1"}
    assert map_back(data, back) == {"name": [{"id": 1, "x": {"name": None}}, None], "id": "r1"}


@PROPERTY
@given(st.data())
def test_renaming_never_changes_the_spec_executors_answer(data: st.DataObject) -> None:
    operation = random_operation(SCHEMA, HypothesisChooser(data), max_selections=12)
    renaming = rename_aliases(operation.query)
    if renaming is None:
        return
    assert validate(SCHEMA, parse(renaming.query)) == []
    original = execute(operation.query, operation.variables)
    renamed = execute(renaming.query, operation.variables)
    mapped = Answer(200, {**renamed, "data": map_back(renamed["data"], renaming.back)})
    assert mapped.key() == Answer(200, original).key()


# --- response shape ------------------------------------------------------------------------------


@PROPERTY
@given(st.data())
def test_the_spec_executors_answers_break_no_shape_rule_and_match_what_the_operation_fixes(
    data: st.DataObject,
) -> None:
    operation = random_operation(SCHEMA, HypothesisChooser(data), max_selections=12)
    body = execute(operation.query, operation.variables)
    assert violations(SCHEMA, operation.query, operation.variables, body) == []
    fixed = determined(SCHEMA, operation.query, operation.variables)
    if fixed is not None:
        assert body == {"data": fixed}


def test_shape_rules_catch_what_the_spec_rules_out() -> None:
    query = """
    query ($on: Boolean = true, $off: Boolean!) {
      user(id: "u1") { id a: age @include(if: $on) n: name @include(if: $off) best { id } }
      items { __typename ... on Post { title kind } }
    }
    """
    variables = {"off": False}
    right = execute(query, variables)
    assert violations(SCHEMA, query, variables, right) == []
    assert "n" not in right["data"]["user"]  # the variable skipped it, its default kept `a`

    def broken(change: Any) -> list[str]:
        body = json.loads(json.dumps(right))
        change(body)
        return violations(SCHEMA, query, variables, body)

    assert broken(lambda b: b.update(data=None)) == ["data is null without errors"]
    assert broken(lambda b: b.pop("data")) == ["data is null without errors"]
    assert violations(SCHEMA, query, variables, {"data": None, "errors": [{}]}) == []
    assert broken(lambda b: b["data"]["user"].pop("a")) == ["user: User lacks a"]
    assert broken(lambda b: b["data"]["user"].update(n="Ann")) == ["user: User has unselected n"]
    assert broken(lambda b: b["data"]["user"].update(id=None)) == ["user.id: null for non-null ID!"]
    assert broken(lambda b: b["data"]["user"].update(a="31")) == ["user.a: '31' for Int"]
    assert broken(lambda b: b["data"]["items"][1].update(kind="OTHER")) == [
        "items.1.kind: 'OTHER' is not a Kind value"
    ]
    assert broken(lambda b: b["data"]["user"].update(best=[])) == ["user.best: list for Node"]
    # an abstract object fits no possible type: a Post without its title, a bad __typename
    assert broken(lambda b: b["data"]["items"][1].pop("title")) == ["items.1: Post lacks title"]
    assert broken(lambda b: b["data"]["items"][0].update(__typename="Post"))
    assert broken(lambda b: b["data"]["items"].append(None)) == ["items.3: null for non-null Item!"]


# typename #5 in miniature: subgraph a's `User` reference resolver does not load `isMain`, so a
# fails `Admin.isMain` for every `User` representation; the references avoided that fetch only by
# sending the aliased `id: name` as the key
ADMINS = build_schema(
    """
    interface User { id: ID! }
    type Admin implements User { id: ID! name: String! isMain: Boolean! }
    type Query { users: [User] }
    """
)
ADMIN_QUERY = "{ users { ... on Admin { name id: name a5: isMain } a6: id } }"
FAILED = {
    "data": {"users": [{"a6": "u1"}, {"a6": "u2"}]},
    "errors": [
        {"message": "Cannot return null for non-nullable field Admin.isMain.", "path": p}
        for p in (["users", 0, "a5"], ["users", 1, "a5"])
    ],
}


def test_names_missing_beside_a_reported_error_are_the_subgraphs_failure_not_the_gateways() -> None:
    assert violations(ADMINS, ADMIN_QUERY, {}, FAILED) == []
    # without the errors, or with an error only at the other item, the names missing are wrong
    silent = {"data": FAILED["data"]}
    assert violations(ADMINS, ADMIN_QUERY, {}, silent) == [
        "users.0: Admin lacks name, id, a5",
        "users.1: Admin lacks name, id, a5",
    ]
    one = {**FAILED, "errors": FAILED["errors"][1:]}
    assert violations(ADMINS, ADMIN_QUERY, {}, one) == ["users.0: Admin lacks name, id, a5"]
    # an error never excuses a null in a non-null position, nor a root name missing
    null = {**FAILED, "data": {"users": [{"a6": "u1", "name": None, "id": "x", "a5": True}]}}
    assert violations(ADMINS, ADMIN_QUERY, {}, null) == ["users.0.name: null for non-null String!"]
    assert violations(ADMINS, "{ users { a6: id } }", {}, {"data": {}, "errors": [{"path": ["x"]}]})


def test_typename_5_ours_is_confirmed_when_the_references_renamed_answers_fail_as_ours() -> None:
    theirs = {"data": FAILED["data"]}  # the aliased name sent as the key: no entity, no error
    original = {"router": Answer(200, FAILED), "hive": Answer(200, theirs)}
    original["apollo"] = original["hive"]
    shape = {n: violations(ADMINS, ADMIN_QUERY, {}, a.body) for n, a in original.items()}
    assert shape["router"] == [] and shape["hive"] and shape["apollo"]
    keys = {n: a.key() for n, a in original.items()}
    renamed = dict.fromkeys(keys, Answer(200, FAILED).key())  # the same fetch, the same error
    got = judge(MISMATCH, keys, renamed, shape={n: v for n, v in shape.items() if v})
    assert got.verdict == REFERENCES_WRONG
    assert got.as_json()["reference_bugs"] == {
        n: f"{RENAMING}, {SHAPE}" for n in ("hive", "apollo")
    }


# --- verdicts ------------------------------------------------------------------------------------

OURS, THEIRS, RENAMED = "ours", "theirs", "renamed"


def test_mismatch_becomes_references_wrong_only_when_renaming_confirms_ours() -> None:
    original = {"router": OURS, "hive": THEIRS, "apollo": THEIRS}
    confirmed = {"router": OURS, "hive": OURS, "apollo": OURS}
    got = judge(MISMATCH, original, confirmed)
    assert got.verdict == REFERENCES_WRONG
    assert got.as_json()["reference_bugs"] == {"hive": RENAMING, "apollo": RENAMING}
    assert got.as_json()["router_bugs"] is None
    # one reference consistent, or their renamed answers not ours, or ours changes: MISMATCH
    assert judge(MISMATCH, original, {**confirmed, "hive": THEIRS}).verdict == MISMATCH
    assert judge(MISMATCH, original, {**confirmed, "apollo": RENAMED}).verdict == MISMATCH
    ours_changes = judge(MISMATCH, original, {**confirmed, "router": RENAMED})
    assert ours_changes.verdict == MISMATCH and ours_changes.why == f"ours: {RENAMING}"
    assert ours_changes.as_json()["router_bugs"] == RENAMING
    # an answer that varies when sent again is no evidence
    assert judge(MISMATCH, original, confirmed, frozenset({"hive"})).verdict == MISMATCH
    assert judge(MISMATCH, original, None).why == UNDECIDED


def test_shape_evidence_never_turns_a_mismatch_but_says_ours_is_wrong() -> None:
    original = {"router": OURS, "hive": THEIRS, "apollo": THEIRS}
    both = {"hive": ["data is null without errors"], "apollo": ["x"]}
    got = judge(MISMATCH, original, None, shape=both)
    assert got.verdict == MISMATCH and "ours not confirmed" in got.why
    ours = judge(MISMATCH, original, None, shape={"router": ["y"]})
    assert ours.verdict == MISMATCH and ours.why == f"ours: {SHAPE}"


def test_contested_evidence_supports_the_reference_not_shown_wrong() -> None:
    original = {"router": OURS, "hive": THEIRS, "apollo": OURS}
    shape = {"hive": ["data is null without errors"]}
    got = judge(CONTESTED, original, None, shape=shape)
    assert (got.verdict, got.supports, got.why) == (CONTESTED, "apollo", f"hive: {SHAPE}")
    renamed = {"router": OURS, "hive": OURS, "apollo": OURS}
    got = judge(CONTESTED, original, renamed)
    assert (got.supports, got.why) == ("apollo", f"hive: {RENAMING}")
    # both shown wrong, ours confirmed by their renamed answers
    apart = {"router": OURS, "hive": THEIRS, "apollo": "other"}
    assert judge(CONTESTED, apart, renamed).supports == "ours"
    # ours shown wrong: the evidence supports the reference that is not
    got = judge(CONTESTED, original, {**renamed, "router": RENAMED})
    assert (got.supports, got.why) == ("apollo", f"ours: {RENAMING}")
    assert judge(CONTESTED, original, {"router": OURS, "hive": THEIRS, "apollo": OURS}).why == (
        UNDECIDED
    )
    assert judge(AGREE, original, None).verdict == AGREE


def test_the_summary_counts_the_verdicts_before_and_after_the_evidence() -> None:
    result = SuiteResult("s")
    result.first_verdicts.update({AGREE: 5, MISMATCH: 2, CONTESTED: 3})
    result.verdicts.update({AGREE: 5, MISMATCH: 1, REFERENCES_WRONG: 1, CONTESTED: 3})
    result.sides.update({"apollo": 2, "hive": 1})
    result.contested += [
        (1, "apollo", "apollo", f"hive: {SHAPE}"),
        (4, "apollo", None, UNDECIDED),
        (7, "hive", "apollo", f"hive: {RENAMING}"),
    ]
    result.references_wrong.append("- s #3: `{ a }`")
    text = summary([result], "seed 1")
    assert "| **all** | 10 | 5 | 1 | 1 | 3 (1/2/0) |" in text
    assert "Before the evidence: 2 MISMATCH, 3 contested." in text
    # we side with apollo: supported once, undecided once
    assert "| apollo | 0 | 1 | 0 | 1 |" in text
    assert "| hive | 0 | 1 | 0 | 0 |" in text  # we side with hive: the evidence supports apollo
    assert f"| s #7 | hive | apollo | hive: {RENAMING} |" in text
    assert "- s #3: `{ a }`" in text


def test_the_operation_alone_fixes_the_answer_when_it_collects_only_typename() -> None:
    query = """
    query ($off: Boolean = false) {
      ... @include(if: $off) { user(id: "u1") { id } }
      t: __typename ... on Query { __typename }
      items @skip(if: true) { __typename }
    }
    """
    assert determined(SCHEMA, query, {}) == {"t": "Query", "__typename": "Query"}
    assert determined(SCHEMA, query, {}) == execute(query)["data"]
    assert determined(SCHEMA, query, {"off": True}) is None  # now user is fetched
    assert determined(SCHEMA, "{ ... @skip(if: true) { items { __typename } } }", {}) == {}
    fixed = Answer(200, {"data": {}}).key()
    planning_failed = Answer(200, {"errors": [{"message": "no plan"}]}).key()
    original = {"router": fixed, "hive": planning_failed, "apollo": planning_failed}
    got = judge(MISMATCH, original, None, determined=fixed)
    assert got.verdict == REFERENCES_WRONG
    assert got.as_json()["reference_bugs"] == {"hive": OPERATION, "apollo": OPERATION}
    ours_wrong = judge(MISMATCH, {**original, "router": planning_failed}, None, determined=fixed)
    assert ours_wrong.verdict == MISMATCH and ours_wrong.why == f"ours: {OPERATION}"
    contested = judge(CONTESTED, {**original, "apollo": fixed}, None, determined=fixed)
    assert (contested.supports, contested.why) == ("apollo", f"hive: {OPERATION}")


# --- our own graph -------------------------------------------------------------------------------


def test_our_supergraph_is_pointed_at_the_proxy_one_path_per_subgraph() -> None:
    sdl = SUPERGRAPH.read_text()
    proxied = proxied_supergraph(sdl, 5999)
    assert 'url: "http://127.0.0.1:5999/customers/graphql"' in proxied
    assert 'url: "http://127.0.0.1:5999/orders/graphql"' in proxied
    assert proxied.count("http://") == sdl.count("http://")
    graph = OwnGraph({"customers": 6001, "orders": 6002})
    assert graph.route("/customers/graphql") == (6001, "/graphql")
    supergraph = load_supergraph(sdl)
    paths = {g: urlsplit(x.url).path for g, x in load_supergraph(proxied).graphs.items()}
    owners = root_owners(supergraph, paths)
    assert owners["customer"] == "/customers/graphql" and owners["order"] == "/orders/graphql"
    assert set(owners) == set(supergraph.api_schema.query_type.fields)  # each has one owner
    assert graph.route("/orders/graphql?x=1") == (6002, "/graphql?x=1")
    with pytest.raises(LookupError):
        graph.route("/graphql")


def test_apollo_gateways_supergraph_has_the_same_api_without_the_security_features() -> None:
    sdl = SUPERGRAPH.read_text()
    stripped = without_authorization(sdl)
    assert "for: SECURITY" in sdl and "@requiresScopes(" in sdl and "@authenticated" in sdl
    for gone in ("for: SECURITY", "@requiresScopes", "@authenticated", "requiresScopes__Scope"):
        assert gone not in stripped, gone
    before, after = load_supergraph(sdl), load_supergraph(stripped)
    assert before.has_access and not after.has_access
    assert print_schema(after.api_schema) == print_schema(before.api_schema)
    assert {g: x.url for g, x in after.graphs.items()} == {
        g: x.url for g, x in before.graphs.items()
    }


def test_a_root_value_dropped_without_an_error_is_shown_by_the_subgraphs_answer() -> None:
    query = 'query ($u: ID = "u1") { user(id: $u) { id } n: node(id: "p1") { id } }'
    owners = {"user": "/users", "node": "/nodes"}
    exchange = {
        "path": "/users",
        "request": {"query": "query ($a: ID!) { user(id: $a) { id } }", "variables": {"a": "u1"}},
        "response": {"data": {"user": {"id": "u1"}}},
    }
    lost = {"data": {"user": None, "n": {"id": "p1"}}}
    expected = ["user: null without an error; a subgraph answered user non-null"]
    assert dropped_root_values(SCHEMA, query, {}, lost, [exchange], owners) == expected
    # a null with an error, or one Apollo notes in valueCompletion, may be right
    assert (
        dropped_root_values(SCHEMA, query, {}, {**lost, "errors": [{}]}, [exchange], owners) == []
    )
    noted = {**lost, "extensions": {"valueCompletion": [{"message": "nulled"}]}}
    assert dropped_root_values(SCHEMA, query, {}, noted, [exchange], owners) == []
    # other arguments, a null or failing subgraph answer, a directive: nothing to compare
    assert dropped_root_values(SCHEMA, query, {"u": "u2"}, lost, [exchange], owners) == []
    null = {**exchange, "response": {"data": {"user": None}}}
    failing = {**exchange, "response": {"data": {"user": {"id": "u1"}}, "errors": [{}]}}
    directive = {
        **exchange,
        "request": {"query": '{ user(id: "u1") @include(if: true) { id } }', "variables": {}},
    }
    elsewhere = {**exchange, "path": "/nodes"}  # not the subgraph that resolves user
    for other in (null, failing, directive, elsewhere):
        assert dropped_root_values(SCHEMA, query, {}, lost, [other], owners) == []
    assert dropped_root_values(SCHEMA, query, {}, lost, [exchange], {}) == []
    kept = {"data": {"user": {"id": "u1"}, "n": None}}
    assert dropped_root_values(SCHEMA, query, {}, kept, [exchange], owners) == []
    got = judge(
        CONTESTED,
        {"router": OURS, "hive": THEIRS, "apollo": OURS},
        None,
        dropped={"hive": expected},
    )
    assert (got.supports, got.why) == ("apollo", f"hive: {SUBGRAPH}")

"""Generated code (router/codegen.py): only GraphQL names are written into it, each function is
debuggable under its own filename, and `linecache` holds only the functions still alive."""

from __future__ import annotations

import gc
import linecache
import os
import subprocess
import sys
import traceback
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from graphql import build_schema, parse

from router.authz import AuthorizationSettings
from router.codegen import GeneratedCodeError, generated_filenames, name_literal
from router.execute.projection import compile_projector
from router.operation.ir import Field, InlineFragment
from router.operation.normalize import normalize
from router.router import Router
from router.shape.shaper import Shaper
from tests.support.paths import REPO

ROOT = REPO
HOSTILE = "a'); import os; ('"

# Names that are valid GraphQL but are Python keywords, builtins, or the generated code's own
# locals and globals: written as anything but a string literal, each would break or rebind.
ODD = ["def", "None", "class", "lambda", "_", "v", "get", "value", "run", "path",
       "result", "items", "append", "i", "inner", "typename", "NULL", "_NULL", "_g1", "is_subtype"]  # fmt: skip
ODD_SCHEMA = build_schema(
    "type Query { def: def, list: [def!]! }\n"
    + "type def { "
    + " ".join(f"{name}: String" for name in ODD)
    + " self: def }"
)


def label(filename: str) -> str:
    """`Query.def` of `<fedrouter-shape:Query.def#12>`."""
    return filename.split(":", 1)[1].rsplit("#", 1)[0]


def test_a_name_that_is_not_a_graphql_name_is_refused() -> None:
    for bad in (HOSTILE, "", "1a", "a-b", "a b", "é", "a\n", None, 3):
        with pytest.raises(GeneratedCodeError, match="only GraphQL names"):
            name_literal(bad)
    assert name_literal("_Ab9") == "'_Ab9'"


def test_a_hostile_alias_never_reaches_the_shaping_source() -> None:
    operation = normalize(parse("{ def { v } }"), None)
    field = operation.selections[0]
    assert isinstance(field, Field)
    hostile = replace(field, selections=(Field("v", alias=HOSTILE),))
    shaper = Shaper(ODD_SCHEMA, replace(operation, selections=(hostile,)))
    with pytest.raises(GeneratedCodeError, match="import os"):
        shaper.shape({"def": {HOSTILE: "x"}}, {}, [])
    assert not any("import os" in "".join(linecache.getlines(n)) for n in generated_filenames())


def test_a_hostile_name_never_reaches_a_projector() -> None:
    for requires in (
        (InlineFragment("T", (Field("id", alias=HOSTILE),)),),
        (InlineFragment("T", (Field(HOSTILE),)),),
        (InlineFragment("T", (InlineFragment(HOSTILE, (Field("id"),)),)),),
    ):
        with pytest.raises(GeneratedCodeError):
            compile_projector(requires, (), lambda typename, condition: True)


def test_odd_but_valid_names_round_trip_through_the_generated_code() -> None:
    """Every name is written as a literal: keywords and the code's own variable names as
    fields and aliases come back as they went in, and the source compiles."""
    fields = " ".join(f"{name} {name}1: {name}" for name in ODD)
    query = f"{{ def {{ {fields} self {{ __typename _: v }} }} list {{ def: get }} }}"
    shaper = Shaper(ODD_SCHEMA, normalize(parse(query), None))
    expected: dict[str, Any] = {}
    for name in ODD:
        expected[name], expected[f"{name}1"] = f"<{name}>", f"<{name}1>"
    expected["self"] = {"__typename": "def", "_": "inner v"}
    # merged data is under response names, with what the planner added (here: `v`, `get`)
    data = {
        "def": {**dict(reversed(expected.items())), "self": {"_": "inner v", "v": "added"}},
        "list": [{"def": "a", "get": "added"}, {"def": "b"}],
    }
    errors: list[Any] = []
    shaped = shaper.shape(data, {}, errors)
    assert errors == []
    assert shaped == {"def": expected, "list": [{"def": "a"}, {"def": "b"}]}
    assert list(shaped["def"]) == list(expected)

    requires = (
        InlineFragment(
            "def",
            (
                *(Field(name, alias=f"{name}1") for name in ODD),
                Field("self", selections=(Field("v"),)),
                InlineFragment("None", (Field("lambda"),)),
            ),
        ),
    )
    project = compile_projector(requires, ("def",), lambda typename, condition: True).project
    obj = {"__typename": "x", **{f"{n}1": n.upper() for n in ODD}, "self": {"v": 1}, "lambda": 2}
    representation = {n: n.upper() for n in ODD}
    # `__typename` set to the condition `def`, as for an @interfaceObject's representations
    assert project(obj) == {**representation, "self": {"v": 1}, "lambda": 2, "__typename": "def"}


def test_each_function_has_its_own_filename_with_where_it_is() -> None:
    query = "{ def { v self { get } } list { v } }"
    first, second = (Shaper(ODD_SCHEMA, normalize(parse(query), None)) for _ in range(2))
    before = set(generated_filenames())
    first.compile_all()
    made = set(generated_filenames()) - before
    labels = sorted(map(label, made))
    assert labels == ["Query", "Query.def", "Query.def.self", "Query.list", "Query.list[]"]
    second.compile_all()
    again = set(generated_filenames()) - before - made
    assert len(again) == len(made)  # the same labels, each under a new number
    assert sorted(map(label, again)) == labels


def test_a_traceback_inside_generated_code_shows_its_line() -> None:
    shaper = Shaper(ODD_SCHEMA, normalize(parse("{ def { v } }"), None))
    with pytest.raises(AttributeError) as raised:
        shaper.shape(["not an object"], {}, [])  # type: ignore[arg-type]
    text = "".join(traceback.format_exception(raised.value))
    assert 'File "<fedrouter-shape:Query#' in text
    assert "    get = value.get\n" in text

    def is_subtype(typename: str, condition: str) -> bool:
        if condition == "Book":  # asked by the generated code, not by the projector around it
            raise LookupError(f"no type {condition}")
        return True

    project = compile_projector(
        (InlineFragment("T", (InlineFragment("Book", (Field("isbn"),)),)),), (), is_subtype
    ).project
    with pytest.raises(LookupError) as raised_there:
        project({"__typename": "T"})
    text = "".join(traceback.format_exception(raised_there.value))
    assert 'File "<fedrouter-project:T#' in text
    assert "if typename.__class__ is str and is_subtype(typename, 'Book'):" in text


def test_linecache_keeps_only_the_functions_of_cached_operations() -> None:
    router = Router.from_sdl(
        (ROOT / "supergraph.graphql").read_text(),
        plan_cache_size=2,
        authorization=AuthorizationSettings(enabled=False),
    )

    def made_for(n: int) -> list[str]:
        here = f"Query.c{n}"
        return [  # the full functions (their fast paths, router/shape/fast.py, come and go too)
            name
            for name in generated_filenames()
            if name.startswith("<fedrouter-shape:") and label(name).split(".orders")[0] == here
        ]

    for n in range(30):
        prepared = router.prepare(
            f'{{ c{n}: customer(id: "1") {{ name orders {{ totalCount }} }} }}'
        )
        assert prepared.shaper.shape({}, {}, []) == {f"c{n}": None}
        assert len(made_for(n)) == 2  # Query.cN and Query.cN.orders, while it is cached
        del prepared
    gc.collect()
    assert router.plan_cache_evictions == 28
    assert [n for n in range(30) if made_for(n)] == [28, 29]
    one = made_for(29)[0]
    assert linecache.getline(one, 1) == "def _shape(value, run, path):\n"


def test_a_projectors_lines_go_when_it_does() -> None:
    requires = (InlineFragment("Gone", (Field("id"), Field("a", selections=(Field("b"),)))),)
    project = compile_projector(requires, (), lambda typename, condition: True)
    made = [name for name in generated_filenames() if ":Gone" in name]
    assert len(made) == 2 and all(linecache.getlines(name) for name in made)
    del project
    gc.collect()
    assert [name for name in generated_filenames() if ":Gone" in name] == []


def test_plan_show_generated_prints_the_operations_code(tmp_path: Path) -> None:
    query = tmp_path / "query.graphql"
    query.write_text('{ order(id: "1") { id customer { name } } }')
    command = [sys.executable, "-m", "router", "plan", "--supergraph", "supergraph.graphql"]
    done = subprocess.run(
        [*command, str(query), "--show-generated"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    plan, generated = done.stdout.split("\n\n", 1)
    assert plan.startswith("QueryPlan {")
    assert "# <fedrouter-shape:Query.order.customer#" in generated
    assert "# <fedrouter-shape:Query#" in generated
    assert "    v = get('order')\n" in generated
    assert "# <fedrouter-project:Customer#" in generated
    assert "        return {'__typename': value['__typename'], 'id': value['id']}\n" in generated
    as_json = subprocess.run(
        [*command, str(query), "--show-generated", "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert as_json.stdout.startswith("{") and "fedrouter-shape" not in as_json.stdout
    assert "# <fedrouter-shape:Query#" in as_json.stderr


def test_the_environment_switch_prints_each_function_as_it_is_built() -> None:
    code = (
        "from graphql import build_schema, parse\n"
        "from router.operation.normalize import normalize\n"
        "from router.shape.shaper import Shaper\n"
        "schema = build_schema('type Query { hello: String }')\n"
        "print(Shaper(schema, normalize(parse('{ hi: hello }'), None)).shape({'hi': 'x'}, {}, []))\n"
    )
    env = {**os.environ, "FEDROUTER_SHOW_GENERATED": "1"}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    assert done.stdout == "{'hi': 'x'}\n"
    assert done.stderr.startswith("# <fedrouter-shape:Query#1>\ndef _shape(value, run, path):\n")
    assert "    v = get('hi')\n" in done.stderr
    quiet = {k: v for k, v in env.items() if k != "FEDROUTER_SHOW_GENERATED"}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=quiet, capture_output=True, text=True
    )
    assert done.stdout == "{'hi': 'x'}\n" and done.stderr == ""

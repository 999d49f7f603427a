"""Representations and the objects they come from: compiled projection and object selection."""

from __future__ import annotations

from router.execute.data_tree import select_objects, select_objects_with_paths
from router.execute.entities import Representations
from router.execute.projection import Projector, compile_projector
from router.operation.ir import Field, InlineFragment

SUBTYPES = {("Book", "Product"), ("Book", "Book"), ("Film", "Film"), ("Film", "Product")}


def is_subtype(typename: str, condition: str) -> bool:
    return (typename, condition) in SUBTYPES


def test_projection_selects_keys_and_requirements_by_type() -> None:
    requires = (
        InlineFragment(
            "Book",
            (
                Field("__typename"),
                Field("isbn"),
                # read from its alias in the merged data, sent under the field's name
                Field("dimensions", alias="dimensions_1", selections=(Field("size"),)),
                Field("tags", selections=(Field("name"),)),
            ),
        ),
        InlineFragment(
            "Film",
            (
                Field("__typename"),
                Field("id"),
                InlineFragment("Product", (Field("sku"),)),
                InlineFragment("Book", (Field("never"),)),
            ),
        ),
    )
    project = compile_projector(requires, ("Film",), is_subtype).project
    book = {
        "__typename": "Book",
        "isbn": "1",
        "title": "not selected",
        "dimensions_1": {"size": 3, "weight": 9},
        "tags": [{"name": "a", "x": 1}, None, [{"name": "b"}]],
    }
    assert project(book) == {
        "__typename": "Book",
        "isbn": "1",
        "dimensions": {"size": 3},
        "tags": [{"name": "a"}, None, [{"name": "b"}]],
    }
    assert project({**book, "dimensions_1": None})["dimensions"] is None  # type: ignore[index]
    assert project({"__typename": "Book", "isbn": "1", "tags": []}) is None  # a missing field
    assert project({**book, "dimensions_1": {"weight": 9}}) is None  # missing below
    film = {"__typename": "Film", "id": "f", "sku": "s"}
    assert project(film) == {"__typename": "Film", "id": "f", "sku": "s"}
    assert project({"__typename": "Song", "id": "x"}) is None


def test_objects_are_selected_in_document_order_with_the_same_paths() -> None:
    data = {
        "a": [
            {"b": {"c": [{"id": 1}, None, [{"id": 2}, {"id": 3}]]}},
            None,
            {"b": None},
            {"b": {"c": {"id": 4}}},
            "not an object",
        ]
    }
    objects = select_objects(data, ("a", "@", "b", "c"))
    assert [o["id"] for o in objects] == [1, 2, 3, 4]
    with_paths = select_objects_with_paths(data, ("a", "@", "b", "c"))
    assert [o for o, _ in with_paths] == objects
    assert [p for _, p in with_paths] == [
        ["a", 0, "b", "c", 0],
        ["a", 0, "b", "c", 2, 0],
        ["a", 0, "b", "c", 2, 1],
        ["a", 3, "b", "c"],
    ]
    # a list under a named step is walked item by item
    assert select_objects({"a": [[{"b": {"x": 1}}], {"b": {"x": 2}}]}, ("a", "b")) == [
        {"x": 1},
        {"x": 2},
    ]


def test_representations_are_told_apart_by_their_values_or_their_json() -> None:
    from router.execute.entities import Representations

    flat = compile_projector(
        (InlineFragment("Book", (Field("__typename"), Field("isbn"))),), (), is_subtype
    )
    nested = compile_projector(
        (InlineFragment("Book", (Field("__typename"), Field("o", selections=(Field("id"),)))),),
        (),
        is_subtype,
    )
    books = [
        {"__typename": "Book", "isbn": "1", "title": "a"},
        {"__typename": "Book", "isbn": "2"},
        {"__typename": "Book", "isbn": "1", "title": "b"},
        {"__typename": "Book", "isbn": ["json", "scalar"]},  # no tuple holds it: its JSON
        {"__typename": "Book", "isbn": ["json", "scalar"]},
        {"__typename": "Book", "isbn": ["json", "other"]},
        {"__typename": "Film", "isbn": "1"},  # another type: no representation
    ]
    prepared = Representations(books, flat)
    assert [r["isbn"] for r in prepared.items] == ["1", "2", ["json", "scalar"], ["json", "other"]]
    assert [len(p) for p in prepared.places] == [2, 1, 2, 1]
    assert prepared.places[0] == [books[0], books[2]]
    objects = [
        {"__typename": "Book", "o": {"id": 1, "x": 0}},
        {"__typename": "Book", "o": {"id": 1}},
        {"__typename": "Book", "o": {"id": 2}},
    ]
    prepared = Representations(objects, nested)
    assert prepared.items == [
        {"__typename": "Book", "o": {"id": 1}},
        {"__typename": "Book", "o": {"id": 2}},
    ]
    assert [len(p) for p in prepared.places] == [2, 1]


def test_the_generated_representations_loop_is_the_general_one() -> None:
    requires = (InlineFragment("Product", (Field("__typename"), Field("id", alias="id_1"))),)
    compiled = compile_projector(requires, (), is_subtype)
    assert compiled.represent is not None  # one type, leaf fields: the generated loop
    general = Projector(compiled.project, compiled.flat)  # the same, through the loop
    objects = [
        {"__typename": "Book", "id_1": "1"},
        {"__typename": "Film", "id_1": "1"},  # another type of the same key: its own entity
        {"__typename": "Book", "id_1": "1", "x": 2},  # the first again
        {"__typename": "Book"},  # no key: not sent
        {"__typename": "Other", "id_1": "3"},  # not a Product
        {"id_1": "4"},  # no type
        {"__typename": "Book", "id_1": {"a": [1]}},  # a JSON key: told apart by its JSON
        {"__typename": "Book", "id_1": {"a": [1]}},
        {"__typename": "Book", "id_1": {"a": [2]}},
    ]
    fast, slow = Representations(objects, compiled), Representations(objects, general)
    assert (
        fast.items
        == slow.items
        == [
            {"__typename": "Book", "id": "1"},
            {"__typename": "Film", "id": "1"},
            {"__typename": "Book", "id": {"a": [1]}},
            {"__typename": "Book", "id": {"a": [2]}},
        ]
    )
    assert [[id(o) for o in p] for p in fast.places] == [[id(o) for o in p] for p in slow.places]
    assert [len(p) for p in fast.places] == [2, 1, 2, 1]
    two = (InlineFragment("Book", (Field("isbn"),)), InlineFragment("Film", (Field("id"),)))
    assert compile_projector(two, (), is_subtype).represent is None  # two types: the loop

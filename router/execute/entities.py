"""An entity fetch's prepare and merge halves, apart from the load: the representations sent
(one per distinct entity, with every object it came from), the client paths `_entities.N…`
error paths stand for, and the fields each answered entity must have."""

from __future__ import annotations

from typing import Any

from router.execute.data_tree import deep_merge, select_objects_with_paths
from router.execute.projection import Projector, json_key
from router.operation.ir import Field, InlineFragment
from router.plan.nodes import Fetch
from router.types import JSONObject, ResponsePath


class Representations:
    """The representations an entity fetch sends, de-duplicated: `places[i]` are the objects
    the answer to `items[i]` is merged into."""

    def __init__(self, objects: list[JSONObject], projector: Projector) -> None:
        self.items: list[JSONObject]
        self.places: list[list[JSONObject]]
        if projector.represent is not None:  # the loop below, generated (projection.py)
            self.items, self.places = projector.represent(objects)
            return
        self.items, self.places = [], []
        seen: dict[Any, int] = {}
        project, flat = projector.project, projector.flat
        for obj in objects:
            representation = project(obj)
            if representation is None:
                continue
            if flat:
                key: Any = tuple(representation.values())
                try:
                    index = seen.get(key)
                except TypeError:  # a JSON scalar with a list or an object in it
                    key = json_key(representation)
                    index = seen.get(key)
            else:
                key = json_key(representation)
                index = seen.get(key)
            if index is None:
                seen[key] = len(self.items)
                self.items.append(representation)
                self.places.append([obj])
            else:
                self.places[index].append(obj)


class EntityErrorPaths:
    """`_entities.N…` error paths rewritten to the client path of the first object entity N
    came from (the fetch's own path when unknown); paths are worked out only when an error
    needs one."""

    def __init__(
        self, data: JSONObject, path: tuple[str, ...], places: list[list[JSONObject]]
    ) -> None:
        self.data = data
        self.path = path
        self.places = places
        self.flat_path: ResponsePath = [p for p in path if p != "@"]
        self._where: dict[int, ResponsePath] = {}

    def __call__(self, path: Any) -> ResponsePath | None:
        if (
            isinstance(path, list)
            and len(path) >= 2
            and path[0] == "_entities"
            and isinstance(path[1], int)
        ):
            if 0 <= path[1] < len(self.places):
                if not self._where:
                    self._where.update(
                        (id(obj), trail)
                        for obj, trail in select_objects_with_paths(self.data, self.path)
                    )
                found = self._where.get(id(self.places[path[1]][0]))
                if found is not None:
                    return [*found, *path[2:]]
        return self.flat_path or None


def entity_fields(fetch: Fetch) -> dict[str, tuple[str, ...]]:
    """The fields an entity fetch must answer for each type it names: `... on T { a b }` →
    {"T": ("a", "b")} (fields under @skip / @include, or a conditional fragment, left out)."""
    expected: dict[str, tuple[str, ...]] = {}
    for selection in fetch.selections:
        if (
            isinstance(selection, InlineFragment)
            and selection.type_condition is not None
            and not selection.conditions
            and not selection.directives
        ):
            names = tuple(
                s.response_name
                for s in selection.selections
                if isinstance(s, Field) and unconditional(s)
            )
            expected[selection.type_condition] = expected.get(selection.type_condition, ()) + names
    return expected


def unconditional(field: Field) -> bool:
    """Whether the subgraph must answer `field` (no @skip / @include may leave it out)."""
    return not field.conditions and not any(d in field.directives for d in ("@skip", "@include"))


def merge_entities(
    data: JSONObject, path: tuple[str, ...], entities: list[Any], places: list[list[JSONObject]]
) -> list[ResponsePath]:
    """Each answered entity merged into every object it came from (`places`, under `path` in
    `data`); the response paths of those answered `null` (the subgraph has none: the nulls
    they cause are silent)."""
    nulls: set[int] = set()
    for index, entity in enumerate(entities):
        if isinstance(entity, dict):
            for obj in places[index]:
                if obj.keys().isdisjoint(entity):  # nothing to merge into: deep_merge's result
                    obj.update(entity)
                else:
                    deep_merge(obj, entity)
        elif entity is None:
            nulls.update(id(obj) for obj in places[index])
    if not nulls:
        return []
    return [trail for obj, trail in select_objects_with_paths(data, path) if id(obj) in nulls]


def missing_fields(
    expected: dict[str, tuple[str, ...]], entities: list[Any], representations: list[JSONObject]
) -> list[tuple[int, str]]:
    """The first field each answered entity lacks of those it was asked for (`expected`, per
    type: entity_fields), with the entity's index: such an entity is malformed, as a root field
    answered without a field is."""
    if not expected:
        return []
    only = next(iter(expected.values())) if len(expected) == 1 else None
    missing = []
    for index, entity in enumerate(entities):
        if entity.__class__ is not dict:
            continue
        names = only
        if names is None:
            names = expected.get(str(representations[index].get("__typename")), ())
        for name in names:
            if name not in entity:
                missing.append((index, name))
                break
    return missing

"""The data tree a plan's fetches write into: the objects at a plan path (`@` = each list
item), with or without their concrete response paths, and the deep merge of an answer into an
object."""

from __future__ import annotations

from typing import Any

from router.types import JSONObject, ResponsePath


def select_objects(data: Any, path: tuple[str, ...]) -> list[JSONObject]:
    """Every object at `path` (`@` = each list item), in document order.

    Level by level rather than recursively (the hot path: hundreds of objects per response);
    it visits the tree in the same order as select_objects_with_paths."""
    level: list[Any] = [data]
    for step in path:
        below: list[Any] = []
        if step == "@":
            for value in level:
                if value.__class__ is list:
                    below.extend(value)
        else:
            for value in level:
                if value.__class__ is dict:
                    found = value.get(step)
                    if found is not None:
                        below.append(found)
                elif value.__class__ is list:  # a list under a named step: each item
                    for item in _flatten(value):
                        if item.__class__ is dict:
                            found = item.get(step)
                            if found is not None:
                                below.append(found)
        level = below
    objects: list[JSONObject] = []
    for value in level:
        if value.__class__ is dict:
            objects.append(value)
        elif value.__class__ is list:  # a list below the last named field
            objects.extend(item for item in _flatten(value) if item.__class__ is dict)
    return objects


def _flatten(values: list[Any]) -> list[Any]:
    flat: list[Any] = []
    for value in values:
        if value.__class__ is list:
            flat.extend(_flatten(value))
        else:
            flat.append(value)
    return flat


def select_objects_with_paths(
    data: Any, path: tuple[str, ...]
) -> list[tuple[JSONObject, ResponsePath]]:
    """The same objects, each with its concrete response path (for error paths)."""
    found: list[tuple[JSONObject, ResponsePath]] = []

    def walk(value: Any, index: int, trail: ResponsePath) -> None:
        if value is None:
            return
        if index == len(path):
            if value.__class__ is dict:
                found.append((value, trail))
            elif value.__class__ is list:  # a list below the last named field
                for i, item in enumerate(value):
                    walk(item, index, [*trail, i])
            return
        step = path[index]
        if step == "@":
            if value.__class__ is list:
                for i, item in enumerate(value):
                    walk(item, index + 1, [*trail, i])
            return
        if value.__class__ is dict:
            walk(value.get(step), index + 1, [*trail, step])
        elif value.__class__ is list:
            for i, item in enumerate(value):
                walk(item, index, [*trail, i])

    walk(data, 0, [])
    return found


def deep_merge(target: JSONObject, source: JSONObject) -> None:
    """Merge `source` into `target` in place: objects key by key, lists item by item."""
    for key, value in source.items():
        current = target.get(key)
        if current is None:
            target[key] = value
            continue
        kind = current.__class__
        if kind is dict and value.__class__ is dict:
            deep_merge(current, value)
        elif kind is list and value.__class__ is list and len(current) == len(value):
            for i, item in enumerate(value):
                here = current[i]
                if here.__class__ is dict and item.__class__ is dict:
                    deep_merge(here, item)
                elif here.__class__ is list and item.__class__ is list:
                    holder = {"v": here}
                    deep_merge(holder, {"v": item})
                else:
                    current[i] = item
        else:
            target[key] = value

"""One error tree: every public exception the router package defines derives from RouterError
(router/errors.py draws the tree), under one name each, and the tree names every one."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import router
from router import errors
from router.errors import RouterError


def public_exceptions() -> dict[str, list[type[BaseException]]]:
    found: dict[str, list[type[BaseException]]] = {}
    for module in pkgutil.walk_packages(router.__path__, "router."):
        loaded = importlib.import_module(module.name)
        for name, value in vars(loaded).items():
            if (
                inspect.isclass(value)
                and issubclass(value, BaseException)
                and value.__module__ == loaded.__name__
                and not name.startswith("_")
            ):
                found.setdefault(name, []).append(value)
    return found


def test_every_public_exception_is_a_router_error_with_its_own_name() -> None:
    found = public_exceptions()
    assert len(found) >= 15  # the walk did reach the packages
    assert {name for name, classes in found.items() if len(classes) > 1} == set()
    outside = {name for name, (cls,) in found.items() if not issubclass(cls, RouterError)}
    assert outside == set()


def test_the_tree_in_errors_py_names_every_public_exception() -> None:
    tree = errors.__doc__ or ""
    assert sorted(name for name in public_exceptions() if name not in tree) == []

"""Deferred parts planned through their entity's key, as Apollo Router plans them.

A deferred fragment on an entity (an object type with a resolvable `@key`) is not fetched
again from the root: the part that encloses it (the Primary, or the deferred part it is
deferred inside) also fetches `__typename` and the key fields of the objects the fragment sits
on, and the fragment's own plan starts from them (router/plan/graph/from_key.py):

    Deferred(depends: [0], path: "order/customer") {
      Flatten(path: "order.customer") { Fetch(service: "customers") { {… on Customer {
        __typename id }} => {… on Customer { name }} } }
    }

Executed, a part runs over a copy of the data its parent fetched (its representations are
taken from the very objects the parent answered, list items included), then is shaped by its
own operation (the path from the root, then the fragment) as before, so its incremental
items are found where they always were.

The other parts keep their operation from the root (router/operation/defer.py): a fragment at
the root, one whose object is not an entity (or is of an abstract type without an object type
condition), one no key reaches. Their plans also fetch the keys of the parts deferred inside
them, which start from their data. So does, at run time, a part whose parent authorization
restricted for the requester: a restricted plan is made from the operation again, without the
keys (router/defer.py). A part that cannot be prepared (or given its parts' keys), and every
part inside it, is answered as an operation of its own.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace
from typing import Protocol

from graphql import (
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLUnionType,
    OperationDefinitionNode,
)

from router.errors import PlanningError, RequestError
from router.operation.defer import DeferSplit
from router.operation.ir import Field, InlineFragment, Selection
from router.plan.graph import GraphQueryPlanner
from router.plan.graph.from_key import plan_from_key
from router.plan.graph.walk import PlanningBudgetExceeded
from router.plan.nodes import (
    QueryPlan,
)
from router.plan.providers import provider
from router.prepare import Prepared

__all__ = ["Keyed", "KeyedDefer", "Keying", "Site", "augment", "key_defer", "locate"]

TYPENAME = Field("__typename")


class Keying(Protocol):
    """What keying a split asks of the router (Router)."""

    @property
    def api_schema(self) -> GraphQLSchema:
        """The API schema (the types along a part's path)."""

    @property
    def planner(self) -> GraphQueryPlanner:
        """The planner (a part's plan from its key)."""

    def prepare(
        self,
        query: str,
        operation_name: str | None = None,
        labels: frozenset[str] | None = None,
        *,
        count: bool = True,
    ) -> Prepared:
        """A part's prepared operation (Router.prepare)."""


@dataclass(frozen=True, slots=True)
class Site:
    """Where a deferred fragment sits, found in its part's operation."""

    type_name: str | None
    """The object type its objects are planned as from a key (their `__typename` must be
    it); None for an abstract type without an object type condition."""
    flat_path: tuple[str, ...]
    """Response keys from the root to its objects, `@` for each list level (a Flatten path)."""
    selections: tuple[Selection, ...]
    """What it selects there (the fragments around it kept)."""


@dataclass(frozen=True, slots=True)
class Keyed:
    """A deferred part as it runs: its prepared operation, with the plan from its entity's key
    (`site` set, `key` its key), with no plan of its own (`site` set, `inlined`: its parent
    fetches its selections, as Apollo does for a fragment on an object that is not an
    entity), or with its plan from the root (`site` None); its plan also fetches the keys of
    the parts inside it that start from its data."""

    prepared: Prepared
    site: Site | None
    addition: tuple[Selection, ...] = ()
    """What its parent's plan also selects at its objects: `__typename` and the key, or
    (inlined) its selections."""
    inlined: bool = False

    @property
    def from_key(self) -> bool:
        """Whether it starts from its parent's data (else it fetches from the root)."""
        return self.site is not None


@dataclass(frozen=True, slots=True)
class KeyedDefer:
    """A split operation's parts as they run: the Primary (its plan also fetching the keys
    its keyed parts start from) and each part keyed, or None (fetched from the root)."""

    primary: Prepared | None
    """None: no part is keyed (the Primary's own preparation is used)."""
    parts: tuple[Keyed | None, ...]
    ids: dict[int, str]
    """id() of each fetch that gives a keyed part its representations → its plan id."""
    depends: tuple[tuple[str, ...], ...]
    """Per part, the ids of the fetches it starts from."""


def locate(
    schema: GraphQLSchema, selections: tuple[Selection, ...], path: tuple[str, ...]
) -> Site | None:
    """The site of the fragment that a part's operation (`selections`: the path from the root,
    then the fragment) leads to; None at the root, or for a path that is not one chain of
    fields."""
    if not path:
        return None
    query = schema.query_type
    assert query is not None
    current: GraphQLObjectType | GraphQLInterfaceType | GraphQLUnionType = query
    flat: list[str] = []
    for key in path:
        found = _chain(selections, key, current, schema)
        if found is None:
            return None
        field, parent = found
        definition = parent.fields.get(field.name)
        if definition is None or field.selections is None:
            return None
        named, depth = _unwrap(definition.type)
        if not isinstance(named, (GraphQLObjectType, GraphQLInterfaceType, GraphQLUnionType)):
            return None
        flat += [key, *("@",) * depth]
        current = named
        selections = field.selections
    entity = current.name if isinstance(current, GraphQLObjectType) else None
    inner = selections
    while len(inner) == 1 and isinstance(inner[0], InlineFragment):
        condition = inner[0].type_condition
        if condition is not None and isinstance(schema.get_type(condition), GraphQLObjectType):
            entity = condition
        inner = inner[0].selections
    return Site(entity, tuple(flat), selections)


def _chain(
    selections: tuple[Selection, ...],
    key: str,
    parent: GraphQLObjectType | GraphQLInterfaceType | GraphQLUnionType,
    schema: GraphQLSchema,
) -> tuple[Field, GraphQLObjectType | GraphQLInterfaceType] | None:
    """The one field with response name `key` in `selections` (through inline fragments), and
    the type it is selected on."""
    found: list[tuple[Field, GraphQLObjectType | GraphQLInterfaceType]] = []

    def walk(items: tuple[Selection, ...], on: object) -> None:
        for item in items:
            if isinstance(item, Field):
                if item.response_name == key and isinstance(
                    on, (GraphQLObjectType, GraphQLInterfaceType)
                ):
                    found.append((item, on))
            else:
                condition = schema.get_type(item.type_condition) if item.type_condition else on
                walk(item.selections, condition)

    walk(selections, parent)
    return found[0] if len(found) == 1 else None


def _unwrap(output: object) -> tuple[object, int]:
    depth = 0
    while isinstance(output, (GraphQLNonNull, GraphQLList)):
        depth += isinstance(output, GraphQLList)
        output = output.of_type
    return output, depth


def augment(
    selections: tuple[Selection, ...],
    path: tuple[str, ...],
    addition: tuple[Selection, ...],
    first: bool = True,
) -> tuple[tuple[Selection, ...], int]:
    """`selections` with `addition` added at the end of `path` (response keys), at every
    field on it (through inline fragments), first (where Apollo's planner puts a key) or
    last; also how many places it was added at."""
    if not path:
        return ((*addition, *selections) if first else (*selections, *addition)), 1
    result: list[Selection] = []
    added = 0
    for item in selections:
        if isinstance(item, Field):
            if item.response_name == path[0] and item.selections is not None:
                inner, count = augment(item.selections, path[1:], addition, first)
                item, added = item.with_selections(inner), added + count
        else:
            inner, count = augment(item.selections, path, addition, first)
            if count:
                item = InlineFragment(
                    item.type_condition, inner, item.directives, item.variables, item.conditions
                )
                added += count
        result.append(item)
    return tuple(result), added


def key_defer(
    router: Keying, split: DeferSplit, operation_name: str | None, labels: frozenset[str]
) -> KeyedDefer:
    """How the parts of `split` run: the Primary's plan (also fetching the keys its keyed parts
    start from) and each part's (from its entity's key, or from the root; also fetching its
    own keyed parts' keys). A part that cannot be prepared so is None, and so is every part
    inside it: each is then answered as an operation of its own, which reports the errors."""
    plain = KeyedDefer(None, (None,) * len(split.parts), {}, ((),) * len(split.parts))
    try:
        primary = router.prepare(split.primary, operation_name, labels, count=False)
    except RequestError:
        return plain
    count = len(split.parts)
    keyed: list[Keyed | None] = [None] * count
    for index in reversed(range(count)):  # a part's own keyed parts first
        keyed[index] = _key_part(router, split, index, keyed, operation_name, labels)
    for index, part in enumerate(split.parts):  # inside a part that is None: None too
        if part.parent is not None and keyed[part.parent] is None:
            keyed[index] = None
    tops = [i for i, p in enumerate(split.parts) if p.parent is None]
    found = _with_children(router, primary, split, tops, keyed, labels)
    if found is None:
        return plain
    return _numbered(found, split, keyed)


def _key_part(
    router: Keying,
    split: DeferSplit,
    index: int,
    keyed: list[Keyed | None],
    operation_name: str | None,
    labels: frozenset[str],
) -> Keyed | None:
    """One part, its own parts decided already: from its entity's key when it can, else from
    the root; None when it cannot be prepared or its parts' keys cannot be added."""
    part = split.parts[index]
    try:
        prepared = router.prepare(part.operation, operation_name, labels, count=False)
    except RequestError:
        return None
    if prepared.operation.kind != "query":
        return None
    children = [
        i
        for i, p in enumerate(split.parts)
        if p.parent == index and (k := keyed[i]) is not None and k.from_key
    ]
    prepared = _declaring(prepared, [keyed[i] for i in children])
    site = locate(router.api_schema, prepared.operation.selections, part.path)
    if site is not None:
        selections = _with_keys(site.selections, split, children, keyed, part.path)
        if selections is not None and site.type_name is not None:
            try:
                found = plan_from_key(
                    router.planner,
                    prepared.operation,
                    site.type_name,
                    selections,
                    site.flat_path,
                    labels,
                )
            except (PlanningError, PlanningBudgetExceeded):
                found = None
            if found is not None:
                key = (InlineFragment(site.type_name, (TYPENAME, *found.key)),)
                return Keyed(replace(prepared, plan=found.plan), site, key)
        naming = (operation_name, labels)
        if selections is not None and _needs_no_more(router, split, index, prepared, naming):
            # no key: its parent fetches it, and it is only delivered later
            nothing = QueryPlan(None, ())
            return Keyed(replace(prepared, plan=nothing), site, selections, inlined=True)
    rooted = _with_children(router, prepared, split, children, keyed, labels)
    return None if rooted is None else Keyed(rooted, None)


def _needs_no_more(
    router: Keying,
    split: DeferSplit,
    index: int,
    prepared: Prepared,
    naming: tuple[str | None, frozenset[str]],
) -> bool:
    """Whether part `index` needs nothing of the requester that its parent does not (so its
    parent may fetch its selections: a requester the parent's fetches are not restricted for
    may see them; one they are restricted for has the part answered from the root)."""
    if prepared.needs is None:
        return True
    parent = split.parts[index].parent
    text = split.primary if parent is None else split.parts[parent].operation
    try:
        return router.prepare(text, *naming, count=False).needs == prepared.needs
    except RequestError:
        return False


def _with_children(
    router: Keying,
    prepared: Prepared,
    split: DeferSplit,
    children: list[int],
    keyed: list[Keyed | None],
    labels: frozenset[str],
) -> Prepared | None:
    """`prepared` (an operation from the root) planned to also fetch the keys its keyed
    `children` start from; None when they cannot be added or it cannot be planned so."""
    children = [i for i in children if (k := keyed[i]) is not None and k.from_key]
    if not children:
        return prepared
    prepared = _declaring(prepared, [keyed[i] for i in children])
    operation = prepared.operation
    selections = _with_keys(operation.selections, split, children, keyed, ())
    if selections is None:
        return None
    try:
        plan = router.planner.plan(replace(operation, selections=selections), labels)
    except (PlanningError, PlanningBudgetExceeded):
        return None
    return replace(prepared, plan=plan)


def _declaring(prepared: Prepared, children: list[Keyed | None]) -> Prepared:
    """`prepared` also declaring the variables of its inlined `children` (their selections are
    planned into its fetches, coerced with its variables): an operation of a split declares
    only those it uses itself."""
    operation = prepared.operation
    known = dict(operation.variable_definitions)
    nodes = list(operation.definition.variable_definitions or ())
    for child in children:
        if child is None or not child.inlined:
            continue
        theirs = child.prepared.operation
        for node in theirs.definition.variable_definitions or ():
            name = node.variable.name.value
            if name not in known:
                known[name] = theirs.variable_definitions[name]
                nodes.append(node)
    if len(nodes) == len(operation.definition.variable_definitions or ()):
        return prepared
    definition = operation.definition
    definition = OperationDefinitionNode(
        operation=definition.operation,
        name=definition.name,
        variable_definitions=tuple(nodes),
        directives=definition.directives,
        selection_set=definition.selection_set,
    )
    operation = replace(operation, variable_definitions=known, definition=definition)
    return replace(prepared, operation=operation)


def _with_keys(
    selections: tuple[Selection, ...],
    split: DeferSplit,
    children: list[int],
    keyed: list[Keyed | None],
    at: tuple[str, ...],
) -> tuple[Selection, ...] | None:
    """`selections` (at response path `at`) also selecting each keyed child's `__typename`
    and key at its objects; None when one cannot be placed."""
    for child in children:
        found = keyed[child]
        assert found is not None and found.site is not None
        path = split.parts[child].path[len(at) :]
        if not found.inlined and _taken(selections, path, _names(found.addition)):
            return None
        selections, added = augment(selections, path, found.addition, not found.inlined)
        if not added:
            return None
    return selections


def _names(addition: tuple[Selection, ...]) -> set[str]:
    """The response names a key addition (`... on T { __typename key… }`) selects."""
    names: set[str] = set()
    for item in addition:
        if isinstance(item, Field):
            names.add(item.response_name)
        else:
            names |= _names(item.selections)
    return names


def _taken(selections: tuple[Selection, ...], path: tuple[str, ...], names: set[str]) -> bool:
    """Whether some selection at the objects at `path` gives one of the key's response
    `names` to another field (`id: sku`, `id(format: X)`): its value would stand in the data
    where the representation's key is read."""
    for item in selections:
        if isinstance(item, InlineFragment):
            if _taken(item.selections, path, names):
                return True
        elif path:
            if item.response_name == path[0] and item.selections is not None:
                if _taken(item.selections, path[1:], names):
                    return True
        elif item.response_name in names and (item.name != item.response_name or item.arguments):
            return True
    return False


def _numbered(primary: Prepared, split: DeferSplit, keyed: list[Keyed | None]) -> KeyedDefer:
    """The plan ids: the fetch of its parent that gives each keyed part its objects."""
    counter = itertools.count()
    ids: dict[int, str] = {}
    depends: list[tuple[str, ...]] = []
    for index, part in enumerate(split.parts):
        found = keyed[index]
        parent = _fetching(primary, split, keyed, part.parent)
        if found is None or found.site is None or found.inlined or parent is None:
            depends.append(())
            continue
        plan = parent.plan
        fetch = provider(plan, found.site.flat_path)
        if fetch is None:
            depends.append(())
            continue
        if id(fetch) not in ids:
            ids[id(fetch)] = str(next(counter))
        depends.append((ids[id(fetch)],))
    return KeyedDefer(primary, tuple(keyed), ids, tuple(depends))


def _fetching(
    primary: Prepared, split: DeferSplit, keyed: list[Keyed | None], index: int | None
) -> Prepared | None:
    """The nearest of part `index` and its parents (the Primary at last) that is not inlined:
    the one whose plan fetches for it."""
    while index is not None:
        found = keyed[index]
        if found is None:
            return None
        if not found.inlined:
            return found.prepared
        index = split.parts[index].parent
    return primary

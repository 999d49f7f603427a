"""Random operations that are valid against a schema, for differential and oracle tests.

`random_operation(schema, choose)` draws one operation (and its variables) from a GraphQL schema,
usually a supergraph's API schema. Every choice goes through a `Chooser`: `RandomChooser` over a
seeded `random.Random` (the differential harness), `HypothesisChooser` over hypothesis's
`st.data()` (property tests: a failure shrinks to a small operation, because every choice shrinks
towards "no": fewer selections, no alias, no fragment, no directive).

What the operations contain, all valid by construction (`graphql.validate` finds nothing):

- fields with their required arguments, some optional ones; values inline or as variables
  (some with defaults, some defaults holding `" @"` text), from `literals` where given;
- aliases: fresh ones, ones that reuse another field's name of the same type (`id: name`,
  `name: id`), the same alias for the same field twice;
- inline fragments with a type condition (any type whose possible types overlap the enclosing
  one, so nested conditions can be impossible: `... on Iface { ... on Obj { f } }` where no object
  reaches both), inline fragments without one, named fragments (spread once or twice);
- `@skip` / `@include` with literals and variables, on fields, inline fragments and spreads,
  sometimes on every selection of a set, so the whole sub-selection is empty;
- `__typename` at any level, leaf fields at the bottom (`max_depth`), at most about
  `max_selections` fields in all.

Responses stay mergeable: within one response object, a response name always denotes the same
field with the same arguments and the same type shape (`_Scope`), which is what the
"OverlappingFieldsCanBeMerged" rule asks, conservatively.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Protocol, TypeVar

from graphql import (
    GraphQLArgument,
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLUnionType,
    Undefined,
    ast_from_value,
    get_named_type,
    is_composite_type,
    is_leaf_type,
    print_ast,
    value_from_ast,
)

__all__ = [
    "Chooser",
    "GeneratedOperation",
    "HypothesisChooser",
    "Literals",
    "RandomChooser",
    "random_operation",
]

T = TypeVar("T")

Literals = Mapping[str, Sequence[Any]]
"""JSON values by `"Type.field.arg"`, or by input type name (`"ID"`, an enum, an input type)."""

_NO_LITERALS: Literals = MappingProxyType({})

# Strings for String arguments and defaults; the last ones hold " @", which a printer that cuts
# variable definitions at the first directive would truncate.
_STRINGS = ("a", "hello", "", "x @y", "hello @world", "@ @skip(if: true)")
_AT_DEFAULTS = ("hello @world", "x @include(if: false)")


class Chooser(Protocol):
    """The only source of randomness of the generator."""

    def integer(self, low: int, high: int) -> int:
        """An integer in `[low, high]` (both included)."""
        ...

    def choice(self, options: Sequence[T]) -> T:
        """One of `options` (not empty)."""
        ...

    def boolean(self) -> bool:
        """True or False."""
        ...


class RandomChooser:
    """Choices from `random.Random(seed)`: the same seed, the same operations."""

    def __init__(self, seed: int | str) -> None:
        self._random = random.Random(seed)

    def integer(self, low: int, high: int) -> int:
        return self._random.randint(low, high)

    def choice(self, options: Sequence[T]) -> T:
        return options[self._random.randrange(len(options))]

    def boolean(self) -> bool:
        return self._random.random() < 0.5


class HypothesisChooser:
    """Choices drawn from hypothesis's `st.data()`, so that failures shrink."""

    def __init__(self, data: Any) -> None:
        from hypothesis import strategies as st

        self._data = data
        self._st = st

    def integer(self, low: int, high: int) -> int:
        return int(self._data.draw(self._st.integers(low, high)))

    def choice(self, options: Sequence[T]) -> T:
        index: int = self._data.draw(self._st.integers(0, len(options) - 1))
        return options[index]

    def boolean(self) -> bool:
        return bool(self._data.draw(self._st.booleans()))


@dataclass(frozen=True, slots=True)
class GeneratedOperation:
    """One document with one operation, its variables and its name (None: anonymous)."""

    query: str
    variables: dict[str, Any]
    operation_name: str | None


def random_operation(
    schema: GraphQLSchema,
    choose: Chooser,
    literals: Literals = _NO_LITERALS,
    *,
    max_depth: int = 5,
    max_selections: int = 30,
    kinds: frozenset[str] = frozenset({"query"}),
) -> GeneratedOperation:
    """A random operation valid against `schema`, of one of `kinds` ("query", "mutation")."""
    roots = {"query": schema.query_type, "mutation": schema.mutation_type}
    unknown = kinds - roots.keys()
    if unknown:
        raise ValueError(f"unsupported operation kinds: {sorted(unknown)}")
    available = sorted(kind for kind in kinds if roots[kind] is not None)
    if not available:
        raise ValueError(f"the schema has no root type for {sorted(kinds)}")
    kind = choose.choice(available)
    root = roots[kind]
    assert root is not None
    return _Builder(schema, choose, literals, max_depth, max_selections).operation(kind, root)


@dataclass(slots=True)
class _Use:
    """What a response name denotes in one response object."""

    field_name: str
    arguments: dict[str, str]  # argument name → printed value (a literal or `$variable`)
    shape: str
    scope: _Scope | None  # the sub-selection's scope, shared by every use of the name


@dataclass(slots=True)
class _Scope:
    """The response names of one response object, across all fragments that merge into it."""

    uses: dict[str, _Use] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _Fragment:
    name: str
    type_condition: str
    scope: _Scope


def _shape(type_: GraphQLOutputType) -> str:
    """The type as the merge rule compares it: wrappers kept, composite types all alike."""
    if isinstance(type_, GraphQLNonNull):
        return _shape(type_.of_type) + "!"
    if isinstance(type_, GraphQLList):
        return "[" + _shape(type_.of_type) + "]"
    return type_.name if is_leaf_type(type_) else "*"


class _Builder:
    """The state of one draw: variables, fragments and the selection budget."""

    def __init__(
        self,
        schema: GraphQLSchema,
        choose: Chooser,
        literals: Literals,
        max_depth: int,
        max_selections: int,
    ) -> None:
        self.schema = schema
        self.choose = choose
        self.literals = literals
        self.max_depth = max_depth
        self.max_selections = max_selections
        self.selections = 0
        self.variable_definitions: list[str] = []
        self.variables: dict[str, Any] = {}
        self.fragments: list[str] = []
        self.finished_fragments: list[_Fragment] = []
        self.names = 0
        self.composite_types = sorted(
            (
                t
                for name, t in schema.type_map.items()
                if not name.startswith("__") and is_composite_type(t)
            ),
            key=lambda t: t.name,
        )

    # -- choices -------------------------------------------------------------------------------

    def chance(self, one_in: int) -> bool:
        """True about once in `one_in` draws; shrinks to False."""
        return self.choose.integer(0, one_in - 1) == one_in - 1

    def fresh(self, prefix: str) -> str:
        self.names += 1
        return f"{prefix}{self.names}"

    # -- the document --------------------------------------------------------------------------

    def operation(self, kind: str, root: GraphQLObjectType) -> GeneratedOperation:
        body = self.selection_set(root, 1, _Scope(), 0)
        name = self.choose.choice((None, "Generated", "Op"))
        if name is None and not self.variable_definitions and kind == "query" and self.chance(2):
            head = ""
        else:
            head = kind + (f" {name}" if name else "")
            if self.variable_definitions:
                head += "(" + ", ".join(self.variable_definitions) + ")"
            head += " "
        parts = [head + body, *self.fragments]
        if len(parts) > 1 and self.chance(3):
            parts = [*parts[1:], parts[0]]  # fragments before the operation
        return GeneratedOperation("\n\n".join(parts) + "\n", dict(self.variables), name)

    def selection_set(
        self, parent: GraphQLNamedType, depth: int, scope: _Scope, fragment_depth: int
    ) -> str:
        count = 1 if self.selections >= self.max_selections else self.choose.integer(1, 4)
        drop_all = self.chance(10)
        items = []
        for _ in range(count):
            head, body = self.selection(parent, depth, scope, fragment_depth)
            if drop_all:
                head += self.directive(keep=False)
            elif self.chance(6):
                head += self.directive(keep=self.choose.boolean())
            items.append(f"{head} {body}" if body else head)
        return "{ " + " ".join(items) + " }"

    def selection(
        self, parent: GraphQLNamedType, depth: int, scope: _Scope, fragment_depth: int
    ) -> tuple[str, str]:
        """One selection as its head (where directives go) and its selection set, if any."""
        kinds = ["field"]
        if self.selections < self.max_selections:
            kinds.append("typename")
            if fragment_depth < 3:
                kinds += ["inline", "untyped", "named"]
                if any(self.reusable(f, parent, scope) for f in self.finished_fragments):
                    kinds.append("spread")
        kind = self.choose.choice(kinds)
        if kind == "inline":
            condition = self.choose.choice(self.overlapping(parent))
            body = self.selection_set(condition, depth, scope, fragment_depth + 1)
            return f"... on {condition.name}", body
        if kind == "untyped":
            return "...", self.selection_set(parent, depth, scope, fragment_depth + 1)
        if kind == "named":
            condition = self.choose.choice(self.overlapping(parent))
            name = self.fresh("F")
            body = self.selection_set(condition, depth, scope, fragment_depth + 1)
            self.fragments.append(f"fragment {name} on {condition.name} {body}")
            self.finished_fragments.append(_Fragment(name, condition.name, scope))
            return f"...{name}", ""
        if kind == "spread":
            reusable = [f for f in self.finished_fragments if self.reusable(f, parent, scope)]
            return f"...{self.choose.choice(reusable).name}", ""
        if kind == "typename" or not isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
            return self.typename(scope), ""
        return self.field(parent, depth, scope)

    def reusable(self, fragment: _Fragment, parent: GraphQLNamedType, scope: _Scope) -> bool:
        """A finished fragment spreads again only into the response object it was made for."""
        if fragment.scope is not scope:
            return False
        condition = self.schema.get_type(fragment.type_condition)
        return condition is not None and self.overlaps(condition, parent)

    # -- type conditions -----------------------------------------------------------------------

    def possible(self, type_: GraphQLNamedType) -> set[str]:
        if isinstance(type_, GraphQLInterfaceType | GraphQLUnionType):
            return {t.name for t in self.schema.get_possible_types(type_)}
        return {type_.name}

    def overlaps(self, a: GraphQLNamedType, b: GraphQLNamedType) -> bool:
        return bool(self.possible(a) & self.possible(b))

    def overlapping(self, parent: GraphQLNamedType) -> list[GraphQLNamedType]:
        """Valid type conditions inside `parent`, `parent` itself first."""
        others = [t for t in self.composite_types if t is not parent and self.overlaps(t, parent)]
        return [parent, *others]

    # -- fields --------------------------------------------------------------------------------

    def typename(self, scope: _Scope) -> str:
        self.selections += 1
        alias = None
        if self.chance(5):
            alias = self.fresh("t")
        name = alias or "__typename"
        use = scope.uses.get(name)
        if use is not None and (use.field_name != "__typename" or use.shape != "String!"):
            alias = self.fresh("t")
            name = alias
        scope.uses.setdefault(name, _Use("__typename", {}, "String!", None))
        return f"{alias}: __typename" if alias else "__typename"

    def field(
        self, parent: GraphQLObjectType | GraphQLInterfaceType, depth: int, scope: _Scope
    ) -> tuple[str, str]:
        fields = parent.fields
        names = sorted(
            name
            for name, f in fields.items()
            if (depth < self.max_depth and self.selections < self.max_selections)
            or is_leaf_type(get_named_type(f.type))
        )
        if not names:
            return self.typename(scope), ""
        self.selections += 1
        name = self.choose.choice(names)
        definition = fields[name]
        shape = _shape(definition.type)

        response = self.response_name(name, shape, parent, scope)
        use = scope.uses.get(response)
        if use is not None and not self.compatible(use, name, definition):
            response = self.fresh("a")
            use = None
        if use is None:
            arguments = self.arguments(parent.name, name, definition)
            child = _Scope() if is_composite_type(get_named_type(definition.type)) else None
            use = _Use(name, arguments, shape, child)
            scope.uses[response] = use
        text = name if response == name else f"{response}: {name}"
        if use.arguments:
            text += "(" + ", ".join(f"{k}: {v}" for k, v in use.arguments.items()) + ")"
        if use.scope is None:
            return text, ""
        named = get_named_type(definition.type)
        return text, self.selection_set(named, depth + 1, use.scope, 0)

    def response_name(
        self,
        name: str,
        shape: str,
        parent: GraphQLObjectType | GraphQLInterfaceType,
        scope: _Scope,
    ) -> str:
        """No alias, another field's name of the type, a fresh alias, or one used before."""
        option = self.choose.integer(0, 5)
        if option <= 2:
            return name
        if option == 3:
            others = sorted(n for n in parent.fields if n != name)
            return self.choose.choice(others) if others else name
        if option == 4:
            return self.fresh("a")
        earlier = sorted(
            alias
            for alias, use in scope.uses.items()
            if use.field_name == name and use.shape == shape and alias != name
        )
        return self.choose.choice(earlier) if earlier else name

    def compatible(self, use: _Use, definition_name: str, definition: GraphQLField) -> bool:
        """Whether `definition` can repeat `use` (its arguments exist, its required ones given)."""
        if use.field_name != definition_name or use.shape != _shape(definition.type):
            return False
        if not set(use.arguments) <= set(definition.args):
            return False
        return all(
            name in use.arguments
            for name, argument in definition.args.items()
            if _required(argument)
        )

    # -- arguments and values ------------------------------------------------------------------

    def arguments(
        self, type_name: str, field_name: str, definition: GraphQLField
    ) -> dict[str, str]:
        chosen: dict[str, str] = {}
        for name in sorted(definition.args):
            argument = definition.args[name]
            if not _required(argument) and not self.chance(3):
                continue
            value = self.value(argument.type, self.literals.get(f"{type_name}.{field_name}.{name}"))
            if self.chance(3):
                chosen[name] = self.variable(argument.type, value)
            else:
                chosen[name] = _print_value(value, argument.type)
        return chosen

    def variable(self, type_: GraphQLInputType, value: Any) -> str:
        """A new variable of `type_` given `value`; some have a default, some rely on it."""
        name = self.fresh("v")
        declared = type_
        definition = f"${name}: {declared}"
        provide = True
        if self.chance(3):
            default = value
            nullable = type_.of_type if isinstance(type_, GraphQLNonNull) else type_
            if getattr(nullable, "name", None) == "String" and self.choose.boolean():
                default = self.choose.choice(_AT_DEFAULTS)
            if isinstance(type_, GraphQLNonNull) and self.choose.boolean():
                declared = type_.of_type  # nullable with a default, in a non-null position
            definition = f"${name}: {declared} = {_print_value(default, declared)}"
            provide = default != value or self.choose.boolean()
        self.variable_definitions.append(definition)
        if provide:
            self.variables[name] = value
        return f"${name}"

    def value(self, type_: GraphQLInputType, candidates: Sequence[Any] | None = None) -> Any:
        """A JSON value of `type_`: one of `candidates` or the literals, else a made-up one."""
        if candidates:
            usable = [c for c in candidates if _coerces(c, type_)]
            if usable:
                return self.choose.choice(usable)
        if isinstance(type_, GraphQLNonNull):
            return self.value(type_.of_type)
        if isinstance(type_, GraphQLList):
            return [self.value(type_.of_type) for _ in range(self.choose.integer(0, 2))]
        named = get_named_type(type_)
        known = [c for c in self.literals.get(named.name, ()) if _coerces(c, type_)]
        if known:
            return self.choose.choice(known)
        if isinstance(named, GraphQLEnumType):
            return self.choose.choice(sorted(named.values))
        if isinstance(named, GraphQLInputObjectType):
            return {
                name: self.value(f.type)
                for name, f in sorted(named.fields.items())
                if _required(f) or self.chance(3)
            }
        assert isinstance(named, GraphQLScalarType)
        if named.name in ("Int", "Float"):
            return self.choose.integer(0, 3)
        if named.name == "Boolean":
            return self.choose.boolean()
        if named.name == "ID":
            return self.choose.choice(("1", "2", "3"))
        return self.choose.choice(_STRINGS)

    def directive(self, *, keep: bool) -> str:
        """` @skip` or ` @include` that keeps (or drops) the selection, literal or variable."""
        which = self.choose.choice(("skip", "include"))
        condition = keep if which == "include" else not keep
        if self.chance(2):
            name = self.fresh("c")
            if self.chance(3):
                self.variable_definitions.append(f"${name}: Boolean = {str(condition).lower()}")
            else:
                self.variable_definitions.append(f"${name}: Boolean!")
                self.variables[name] = condition
            return f" @{which}(if: ${name})"
        return f" @{which}(if: {str(condition).lower()})"


def _required(argument: GraphQLArgument | Any) -> bool:
    return isinstance(argument.type, GraphQLNonNull) and argument.default_value is Undefined


def _print_value(value: Any, type_: GraphQLInputType) -> str:
    node = ast_from_value(value, type_)
    assert node is not None, f"{value!r} is not a value of {type_}"
    return print_ast(node)


def _coerces(value: Any, type_: GraphQLInputType) -> bool:
    try:
        node = ast_from_value(value, type_)
    except (TypeError, ValueError, Exception):
        return False
    return node is not None and value_from_ast(node, type_) is not Undefined

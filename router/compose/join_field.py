"""`@join__field`: which subgraphs resolve a supergraph field and how (external, @requires,
@provides, @override and its label, a type of its own, arguments from a context), printed only
where the field is not simply resolved alike by every subgraph of its type."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from graphql import GraphQLError

from router.compose.context_value import contextual_arguments, parse_context
from router.compose.field_set import used_fields
from router.compose.merge import Merged, graph_enum_name
from router.compose.subgraph import SField, SType, Subgraph, is_external
from router.operation.ir import Field, parse_field_set


@dataclass
class FieldSource:
    """One subgraph's definition of a supergraph field, with the type it sits on."""

    subgraph: Subgraph
    stype: SType
    field: SField

    @property
    def graph(self) -> str:
        """The subgraph's `join__Graph` enum value."""
        return graph_enum_name(self.subgraph.name)


class JoinFields:
    """The `@join__field` directives of supergraph fields, for the composed subgraphs."""

    def __init__(self, subgraphs: Sequence[Subgraph]) -> None:
        self.subgraphs = subgraphs

    @staticmethod
    def external(source: FieldSource) -> bool:
        """The subgraph's definition is `@external` (it does not resolve the field)."""
        return is_external(source.subgraph, source.stype, source.field)

    def _overrides(self, source: FieldSource) -> bool:
        """An @override naming a subgraph that exists (an unknown one is ignored, with a hint)."""
        origin = source.field.arg("override", "from")
        return origin is not None and any(s.name == origin for s in self.subgraphs)

    def _still_used(self, source: FieldSource) -> bool:
        """An overridden field its subgraph still needs: a key field, a field its @requires or
        @provides select, or the implementation of an interface field there."""
        name = source.field.name
        if (source.stype.name, name) in used_fields(source.subgraph):
            return True
        return any(
            name in source.subgraph.types[i].fields
            for i in source.stype.interfaces
            if i in source.subgraph.types
        )

    @staticmethod
    def _requires(source: FieldSource) -> str:
        """The @requires field set; in a Fed 1 subgraph without the fields it resolves itself,
        as Apollo's upgrade of Fed 1 subgraphs drops them."""
        fields = str(source.field.arg("requires", "fields"))
        if source.subgraph.federation2:
            return fields
        try:
            selections = parse_field_set(fields)
        except GraphQLError:
            return fields
        if not all(isinstance(s, Field) and not s.selections for s in selections):
            return fields
        kept = [
            s.name
            for s in selections
            if isinstance(s, Field)
            and (s.name not in source.stype.fields or source.stype.fields[s.name].has("external"))
        ]
        return " ".join(kept) if kept else fields

    def directives(self, merged: Merged, sources: list[FieldSource], field_type: str) -> list[str]:
        """The `@join__field`s of one field of `merged` defined by `sources` (none when every
        subgraph of the type resolves it alike)."""
        by_graph = {s.subgraph.name: s for s in sources}
        overridden: dict[str, tuple[str, str | None]] = {}  # overridden subgraph → (by, label)
        for source in sources:
            origin = source.field.arg("override", "from")
            if (
                self._overrides(source)
                and origin in by_graph
                and not self.external(by_graph[origin])
            ):
                overridden[origin] = (source.subgraph.name, source.field.arg("override", "label"))
        types_differ = len({s.field.type for s in sources}) > 1
        special = types_differ or any(
            self.external(s)
            or s.field.has("requires")
            or s.field.has("provides")
            or self._overrides(s)
            or contextual_arguments([s.field])
            for s in sources
        )
        if not special and not overridden and set(by_graph) == set(merged.graphs):
            return []
        lines = []
        for source in sources:
            args = [f"graph: {source.graph}"]
            sfield = source.field
            if source.subgraph.name in overridden:
                _, label = overridden[source.subgraph.name]
                if label is not None:
                    args.append(f"overrideLabel: {string_literal(label)}")
                elif self._still_used(source):
                    args.append("usedOverridden: true")
                else:
                    continue  # fully overridden and unused: the subgraph no longer has it
            if sfield.has("requires"):
                args.append(f"requires: {string_literal(self._requires(source))}")
            if sfield.has("provides"):
                args.append(f"provides: {string_literal(str(sfield.arg('provides', 'fields')))}")
            if sfield.has("override"):  # printed even when the source does not exist, as Apollo
                args.append(f"override: {string_literal(str(sfield.arg('override', 'from')))}")
                label = sfield.arg("override", "label")
                if label is not None and sfield.arg("override", "from") in by_graph:
                    # A label only means something while the source still resolves the field.
                    args.append(f"overrideLabel: {string_literal(str(label))}")
            if types_differ:
                args.append(f"type: {string_literal(sfield.type)}")
            if self.external(source):
                args.append("external: true")
            context_arguments = self._context_arguments(source)
            if context_arguments:
                args.append(f"contextArguments: [{', '.join(context_arguments)}]")
            lines.append(f"@join__field({', '.join(args)})")
        return lines

    @staticmethod
    def _context_arguments(source: FieldSource) -> list[str]:
        """The field's arguments that take their value from a context in this subgraph, as
        `join__ContextArgument` values (the context named as the type's @context is)."""
        found = []
        for name, argument in source.field.arguments.items():
            value = argument.arg("fromContext", "field")
            reference = parse_context(str(value)) if value is not None else None
            if reference is None:
                continue
            context = string_literal(f"{source.subgraph.name}__{reference.context}")
            value_type = string_literal(argument.type)
            found.append(
                f"{{context: {context}, name: {string_literal(name)}, type: {value_type},"
                f" selection: {string_literal(reference.selection)}}}"
            )
        return found


def named_type(type_text: str) -> str:
    """The named type of a type reference: `[Int!]!` → `Int`."""
    return type_text.replace("[", "").replace("]", "").replace("!", "")


def string_literal(value: str | None) -> str:
    """A GraphQL string literal for `value` (None as the empty string)."""
    escaped = (value or "").replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return '"' + escaped + '"'

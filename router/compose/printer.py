"""Print the supergraph SDL from the merged types (`@link` v1.0, join v0.3 to v0.5 as join.py
chooses), with the join metadata that says which subgraph resolves what, and collect which
linked features (inaccessible, tag, cost, context) were used."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from router.compose.access import AccessControl
from router.compose.composed import composed_directives
from router.compose.context_value import contextual_arguments
from router.compose.errors import CompositionError
from router.compose.executable import executable_directives
from router.compose.join import join_definitions, join_machinery, join_url, join_version
from router.compose.join_field import FieldSource, JoinFields, named_type, string_literal
from router.compose.merge import Merged, _strictest, graph_enum_name, implementations
from router.compose.subgraph import SField, Subgraph

LINK = "https://specs.apollo.dev/link/v1.0"
INACCESSIBLE = "https://specs.apollo.dev/inaccessible/v0.2"
TAG = "https://specs.apollo.dev/tag/v0.3"
COST = "https://specs.apollo.dev/cost/v0.1"
CONTEXT = "https://specs.apollo.dev/context/v0.1"

INACCESSIBLE_DEFINITION = (
    "directive @inaccessible on FIELD_DEFINITION | OBJECT | INTERFACE | UNION | ARGUMENT_DEFINITION"
    " | SCALAR | ENUM | ENUM_VALUE | INPUT_OBJECT | INPUT_FIELD_DEFINITION"
)
TAG_DEFINITION = (
    "directive @tag(name: String!) repeatable on FIELD_DEFINITION | OBJECT | INTERFACE | UNION"
    " | ARGUMENT_DEFINITION | SCALAR | ENUM | ENUM_VALUE | INPUT_OBJECT | INPUT_FIELD_DEFINITION"
    " | SCHEMA"
)

CONTEXT_DEFINITIONS = (
    "directive @context(name: String!) repeatable on INTERFACE | OBJECT | UNION\n\n"
    "directive @context__fromContext(field: context__ContextFieldValue) on ARGUMENT_DEFINITION"
    "\n\nscalar context__ContextFieldValue"
)

COST_DEFINITIONS = (
    "directive @cost(weight: Int!) on ARGUMENT_DEFINITION | ENUM | FIELD_DEFINITION"
    " | INPUT_FIELD_DEFINITION | OBJECT | SCALAR\n\n"
    "directive @listSize(assumedSize: Int, slicingArguments: [String!], sizedFields: [String!],"
    " requireOneSlicingArgument: Boolean = true) on FIELD_DEFINITION"
)


class Printer:
    """Prints the supergraph; collects which linked features (inaccessible, tag, cost,
    context) were used."""

    def __init__(self, subgraphs: Sequence[Subgraph]) -> None:
        self.subgraphs = subgraphs
        self.merged: dict[str, Merged] = {}
        self.uses_inaccessible = False
        self.uses_tag = False
        self.uses_cost = False
        self.uses_context = False
        self.hints: list[CompositionError] = []
        self.access = AccessControl(subgraphs, {})
        self.composed = composed_directives(subgraphs)
        self.join_fields = JoinFields(subgraphs)

    # --- whole document ------------------------------------------------------------------

    def document(self, merged: dict[str, Merged]) -> str:
        """The supergraph SDL for the merged types: the schema with its `@link`s, the directive
        definitions, each type sorted by name with its join directives, then `join__Graph` and
        the join machinery."""
        self.merged = merged
        self.access = AccessControl(self.subgraphs, implementations(merged))
        types = [self.type(merged[name]) for name in sorted(merged)]
        roots = [
            (kind, root)
            for kind, root in (
                ("query", "Query"),
                ("mutation", "Mutation"),
                ("subscription", "Subscription"),
            )
            if root in merged
        ]
        version = join_version(self.subgraphs)
        links = [f'  @link(url: "{LINK}")', f'  @link(url: "{join_url(version)}", for: EXECUTION)']
        definitions = [join_definitions(version)]
        if self.uses_inaccessible:
            links.append(f'  @link(url: "{INACCESSIBLE}", for: SECURITY)')
            definitions.append(INACCESSIBLE_DEFINITION)
        if self.uses_tag:
            links.append(f'  @link(url: "{TAG}")')
            definitions.append(TAG_DEFINITION)
        if self.uses_cost:
            links.append(f'  @link(url: "{COST}", import: ["@cost", "@listSize"])')
            definitions.append(COST_DEFINITIONS)
        if self.uses_context:
            links.append(f'  @link(url: "{CONTEXT}", for: SECURITY)')
            definitions.append(CONTEXT_DEFINITIONS)
        links += [f"  {link}" for link in self.access.links() + self.composed.links]
        access = self.access.definitions()
        definitions += [d for d in access if d.startswith("directive ")]
        definitions += self.composed.definitions.values()
        schema = "schema\n" + "\n".join(links) + "\n{\n"
        schema += "".join(f"  {kind}: {root}\n" for kind, root in roots) + "}"
        graph_enum = (
            "enum join__Graph {\n"
            + "\n".join(
                f'  {graph_enum_name(s.name)} @join__graph(name: "{s.name}", url: "{s.url}")'
                for s in self.subgraphs
            )
            + "\n}"
        )
        executable, hints = executable_directives(self.subgraphs)
        self.hints = hints + self.access.hints + self.composed.hints
        definitions += executable
        directives = "\n\n".join(sorted("\n\n".join(definitions).split("\n\n")))
        scalars = [d for d in access if not d.startswith("directive ")]
        machinery = [graph_enum, join_machinery(version), *scalars]
        return "\n\n".join([schema, directives, *types, *machinery]) + "\n"

    # --- types ---------------------------------------------------------------------------

    def type(self, merged: Merged) -> str:
        """One merged type as the supergraph prints it: its join directives (`@join__type`,
        `@join__implements`, ...) and its fields, enum values or union members."""
        head = self._description(merged.description(), "")
        keyword = {
            "object": "type",
            "interface": "interface",
            "union": "union",
            "enum": "enum",
            "input": "input",
            "scalar": "scalar",
        }[merged.kind]
        head += f"{keyword} {merged.name}"
        if merged.kind in ("object", "interface"):
            interfaces = self._ordered(i for _, t in merged.parts for i in t.interfaces)
            if interfaces:
                head += " implements " + " & ".join(interfaces)
        directives = self._type_directives(merged)
        if merged.kind == "scalar":
            return head + directives
        if merged.kind == "union":
            members = self._ordered(m for _, t in merged.parts for m in t.members)
            return head + directives + " = " + " | ".join(members)
        # Apollo puts the opening brace on its own line after directives.
        brace = "\n{\n" if directives else " {\n"
        if merged.kind == "enum":
            return head + directives + brace + self._enum_values(merged) + "\n}"
        if merged.kind == "input":
            return head + directives + brace + self._input_fields(merged) + "\n}"
        return head + directives + brace + self._fields(merged) + "\n}"

    def _type_directives(self, merged: Merged) -> str:
        lines: list[str] = []
        for subgraph, stype in merged.parts:  # Apollo prints @join__implements first
            graph = graph_enum_name(subgraph.name)
            lines += [
                f'@join__implements(graph: {graph}, interface: "{i}")' for i in stype.interfaces
            ]
        for subgraph, stype in merged.parts:
            graph = graph_enum_name(subgraph.name)
            is_root = merged.name in subgraph.roots.values() or merged.name == "Query"
            # As Apollo: only a key says it is an extension, and Fed 1's upgrade turns an
            # `extend type` into a definition (an @extends stays).
            extended = not is_root and (
                stype.has("extends") or (stype.extension and subgraph.federation2)
            )
            extension = ", extension: true" if extended else ""
            interface_object = ", isInterfaceObject: true" if stype.has("interfaceObject") else ""
            keys = stype.keys if merged.kind in ("object", "interface") else []
            if not keys:
                lines.append(f"@join__type(graph: {graph}{interface_object})")
            for key in keys:
                resolvable = "" if key.get("resolvable", True) else ", resolvable: false"
                fields = string_literal(str(key.get("fields", "")))
                lines.append(
                    f"@join__type(graph: {graph}, key: {fields}{extension}{resolvable}{interface_object})"
                )
        for subgraph, stype in merged.parts:
            graph = graph_enum_name(subgraph.name)
            lines += [f'@join__unionMember(graph: {graph}, member: "{m}")' for m in stype.members]
        for subgraph, stype in merged.parts:
            # Context names are per subgraph: Apollo prefixes them with the subgraph's name.
            for args in stype.directives.get("context", ()) if subgraph.federation2 else ():
                self.uses_context = True
                lines.append(
                    f"@context(name: {string_literal(subgraph.name + '__' + str(args['name']))})"
                )
        lines += self._common_directives([t.directives for _, t in merged.parts])
        lines += self.access.on_type(merged.name, [t for _, t in merged.parts])
        lines += self.composed.applied(
            merged.name, [(s.name, t.directives) for s, t in merged.parts]
        )
        return "".join(f"\n  {line}" for line in lines) if lines else ""

    def _common_directives(
        self, directive_maps: list[dict[str, list[dict[str, Any]]]], cost: bool = True
    ) -> list[str]:
        """@inaccessible, @tag, @deprecated and (unless `cost` is False) @cost/@listSize."""
        lines: list[str] = []
        if any("inaccessible" in d for d in directive_maps):
            self.uses_inaccessible = True
            lines.append("@inaccessible")
        tags = self._ordered(str(args["name"]) for d in directive_maps for args in d.get("tag", ()))
        if tags:
            self.uses_tag = True
            lines += [f"@tag(name: {string_literal(t)})" for t in tags]
        reasons = [args for d in directive_maps for args in d.get("deprecated", ())]
        if reasons:
            reason = reasons[0].get("reason")
            lines.append(
                f"@deprecated(reason: {string_literal(reason)})" if reason else "@deprecated"
            )
        return lines + (self._cost_directives(directive_maps) if cost else [])

    def _cost_directives(self, directive_maps: list[dict[str, list[dict[str, Any]]]]) -> list[str]:
        """@cost and @listSize, merged across subgraphs as Apollo merges them: the largest
        weight and assumed size, the union of slicing arguments and sized fields, and
        requireOneSlicingArgument only where every subgraph requires it."""
        lines: list[str] = []
        weights = [a["weight"] for d in directive_maps for a in d.get("cost", ()) if "weight" in a]
        if weights:
            lines.append(f"@cost(weight: {max(int(w) for w in weights)})")
        sizes = [a for d in directive_maps for a in d.get("listSize", ())]
        if sizes:
            arguments = []
            assumed = [a["assumedSize"] for a in sizes if a.get("assumedSize") is not None]
            if assumed:
                arguments.append(f"assumedSize: {max(assumed)}")
            for name in ("slicingArguments", "sizedFields"):
                given = [a[name] for a in sizes if a.get(name) is not None]
                if given:
                    names = self._ordered(str(n) for names in given for n in names)
                    arguments.append(f"{name}: [{', '.join(string_literal(n) for n in names)}]")
            required = [
                a["requireOneSlicingArgument"] for a in sizes if "requireOneSlicingArgument" in a
            ]
            if required and None not in required:
                arguments.append(f"requireOneSlicingArgument: {str(all(required)).lower()}")
            lines.append(f"@listSize({', '.join(arguments)})" if arguments else "@listSize")
        if lines:
            self.uses_cost = True
        return lines

    # --- fields --------------------------------------------------------------------------

    def _sources(self, merged: Merged) -> dict[str, list[FieldSource]]:
        sources: dict[str, list[FieldSource]] = {}
        for subgraph, stype in merged.parts:
            for name, sfield in stype.fields.items():
                sources.setdefault(name, []).append(FieldSource(subgraph, stype, sfield))
        return sources

    def _fields(self, merged: Merged) -> str:
        blocks = []
        sources_by_name = self._sources(merged)
        for name, sources in sources_by_name.items():
            blocks.append(self._field(merged, name, sources))
        for name, type_text in self._interface_object_fields(merged, set(sources_by_name)):
            # Added by an @interfaceObject: no subgraph resolves it on the object type itself.
            access = self.access.on_field(f"{merged.name}.{name}", [])
            blocks.append(f"  {name}: {type_text} @join__field" + "".join(f" {a}" for a in access))
        return "\n\n".join(blocks) if any("\n" in b for b in blocks) else "\n".join(blocks)

    def _field(self, merged: Merged, name: str, sources: list[FieldSource]) -> str:
        types = {s.field.type for s in sources if not self.join_fields.external(s)} or {
            s.field.type for s in sources
        }
        field_type = sources[0].field.type if len(types) == 1 else self._most_general(types)
        description = next((s.field.description for s in sources if s.field.description), None)
        text = self._description(description, "  ") + "  " + name
        resolving = [s for s in sources if not self.join_fields.external(s)]
        text += self._arguments([s.field for s in resolving or sources[:1]], resolving)
        text += f": {field_type}"
        # Apollo prints @inaccessible/@tag/@deprecated before @join__field on fields.
        maps = [s.field.directives for s in sources]
        lines = self._common_directives(maps, cost=False)
        lines += self.join_fields.directives(merged, sources, field_type)
        lines += self._cost_directives(maps)  # after @join__field, as Apollo prints them
        lines += self.access.on_field(f"{merged.name}.{name}", [s.field for s in resolving])
        lines += self.composed.applied(
            f"{merged.name}.{name}", [(s.subgraph.name, s.field.directives) for s in resolving]
        )
        return text + "".join(f" {line}" for line in lines)

    def _interface_object_fields(self, merged: Merged, present: set[str]) -> list[tuple[str, str]]:
        if merged.kind != "object":
            return []
        extra: dict[str, str] = {}
        interfaces = self._ordered(i for _, t in merged.parts for i in t.interfaces)
        for interface in interfaces:
            owner = self.merged.get(interface)
            if owner is None:
                continue
            for _, stype in owner.parts:
                if not stype.has("interfaceObject"):
                    continue
                for name, sfield in stype.fields.items():
                    if name not in present and name not in extra:
                        extra[name] = sfield.type
        return list(extra.items())

    def _most_general(self, types: set[str]) -> str:
        """The supergraph type of an output field typed differently across subgraphs: the
        supertype of the named types (an interface or union the others belong to), nullable
        wherever any subgraph has it nullable."""
        names = {named_type(t) for t in types}
        top = next((n for n in sorted(names) if names - {n} <= self._subtypes(n)), sorted(names)[0])
        shape = min(types, key=lambda t: t.count("!")).replace(
            named_type(min(types, key=lambda t: t.count("!"))), "\0"
        )
        return shape.replace("\0", top)

    def _subtypes(self, name: str) -> set[str]:
        entry = self.merged.get(name)
        if entry is None:
            return set()
        found = {m for _, t in entry.parts for m in t.members}
        found |= {
            o.name for o in self.merged.values() if any(name in t.interfaces for _, t in o.parts)
        }
        return found

    def _arguments(self, definitions: list[SField], sources: list[FieldSource]) -> str:
        contextual = set(contextual_arguments(definitions))  # from a context, not clients
        names = [
            n
            for n in definitions[0].arguments
            if n not in contextual and all(n in d.arguments for d in definitions)
        ]
        if not names:
            return ""
        parts = []
        for name in names:
            text = f"{name}: {_strictest([d.arguments[name].type for d in definitions])}"
            default = next(
                (d.arguments[name].default for d in definitions if d.arguments[name].default), None
            )
            if default is not None:
                text += f" = {default}"
            text += "".join(
                f" {line}"
                for line in self._common_directives(
                    [d.arguments[name].directives for d in definitions]
                )
            )
            text += "".join(
                f" {line}"
                for line in self.composed.applied(
                    name,
                    [
                        (s.subgraph.name, s.field.arguments[name].directives)
                        for s in sources
                        if name in s.field.arguments
                    ],
                )
            )
            parts.append(text)
        return "(" + ", ".join(parts) + ")"

    def _enum_usage(self, enum: str) -> str:
        """'input', 'output' or 'both': where the enum is used across all subgraphs."""
        as_input = as_output = False
        for entry in self.merged.values():
            for _, stype in entry.parts:
                for sfield in stype.fields.values():
                    if named_type(sfield.type) == enum:
                        if entry.kind == "input":
                            as_input = True
                        else:
                            as_output = True
                    if any(named_type(a.type) == enum for a in sfield.arguments.values()):
                        as_input = True
        if as_input and as_output:
            return "both"
        return "input" if as_input else "output"

    def _enum_values(self, merged: Merged) -> str:
        values: dict[str, list[tuple[Subgraph, SField]]] = {}
        for subgraph, stype in merged.parts:
            for name, value in stype.values.items():
                values.setdefault(name, []).append((subgraph, value))
        if self._enum_usage(merged.name) == "input":
            # Only read from clients: keep the values every subgraph accepts.
            values = {n: v for n, v in values.items() if len(v) == len(merged.parts)}
        lines = []
        for name, sources in values.items():
            directives = [f"@join__enumValue(graph: {graph_enum_name(s.name)})" for s, _ in sources]
            directives += self._common_directives([v.directives for _, v in sources])
            directives += self.composed.applied(
                f"{merged.name}.{name}", [(s.name, v.directives) for s, v in sources]
            )
            description = next((v.description for _, v in sources if v.description), None)
            lines.append(
                self._description(description, "  ")
                + f"  {name}"
                + "".join(f" {d}" for d in directives)
            )
        return "\n".join(lines)

    def _input_fields(self, merged: Merged) -> str:
        sources = self._sources(merged)
        lines = []
        for name, defined in sources.items():
            if len(defined) != len(merged.parts):
                continue  # input types merge by intersection
            sfield = defined[0].field
            types = [s.field.type for s in defined]
            text = self._description(sfield.description, "  ") + f"  {name}: {_strictest(types)}"
            defaults = [s.field.default for s in defined]
            if None not in defaults:  # a default only some subgraphs give is dropped (a hint)
                text += f" = {defaults[0]}"
            text += "".join(
                f" {d}" for d in self._common_directives([s.field.directives for s in defined])
            )
            text += "".join(
                f" {d}"
                for d in self.composed.applied(
                    f"{merged.name}.{name}",
                    [(s.subgraph.name, s.field.directives) for s in defined],
                )
            )
            if len(set(types)) > 1:
                text += "".join(
                    f' @join__field(graph: {s.graph}, type: "{s.field.type}")' for s in defined
                )
            lines.append(text)
        return "\n".join(lines)

    # --- helpers -------------------------------------------------------------------------

    @staticmethod
    def _ordered(items: Iterable[str]) -> list[str]:
        return list(dict.fromkeys(items))

    @staticmethod
    def _description(text: str | None, indent: str) -> str:
        if not text:
            return ""
        if "\n" not in text and '"' not in text:
            return f'{indent}"""{text}"""\n'
        body = "\n".join(indent + line if line else "" for line in text.split("\n"))
        return f'{indent}"""\n{body}\n{indent}"""\n'

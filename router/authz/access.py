"""What each selection of an operation requires, read off the supergraph (memoised).

A field requires its own directives, its return type's, and:
- on an interface, the same field's requirements on every implementation (a stricter
  implementation makes the interface field stricter, as Apollo Router decides);
- when it returns an abstract type and selects anything but type-conditioned fragments, the
  requirements of every possible type (it could answer any of them).
A fragment requires its type condition's directives, and for an abstract condition those of
each of its possible types.
"""

from __future__ import annotations

from router.supergraph.model import OPEN, Access, FieldModel, Supergraph


class AccessIndex:
    """Requirements per (parent type, field) and per fragment type, computed once each."""

    def __init__(self, supergraph: Supergraph) -> None:
        self.supergraph = supergraph
        self._fields: dict[tuple[str, str, bool], Access] = {}
        self._fragments: dict[str, Access] = {}

    def type(self, name: str) -> Access:
        """What the type's own directives require; `OPEN` (nothing) for a name the supergraph does
        not define."""
        model = self.supergraph.types.get(name)
        return model.access if model is not None else OPEN

    def field(self, parent: str, name: str, typed_only: bool) -> Access:
        """`typed_only`: the field's selections are all `... on T` fragments."""
        key = (parent, name, typed_only)
        found = self._fields.get(key)
        if found is None:
            found = self._fields[key] = self._field(parent, name, typed_only)
        return found

    def _field(self, parent: str, name: str, typed_only: bool) -> Access:
        supergraph = self.supergraph
        model: FieldModel | None = supergraph.field(parent, name)
        if model is None:
            return OPEN
        access = model.access & self.type(model.type_name)
        parent_model = supergraph.types[parent]
        if parent_model.kind == "interface":
            for implementation in supergraph.possible_types(parent):
                other = supergraph.field(implementation, name)
                if other is not None:
                    access = access & other.access
        returned = supergraph.types.get(model.type_name)
        if returned is not None and returned.kind in ("interface", "union") and not typed_only:
            for possible in supergraph.possible_types(returned.name):
                access = access & self.type(possible)
        return access

    def fragment(self, condition: str) -> Access:
        """What a fragment on `condition` requires: the type's own access and, for an interface or
        union, every possible type's too; computed once per condition."""
        found = self._fragments.get(condition)
        if found is None:
            found = self.type(condition)
            model = self.supergraph.types.get(condition)
            if model is not None and model.kind in ("interface", "union"):
                for possible in self.supergraph.possible_types(condition):
                    found = found & self.type(possible)
            self._fragments[condition] = found
        return found

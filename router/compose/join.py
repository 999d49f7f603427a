"""The join spec the supergraph links, chosen as Apollo chooses it: from the newest federation
version among the subgraphs' `@link`s (Federation 1 counts as 2.0): join v0.3 up to federation
2.6, v0.4 (progressive `@override` labels, `@join__directive`) for 2.7, v0.5 (context
arguments) from 2.8. The directive definitions and machinery types printed are that version's.
"""

from __future__ import annotations

from collections.abc import Sequence

from router.compose.subgraph import Subgraph

JoinVersion = tuple[int, int]

JOIN_DEFINITIONS = """directive @join__directive(graphs: [join__Graph!], name: String!, args: join__DirectiveArguments) repeatable on SCHEMA | OBJECT | INTERFACE | FIELD_DEFINITION

directive @join__enumValue(graph: join__Graph!) repeatable on ENUM_VALUE

directive @join__field(graph: join__Graph, requires: join__FieldSet, provides: join__FieldSet, type: String, external: Boolean, override: String, usedOverridden: Boolean, overrideLabel: String, contextArguments: [join__ContextArgument!]) repeatable on FIELD_DEFINITION | INPUT_FIELD_DEFINITION

directive @join__graph(name: String!, url: String!) on ENUM_VALUE

directive @join__implements(graph: join__Graph!, interface: String!) repeatable on OBJECT | INTERFACE

directive @join__type(graph: join__Graph!, key: join__FieldSet, extension: Boolean! = false, resolvable: Boolean! = true, isInterfaceObject: Boolean! = false) repeatable on OBJECT | INTERFACE | UNION | ENUM | INPUT_OBJECT | SCALAR

directive @join__unionMember(graph: join__Graph!, member: String!) repeatable on UNION

directive @link(url: String, as: String, for: link__Purpose, import: [link__Import]) repeatable on SCHEMA"""  # noqa: E501 (printed verbatim)


MACHINERY_TYPES = '''input join__ContextArgument {
  name: String!
  type: String!
  context: String!
  selection: join__FieldValue!
}

scalar join__DirectiveArguments

scalar join__FieldSet

scalar join__FieldValue

scalar link__Import

enum link__Purpose {
  """
  `SECURITY` features provide metadata necessary to securely resolve fields.
  """
  SECURITY

  """
  `EXECUTION` features provide metadata necessary for operation execution.
  """
  EXECUTION
}'''


def join_version(subgraphs: Sequence[Subgraph]) -> JoinVersion:
    """The join spec version the supergraph links: v0.5 when a subgraph links federation 2.8 or
    later (context arguments), v0.4 from 2.7 (override labels), else v0.3."""
    newest = max((s.link.version if s.link else (2, 0) for s in subgraphs), default=(2, 0))
    if newest >= (2, 8):
        return (0, 5)
    return (0, 4) if newest >= (2, 7) else (0, 3)


def join_url(version: JoinVersion) -> str:
    """The join spec's `@link` URL for that version."""
    return "https://specs.apollo.dev/join/v{}.{}".format(*version)


def join_definitions(version: JoinVersion) -> str:
    """The join directives (and @link) as that version defines them."""
    text = JOIN_DEFINITIONS
    if version < (0, 5):
        text = text.replace(", contextArguments: [join__ContextArgument!]", "")
    if version < (0, 4):
        text = text.replace(", overrideLabel: String", "")
        text = text.split("\n\n", 1)[1]  # no @join__directive
    return text


def join_machinery(version: JoinVersion) -> str:
    """The join and link types as that version defines them."""
    blocks = MACHINERY_TYPES.split("\n\n")
    if version < (0, 5):
        blocks = [b for b in blocks if "join__ContextArgument" not in b and "FieldValue" not in b]
    if version < (0, 4):
        blocks = [b for b in blocks if "join__DirectiveArguments" not in b]
    return "\n\n".join(blocks)

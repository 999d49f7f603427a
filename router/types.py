"""Names for the shapes of data that flow through the router."""

from __future__ import annotations

from typing import Any

JSONObject = dict[str, Any]
"""A JSON object as decoded: a response's data, a representation, an error."""

Variables = dict[str, Any]
"""An operation's variable values, by name without the `$`."""

ResponsePath = list[str | int]
"""A path into a response, as in a GraphQL error's `path`: response names and list indexes."""

GraphName = str
"""A subgraph's name as the supergraph's `join__Graph` enum spells it (e.g. `CUSTOMERS`)."""

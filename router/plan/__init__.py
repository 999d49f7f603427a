"""The query planner: an operation over a supergraph → a `QueryPlan` (nodes.py), planned on an
explicit query graph (graph/), printed in Apollo's text (text.py)."""

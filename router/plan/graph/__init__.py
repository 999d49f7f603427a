"""The planner on an explicit query graph (issue #11): `GraphQueryPlanner` in planner.py, the
graph in query_graph.py, its questions in walk.py, the search for the cheapest plan in
combination.py (entity jumps in jumps.py, what it answers in solution.py), fetch groups in
fetch_graph.py, the plan in query_plan.py."""

from router.plan.graph.planner import GraphQueryPlanner

__all__ = ["GraphQueryPlanner"]

"""What the benchmarks share; each benchmark is one module of bench/ (or a package, for the
differential run) and takes from here only what it needs. Nothing here installs system
packages: a missing program (wrk, taskset, Chromium, Node) is named with how to install it, and
the benchmark exits 2.

    common.py      paths (the repository, bench/.cache), BenchError, say, tail
    tools.py       `require`: a program from PATH, or how to install it
    node.py        a new enough Node (`find_node`, `ensure_node`), `npm_install` of pinned packages
    references.py  the reference gateways: pins, install, the command that starts each (and ours)
    processes.py   `Children`: processes in their own sessions, all stopped on exit; ports; CPU pins
    http.py        one request, `wait_ready`, `check_answer` against the expected JSON
    wrk.py         load with wrk: Lua scripts, `run_wrk`, `WrkResult`
    loadgen.py     load from Python (aiohttp): `measure`, for the in-repo services' benchmarks
    usage.py       a process tree's peak RSS, CPU seconds; how busy a CPU is
    runner.py      `measure_server`: one server started, checked, loaded with wrk, stopped
    table.py       `markdown_table`: result tables
"""

from bench.harness.common import CACHE, LOGS, ROOT, RUN, VENV_PYTHON, BenchError, say, tail
from bench.harness.processes import Children, signals_raise
from bench.harness.tools import MissingTool, require

__all__ = [
    "CACHE",
    "LOGS",
    "ROOT",
    "RUN",
    "VENV_PYTHON",
    "BenchError",
    "Children",
    "MissingTool",
    "require",
    "say",
    "signals_raise",
    "tail",
]

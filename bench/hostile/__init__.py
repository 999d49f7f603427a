"""Hostile requests against a served router: what each costs it, and whether it keeps serving.

    .venv/bin/python -m bench.hostile [--timeout 30] [--only NAME ...] [--slowloris-seconds 20]

Starts the real customers and orders services (fresh SQLite files, 60 extra orders) and
`python -m router serve` in front of them (one process, router.yaml defaults with JWT from a
development key; every request carries a staff token, so authorization removes nothing), then
sends each hostile request of issue #10 in turn. For each case it reads the router's CPU time
before and after (/proc/PID/task/*/schedstat, summed over its threads: nanoseconds, where
/proc/PID/stat's utime+stime only has 10 ms ticks), its RSS after, and, from a separate
process, polls `GET /health` every 100 ms (each poll a new connection, answered within 1 s or
counted as missed). A case that gets no answer within `--timeout` s, or after which /health
does not answer, kills the router and starts it again; the table says so.

Prints a markdown table: case, HTTP status(es), error code(s), router CPU ms (per request for
the cases that send many), RSS MB after, /health answered/polled, and for the hostile
documents whether they were refused within 50 ms of router CPU. Traffic goes to 127.0.0.1 only.

    system.py    the services and the router under attack, CPU and RSS, /health polling
    requests.py  hostile documents and how they are sent (httpx, raw sockets)
    cases.py     the cases, one `Case` each
    __main__.py  run them and print the table
"""

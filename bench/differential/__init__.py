"""The generative differential harness: random operations, our router against two references.

    .venv/bin/python -m bench.differential --audit AUDIT_DIR [--seed N] [--count N]
        [--suites a,b] [--out FILE] [--max-selections N] [--shrink N]

AUDIT_DIR is a checkout of graphql-hive/federation-gateway-audit with its npm dependencies
installed. For each of its suites (not `mutations`), random valid operations
(tests/support/operations.py) over the suite's API schema, with the argument values its own test
queries use and the key values their answers hold, are sent to our router, to Hive Gateway with
Hive Router's Rust query planner (`@graphql-hive/router-runtime`) and to Apollo Gateway, each on
the suite's supergraph (our router without limits of its own: no alias, depth or cost limit, as
the references have none). Each answer is reduced to its `data` and whether it has errors, and each
operation is classified:

- agree: all three answer the same;
- MISMATCH: the two references agree and our router differs (the first --shrink of each suite
  shrunk to a smaller operation that still shows it);
- contested: the references disagree (we side with Hive, with Apollo, or with neither).

Every gateway reaches the audit's subgraphs through its own recording proxy, so each record also
holds the subgraph requests it made (and their answers): for a contested operation, these show
who is right. Mismatches and contested operations go to --out as JSON lines; the summary is
printed and written next to it (`<out>.summary.md`).

Modules: `processes` (npm installs, the audit's server, the gateways), `proxy` (recording
proxies), `literals` (argument values from the suites), `compare` (normalise, classify), `shrink`
(smaller operations), `__main__` (the command).
"""

"""The generative differential harness: random operations, our router against two references.

    .venv/bin/python -m bench.differential --audit AUDIT_DIR [--seed N] [--count N]
        [--suites a,b] [--out FILE] [--max-selections N] [--shrink N] [--port-base P]
    .venv/bin/python -m bench.differential --own [--seed N] [--count N] ...

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

Every MISMATCH and contested operation is then judged on evidence the harness gathers itself
(`evidence`): the operation with its aliases renamed to fresh names is sent to the three
gateways, and an answer that changes under the renaming (mapped back, and the same when the
original is sent again) shows its gateway wrong; an answer the spec rules out whatever the data
(`shape`: `data: null` without errors, a selected name missing, `null` at a non-null position...)
shows it wrong too. A MISMATCH where both references change under the renaming, ours does not
and equals their renamed answers becomes `references-wrong`; one where ours is shown wrong stays
and says so. For a contested operation the record says whom the evidence supports and why
(`supports`, `why`: `undecided` when no evidence applies). Third: when the operation alone fixes
the answer (its root collects only `__typename`, or nothing), any other answer is wrong
(`operation-alone`), and ours being it confirms ours. Fourth, from the recorded subgraph
answers (`subgraphs`): a root field a gateway answers `null` without any error, where a subgraph
it asked answered that field with the same arguments non-null (`subgraph-answer`). Records keep the first verdict
(`first_verdict`), the shown-wrong gateways (`reference_bugs`, `router_bugs`) and the evidence
(`evidence`: the renamed query and answers, the shape violations).

Every gateway reaches the audit's subgraphs through its own recording proxy, so each record also
holds the subgraph requests it made (and their answers): for a contested operation, these show
who is right. Mismatches and contested operations go to --out as JSON lines; the summary is
printed and written next to it (`<out>.summary.md`).

`--own` runs the same comparison over our own graph: the customers and orders services started
as the project starts them (`python -m customer_subgraph`, `order_subgraph`) on fresh SQLite
databases, seeded through their API with customers and orders (`own`), behind the recording
proxies, and the committed supergraph.graphql; --count random queries over its API schema (no
mutations: they are not repeatable), reported as the suite `own`. Every operation is sent signed
in (a development token with every scope, so the protected fields are compared; `own` says how
each gateway gets the caller's headers, and why Apollo Gateway gets the supergraph without its
authorization features).

Ports: the audit's serve on --port-base (4300), the gateways on the next three, their proxies on
base+11..13, our services (`--own`) on base+21 and +22.

Modules: `processes` (npm installs, the audit's server, the gateways), `proxy` (recording
proxies), `literals` (argument values from the suites), `compare` (normalise, classify),
`rename`, `shape` and `subgraphs` (the evidence's pure parts), `evidence` (who is shown wrong, the final
verdict), `report` (per-suite results, the summary), `own` (our services for `--own`), `shrink`
(smaller operations), `__main__` (the command).
"""

// What the page knows about query plans, shared by the fetcher and the "Query plan" pane.
//
// The pane asks for plans only while it is open: the fetcher then sends
// `Apollo-Expose-Query-Plan: true` and takes `extensions.apolloQueryPlan` out of the result
// before GraphiQL shows it. An operation run while the pane was closed has its plan fetched
// with `Apollo-Expose-Query-Plan: dry-run` (planned, not executed) when the pane opens.
//
// A subscription runs over the WebSocket as it is: its plan, while the pane is open, comes from
// a dry run over HTTP beside it. A multipart (incremental) answer comes as arrays of parts; the
// plan is taken out of whichever part carries it.
//
// States: empty (nothing run yet), running, plan, none (the router sent no plan), error,
// off (the router does not expose plans).

import { isSubscription } from "./fetcher.js";

const REFUSED = "QUERY_PLAN_NOT_EXPOSED";

export function createPlanChannel({ fetcher, header, exposed }) {
  let state = exposed
    ? { status: "empty", message: "Run an operation (▶) to see the plan the router made for it." }
    : { status: "off", message: "This router does not expose query plans." };
  let open = false;
  let last = null; // { params, headers } of the last operation run
  let shownFor = null; // the `last` the shown plan belongs to
  const listeners = new Set();

  function set(next) {
    state = next;
    listeners.forEach((listener) => listener());
  }

  function refuse(message) {
    exposed = false;
    set({ status: "off", message: `This router does not expose query plans: ${message}` });
  }

  function refusal(payload) {
    const error = payload?.errors?.[0];
    return error?.extensions?.code === REFUSED ? String(error.message) : null;
  }

  function withHeader(options, value) {
    return { ...options, headers: { ...options?.headers, [header]: value } };
  }

  // Every payload goes to GraphiQL as it came, less the plan: one, or several (incremental).
  //
  // An async iterator, not an async generator: GraphiQL's stop button calls return() while the
  // iterator waits for the next payload, which a generator would act on only at its next yield
  // (one more event later, shown after the stop), leaving the subscription open until then.
  // This return() passes on to the fetcher's payloads at once: the WebSocket client sends
  // `complete`, and the router ends the subscription.
  function run(params, options, asked) {
    let source = null; // the fetcher's payloads, once asked for
    let first = true;
    let seen = false;
    let stopped = false;

    async function start(ask) {
      source = iteratorOf(await fetcher(params, ask ? withHeader(options, "true") : options));
      if (stopped) await source.return?.(); // stopped while the request was being made
    }

    async function step() {
      if (source === null) await start(asked);
      while (!stopped) {
        const { done, value: payload } = await source.next();
        if (done) break;
        const parts = Array.isArray(payload) ? payload : [payload];
        const refused = first && asked ? refusal(parts[0]) : null;
        first = false;
        if (refused !== null) {
          refuse(refused);
          asked = false;
          await source.return?.();
          await start(false);
          continue;
        }
        const shown = parts.map((part) => {
          const [rest, plan] = splitPlan(part);
          if (plan) {
            seen = true;
            set({ status: "plan", plan });
          }
          return rest;
        });
        return { done: false, value: Array.isArray(payload) ? shown : shown[0] };
      }
      if (asked && !seen && !stopped) {
        set({ status: "none", message: "The router sent no plan for this operation." });
      }
      return { done: true, value: undefined };
    }

    return {
      [Symbol.asyncIterator]() {
        return this;
      },
      async next() {
        try {
          return await step();
        } catch (error) {
          if (asked) set({ status: "error", message: `The request failed: ${error?.message ?? error}` });
          throw error;
        }
      },
      async return() {
        stopped = true;
        await source?.return?.();
        return { done: true, value: undefined };
      },
    };
  }

  async function dryRun(request) {
    set({ status: "running", message: "Planning…" });
    try {
      // Without the parsed document, so a subscription's dry run goes over HTTP too.
      const options = withHeader({ headers: request.headers?.headers }, "dry-run");
      const payload = await firstPayload(await fetcher(request.params, options));
      const refused = refusal(payload);
      if (refused !== null) return refuse(refused);
      const [, plan] = splitPlan(payload);
      if (plan) set({ status: "plan", plan });
      else set({ status: "none", message: describeErrors(payload) });
    } catch (error) {
      set({ status: "error", message: `The request failed: ${error?.message ?? error}` });
    }
  }

  return {
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    snapshot: () => state,
    opened() {
      open = true;
      if (exposed && last !== null && shownFor !== last) {
        shownFor = last;
        dryRun(last);
      }
    },
    closed() {
      open = false;
    },
    fetcher(params, options) {
      if (params?.operationName === "IntrospectionQuery") return fetcher(params, options);
      last = { params, headers: options };
      const subscription = isSubscription(params, options);
      const asked = exposed && open && !subscription;
      if (asked) {
        shownFor = last;
        set({ status: "running", message: "Running…" });
      } else if (exposed && open) {
        shownFor = last;
        dryRun(last);
      }
      return run(params, options, asked);
    },
  };
}

/** `[payload without extensions.apolloQueryPlan, the plan or null]`. */
export function splitPlan(payload) {
  const extensions = payload?.extensions;
  if (!extensions || typeof extensions !== "object" || !("apolloQueryPlan" in extensions)) {
    return [payload, null];
  }
  const { apolloQueryPlan, ...rest } = extensions;
  const shown = { ...payload };
  if (Object.keys(rest).length > 0) shown.extensions = rest;
  else delete shown.extensions;
  const valid = apolloQueryPlan && typeof apolloQueryPlan.text === "string";
  return [shown, valid ? apolloQueryPlan : null];
}

/** An iterator over a fetcher's answer: an incremental answer's payloads, or the one payload. */
function iteratorOf(answer) {
  if (answer != null && typeof answer[Symbol.asyncIterator] === "function") {
    return answer[Symbol.asyncIterator]();
  }
  return [answer][Symbol.iterator]();
}

/** The first payload of a fetcher's answer (an incremental answer is an async iterable, of
 * arrays of parts when it is multipart). */
async function firstPayload(answer) {
  if (answer == null || typeof answer[Symbol.asyncIterator] !== "function") return answer;
  for await (const payload of answer) return Array.isArray(payload) ? payload[0] : payload;
  return null;
}

function describeErrors(payload) {
  const messages = (payload?.errors ?? []).map((e) => e?.message).filter(Boolean);
  return messages.length
    ? `The router could not plan this operation: ${messages.join("; ")}`
    : "The router sent no plan for this operation.";
}

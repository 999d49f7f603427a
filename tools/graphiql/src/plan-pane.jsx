// The "Query plan" plugin: a pane in GraphiQL's sidebar (as Apollo Sandbox and Hive Laboratory
// show plans) with the plan of the last operation as a picture, or as Apollo's text.

import { useEffect, useState, useSyncExternalStore } from "react";
import { PlanGraph } from "./plan-graph.jsx";

export const PLAN_PLUGIN_TITLE = "Query plan";

export function planPlugin(channel) {
  function PlanPane() {
    const state = useSyncExternalStore(channel.subscribe, channel.snapshot);
    const [view, setView] = useState("picture");
    useEffect(() => {
      channel.opened();
      return () => channel.closed();
    }, []);
    return (
      <section className="plan-pane" data-state={state.status} data-view={view} aria-live="polite">
        <header className="plan-pane-header">
          <div className="graphiql-doc-explorer-title">Query plan</div>
          <div className="plan-views" role="group" aria-label="Show the plan as">
            {["picture", "text"].map((name) => (
              <button
                key={name}
                type="button"
                className="plan-view-button"
                aria-pressed={view === name}
                onClick={() => setView(name)}
              >
                {name === "picture" ? "Picture" : "Text"}
              </button>
            ))}
          </div>
        </header>
        {state.status !== "plan" ? (
          <p className="plan-message">{state.message}</p>
        ) : view === "picture" ? (
          <PlanGraph plan={state.plan.object} />
        ) : (
          <pre className="plan-text">{state.plan.text}</pre>
        )}
      </section>
    );
  }

  return { title: PLAN_PLUGIN_TITLE, icon: PlanIcon, content: PlanPane };
}

function PlanIcon() {
  return (
    <svg viewBox="0 0 24 24" fill="none" stroke="currentColor" strokeWidth="1.5" aria-hidden="true">
      <rect x="8.5" y="2.75" width="7" height="5" rx="1" />
      <rect x="2.75" y="16.25" width="7" height="5" rx="1" />
      <rect x="14.25" y="16.25" width="7" height="5" rx="1" />
      <path d="M12 7.75v4.25M6.25 16.25V12h11.5v4.25" />
    </svg>
  );
}

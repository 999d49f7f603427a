// The router's GraphiQL page: GraphiQL with the "Query plan" plugin, configured by the JSON
// the router writes into the page (`<script type="application/json" id="graphiql-config">`).
// Queries and mutations go over HTTP (deferred parts shown as they arrive), subscriptions over
// a WebSocket to the same endpoint (fetcher.js).

import "./workers.js";
import "graphiql/style.css";
import "./plan-pane.css";
import { GraphiQL } from "graphiql";
import { createRoot } from "react-dom/client";
import { createRouterFetcher } from "./fetcher.js";
import { createPlanChannel } from "./plan-channel.js";
import { planPlugin } from "./plan-pane.jsx";

const VERSION = __GRAPHIQL_VERSION__;
const config = JSON.parse(document.getElementById("graphiql-config").textContent);
const root = document.getElementById("graphiql");
document.documentElement.dataset.graphiqlVersion = VERSION;

const channel = createPlanChannel({
  fetcher: createRouterFetcher(new URL(config.endpoint, location.href).href),
  header: config.planHeader,
  exposed: config.exposeQueryPlan,
});
const plugins = [planPlugin(channel)];

createRoot(root).render(
  <GraphiQL
    fetcher={channel.fetcher}
    plugins={plugins}
    defaultQuery={config.defaultQuery}
    shouldPersistHeaders={false}
  >
    <GraphiQL.Logo>
      GraphiQL <span className="graphiql-version">{VERSION}</span>
    </GraphiQL.Logo>
  </GraphiQL>,
);

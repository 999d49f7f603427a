// How the page talks to the router: @graphiql/toolkit's createGraphiQLFetcher, with
//
// - queries and mutations over HTTP POST to the GraphQL endpoint, accepting Apollo's incremental
//   delivery (`multipart/mixed;deferSpec=20220824`, as Apollo Client asks for it): the toolkit
//   reads a multipart answer with meros and hands GraphiQL each part as it arrives, and GraphiQL
//   merges the deferred parts into the result shown;
// - subscriptions over graphql-transport-ws (graphql-ws's client) on the same endpoint, `ws://`
//   or `wss://` as the page's own scheme. The Headers pane's headers go in `connection_init` as
//   `payload.headers`, where the router reads them as it reads an HTTP request's headers (the
//   WebSocket API cannot set headers on the upgrade itself).
//
// One graphql-ws client per distinct set of headers; clients are lazy, so a socket is open only
// while it carries a subscription.

import { createGraphiQLFetcher } from "@graphiql/toolkit";
import { getOperationAST } from "graphql";
import { createClient } from "graphql-ws/client";

/** The Accept of a query or mutation: Apollo's incremental delivery, or one JSON answer. */
export const INCREMENTAL_ACCEPT = "multipart/mixed;deferSpec=20220824, application/json";

/** The router refused the connection's identity (router/server/websocket.py): the same headers
 * would be refused again, so the client does not retry. */
const FORBIDDEN = 4403;

/** The WebSocket URL of an http(s) GraphQL endpoint: the same host, port and path. */
export function webSocketUrl(httpUrl) {
  const url = new URL(httpUrl);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  url.hash = "";
  return url.href;
}

/** Whether GraphiQL is running a subscription (it passes the editor's parsed document). */
export function isSubscription(params, options) {
  const document = options?.documentAST;
  if (!document) return false;
  return getOperationAST(document, params?.operationName || undefined)?.operation === "subscription";
}

/** A GraphiQL fetcher for the router's GraphQL endpoint at `url` (absolute, http or https). */
export function createRouterFetcher(url, { maxClients = 8 } = {}) {
  const subscriptionUrl = webSocketUrl(url);
  const byHeaders = new Map(); // JSON of the headers → a GraphiQL fetcher with its own ws client

  function fetcherFor(headers) {
    const key = JSON.stringify(headers);
    let fetcher = byHeaders.get(key);
    if (fetcher !== undefined) return fetcher;
    const wsClient = createClient({
      url: subscriptionUrl,
      connectionParams: { headers },
      lazy: true,
      shouldRetry: (event) => event?.code !== FORBIDDEN && typeof event?.code === "number",
    });
    fetcher = createGraphiQLFetcher({ url, wsClient, headers: { accept: INCREMENTAL_ACCEPT } });
    // Forgetting a client closes nothing: a lazy client's socket closes with its last subscription.
    if (byHeaders.size >= maxClients) byHeaders.delete(byHeaders.keys().next().value);
    byHeaders.set(key, fetcher);
    return fetcher;
  }

  return (params, options) => fetcherFor(stringHeaders(options?.headers))(params, options);
}

/** The Headers pane's JSON as the router reads `payload.headers`: an object of strings. */
function stringHeaders(headers) {
  if (!headers || typeof headers !== "object" || Array.isArray(headers)) return {};
  return Object.fromEntries(
    Object.entries(headers)
      .filter(([, value]) => value !== undefined && value !== null)
      .map(([name, value]) => [name, typeof value === "string" ? value : JSON.stringify(value)]),
  );
}

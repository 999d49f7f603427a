// A query plan (Apollo's JSON shape) drawn as a tree: Sequence runs its steps top to bottom,
// Parallel side by side, Flatten names the path its fetch completes, each Fetch shows its
// subgraph and the operation sent, and Condition (Include/Skip) its branches. Every node
// carries `data-kind` (and a fetch `data-service`, a flatten `data-path`) for tests and styles.

import { parse, print } from "graphql";

export function PlanGraph({ plan }) {
  if (!plan?.node) {
    return <p className="plan-message">The operation needs no fetch (it selects only __typename).</p>;
  }
  return (
    <div className="plan-graph" data-kind="QueryPlan" role="tree" aria-label="Query plan">
      <PlanNode node={plan.node} />
    </div>
  );
}

function PlanNode({ node }) {
  switch (node?.kind) {
    case "Fetch":
      return <FetchNode fetch={node} />;
    case "Flatten":
      return <FlattenNode flatten={node} />;
    case "Sequence":
      return <Group kind="Sequence" nodes={node.nodes ?? []} />;
    case "Parallel":
      return <Group kind="Parallel" nodes={node.nodes ?? []} />;
    case "Condition":
      return <ConditionNode condition={node} />;
    case "Defer":
      return (
        <Branches
          kind="Defer"
          branches={[
            ["Primary", node.primary?.node],
            ...(node.deferred ?? []).map((d, i) => [`Deferred ${d.label ?? i + 1}`, d.node]),
          ]}
        />
      );
    case "Subscription":
      return <Branches kind="Subscription" branches={[["Primary", node.primary], ["Rest", node.rest]]} />;
    default:
      return (
        <div className="plan-node" data-kind={node?.kind ?? "Unknown"} role="treeitem">
          <div className="plan-node-header">
            <span className="plan-kind">{node?.kind ?? "Unknown node"}</span>
          </div>
        </div>
      );
  }
}

function Group({ kind, nodes }) {
  return (
    <div className={`plan-node plan-group plan-${kind.toLowerCase()}`} data-kind={kind} role="treeitem">
      <div className="plan-node-header">
        <span className="plan-kind">{kind}</span>
        <span className="plan-note">
          {nodes.length} {kind === "Sequence" ? "steps, in order" : "branches, at once"}
        </span>
      </div>
      <div className="plan-children" role="group">
        {nodes.map((child, index) => (
          <div className="plan-child" key={index}>
            {kind === "Sequence" && <span className="plan-step">{index + 1}</span>}
            <PlanNode node={child} />
          </div>
        ))}
      </div>
    </div>
  );
}

function FlattenNode({ flatten }) {
  const path = (flatten.path ?? []).join(".");
  return (
    <div className="plan-node plan-flatten" data-kind="Flatten" data-path={path} role="treeitem">
      <div className="plan-node-header">
        <span className="plan-kind">Flatten</span>
        <code className="plan-path" title="Response names; @ is each item of a list">
          {path}
        </code>
      </div>
      <div className="plan-children" role="group">
        <PlanNode node={flatten.node} />
      </div>
    </div>
  );
}

function FetchNode({ fetch }) {
  const service = String(fetch.serviceName ?? "?");
  return (
    <div
      className="plan-node plan-fetch"
      data-kind="Fetch"
      data-service={service}
      style={{ "--plan-hue": hue(service) }}
      role="treeitem"
    >
      <div className="plan-node-header">
        <span className="plan-kind">Fetch</span>
        <span className="plan-service">{service}</span>
        {fetch.requires ? <span className="plan-note">entities</span> : null}
      </div>
      {fetch.requires ? (
        <div className="plan-requires" title="The representations sent: each object's key and required fields">
          <span className="plan-label">requires</span>
          <code>{printSelections(fetch.requires)}</code>
          <span className="plan-label">⇒</span>
        </div>
      ) : null}
      <pre className="plan-operation" title={String(fetch.operation)}>
        {fetchBody(fetch.operation)}
      </pre>
    </div>
  );
}

function ConditionNode({ condition }) {
  const variable = `$${condition.condition}`;
  const { ifClause, elseClause } = condition;
  if (ifClause && elseClause) {
    return (
      <Branches
        kind="Condition"
        detail={`if: ${variable}`}
        branches={[["Then", ifClause], ["Else", elseClause]]}
      />
    );
  }
  const [kind, only] = ifClause ? ["Include", ifClause] : ["Skip", elseClause];
  return <Branches kind={kind} detail={`if: ${variable}`} branches={[[null, only]]} />;
}

function Branches({ kind, detail, branches }) {
  return (
    <div className="plan-node plan-group plan-branches" data-kind={kind} role="treeitem">
      <div className="plan-node-header">
        <span className="plan-kind">{kind}</span>
        {detail ? <code className="plan-path">{detail}</code> : null}
      </div>
      <div className="plan-children" role="group">
        {branches
          .filter(([, node]) => node)
          .map(([label, node], index) => (
            <div className="plan-child" key={index}>
              {label ? <span className="plan-label">{label}</span> : null}
              <PlanNode node={node} />
            </div>
          ))}
      </div>
    </div>
  );
}

/** What a fetch selects, as Apollo's text prints it: the operation's selection set (for an
 * entity fetch, the one under `_entities`); the operation as sent if it does not parse. */
function fetchBody(operation) {
  try {
    const document = parse(String(operation), { noLocation: true });
    return document.definitions
      .map((definition) => {
        if (definition.kind !== "OperationDefinition") return print(definition);
        const first = definition.selectionSet.selections[0];
        const entities =
          definition.operation === "query" && first?.kind === "Field" && first.name.value === "_entities";
        const body = print(entities && first.selectionSet ? first.selectionSet : definition.selectionSet);
        return definition.operation === "query" ? body : `${definition.operation} ${body}`;
      })
      .join("\n\n");
  } catch {
    return String(operation);
  }
}

/** `requires` (Apollo's selection JSON) as GraphQL: `... on Customer { __typename id }`. */
function printSelections(selections) {
  return selections.map(printSelection).join(" ");
}

function printSelection(selection) {
  const inner = selection.selections ? ` { ${printSelections(selection.selections)} }` : "";
  if (selection.kind === "InlineFragment") {
    const on = selection.typeCondition ? ` on ${selection.typeCondition}` : "";
    return `...${on}${inner}`;
  }
  const alias = selection.alias ? `${selection.alias}: ` : "";
  return `${alias}${selection.name}${inner}`;
}

/** A stable colour per subgraph name, so a subgraph looks the same in every plan. */
function hue(name) {
  let h = 0;
  for (const char of name) h = (h * 31 + char.codePointAt(0)) % 360;
  return String(h);
}

// Builds router/server/graphiql/static/ from this folder: `npm ci && npm run build`.
//
// GraphiQL 5 ships ES modules for bundlers only (no UMD), and its editor, Monaco, runs its
// language services in web workers. So the router's GraphiQL is one ES module bundle
// (`graphiql.js`: React, GraphiQL, and src/ with the query-plan plugin), its stylesheet
// (`graphiql.css`: GraphiQL's full stylesheet, Monaco's included, and the plugin's), and
// three worker bundles, all served by the router from its own origin. The output is
// minified and carries no source maps; the same lockfile gives the same bytes.
//
// VERSIONS.txt records every file's sha256, the packages it came from, and the sha256 of
// every input here (package-lock.json, src/*, this script), so a test can tell when the
// committed bundle was not rebuilt after its inputs changed.

import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "..", "..", "router", "server", "graphiql", "static");
const modules = join(here, "node_modules");

const version = (name) => JSON.parse(readFileSync(join(modules, name, "package.json"))).version;
const sha256 = (path) => createHash("sha256").update(readFileSync(path)).digest("hex");

// Monaco's ES modules import their own CSS files; GraphiQL's stylesheet already holds all of
// it (it is the one GraphiQL's CDN build uses), so those imports are left empty.
const monacoCss = {
  name: "monaco-css-in-graphiql-stylesheet",
  setup(build) {
    build.onLoad({ filter: /[\\/]monaco-editor[\\/].*\.css$/ }, () => ({
      contents: "",
      loader: "css",
    }));
  },
};

const common = {
  bundle: true,
  minify: true,
  legalComments: "none",
  target: "es2022",
  logLevel: "warning",
  define: { "process.env.NODE_ENV": '"production"' },
};

// Monaco's worker label → its entry point.
const WORKERS = {
  editor: "monaco-editor/esm/vs/editor/editor.worker.js",
  json: "monaco-editor/esm/vs/language/json/json.worker.js",
  graphql: "monaco-graphql/esm/graphql.worker.js",
};


rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

// The workers first: their file names carry a hash of their content (so a browser never
// keeps a stale one), and the main bundle is told them.
const workerFiles = {};
const metafiles = [];
for (const [label, entry] of Object.entries(WORKERS)) {
  const result = await esbuild.build({
    ...common,
    entryPoints: { [`${label}.worker`]: join(modules, entry) },
    entryNames: "[name]-[hash]",
    outdir: out,
    format: "iife",
    metafile: true,
  });
  metafiles.push(result.metafile);
  workerFiles[label] = basename(Object.keys(result.metafile.outputs)[0]);
}

const main = await esbuild.build({
  ...common,
  metafile: true,
  entryPoints: { graphiql: join(here, "src", "main.jsx") },
  outdir: out,
  format: "esm",
  splitting: true, // GraphiQL loads Monaco and Prettier with import(): their own chunks
  chunkNames: "graphiql-[hash]",
  jsx: "automatic",
  plugins: [monacoCss],
  define: {
    ...common.define,
    __GRAPHIQL_VERSION__: JSON.stringify(version("graphiql")),
    __MONACO_WORKERS__: JSON.stringify(workerFiles),
  },
});
metafiles.push(main.metafile);
// Monaco's CSS imports, emptied above, leave empty stylesheets beside the lazy chunks.
for (const name of readdirSync(out)) {
  if (name.endsWith(".css") && statSync(join(out, name)).size === 0) rmSync(join(out, name));
}
writeFileSync(join(out, "LICENSES.txt"), licenses(inputsOf(metafiles)));

const BUNDLED = [
  "graphiql",
  "@graphiql/react",
  "@graphiql/toolkit",
  "graphql-ws",
  "monaco-editor",
  "monaco-graphql",
  "react",
  "react-dom",
  "graphql",
];
const packages = BUNDLED.map((name) => `${name}@${version(name)}`);
const chunks = readdirSync(out).filter((name) => /^graphiql-.*\.js$/.test(name));
const origin = {
  ...Object.fromEntries(chunks.map((name) => [name, "src/main.jsx"])), // loaded by graphiql.js
  "graphiql.js": "src/main.jsx",
  "graphiql.css": "src/main.jsx",
  [workerFiles.editor]: `monaco-editor@${version("monaco-editor")}`,
  [workerFiles.json]: `monaco-editor@${version("monaco-editor")}`,
  [workerFiles.graphql]: `monaco-graphql@${version("monaco-graphql")}`,
  "LICENSES.txt": "build.mjs",
};
const inputs = [
  "build.mjs",
  "package.json",
  "package-lock.json",
  ...readdirSync(join(here, "src")).sort().map((name) => `src/${name}`),
];
const row = (cells) => cells.map((c, i) => (i < cells.length - 1 ? c.padEnd(28) : c)).join(" ");
const lines = [
  "# GraphiQL for the router, built by tools/graphiql (npm ci && npm run build); do not edit.",
  `# bundled: ${packages.join(" ")}`,
  "# file                       from                         sha256",
  ...Object.keys(origin)
    .sort()
    .map((name) => row([name, origin[name], sha256(join(out, name))])),
  "# inputs (tools/graphiql/)   sha256",
  ...inputs.map((name) => `input ${row([name, sha256(join(here, name))])}`),
];
writeFileSync(join(out, "VERSIONS.txt"), lines.join("\n") + "\n");
console.log(readFileSync(join(out, "VERSIONS.txt"), "utf8"));

/** The npm packages (name → folder) whose files went into the bundle. */
function inputsOf(metas) {
  const found = new Map();
  for (const meta of metas) {
    for (const path of Object.keys(meta.inputs)) {
      const match = path.match(/node_modules\/((?:@[^/]+\/)?[^/]+)\//g);
      if (!match) continue;
      const folder = path.slice(0, path.lastIndexOf(match[match.length - 1]) + match[match.length - 1].length);
      const name = match[match.length - 1].slice("node_modules/".length, -1);
      found.set(name, join(here, folder));
    }
  }
  return new Map([...found].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** Every bundled package's name, version, licence and licence text (or notice files). */
function licenses(packages) {
  const sections = [];
  for (const [name, folder] of packages) {
    const meta = JSON.parse(readFileSync(join(folder, "package.json")));
    const files = readdirSync(folder)
      .filter((file) => /^(licen[cs]e|notice|thirdpartynotices)/i.test(file))
      .sort();
    const texts = files.map((file) => readFileSync(join(folder, file), "utf8").trim());
    sections.push(
      [`${name}@${meta.version}  (${meta.license ?? "see below"})`, ...texts].join("\n\n"),
    );
  }
  const rule = "\n\n" + "-".repeat(78) + "\n\n";
  return `Licences of the packages bundled into this folder (${packages.size}).` + rule + sections.join(rule) + "\n";
}

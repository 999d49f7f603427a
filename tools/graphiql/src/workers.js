// Monaco runs its language services in web workers: the router serves them beside this bundle
// (tools/graphiql/build.mjs builds them and names their files), so the editor needs no other
// origin.
const base = new URL("./", import.meta.url);
const WORKERS = __MONACO_WORKERS__;

globalThis.MonacoEnvironment = {
  getWorker(_workerId, label) {
    return new Worker(new URL(WORKERS[label] ?? WORKERS.editor, base), { name: label });
  },
};

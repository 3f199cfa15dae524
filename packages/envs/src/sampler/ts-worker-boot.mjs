// Development entry of the sampler's worker threads when the package runs from its TypeScript
// sources (vitest): registers ts-hooks.mjs (TypeScript transpiled on load with the repo's own
// `typescript`, `@metagrad/*` mapped to packages/*/src) and imports the worker module given in
// workerData.__entry. The built package (dist/) starts dist/sampler/worker.js directly instead.
import { register } from 'node:module';
import { workerData } from 'node:worker_threads';

register('./ts-hooks.mjs', import.meta.url);
await import(workerData.__entry);

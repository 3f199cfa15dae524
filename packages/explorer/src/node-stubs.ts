/**
 * What the page's bundle puts in place of the two Node built-ins that @metagrad/envs's worker-thread
 * sampler imports (vite.config.ts aliases them here). The trainer only reaches them with `workers` > 1;
 * in a browser it samples in the engine's own Web Worker (workers: 1), and asking for more says why not.
 */
export class Worker {
  constructor() {
    throw new Error('sampler worker threads are Node-only; in the browser the trainer samples in its Web Worker (workers: 1)');
  }
}

/** Worker threads the sampler would start by default (never called with workers: 1). */
export function availableParallelism(): number {
  return 1;
}

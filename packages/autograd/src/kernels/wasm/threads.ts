/**
 * Worker threads for the wasm matmul: each runs {@link gemmLoops} on its rectangle of C, on the gemm
 * module's shared memory, while the calling thread runs its own; the caller then blocks (Atomics.wait)
 * until every worker is done, so `matmul` stays synchronous.
 *
 * Node only: the workers are made with `node:worker_threads`, reached through
 * `process.getBuiltinModule` (Node ≥ 20.16), so this file imports nothing from Node and the engine
 * still bundles for the browser, where there are no threads (a browser's main thread may not block).
 * The worker's source is written here as a string around `gemmLoops.toString()`: no worker file to
 * locate, the same code from the TypeScript sources, the built files and a bundle.
 *
 * Hand-off, per worker, through a small SharedArrayBuffer of int32 slots: the caller writes the job
 * (slots 8…), bumps `seq` (slot 0) and notifies; the worker wakes, runs, writes `done = seq` (slot 1)
 * and notifies. An exception in the worker is passed back as its message (slots 64…) and thrown by
 * the caller.
 */
import { type GemmThreads, type WasmGemm, gemmLoops } from './driver.js';

interface NodeWorker {
  unref(): void;
  on(event: 'exit' | 'error', listener: (x: unknown) => void): void;
  terminate(): Promise<number>;
}
interface WorkerThreadsModule {
  Worker: new (src: string, opts: { eval: true; workerData: unknown }) => NodeWorker;
}
type NodeProcess = { getBuiltinModule?(id: string): unknown };

const SEQ = 0, DONE = 1, ERROR = 2, JOB = 8, MESSAGE = 64, MESSAGE_LEN = 512, SLOTS = MESSAGE + MESSAGE_LEN;
/** How long the caller waits for a worker before giving up on it (a 4096³ float64 matmul takes ~4 s). */
const WAIT_MS = 600_000;

const WORKER_SOURCE = `
const { workerData } = process.getBuiltinModule('node:worker_threads');
const { module, memory, ctl } = workerData;
const fns = new WebAssembly.Instance(module, { env: { memory } }).exports;
const gemmLoops = (${gemmLoops.toString()});
const c = new Int32Array(ctl);
const job = c.subarray(${JOB}, ${MESSAGE});
let seen = 0;
for (;;) {
  Atomics.wait(c, ${SEQ}, seen);
  seen = Atomics.load(c, ${SEQ});
  if (seen < 0) break;
  try {
    gemmLoops(fns, job);
    Atomics.store(c, ${ERROR}, 0);
  } catch (e) {
    const msg = String((e && e.stack) || e).slice(0, ${MESSAGE_LEN - 1});
    for (let i = 0; i < msg.length; i++) c[${MESSAGE} + i] = msg.charCodeAt(i);
    c[${MESSAGE} + msg.length] = 0;
    Atomics.store(c, ${ERROR}, 1);
  }
  Atomics.store(c, ${DONE}, seen);
  Atomics.notify(c, ${DONE});
}
`;

/** The worker_threads module where this runs in Node, else null. */
function workerThreads(): WorkerThreadsModule | null {
  const proc = (globalThis as { process?: NodeProcess }).process;
  return (proc?.getBuiltinModule?.('node:worker_threads') as WorkerThreadsModule | undefined) ?? null;
}

/** The number of CPUs Node reports, or 1 outside Node. */
export function availableCores(): number {
  const os = (globalThis as { process?: NodeProcess }).process?.getBuiltinModule?.('node:os') as { availableParallelism?(): number } | undefined;
  return os?.availableParallelism?.() ?? 1;
}

/** Whether worker threads can be started here (Node with process.getBuiltinModule and SharedArrayBuffer). */
export function threadsAvailable(): boolean {
  return workerThreads() !== null && typeof SharedArrayBuffer !== 'undefined';
}

/** A pool of `workers` threads on `gemm`'s shared memory. Throws where threads are not available. */
export function startGemmThreads(gemm: WasmGemm, workers: number): GemmThreads & {
  /** Stops the workers; a matmul started on them afterwards throws. */
  close(): void;
} {
  const wt = workerThreads();
  if (!wt || typeof SharedArrayBuffer === 'undefined') throw new Error('matmul threads need Node ≥ 20.16 (process.getBuiltinModule) and SharedArrayBuffer');
  const pool = Array.from({ length: workers }, () => {
    const ctl = new SharedArrayBuffer(SLOTS * 4);
    const worker = new wt.Worker(WORKER_SOURCE, { eval: true, workerData: { module: gemm.module, memory: gemm.memory, ctl } });
    worker.unref();
    const slot = { c: new Int32Array(ctl), seq: 0, dead: null as string | null };
    worker.on('error', (e) => { slot.dead = `matmul worker thread failed: ${String(e)}`; });
    worker.on('exit', (code) => { slot.dead ??= `matmul worker thread exited (code ${String(code)})`; });
    return { worker, slot };
  });
  return {
    workers,
    start(w, job) {
      const { slot } = pool[w]!;
      if (slot.dead) throw new Error(slot.dead);
      slot.c.set(job, JOB);
      Atomics.store(slot.c, SEQ, ++slot.seq);
      Atomics.notify(slot.c, SEQ);
    },
    wait(w) {
      const { slot } = pool[w]!;
      const t0 = Date.now();
      for (;;) {
        const done = Atomics.load(slot.c, DONE);
        if (done === slot.seq) break;
        if (Atomics.wait(slot.c, DONE, done, 1000) === 'timed-out' && Date.now() - t0 > WAIT_MS)
          throw new Error(`matmul worker thread ${w} did not finish within ${WAIT_MS / 1000} s`);
      }
      if (Atomics.load(slot.c, ERROR) === 1) {
        let msg = '';
        for (let i = MESSAGE; i < SLOTS && slot.c[i] !== 0; i++) msg += String.fromCharCode(slot.c[i]!);
        throw new Error(`matmul worker thread ${w}: ${msg}`);
      }
    },
    close() {
      for (const { worker, slot } of pool) {
        slot.dead ??= 'matmul threads closed';
        Atomics.store(slot.c, SEQ, -1);
        Atomics.notify(slot.c, SEQ);
        void worker.terminate();
      }
    },
  };
}

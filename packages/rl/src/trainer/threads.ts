/**
 * The trainer's thread runner: an algorithm's chunk ops (algos/chunks.ts) spread over `threads` threads,
 * this one and threads − 1 workers (chunkWorker.ts), each holding the same policy and algorithm. Chunk i
 * always runs on thread i mod threads, so a worker keeps the chunks it was sent (and TRPO's recorded
 * curvature on them) across the calls of an outer step; the results come back in chunk order and are
 * added up in that order, so the outer step's numbers are the same bits as in one thread, whatever the
 * thread count. Every loss is a mean over tasks, so the chunks are independent work.
 *
 * `run` stays synchronous: this thread posts each worker its share, runs its own, then blocks
 * (Atomics.wait on a shared counter the workers bump) and reads the answers with receiveMessageOnPort.
 * Node only: `node:worker_threads` is reached through `process.getBuiltinModule` when the first worker
 * starts, so the package still bundles for a browser (where a trainer runs with threads = 1).
 */
import type { MessagePort, Worker } from 'node:worker_threads';
import { Tensor } from '@metagrad/autograd';
import type { Chunk, ChunkOps, ChunkRunner } from '../algos/chunks.js';
import type { AlgoName } from '../algos/common.js';
import type { AlgoConfig } from '../algos/settings.js';
import { type GaussianMLPOptions, GaussianMLPPolicy } from '../policies.js';
import { localRunner } from '../algos/chunks.js';

/** Slot of the shared control array that a worker bumps after each reply (and when it ends). */
export const CTL_REPLIES = 0;
/** Slot a worker sets to 1 when it ends. */
export const CTL_EXITED = 1;
/** How long a call waits for a worker before calling it hung (an op on one chunk takes seconds at most). */
const WAIT_MS = 600_000;
/** How long a worker may take to start and build the algorithm. */
const START_MS = 120_000;

/** What a chunk worker is started with. */
export interface ChunkWorkerInit {
  /** The algorithm to build. */
  algo: AlgoName;
  /** Its settings (without the policy). */
  algoConfig: AlgoConfig;
  /** The policy's options. */
  policy: GaussianMLPOptions;
  /** The chunk element budget (algos/chunks.ts). */
  chunkElements?: number;
  /** The shared control array (Int32, CTL_REPLIES). */
  ctl: SharedArrayBuffer;
  /** The port it answers on. */
  port: MessagePort;
}

/** A chunk as sent to a worker: its id, weight, task range and rounds with every tensor as plain data. */
export interface PackedChunk {
  /** The runner's id of the chunk. */
  id: number;
  /** (end − start)/K. */
  weight: number;
  /** First task. */
  start: number;
  /** One past the last task. */
  end: number;
  /** The rounds (StepBatch without `samples`), tensors packed. */
  steps: unknown[];
}

/** A request to a chunk worker. */
export type ChunkWorkerRequest =
  | { type: 'chunks'; keep: number[]; items: PackedChunk[] }
  | { type: 'run'; op: string; theta: Float64Array; args: unknown; ids: number[] };

const TENSOR = '__metagradTensor';

/** A tree of tensors, numbers and nulls as structured-clone data (each tensor's elements copied). */
function pack(x: unknown): unknown {
  if (x instanceof Tensor) return { [TENSOR]: true, shape: [...x.shape], data: x.data.slice() };
  if (Array.isArray(x)) return x.map(pack);
  if (x && typeof x === 'object') return Object.fromEntries(Object.entries(x).filter(([k]) => k !== 'samples').map(([k, v]) => [k, pack(v)]));
  return x;
}

/** The inverse of pack. */
function unpack(x: unknown): unknown {
  if (Array.isArray(x)) return x.map(unpack);
  if (x && typeof x === 'object') {
    const o = x as Record<string, unknown>;
    if (o[TENSOR]) return new Tensor(o.data as Float64Array | Float32Array, o.shape as number[]);
    return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, unpack(v)]));
  }
  return x;
}

/** A chunk packed for a worker. */
export function packChunk(id: number, c: Chunk): PackedChunk {
  return { id, weight: c.weight, start: c.start, end: c.end, steps: c.batch.steps.map(pack) as unknown[] };
}

/** The chunk a worker rebuilds from packChunk. */
export function unpackChunk(p: PackedChunk): Chunk {
  return { batch: { steps: p.steps.map(unpack) as Chunk['batch']['steps'] }, weight: p.weight, start: p.start, end: p.end };
}

/** node:worker_threads, or an error saying where threads do not exist. */
function workerThreads(): typeof import('node:worker_threads') {
  const m = (globalThis as { process?: { getBuiltinModule?(id: string): unknown } }).process?.getBuiltinModule?.('node:worker_threads');
  if (!m) throw new Error('threads > 1 needs Node (≥ 20.16) worker threads; run the outer update with threads = 1 here');
  return m as typeof import('node:worker_threads');
}

/** How to start a worker from where this module runs (TypeScript sources under vitest, or built JavaScript). */
function workerScript(): { url: URL; entry: string | null } {
  const here = import.meta.url;
  if (here.endsWith('.ts')) return { url: new URL('../../../envs/src/sampler/ts-worker-boot.mjs', here), entry: new URL('./chunkWorker.ts', here).href };
  return { url: new URL('./chunkWorker.js', here), entry: null };
}

interface ChunkWorker {
  worker: Worker;
  port: MessagePort;
  ctl: Int32Array;
  replies: number;
  held: Set<number>;
}

/** The thread runner (see the module comment). Build with {@link threadRunner}; `close()` stops its workers. */
export class ThreadRunner implements ChunkRunner {
  private readonly local: ChunkRunner;
  private workers: ChunkWorker[] | null = null;
  private readonly ids = new WeakMap<Chunk, number>();
  private nextId = 0;
  private closed: string | null = null;

  /** Threads the chunks are spread over, this one included. */
  readonly threads: number;

  constructor(ops: ChunkOps, policy: GaussianMLPPolicy, private readonly init: Omit<ChunkWorkerInit, 'ctl' | 'port'>, threads: number) {
    this.threads = threads;
    if (!Number.isInteger(threads) || threads < 1) throw new Error(`threads must be a positive integer, got ${threads}`);
    this.local = localRunner(policy, ops);
  }

  run(op: string, theta: Float64Array, chunks: readonly Chunk[], args?: unknown): Float64Array[] {
    if (this.closed !== null) throw new Error(`ThreadRunner: run() after close() (${this.closed})`);
    const T = Math.min(this.threads, chunks.length);
    if (T <= 1) return this.local.run(op, theta, chunks, args);
    const workers = this.start();
    const out: Float64Array[] = new Array(chunks.length);
    const posted: { w: ChunkWorker; mine: number[] }[] = [];
    for (let t = 1; t < T; t++) {
      const w = workers[t - 1]!;
      const mine = chunks.map((_, i) => i).filter((i) => i % T === t);
      const ids = mine.map((i) => this.idOf(chunks[i]!));
      const missing = mine.filter((_, j) => !w.held.has(ids[j]!));
      if (missing.length > 0 || w.held.size !== ids.length) {
        const keep = ids.filter((id) => w.held.has(id));
        w.port.postMessage({ type: 'chunks', keep, items: missing.map((i) => packChunk(this.idOf(chunks[i]!), chunks[i]!)) } satisfies ChunkWorkerRequest);
        w.held = new Set(ids);
      }
      w.port.postMessage({ type: 'run', op, theta, args, ids } satisfies ChunkWorkerRequest);
      posted.push({ w, mine });
    }
    const own = chunks.map((_, i) => i).filter((i) => i % T === 0);
    let failure: Error | null = null;
    try {
      this.local.run(op, theta, own.map((i) => chunks[i]!), args).forEach((r, j) => (out[own[j]!] = r));
    } catch (e) {
      failure = e instanceof Error ? e : new Error(String(e));
    }
    // every posted reply is read, even after a failure, so that the next call reads its own
    for (const { w, mine } of posted) {
      const index = workers.indexOf(w) + 1;
      const reply = this.receive(w, index) as { results?: Float64Array[]; error?: string };
      if (reply.error !== undefined) failure ??= new Error(`chunk worker ${index}, op '${op}': ${reply.error}`);
      else reply.results!.forEach((r, j) => (out[mine[j]!] = r));
    }
    if (failure) throw failure;
    return out;
  }

  /** Stops the workers (idempotent). */
  async close(why = 'closed'): Promise<void> {
    this.closed ??= why;
    const ws = this.workers ?? [];
    this.workers = null;
    await Promise.all(ws.map((w) => w.worker.terminate()));
  }

  private idOf(c: Chunk): number {
    let id = this.ids.get(c);
    if (id === undefined) this.ids.set(c, (id = this.nextId++));
    return id;
  }

  /** The workers, started at the first call that needs them. */
  private start(): ChunkWorker[] {
    if (this.workers) return this.workers;
    const { url, entry } = workerScript();
    const { Worker, MessageChannel } = workerThreads();
    this.workers = Array.from({ length: this.threads - 1 }, (_, i) => {
      const ctl = new SharedArrayBuffer(16);
      const { port1, port2 } = new MessageChannel();
      const workerData: ChunkWorkerInit & { __entry?: string } = { ...this.init, ctl, port: port2, ...(entry ? { __entry: entry } : {}) };
      const worker = new Worker(url, { workerData, transferList: [port2], name: `metagrad-chunks-${i + 1}` });
      worker.unref();
      port1.unref();
      return { worker, port: port1, ctl: new Int32Array(ctl), replies: 0, held: new Set<number>() };
    });
    try {
      this.workers.forEach((w, i) => {
        const hello = this.receive(w, i + 1, START_MS) as { ready?: boolean; error?: string };
        if (!hello.ready) throw new Error(`chunk worker ${i + 1}: ${hello.error}`);
      });
    } catch (e) {
      void this.close(`could not start: ${e instanceof Error ? e.message : String(e)}`);
      throw e;
    }
    return this.workers;
  }


  /**
   * The next reply of worker w, waiting for it. A worker that ended (it flags CTL_EXITED from its own
   * 'exit' handler: this thread, blocked, runs no 'exit' event) or that stays silent for `limitMs` ends the wait with an
   * error, and the runner is closed.
   */
  private receive(w: ChunkWorker, index: number, limitMs = WAIT_MS): unknown {
    const t0 = Date.now();
    for (;;) {
      const m = workerThreads().receiveMessageOnPort(w.port);
      if (m) {
        w.replies++;
        return m.message;
      }
      const dead = Atomics.load(w.ctl, CTL_EXITED) === 1 || w.worker.threadId === -1;
      if (dead || (Atomics.wait(w.ctl, CTL_REPLIES, w.replies, 200) === 'timed-out' && Date.now() - t0 > limitMs)) {
        const e = new Error(dead ? `chunk worker ${index} exited` : `chunk worker ${index} did not answer within ${limitMs / 1000} s: it is hung, and was stopped`);
        void this.close(e.message);
        throw e;
      }
    }
  }
}

/**
 * The runner factory for AlgoSettings.runner: the algorithm's ops on `threads` threads (1: this thread),
 * workers building the same algorithm from `algo`, `algoConfig` and the policy's options. `runners`
 * collects what it made, for closing.
 */
export function threadRunner(
  init: { algo: AlgoName; algoConfig: AlgoConfig; policy: GaussianMLPOptions; chunkElements?: number }, threads: number, runners: ThreadRunner[],
): (ops: ChunkOps) => ChunkRunner {
  return (ops) => {
    const r = new ThreadRunner(ops, new GaussianMLPPolicy(init.policy), init, threads);
    runners.push(r);
    return r;
  };
}

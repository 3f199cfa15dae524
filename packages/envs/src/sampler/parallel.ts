/**
 * The parallel sampler: the meta-batch's environments are split into contiguous blocks that worker
 * threads take one at a time; each worker has its own env (its own MuJoCo instance) and runs its block with the same
 * executor as the serial sampler, receiving the policy as a descriptor (kind + flat parameters).
 * Environment e gets the same forked Rng as in sampleMetaBatch, so the result is identical, bit for bit.
 *
 * Worker script: from the built package the workers run dist/sampler/worker.js; from the TypeScript
 * sources (under vitest) they run ts-worker-boot.mjs, which installs a loader that transpiles the
 * .ts sources with the repo's `typescript` package (see ts-hooks.mjs). No build is needed for tests.
 */
import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import type { EnvOptions } from '../registry.js';
import { type RolloutBlock, stopTime } from './rollouts.js';
import { assembleBatch, checkSampleOptions, envPolicies, envTasks, forkEnvRngs } from './serial.js';
import type { EnvShape, SampleBatch, SampleOptions } from './serial.js';
import type { PolicySpec } from './policy.js';
import type { SampleReply, SampleRequest, WorkerInit } from './worker.js';

/** Options of WorkerSampler.create. */
export interface WorkerSamplerOptions {
  /** Env name (as for makeEnv). */
  readonly env: string;
  /** makeEnv options. */
  readonly envOptions?: EnvOptions;
  /** Number of worker threads. Default: os.availableParallelism(). */
  readonly workers?: number;
  /**
   * The watchdog: a worker that has not answered a request after this many milliseconds plus 1 ms per
   * env step it was asked for (about 50× the normal time) is taken as hung; it is stopped and the
   * sample() call fails naming it. Default 60,000.
   */
  readonly watchdogMs?: number;
}

type WorkerReply =
  | { type: 'ready'; shape: EnvShape }
  | SampleReply
  | { type: 'error'; id: number; message: string };

interface Pending {
  resolve: (r: SampleReply) => void;
  reject: (e: Error) => void;
}

/** Blocks of environments per worker and sampling call (dynamic load balancing). */
const BLOCKS_PER_WORKER = 4;

/** How to start a worker from where this module runs (TypeScript sources or built JavaScript). */
function workerScript(): { url: URL; entry: string | null } {
  const here = import.meta.url;
  if (here.endsWith('.ts')) return { url: new URL('./ts-worker-boot.mjs', here), entry: new URL('./worker.ts', here).href };
  return { url: new URL('./worker.js', here), entry: null };
}

/** One worker thread and its outstanding requests. */
class SamplerWorker {
  readonly worker: Worker;
  readonly ready: Promise<EnvShape>;
  private readonly pending = new Map<number, Pending>();
  private failure: Error | null = null;

  constructor(env: string, options: EnvOptions, readonly index: number) {
    const { url, entry } = workerScript();
    const init: WorkerInit & { __entry?: string } = { env, options, ...(entry ? { __entry: entry } : {}) };
    this.worker = new Worker(url, { workerData: init, name: `metagrad-sampler-${index}` });
    let onReady: (s: EnvShape) => void = () => {};
    let onFail: (e: Error) => void = () => {};
    this.ready = new Promise<EnvShape>((res, rej) => {
      onReady = res;
      onFail = rej;
    });
    const fail = (e: Error): void => {
      this.failure = e;
      onFail(e);
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
    };
    this.worker.on('message', (msg: WorkerReply) => {
      if (msg.type === 'ready') {
        this.worker.unref(); // idle workers do not keep the process alive
        onReady(msg.shape);
      }
      else if (msg.type === 'result' || msg.type === 'progress') {
        this.pending.get(msg.id)?.resolve(msg);
        this.pending.delete(msg.id);
      } else if (msg.id === -1) fail(new Error(`sampler worker ${index}: ${msg.message}`));
      else {
        this.pending.get(msg.id)?.reject(new Error(msg.message));
        this.pending.delete(msg.id);
      }
    });
    this.worker.on('error', (e) => fail(new Error(`sampler worker ${index} crashed: ${e instanceof Error ? e.message : String(e)}`)));
    this.worker.on('exit', (code) => {
      if (!this.failure) fail(new Error(`sampler worker ${index} exited (code ${code})`));
    });
  }

  run(req: SampleRequest, timeoutMs: number): Promise<SampleReply> {
    if (this.failure) return Promise.reject(this.failure);
    let timer: ReturnType<typeof setTimeout> | undefined;
    return new Promise<SampleReply>((resolve, reject) => {
      this.pending.set(req.id, { resolve, reject });
      this.worker.ref();
      this.worker.postMessage(req);
      timer = setTimeout(() => {
        const what = req.type === 'start' ? ` (${req.tasks.length} env${req.tasks.length === 1 ? '' : 's'} × ${req.to} steps)` : '';
        const e = new Error(`sampler worker ${this.index} did not answer within ${(timeoutMs / 1000).toFixed(0)} s${what}: it is hung, and was stopped`);
        this.failure = e;
        for (const p of this.pending.values()) p.reject(e);
        this.pending.clear();
        void this.worker.terminate();
      }, timeoutMs);
    }).finally(() => {
      clearTimeout(timer);
      if (this.pending.size === 0 && !this.failure) this.worker.unref();
    });
  }

  async close(): Promise<void> {
    this.failure ??= new Error('sampler worker closed');
    await this.worker.terminate();
  }
}

/**
 * Samples meta-batches on worker threads. Create with `await WorkerSampler.create({ env, workers })`,
 * call `sample(...)` as often as needed (the workers and their envs persist), then `close()`.
 */
export class WorkerSampler {
  /** The env as the workers built it (name, dimensions, horizon, info keys). */
  readonly shape: EnvShape;
  /** Number of worker threads. */
  readonly workers: number;
  private readonly pool: SamplerWorker[];
  private readonly watchdogMs: number;
  private nextId = 0;
  private closed = false;

  private constructor(pool: SamplerWorker[], shape: EnvShape, watchdogMs: number) {
    this.pool = pool;
    this.watchdogMs = watchdogMs;
    this.shape = shape;
    this.workers = pool.length;
  }

  /** Starts the workers and builds the env in each (MuJoCo loads once per worker). */
  static async create(opts: WorkerSamplerOptions): Promise<WorkerSampler> {
    const n = opts.workers ?? availableParallelism();
    if (!Number.isInteger(n) || n < 1) throw new Error(`WorkerSampler: workers must be a positive integer, got ${n}`);
    const pool = Array.from({ length: n }, (_, i) => new SamplerWorker(opts.env, opts.envOptions ?? {}, i));
    try {
      const shapes = await Promise.all(pool.map((w) => w.ready));
      return new WorkerSampler(pool, shapes[0]!, opts.watchdogMs ?? 60_000);
    } catch (e) {
      await Promise.all(pool.map((w) => w.close()));
      throw e;
    }
  }

  /**
   * The meta-batch, its environments spread over the workers in contiguous blocks (four per worker,
   * taken as workers become free); the same result as sampleMetaBatch with the same options and seed.
   * In 'steps' mode every block first runs to the horizon and reports how many steps its finished
   * paths hold at each time step; while all blocks together are short of tasks·rollouts·horizon, they
   * run on (a quarter horizon at a time, each on the worker that holds it) until the stop time T* is
   * known; then each returns its paths finished by T*.
   */
  async sample<Task>(opts: SampleOptions<Task>): Promise<SampleBatch> {
    if (this.closed) throw new Error('WorkerSampler: sample() after close()');
    const { H, mode } = checkSampleOptions(this.shape, opts, false);
    const R = opts.rolloutsPerTask, K = opts.tasks.length;
    const tasks = envTasks(opts.tasks, R);
    const nEnvs = tasks.length;
    const rngStates = forkEnvRngs(opts.rng, nEnvs).map((r) => r.state());
    const { policies, policyOf } = envPolicies(opts.policy as PolicySpec | readonly PolicySpec[], K, R);
    const nBlocks = Math.min(nEnvs, this.workers * BLOCKS_PER_WORKER);
    interface Block { first: number; end: number; worker: SamplerWorker | null; finished: number[]; result: RolloutBlock | null }
    const blocks: Block[] = Array.from({ length: nBlocks }, (_, k) => ({
      first: Math.floor((k * nEnvs) / nBlocks), end: Math.floor(((k + 1) * nEnvs) / nBlocks), worker: null, finished: [0], result: null,
    }));
    const ids = this.nextId;
    this.nextId += nBlocks;
    const deadline = (b: Block, steps: number): number => this.watchdogMs + (b.end - b.first) * steps;
    const take = (b: Block, reply: SampleReply): void => {
      if (reply.type === 'result') b.result = reply.block;
      else b.finished.push(...reply.finished);
    };
    try {
      // phase 1: every block to the horizon; contiguous blocks handed out as workers finish (a worker
      // slowed down by other load on its core takes fewer), each block's result independent of who runs it
      let next = 0;
      const drain = async (worker: SamplerWorker): Promise<void> => {
        while (next < nBlocks) {
          const b = blocks[next]!;
          const k = next++;
          b.worker = worker;
          const used = policyOf.subarray(b.first, b.end);
          const p0 = used[0]!, p1 = used[used.length - 1]!;
          const req: SampleRequest = {
            type: 'start', id: this.nextId++, block: ids + k, tasks: tasks.slice(b.first, b.end), rngStates: rngStates.slice(b.first, b.end), horizon: H,
            policies: policies.slice(p0, p1 + 1), policyOf: used.map((p) => p - p0), mode, to: H, ...(mode === 'episodes' ? { collectAt: H } : {}),
          };
          take(b, await worker.run(req, deadline(b, H)));
        }
      };
      await Promise.all(this.pool.map(drain));
      if (mode === 'steps') {
        // phase 2: run on until T* is known, then collect
        const total = (t: number): number => blocks.reduce((s, b) => s + b.finished[t]!, 0);
        let reached = H;
        let T = stopTime(mode, H, nEnvs * H, reached, total);
        while (T === null) {
          const to = Math.min(2 * H - 1, reached + Math.ceil(H / 4));
          await Promise.all(blocks.map(async (b, k) => take(b, await b.worker!.run({ type: 'advance', id: this.nextId++, block: ids + k, to }, deadline(b, to - reached)))));
          T = stopTime(mode, H, nEnvs * H, to, total);
          reached = to;
        }
        const at = T;
        await Promise.all(blocks.map(async (b, k) => take(b, await b.worker!.run({ type: 'collect', id: this.nextId++, block: ids + k, at }, deadline(b, 1)))));
      }
    } catch (e) {
      // best effort: the workers forget the blocks they still hold
      for (const [k, b] of blocks.entries()) if (b.worker && !b.result) b.worker.run({ type: 'forget', id: this.nextId++, block: ids + k }, this.watchdogMs).catch(() => {});
      throw e;
    }
    return assembleBatch(this.shape, mode, K, R, H, blocks.map((b) => ({ first: b.first, block: b.result! })));
  }

  /** Stops the worker threads. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(this.pool.map((w) => w.close()));
  }
}

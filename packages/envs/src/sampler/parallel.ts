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
import type { RolloutBlock } from './rollouts.js';
import { allocateBatch, checkSampleOptions, envTasks, forkEnvRngs, writeBlock } from './serial.js';
import type { EnvShape, SampleBatch, SampleOptions } from './serial.js';
import type { PolicySpec } from './policy.js';
import type { SampleRequest, WorkerInit } from './worker.js';

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
  | { type: 'result'; id: number; block: RolloutBlock }
  | { type: 'error'; id: number; message: string };

interface Pending {
  resolve: (b: RolloutBlock) => void;
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
      else if (msg.type === 'result') {
        this.pending.get(msg.id)?.resolve(msg.block);
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

  run(req: SampleRequest, timeoutMs: number): Promise<RolloutBlock> {
    if (this.failure) return Promise.reject(this.failure);
    let timer: ReturnType<typeof setTimeout> | undefined;
    return new Promise<RolloutBlock>((resolve, reject) => {
      this.pending.set(req.id, { resolve, reject });
      this.worker.ref();
      this.worker.postMessage(req);
      timer = setTimeout(() => {
        const e = new Error(`sampler worker ${this.index} did not answer within ${(timeoutMs / 1000).toFixed(0)} s (${req.tasks.length} env${req.tasks.length === 1 ? '' : 's'} × ${req.horizon} steps): it is hung, and was stopped`);
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
   * rolloutsPerTask trajectories per task, spread over the workers in contiguous blocks of
   * environments (four per worker, taken as workers become free); the same result as
   * sampleMetaBatch with the same options and seed.
   */
  async sample<Task>(opts: SampleOptions<Task>): Promise<SampleBatch> {
    if (this.closed) throw new Error('WorkerSampler: sample() after close()');
    const H = checkSampleOptions(this.shape, opts, false);
    const R = opts.rolloutsPerTask;
    const tasks = envTasks(opts.tasks, R);
    const nEnvs = tasks.length;
    const rngStates = forkEnvRngs(opts.rng, nEnvs).map((r) => r.state());
    const policy = opts.policy as PolicySpec;
    const batch = allocateBatch(this.shape, opts.tasks.length, R, H);
    // Contiguous blocks, a few per worker, handed out as workers finish (a worker slowed down by
    // other load on its core takes fewer blocks); each block's result does not depend on who runs it.
    const nBlocks = Math.min(nEnvs, this.workers * BLOCKS_PER_WORKER);
    let next = 0;
    const drain = async (worker: SamplerWorker): Promise<void> => {
      while (next < nBlocks) {
        const k = next++;
        const start = Math.floor((k * nEnvs) / nBlocks), end = Math.floor(((k + 1) * nEnvs) / nBlocks);
        const req: SampleRequest = {
          type: 'sample', id: this.nextId++, tasks: tasks.slice(start, end), rngStates: rngStates.slice(start, end), horizon: H, policy,
        };
        writeBlock(batch, await worker.run(req, this.watchdogMs + (end - start) * H), start);
      }
    };
    const jobs = this.pool.map(drain);
    await Promise.all(jobs);
    batch.divergences.sort((a, b) => a.traj - b.traj);
    return batch;
  }

  /** Stops the worker threads. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(this.pool.map((w) => w.close()));
  }
}

/**
 * Task chunking. Every meta-objective here is a mean over the tasks of per-task terms, so its value and
 * its gradient are sums over chunks of tasks, each weighted by (chunk size)/K — exactly, up to the order
 * of floating-point summation. Splitting the meta-batch into chunks keeps every intermediate tensor of
 * the task-batched graphs (e.g. [C, rows·horizon, 64]) under a size budget (2²¹ elements, 16 MB in
 * float64): large enough for efficient matmuls, and small enough that the allocator reuses freed memory
 * instead of mapping fresh pages for every op (glibc serves blocks above 32 MB with new mmaps, whose
 * page faults cost more than the arithmetic), and peak memory stays bounded.
 */
import { type Tensor, concat, enableGrad, gradients, jit, noGrad, treeLeaves, treeMap, treeUnflatten } from '@metagrad/autograd';
import { type GaussianMLPParams, type GaussianMLPPolicy, trainableLeaves } from '../policies.js';
import type { MetaBatch, StepBatch, TaskParams } from './common.js';

/** The default element budget of one chunk's widest tensor. */
export const DEFAULT_CHUNK_ELEMENTS = 1 << 21;

/**
 * When a meta-batch needs more than one chunk, their count is rounded up to a multiple of this (at most
 * K), so that 2 or 4 threads (trainer/threads.ts) get equal shares. A fixed number, not the thread count:
 * the chunks, and so the sums' bits, are the same on every machine.
 */
export const CHUNK_GROUP = 4;

/**
 * Chunk sizes for K tasks whose widest per-task tensor has `perTask` elements: as equal as possible, each
 * ≤ budget (at least 1 task), and one chunk or a multiple of {@link CHUNK_GROUP} of them (at most K).
 */
export function chunkSizes(K: number, perTask: number, budget = DEFAULT_CHUNK_ELEMENTS): number[] {
  const maxTasks = Math.max(1, Math.floor(budget / Math.max(1, perTask)));
  let n = Math.ceil(K / maxTasks);
  if (n > 1) n = Math.min(K, Math.ceil(n / CHUNK_GROUP) * CHUNK_GROUP);
  return Array.from({ length: n }, (_, i) => Math.floor(((i + 1) * K) / n) - Math.floor((i * K) / n));
}

/** The widest layer of TaskParams (or of plain policy parameters). */
export function maxWidth(p: GaussianMLPParams): number {
  return Math.max(...p.layers.map((l) => l.b.shape[l.b.ndim - 1]!));
}

/** Tasks [t0, t1) of TaskParams. */
export function sliceTaskParams(p: TaskParams, t0: number, t1: number): TaskParams {
  return treeMap((t) => t.slice([t0], [t1]), p);
}

/** TaskParams of several chunks joined along the task axis. */
export function concatTaskParams(ps: readonly TaskParams[]): TaskParams {
  if (ps.length === 1) return ps[0]!;
  const leaves = ps.map((p) => treeLeaves(p));
  return treeUnflatten(ps[0]!, leaves[0]!.map((_, i) => concat(leaves.map((l) => l[i]!), 0)));
}

/** Tasks [t0, t1) of a round (constants). */
export function sliceStep(d: StepBatch, t0: number, t1: number): StepBatch {
  if (t0 === 0 && t1 === d.K) return d;
  return noGrad(() => {
    const s = (t: Tensor): Tensor => t.slice([t0], [t1]);
    return {
      ...d, K: t1 - t0, obs: s(d.obs), obsAug: s(d.obsAug), actions: s(d.actions), advantages: s(d.advantages), weights: s(d.weights),
      logpOld: s(d.logpOld), oldParams: sliceTaskParams(d.oldParams, t0, t1), meanOld: s(d.meanOld), logStdOld: s(d.logStdOld), mask: s(d.mask),
      adjustedRewards: d.adjustedRewards ? s(d.adjustedRewards) : null, standardizedRewardMean: s(d.standardizedRewardMean),
      pathOffsets: d.pathOffsets ? { index: s(d.pathOffsets.index), present: s(d.pathOffsets.present) } : null,
    };
  });
}

/** A chunk of a meta-batch: its rounds restricted to tasks [start, end), and its weight (end − start)/K. */
export interface Chunk {
  /** The meta-batch's rounds restricted to the chunk's tasks. */
  readonly batch: MetaBatch;
  /** (end − start)/K. */
  readonly weight: number;
  /** First task of the chunk. */
  readonly start: number;
  /** One past its last task. */
  readonly end: number;
}

const cache = new WeakMap<MetaBatch, Map<number, Chunk[]>>();

/** The meta-batch in task chunks under the element budget (cached per batch and budget). */
export function metaBatchChunks(batch: MetaBatch, budget = DEFAULT_CHUNK_ELEMENTS): Chunk[] {
  let byBudget = cache.get(batch);
  if (!byBudget) {
    byBudget = new Map();
    cache.set(batch, byBudget);
  }
  const hit = byBudget.get(budget);
  if (hit) return hit;
  const d0 = batch.steps[0]!;
  const K = d0.K;
  const widest = Math.max(...batch.steps.map((d) => d.rows * d.horizon * Math.max(maxWidth(d.oldParams), d.obsAug.shape[2]!)));
  const sizes = chunkSizes(K, widest, budget);
  const chunks: Chunk[] = [];
  let t0 = 0;
  for (const c of sizes) {
    const t1 = t0 + c;
    chunks.push({ batch: { steps: batch.steps.map((d) => sliceStep(d, t0, t1)) }, weight: c / K, start: t0, end: t1 });
    t0 = t1;
  }
  byBudget.set(budget, chunks);
  return chunks;
}

/**
 * weight·loss and its gradient on one chunk: [weight·loss(p, batch, statics), ∇ over the trainable leaves].
 * `statics` are the loss's settings that change between calls (ProMP's KL coefficients): JSON values.
 */
export type ChunkGradient<S> = (p: GaussianMLPParams, batch: MetaBatch, weight: number, statics: S) => [Tensor, Tensor[]];

/**
 * The chunk gradient of `loss`, compiled with the engine's jit when `compiled` (one trace per chunk shape
 * and statics value, then replays: the same bits as eager). `loss` must depend on its arguments only:
 * anything else it reads is frozen at the first call.
 */
export function chunkGradient<S>(
  policy: GaussianMLPPolicy, loss: (p: GaussianMLPParams, batch: MetaBatch, statics: S) => Tensor, compiled: boolean,
): ChunkGradient<S> {
  const f = (p: GaussianMLPParams, batch: MetaBatch, weight: number, statics: S): [Tensor, Tensor[]] => enableGrad(() => {
    const L = loss(p, batch, statics).mul(weight);
    return [L, gradients(L, trainableLeaves(p, policy.learnStd), { allowUnused: true })];
  });
  if (!compiled) return f;
  const jf = jit(f);
  // the rounds without their processed arrays (`samples`, plain typed arrays the losses do not read), so
  // the arguments are tensors and static numbers only
  return (p, batch, weight, statics) => jf(p, { steps: batch.steps.map(tensorsOnly) } as unknown as MetaBatch, weight, statics);
}

/** A round without `samples`. */
function tensorsOnly(d: StepBatch): Omit<StepBatch, 'samples'> {
  const { samples: _, ...rest } = d;
  return rest;
}

// ---------- where chunk work runs ----------

/**
 * One piece of an algorithm's work on one chunk: numbers (a weighted value, a flat gradient, …) from the
 * policy's parameters p, the chunk, and JSON-or-typed-array arguments. An algorithm names its ops in a
 * table ({@link ChunkOps}) so that a worker thread holding the same algorithm can run them too.
 */
export type ChunkOp = (p: GaussianMLPParams, chunk: Chunk, args: unknown) => Float64Array;

/** An algorithm's chunk ops by name. */
export type ChunkOps = Readonly<Record<string, ChunkOp>>;

/**
 * Where chunk ops run: `run` returns op(θ, chunk, args) for every chunk, in chunk order. The local runner
 * runs them in this thread; the trainer's thread runner (trainer/threads.ts) spreads the chunks over
 * worker threads. Callers add the results up in chunk order, so the sums are the same bits either way.
 */
export interface ChunkRunner {
  /** op(θ, chunk, args) for every chunk, in chunk order. */
  run(op: string, theta: Float64Array, chunks: readonly Chunk[], args?: unknown): Float64Array[];
}

/** The runner that runs every op in this thread. */
export function localRunner(policy: GaussianMLPPolicy, ops: ChunkOps): ChunkRunner {
  return {
    run(op, theta, chunks, args) {
      const f = ops[op];
      if (!f) throw new Error(`no chunk op '${op}' (known: ${Object.keys(ops).join(', ')})`);
      const p = policy.unflatten(theta);
      return chunks.map((c) => f(p, c, args));
    },
  };
}

/** The results of a runner added up in chunk order (the chunks' weights are inside the ops). */
export function sumInOrder(results: readonly Float64Array[]): Float64Array {
  const out = new Float64Array(results[0]!.length);
  for (const r of results) for (let i = 0; i < r.length; i++) out[i]! += r[i]!;
  return out;
}

/**
 * The op of a chunk gradient: [weight·loss, ∇ flat over θ's layout] (0 on log σ when σ is fixed), with the
 * op's args as the gradient's statics. Run it with {@link valueAndGradOn}.
 */
export function gradientOp<S>(policy: GaussianMLPPolicy, gradient: ChunkGradient<S>): ChunkOp {
  return (p, c, statics) => {
    const [L, gs] = gradient(p, c.batch, c.weight, statics as S);
    const out = new Float64Array(1 + policy.numParams); // the trainable leaves are a prefix of θ
    out[0] = L.item();
    let o = 1;
    for (const g of gs) {
      for (let i = 0; i < g.size; i++) out[o + i] = g.data[i]!;
      o += g.size;
    }
    return out;
  };
}

/** Σ_chunks of a {@link gradientOp}: the loss's value and flat gradient at θ. */
export function valueAndGradOn(runner: ChunkRunner, op: string, theta: Float64Array, chunks: readonly Chunk[], statics?: unknown): {
  /** loss(θ). */
  value: number;
  /** ∇loss(θ), flat. */
  grad: Float64Array;
} {
  const s = sumInOrder(runner.run(op, theta, chunks, statics));
  return { value: s[0]!, grad: s.slice(1) };
}

/** The op of named scalars weight · f (see {@link chunkedValues}): their values in the order of their sorted names. */
export function valuesOp(f: (p: GaussianMLPParams, chunk: MetaBatch, args: unknown) => Record<string, Tensor>): ChunkOp {
  return (p, c, args) => noGrad(() => {
    const r = f(p, c.batch, args);
    return Float64Array.from(Object.keys(r).sort(), (k) => c.weight * r[k]!.item());
  });
}

/** Σ_chunks of a {@link valuesOp} whose f names exactly `names` (in any order), by name. */
export function valuesOn(runner: ChunkRunner, op: string, names: readonly string[], theta: Float64Array, chunks: readonly Chunk[], args?: unknown): Record<string, number> {
  const s = sumInOrder(runner.run(op, theta, chunks, args));
  if (s.length !== names.length) throw new Error(`chunk op '${op}' returned ${s.length} values for ${names.length} names (${names.join(', ')})`);
  return Object.fromEntries([...names].sort().map((k, i) => [k, s[i]!]));
}

/**
 * The value and flat gradient of loss(θ) = Σ_chunks weight · loss_chunk(θ), with loss_chunk a mean over
 * the chunk's tasks: one forward and backward pass per chunk, each graph released before the next.
 * `loss` is a plain function (run eagerly) or a {@link chunkGradient} with its statics.
 */
export function chunkedValueAndGrad<S = null>(
  policy: GaussianMLPPolicy, theta: Float64Array, chunks: readonly Chunk[],
  loss: ((p: GaussianMLPParams, chunk: MetaBatch) => Tensor) | { gradient: ChunkGradient<S>; statics: S },
): {
  /** loss(θ). */
  value: number;
  /** ∇loss(θ), flat (0 on log σ when σ is fixed). */
  grad: Float64Array;
} {
  const cg = typeof loss === 'function' ? { gradient: chunkGradient(policy, (p, b) => loss(p, b), false), statics: null as S } : loss;
  const p = policy.unflatten(theta);
  const grad = new Float64Array(theta.length); // the trainable leaves are a prefix of θ: a fixed log σ keeps a zero gradient
  let value = 0;
  for (const c of chunks) {
    const [L, gs] = cg.gradient(p, c.batch, c.weight, cg.statics);
    value += L.item();
    let o = 0;
    for (const g of gs) {
      for (let i = 0; i < g.size; i++) grad[o + i]! += g.data[i]!;
      o += g.size;
    }
  }
  return { value, grad };
}

/** Named scalars Σ_chunks weight · f_chunk(θ) (values only; the inner steps still take their gradients). */
export function chunkedValues<N extends string>(
  policy: GaussianMLPPolicy, theta: Float64Array, chunks: readonly Chunk[], f: (p: GaussianMLPParams, chunk: MetaBatch) => Record<N, Tensor>,
): Record<N, number> {
  const p = policy.unflatten(theta);
  const out = {} as Record<N, number>;
  noGrad(() => {
    for (const c of chunks) {
      const r = f(p, c.batch);
      for (const k of Object.keys(r) as N[]) out[k] = (out[k] ?? 0) + c.weight * r[k].item();
    }
  });
  return out;
}

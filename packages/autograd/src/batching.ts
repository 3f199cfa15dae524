/**
 * vmap: a function of one example, run on a whole batch at once. Inside `vmap(f)`, f sees tracers:
 * tensors with the per-example shape whose storage holds the batch (the batch axis first). Every
 * primitive applied to a tracer runs its batching rule (in the primitives' table, next to its forward,
 * VJP and JVP) on the whole batch and returns a tracer again, so one call does the work of a loop.
 * Tracers are recorded like any tensor, so reverse and forward mode work inside vmap (per-example
 * gradients: `vmap(grad(f))`) and outside it (`grad(x => vmap(f)(x).sum())`), to any order. Nested
 * vmaps have levels: an inner tracer's storage is itself a tracer of the outer level.
 */
import { BatchTracer, type Tensor } from './tensor.js';
import { type Params, treeLeaves, treeUnflatten } from './autodiff.js';
import * as ops from './ops.js';
import { fmtShape } from './shape.js';

export { BatchTracer };

/** The vmap levels in progress (a tracer of another level has escaped its vmap). */
const activeLevels = new Set<number>();
let nextLevel = 1;

/** The highest vmap level among `inputs` (0 when none is a tracer); throws when a tracer escaped its vmap. */
export function batchLevel(inputs: readonly Tensor[]): number {
  let level = 0;
  for (const x of inputs)
    if (x instanceof BatchTracer) {
      if (!activeLevels.has(x.level)) throw new Error('vmap: a batched tensor was used after its vmap returned (it leaked out of the vmapped function, e.g. through a closure)');
      if (x.level > level) level = x.level;
    }
  return level;
}

/** An input seen by a batching rule: at this level, its batch storage (batch axis first) or the unbatched tensor. */
export interface BatchArg {
  /** The physical tensor: [batch, ...shape] when batched, else the input itself. */
  val: Tensor;
  /** Whether it carries this level's batch axis (first). */
  batched: boolean;
}

/** The per-example rank of a batching rule's argument. */
export const rankOf = (a: BatchArg): number => a.val.ndim - (a.batched ? 1 : 0);

/**
 * A batched argument with 1s inserted after its batch axis up to per-example rank `rank`, so it
 * broadcasts against unbatched arguments (which align from the right) as the per-example shapes do.
 */
export function aligned(a: BatchArg, rank: number): Tensor {
  if (!a.batched) return a.val;
  const r = rankOf(a);
  if (r >= rank) return a.val;
  const s = a.val.shape;
  return ops.reshape(a.val, [s[0]!, ...new Array<number>(rank - r).fill(1), ...s.slice(1)]);
}

/** An argument as a batched tensor of `batch` examples (an unbatched one broadcast along a new first axis). */
export function withBatch(a: BatchArg, batch: number): Tensor {
  if (a.batched) return a.val;
  return ops.broadcastTo(ops.expandDims(a.val, 0), [batch, ...a.val.shape]);
}

/** The batch size of the first batched argument. */
export const batchSize = (args: readonly BatchArg[]): number => args.find((a) => a.batched)!.val.shape[0]!;

/** The batching-rule arguments of `inputs` at `level`. */
export function batchArgs(inputs: readonly Tensor[], level: number): BatchArg[] {
  return inputs.map((x) => (x instanceof BatchTracer && x.level === level ? { val: x.val, batched: true } : { val: x, batched: false }));
}

/** `axes`' entries (a number, an array, null or a pytree of them) for each of `args`' leaves. */
function axesFor(what: string, axes: unknown, args: readonly Params[]): (number | null)[][] {
  const perArg = Array.isArray(axes) ? axes : args.map(() => axes);
  if (perArg.length !== args.length) throw new Error(`vmap: ${what} has ${perArg.length} entries for ${args.length} arguments`);
  return args.map((arg, i) => {
    const n = treeLeaves(arg).length;
    const ax = perArg[i];
    if (ax === null || typeof ax === 'number') return new Array<number | null>(n).fill(ax as number | null);
    const leaves = axisLeaves(ax);
    if (leaves.length !== n) throw new Error(`vmap: ${what} for argument ${i} has ${leaves.length} entries for ${n} tensors`);
    return leaves;
  });
}

/** The numbers and nulls of a pytree of axes, in treeLeaves order. */
function axisLeaves(ax: unknown): (number | null)[] {
  if (ax === null || typeof ax === 'number') return [ax as number | null];
  if (Array.isArray(ax)) return ax.flatMap(axisLeaves);
  if (typeof ax === 'object') return Object.keys(ax as object).flatMap((k) => axisLeaves((ax as Record<string, unknown>)[k]));
  throw new Error(`vmap: an axis must be a number or null, got ${typeof ax}`);
}

/**
 * Vectorizing map, as in JAX: `vmap(f, inAxes, outAxes)(...args)` runs f once on a whole batch and
 * returns what stacking f's results over the batch would give. `inAxes` (default 0): for each argument,
 * the axis of its tensors that is the batch (negative counts from the end), or null for an argument
 * shared by every example; a number applies to every argument, an array gives one entry per argument,
 * each a number, null or a pytree matching that argument. `outAxes` (default 0): where the batch axis goes
 * in each output (a number, or a pytree matching the output). Every batched tensor must have the same
 * batch size. Composes both ways with grad, hvp, jvp, hessian and vmap itself, to any order.
 */
export function vmap<A extends Params[], O extends Params>(
  f: (...args: A) => O,
  inAxes: number | null | readonly unknown[] = 0,
  outAxes: number | Params | unknown = 0,
): (...args: A) => O {
  if (typeof f !== 'function') throw new Error('vmap: the first argument must be a function');
  return (...args: A) => {
    const axes = axesFor('inAxes', inAxes, args);
    const level = nextLevel++;
    let batch: number | null = null;
    const wrapped = args.map((arg, i) => {
      const leaves = treeLeaves(arg);
      return treeUnflatten(arg, leaves.map((x, j) => {
        const ax = axes[i]![j]!;
        if (ax === null) return x;
        if (!Number.isInteger(ax) || ax < -x.ndim || ax >= x.ndim)
          throw new Error(`vmap: inAxes ${ax} is out of range for argument ${i} of shape ${fmtShape(x.shape)}`);
        const a = ax < 0 ? ax + x.ndim : ax;
        const n = x.shape[a]!;
        if (batch === null) batch = n;
        else if (n !== batch) throw new Error(`vmap: batch sizes differ: argument ${i} has ${n} along axis ${a}, an earlier one ${batch}`);
        const moved = a === 0 ? x : ops.transpose(x, [a, ...x.shape.map((_, d) => d).filter((d) => d !== a)]);
        return new BatchTracer(moved, level);
      }));
    }) as A;
    if (batch === null) throw new Error('vmap: no argument is batched (every inAxes entry is null)');
    const B: number = batch;
    activeLevels.add(level);
    let out: O;
    try {
      out = f(...wrapped);
    } finally {
      activeLevels.delete(level);
    }
    const leaves = treeLeaves(out);
    const oax = outAxes === null || typeof outAxes === 'number' ? leaves.map(() => outAxes as number | null) : axisLeaves(outAxes);
    if (oax.length !== leaves.length) throw new Error(`vmap: outAxes has ${oax.length} entries for ${leaves.length} outputs`);
    return treeUnflatten(out, leaves.map((y, k) => {
      const ax = oax[k]!;
      const isOurs = y instanceof BatchTracer && y.level === level;
      if (ax === null) {
        if (isOurs) throw new Error(`vmap: output ${k} depends on the batch, but its outAxes entry is null`);
        return y;
      }
      const phys = isOurs ? (y as BatchTracer).val : ops.broadcastTo(ops.expandDims(y, 0), [B, ...y.shape]);
      const r = phys.ndim;
      if (!Number.isInteger(ax) || ax < -r || ax >= r) throw new Error(`vmap: outAxes ${ax} is out of range for output ${k} of shape ${fmtShape(phys.shape.slice(1))}`);
      const a = ax < 0 ? ax + r : ax;
      if (a === 0) return phys;
      const perm = phys.shape.map((_, d) => d).slice(1);
      perm.splice(a, 0, 0);
      return ops.transpose(phys, perm);
    })) as O;
  };
}

/**
 * Function forms of every op. Primitive ops validate their arguments and call `apply`; derived ops
 * (square, mean, clip, logSumExp, logSoftmax, softmax, stack, ...) are compositions of primitives and
 * so get every derivative from the primitives' rules.
 */
import { type Tensor as TensorT, Tensor } from './tensor.js';
import { apply } from './primitives.js';
import type { DType } from './kernels/cpu.js';
import { alloc } from './kernels/cpu.js';
import { checkShape, fmtShape, fmtValue, normAxes, normAxis, shapeEq, sizeOf, broadcastShapes } from './shape.js';

type T = TensorT;
/** A tensor, or a plain number (a 0-d tensor of the other operand's dtype). @inline */
type Operand = T | number;

function scalarOf(v: number, dtype: DType): T {
  const d = alloc(dtype, 1);
  d[0] = v;
  return new Tensor(d, []);
}

function asTensor(op: string, x: unknown, dtype: DType): T {
  if (x instanceof Tensor) return x;
  if (typeof x === 'number') return scalarOf(x, dtype);
  throw new Error(`${op}: expected a Tensor or a number, got ${x === null ? 'null' : typeof x}`);
}

/** Lifts plain numbers to scalars of the other operand's dtype (float64 when both are numbers). */
function operands(op: string, a: Operand, b: Operand): [T, T] {
  const dtype: DType = a instanceof Tensor ? a.dtype : b instanceof Tensor ? b.dtype : 'float64';
  return [asTensor(op, a, dtype), asTensor(op, b, dtype)];
}

function unaryArg(op: string, x: unknown): T {
  if (!(x instanceof Tensor)) throw new Error(`${op}: expected a Tensor, got ${x === null ? 'null' : typeof x}`);
  return x;
}

// ---------- elementwise ----------

/** a + b (broadcast). */
export const add = (a: Operand, b: Operand): T => apply('add', operands('add', a, b), null);
/** a − b (broadcast). */
export const sub = (a: Operand, b: Operand): T => apply('sub', operands('sub', a, b), null);
/** a · b (broadcast). */
export const mul = (a: Operand, b: Operand): T => apply('mul', operands('mul', a, b), null);
/** a / b (broadcast). */
export const div = (a: Operand, b: Operand): T => apply('div', operands('div', a, b), null);
/** aᵇ (broadcast). */
export const pow = (a: Operand, b: Operand): T => apply('pow', operands('pow', a, b), null);
/** Elementwise max(a, b). */
export const maximum = (a: Operand, b: Operand): T => apply('maximum', operands('maximum', a, b), null);
/** Elementwise min(a, b). */
export const minimum = (a: Operand, b: Operand): T => apply('minimum', operands('minimum', a, b), null);
/** 1 where a > b else 0 (a constant: no derivative). */
export const greater = (a: Operand, b: Operand): T => apply('greater', operands('greater', a, b), null);
/** 1 where a ≥ b else 0. */
export const greaterEqual = (a: Operand, b: Operand): T => apply('greaterEqual', operands('greaterEqual', a, b), null);
/** 1 where a < b else 0. */
export const less = (a: Operand, b: Operand): T => apply('less', operands('less', a, b), null);
/** 1 where a ≤ b else 0. */
export const lessEqual = (a: Operand, b: Operand): T => apply('lessEqual', operands('lessEqual', a, b), null);
/** 1 where a = b else 0. */
export const equal = (a: Operand, b: Operand): T => apply('equal', operands('equal', a, b), null);
/** 1 where a ≠ b else 0. */
export const notEqual = (a: Operand, b: Operand): T => apply('notEqual', operands('notEqual', a, b), null);

/** −x. */
export const neg = (x: T): T => apply('neg', [unaryArg('neg', x)], null);
/** eˣ. */
export const exp = (x: T): T => apply('exp', [unaryArg('exp', x)], null);
/** Natural log. */
export const log = (x: T): T => apply('log', [unaryArg('log', x)], null);
/** tanh x. */
export const tanh = (x: T): T => apply('tanh', [unaryArg('tanh', x)], null);
/** σ(x) = 1 / (1 + e⁻ˣ). */
export const sigmoid = (x: T): T => apply('sigmoid', [unaryArg('sigmoid', x)], null);
/** log(1 + eˣ), computed stably. */
export const softplus = (x: T): T => apply('softplus', [unaryArg('softplus', x)], null);
/** √x. */
export const sqrt = (x: T): T => apply('sqrt', [unaryArg('sqrt', x)], null);
/** |x|. */
export const abs = (x: T): T => apply('abs', [unaryArg('abs', x)], null);
/** sign(x) ∈ {−1, 0, 1} (a constant: no derivative). */
export const sign = (x: T): T => apply('sign', [unaryArg('sign', x)], null);
/** g·(1 − y²): the tanh VJP as one fused primitive (internal; differentiable like any op). */
export const tanhBackward = (g: T, y: T): T => apply('tanhBackward', operands('tanhBackward', g, y), null);
/** x² (= x·x). */
export const square = (x: T): T => mul(x, x);

/** min(max(x, lo), hi). */
export function clip(x: T, lo: number, hi: number): T {
  if (!(lo <= hi)) throw new Error(`clip: lo (${lo}) must be ≤ hi (${hi})`);
  return minimum(maximum(x, lo), hi);
}

/** a where cond ≠ 0, else b (broadcast over all three); no derivative flows into cond. */
export function where(cond: T, a: Operand, b: Operand): T {
  const c = unaryArg('where', cond);
  const dtype: DType = a instanceof Tensor ? a.dtype : b instanceof Tensor ? b.dtype : c.dtype;
  return apply('where', [c, asTensor('where', a, dtype), asTensor('where', b, dtype)], null);
}

// ---------- reductions ----------

/** Σ over `axis` (all axes when omitted). */
export function sum(x: T, axis?: number | readonly number[], keepDims = false): T {
  const axes = normAxes('sum', axis, unaryArg('sum', x).ndim);
  return apply('sum', [x], { axes, keepDims });
}

/** Maximum over `axis` (all axes when omitted); the derivative is shared among ties. */
export function max(x: T, axis?: number | readonly number[], keepDims = false): T {
  const axes = normAxes('max', axis, unaryArg('max', x).ndim);
  return apply('max', [x], { axes, keepDims });
}

/** Mean over `axis` (all axes when omitted). */
export function mean(x: T, axis?: number | readonly number[], keepDims = false): T {
  const axes = normAxes('mean', axis, unaryArg('mean', x).ndim);
  const count = axes.reduce((c, a) => c * x.shape[a]!, 1);
  if (count === 0) throw new Error(`mean: cannot average over an empty axis of ${fmtShape(x.shape)}`);
  return div(sum(x, axes, keepDims), count);
}

/** log Σ exp(x) over `axis`, stable: m + log Σ exp(x − m) with m = stopGradient(max x). */
export function logSumExp(x: T, axis?: number | readonly number[], keepDims = false): T {
  const axes = normAxes('logSumExp', axis, unaryArg('logSumExp', x).ndim);
  const mx = max(x.detach(), axes, true).detach();
  // a row of all −∞ (or a NaN) shifts by 0 instead, so it stays −∞ (NaN); |m| < ∞ is false for both.
  // An op rather than a loop over m's values, so a jit trace replays it.
  const m = where(less(abs(mx), Infinity), mx, 0);
  const r = add(log(sum(exp(sub(x, m)), axes, true)), m);
  return keepDims ? r : reshape(r, x.shape.filter((_, i) => !axes.includes(i)));
}

/** x − logSumExp(x) along `axis` (the last by default). */
export function logSoftmax(x: T, axis = -1): T {
  normAxis('logSoftmax', axis, unaryArg('logSoftmax', x).ndim);
  return sub(x, logSumExp(x, axis, true));
}

/** exp(logSoftmax(x)) along `axis` (the last by default). */
export function softmax(x: T, axis = -1): T {
  normAxis('softmax', axis, unaryArg('softmax', x).ndim);
  return exp(logSoftmax(x, axis));
}

/** Sums g over the axes broadcasting added, so the result has `shape` (the adjoint of broadcastTo). */
export function sumTo(g: T, shape: readonly number[]): T {
  if (shapeEq(g.shape, shape)) return g;
  const lead = g.ndim - shape.length;
  if (lead < 0) throw new Error(`sumTo: cannot sum ${fmtShape(g.shape)} to the larger rank ${fmtShape(shape)}`);
  const axes: number[] = [];
  for (let i = 0; i < g.ndim; i++) if (i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1)) axes.push(i);
  return reshape(sum(g, axes, true), shape);
}

// ---------- shape ----------

/** Same elements in a new shape (one entry may be −1, inferred). */
export function reshape(x: T, shape: readonly number[]): T {
  unaryArg('reshape', x);
  if (!Array.isArray(shape)) throw new Error(`reshape: shape must be an array of integers, got ${fmtValue(shape)}`);
  const s = [...shape];
  s.forEach((d, i) => {
    if (!Number.isInteger(d) || d < -1)
      throw new Error(`reshape: shape[${i}] must be a non-negative integer or -1 (inferred), got ${fmtValue(d)} in ${fmtShape(shape)}`);
  });
  const unknown = s.indexOf(-1);
  if (unknown >= 0 && s.indexOf(-1, unknown + 1) >= 0) throw new Error(`reshape: only one entry of ${fmtShape(shape)} may be -1`);
  if (unknown >= 0) {
    const rest = sizeOf(s.filter((_, i) => i !== unknown));
    if (rest === 0 || x.size % rest !== 0) throw new Error(`reshape: cannot reshape ${fmtShape(x.shape)} to ${fmtShape(shape)}`);
    s[unknown] = x.size / rest;
  }
  if (s.some((d) => !Number.isInteger(d) || d < 0) || sizeOf(s) !== x.size)
    throw new Error(`reshape: cannot reshape ${fmtShape(x.shape)} (${x.size} elements) to ${fmtShape(shape)}`);
  if (shapeEq(s, x.shape)) return x;
  return apply('reshape', [x], { shape: s });
}

/** Permutes axes (reverses them when `perm` is omitted). */
export function transpose(x: T, perm?: readonly number[]): T {
  const nd = unaryArg('transpose', x).ndim;
  if (perm !== undefined && !Array.isArray(perm)) throw new Error(`transpose: perm must be an array of axes, got ${fmtValue(perm)}`);
  const p = perm ? perm.map((a, i) => normAxis('transpose', a, nd, `perm[${i}]`)) : Array.from({ length: nd }, (_, i) => nd - 1 - i);
  if (p.length !== nd || new Set(p).size !== nd) throw new Error(`transpose: ${JSON.stringify(perm)} is not a permutation of ${nd} axes`);
  if (p.every((a, i) => a === i)) return x;
  return apply('transpose', [x], { perm: p });
}

/** Broadcasts x to `shape` (NumPy rules). */
export function broadcastTo(x: T, shape: readonly number[]): T {
  unaryArg('broadcastTo', x);
  checkShape('broadcastTo', shape);
  const b = broadcastShapes('broadcastTo', x.shape, shape);
  if (!shapeEq(b, shape)) throw new Error(`broadcastTo: cannot broadcast ${fmtShape(x.shape)} to ${fmtShape(shape)}`);
  if (shapeEq(x.shape, shape)) return x;
  return apply('broadcastTo', [x], { shape: [...shape] });
}

/** Inserts an axis of length 1 at `axis`. */
export function expandDims(x: T, axis: number): T {
  const a = normAxis('expandDims', axis, x.ndim + 1);
  const s = [...x.shape];
  s.splice(a, 0, 1);
  return reshape(x, s);
}

/** Removes `axis` (must have length 1), or every length-1 axis. */
export function squeeze(x: T, axis?: number): T {
  if (axis === undefined) return reshape(x, x.shape.filter((d) => d !== 1));
  const a = normAxis('squeeze', axis, x.ndim);
  if (x.shape[a] !== 1) throw new Error(`squeeze: axis ${axis} of ${fmtShape(x.shape)} has length ${x.shape[a]}, not 1`);
  return reshape(x, x.shape.filter((_, i) => i !== a));
}

/**
 * x[starts[0]:ends[0], starts[1]:ends[1], …]; missing entries take the whole axis, negative entries count
 * from the end (NumPy), and bounds are clamped.
 */
export function slice(x: T, starts: readonly number[], ends?: readonly (number | undefined)[]): T {
  unaryArg('slice', x);
  if (!Array.isArray(starts)) throw new Error(`slice: starts must be an array of integers, got ${fmtValue(starts)}`);
  if (ends !== undefined && !Array.isArray(ends)) throw new Error(`slice: ends must be an array of integers (or undefined entries), got ${fmtValue(ends)}`);
  if (starts.length > x.ndim) throw new Error(`slice: ${starts.length} starts for a tensor of rank ${x.ndim}`);
  if (ends && ends.length > x.ndim) throw new Error(`slice: ${ends.length} ends for a tensor of rank ${x.ndim}`);
  starts.forEach((v, d) => {
    if (!Number.isInteger(v)) throw new Error(`slice: starts[${d}] must be an integer, got ${fmtValue(v)}`);
  });
  ends?.forEach((v, d) => {
    if (v !== undefined && !Number.isInteger(v)) throw new Error(`slice: ends[${d}] must be an integer or undefined, got ${fmtValue(v)}`);
  });
  const st: number[] = [], sz: number[] = [];
  for (let d = 0; d < x.ndim; d++) {
    const n = x.shape[d]!;
    const norm = (v: number): number => Math.min(Math.max(v < 0 ? v + n : v, 0), n);
    const s = d < starts.length ? norm(starts[d]!) : 0;
    const e = ends && ends[d] !== undefined ? norm(ends[d]!) : n;
    st.push(s);
    sz.push(Math.max(e - s, 0));
  }
  if (shapeEq(sz, x.shape)) return x;
  return apply('slice', [x], { starts: st, sizes: sz });
}

/** Zeros of `shape` with x placed at `starts` (the adjoint of slice). */
export function pad(x: T, starts: readonly number[], shape: readonly number[]): T {
  if (shape.length !== x.ndim || starts.some((s, i) => s < 0 || s + x.shape[i]! > shape[i]!))
    throw new Error(`pad: ${fmtShape(x.shape)} at ${fmtShape(starts)} does not fit in ${fmtShape(shape)}`);
  if (shapeEq(shape, x.shape)) return x;
  return apply('pad', [x], { starts: [...starts], shape: [...shape] });
}

/** Row i along axis 0 (the axis is dropped); negative i counts from the end. */
export function index(x: T, i: number): T {
  unaryArg('index', x);
  if (x.ndim === 0) throw new Error('index: cannot index a 0-d tensor');
  const n = x.shape[0]!;
  if (!Number.isInteger(i)) throw new Error(`index: i must be an integer, got ${fmtValue(i)}`);
  const k = i < 0 ? i + n : i;
  if (k < 0 || k >= n) throw new Error(`index: ${i} is out of range for axis 0 of length ${n} (allowed: ${-n} to ${n - 1})`);
  return reshape(slice(x, [k], [k + 1]), x.shape.slice(1));
}

/** Joins tensors along an existing axis. */
export function concat(ts: readonly T[], axis = 0): T {
  if (!(ts instanceof Array) || ts.length === 0) throw new Error('concat: needs a non-empty array of tensors');
  ts.forEach((t) => unaryArg('concat', t));
  const a = normAxis('concat', axis, ts[0]!.ndim);
  for (const t of ts) {
    if (t.dtype !== ts[0]!.dtype) throw new Error(`concat: dtype mismatch: ${ts.map((u) => u.dtype).join(' vs ')}`);
    if (t.ndim !== ts[0]!.ndim || t.shape.some((d, i) => i !== a && d !== ts[0]!.shape[i]))
      throw new Error(`concat: shapes ${ts.map((u) => fmtShape(u.shape)).join(', ')} differ outside axis ${axis}`);
  }
  if (ts.length === 1) return ts[0]!;
  return apply('concat', ts, { axis: a });
}

/** Joins tensors of equal shape along a new axis. */
export function stack(ts: readonly T[], axis = 0): T {
  if (!Array.isArray(ts) || ts.length === 0) throw new Error('stack: needs a non-empty array of tensors');
  ts.forEach((t) => unaryArg('stack', t));
  const a = normAxis('stack', axis, ts[0]!.ndim + 1);
  for (const t of ts)
    if (!shapeEq(t.shape, ts[0]!.shape)) throw new Error(`stack: shapes ${ts.map((u) => fmtShape(u.shape)).join(', ')} differ; stack needs equal shapes`);
  return concat(ts.map((t) => expandDims(t, a)), a);
}

/** The index values and their shape (a plain array or an Int32Array is 1-D); throws on anything else. */
function toIndex(op: string, indices: unknown): [ArrayLike<number>, number[]] {
  if (indices instanceof Tensor) return [indices.data, [...indices.shape]];
  if (Array.isArray(indices) || indices instanceof Int32Array) return [indices as ArrayLike<number>, [indices.length]];
  throw new Error(`${op}: indices must be a Tensor, an array of integers or an Int32Array, got ${fmtValue(indices)}`);
}

/** Throws unless every index is an integer in [0, len) (checked before any conversion to Int32, so 2³² cannot wrap to 0). */
function checkIndices(op: string, src: ArrayLike<number>, len: number, axis: number): void {
  for (let i = 0; i < src.length; i++) {
    const v = src[i]!;
    if (!Number.isInteger(v)) throw new Error(`${op}: indices must be integers, found ${fmtValue(v)} at flat index ${i}`);
    if (v < 0 || v >= len) throw new Error(`${op}: index ${v} is out of range for axis ${axis} of length ${len}`);
  }
}

/**
 * PyTorch-style gather (take-along-axis): `indices` has x's rank, and out[…, i, …] = x[…, indices[…, i, …], …]
 * along `axis`; the other axes of `indices` may be shorter than x's. Categorical log-probs:
 * `logp.gather(actions.reshape([N, 1]), 1)`.
 */
export function gather(x: T, indices: T | readonly number[] | Int32Array, axis: number): T {
  unaryArg('gather', x);
  const a = normAxis('gather', axis, x.ndim);
  const [src, shape] = toIndex('gather', indices);
  if (shape.length !== x.ndim)
    throw new Error(`gather: indices of shape ${fmtShape(shape)} must have the rank of x ${fmtShape(x.shape)}`);
  for (let d = 0; d < shape.length; d++)
    if (d !== a && shape[d]! > x.shape[d]!) throw new Error(`gather: indices ${fmtShape(shape)} exceed x ${fmtShape(x.shape)} on axis ${d}`);
  checkIndices('gather', src, x.shape[a]!, axis); // a tracer's data is its whole batch: all checked
  return gatherIndex(x, indices instanceof Tensor ? indices : new Tensor(Float64Array.from(src), shape), a);
}

/** gather with indices already checked (the rules of gather and scatterAdd). */
export function gatherIndex(x: T, indices: T, axis: number): T {
  return apply('gather', [x, indices], { axis });
}

/** Zeros of `shape` with g added at the gathered positions (the adjoint of gather). */
export function scatterAdd(g: T, indices: T, axis: number, shape: readonly number[]): T {
  return apply('scatterAdd', [g, indices], { axis, shape: [...shape] });
}

/** Running sum along `axis`; `reverse` sums from the end (reward-to-go). */
export function cumsum(x: T, axis: number, reverse = false): T {
  const a = normAxis('cumsum', axis, unaryArg('cumsum', x).ndim);
  return apply('cumsum', [x], { axis: a, reverse });
}

/** Converts to another dtype (the derivative converts back). */
export function astype(x: T, dtype: DType): T {
  if (dtype !== 'float64' && dtype !== 'float32') throw new Error(`astype: unknown dtype '${String(dtype)}'`);
  if (unaryArg('astype', x).dtype === dtype) return x;
  return apply('cast', [x], { dtype });
}

// ---------- nn ----------

/** Matrix product with NumPy semantics: 1-D operands are promoted, batch axes broadcast. */
export function matmul(a: T, b: T): T {
  unaryArg('matmul', a);
  unaryArg('matmul', b);
  if (a.ndim === 0 || b.ndim === 0) throw new Error(`matmul: operands must be at least 1-D, got ${fmtShape(a.shape)} and ${fmtShape(b.shape)}`);
  const a2 = a.ndim === 1 ? reshape(a, [1, a.shape[0]!]) : a;
  const b2 = b.ndim === 1 ? reshape(b, [b.shape[0]!, 1]) : b;
  const ka = a2.shape[a2.ndim - 1]!, kb = b2.shape[b2.ndim - 2]!;
  if (ka !== kb) throw new Error(`matmul: inner dimensions differ: ${fmtShape(a.shape)} · ${fmtShape(b.shape)} (${ka} vs ${kb})`);
  let r = matmulT(a2, b2, false, false);
  if (a.ndim === 1) r = squeeze(r, -2);
  if (b.ndim === 1) r = squeeze(r, -1);
  return r;
}

/** op(a)·op(b) on ≥2-D operands, where op transposes the last two axes when its flag is set. */
export function matmulT(a: T, b: T, transA: boolean, transB: boolean): T {
  return apply('matmul', [a, b], { transA, transB });
}

/** The same value with no graph: its derivative is zero at every order. */
export function stopGradient(t: T): T {
  return unaryArg('stopGradient', t).detach();
}

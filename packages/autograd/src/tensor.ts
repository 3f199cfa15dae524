/**
 * The Tensor: an immutable n-d array (row-major Float64Array or Float32Array) plus, when it was made by a
 * recorded op, the graph node (primitive, inputs, params) reverse mode walks back through.
 */
import { type Data, type DType, alloc, allocZeroed, dtypeOf } from './kernels/cpu.js';
import { type Shape, checkShape, fmtShape, fmtValue, sizeOf } from './shape.js';
import type { Node } from './graph.js';
import * as ops from './ops.js';
import { Rng } from './random.js';
import { recorder } from './trace.js';

export type { Data, DType };

/** A nested array of numbers of any depth (for `tensor()` input and `toNested()` output). */
export type Nested = number | Nested[];

let nextId = 0;

/** An immutable n-d array of float64 (default) or float32 numbers that records how it was computed. */
export class Tensor {
  /** Row-major element storage. Never mutate it: tensors share storage (reshape, stopGradient). */
  readonly data: Data;
  /** Length of each axis, outermost first ([] for a 0-d tensor); frozen. */
  readonly shape: readonly number[];
  /** 'float64' or 'float32': the element type of `data`. */
  readonly dtype: DType;
  /** Number of elements: the product of `shape` (1 for a 0-d tensor). */
  readonly size: number;
  /** Creation order; a tensor's inputs always have smaller ids, which gives reverse mode its order. */
  readonly id: number;
  /** The recorded op that produced this tensor, or null for a leaf / unrecorded result. */
  readonly node: Node | null;

  /**
   * Wraps `data` (not copied) as a tensor of `shape`, recorded as made by `node`. Throws when data.length
   * is not the shape's size. Ops call this; from user code, {@link tensor} and the other creators are simpler.
   */
  constructor(data: Data, shape: Shape, node: Node | null = null) {
    const n = sizeOf(shape);
    // (a vmap tracer, a subclass, holds the whole batch's storage behind its per-example shape)
    if (data.length !== n && new.target === Tensor) throw new Error(`Tensor: data has ${data.length} elements but shape ${fmtShape(shape)} needs ${n}`);
    this.data = data;
    this.shape = Object.freeze([...shape]);
    this.dtype = dtypeOf(data);
    this.size = n;
    this.id = nextId++;
    this.node = node;
  }

  /** Number of axes (the rank): shape.length, 0 for a scalar. */
  get ndim(): number {
    return this.shape.length;
  }

  /** A copy of the elements, row-major. */
  toArray(): Data {
    return this.data.slice();
  }

  /** The single value of a size-1 tensor (any rank); throws naming the shape otherwise. */
  item(): number {
    if (this.size !== 1) throw new Error(`item(): tensor has shape ${fmtShape(this.shape)} (${this.size} elements); item() needs exactly one`);
    return this.data[0]!;
  }

  /** The elements as nested arrays (a plain number for a 0-d tensor). */
  toNested(): Nested {
    const rec = (d: number, off: number): Nested => {
      if (d === this.shape.length) return this.data[off]!;
      const stride = sizeOf(this.shape.slice(d + 1));
      const r: Nested[] = [];
      for (let i = 0; i < this.shape[d]!; i++) r.push(rec(d + 1, off + i * stride));
      return r;
    };
    return rec(0, 0);
  }

  /** `Tensor([2, 3], float64, [[…]])`: shape, dtype and the nested values (just the count above 64 elements). */
  toString(): string {
    const body = this.size <= 64 ? JSON.stringify(this.toNested()) : `${this.size} elements`;
    return `Tensor(${fmtShape(this.shape)}, ${this.dtype}, ${body})`;
  }

  // ---- elementwise (NumPy broadcasting; a plain number is a scalar of this tensor's dtype) ----
  /**
   * Elementwise x + b (x is this tensor; NumPy broadcasting, and both must share a dtype, else it throws);
   * ∂/∂x = ∂/∂b = 1, summed back over broadcast axes.
   */
  add(b: Tensor | number): Tensor { return ops.add(this, b); }
  /** Elementwise x − b (broadcast); ∂/∂x = 1, ∂/∂b = −1. */
  sub(b: Tensor | number): Tensor { return ops.sub(this, b); }
  /** Elementwise x · b (broadcast); ∂/∂x = b, ∂/∂b = x. */
  mul(b: Tensor | number): Tensor { return ops.mul(this, b); }
  /** Elementwise x / b (broadcast); ∂/∂x = 1/b, ∂/∂b = −x/b². */
  div(b: Tensor | number): Tensor { return ops.div(this, b); }
  /** Elementwise y = xᵇ (broadcast); ∂y/∂x = b·xᵇ⁻¹ (0 where b = 0), ∂y/∂b = y·log x (0 where x = 0 and b ≥ 0), as in PyTorch. */
  pow(b: Tensor | number): Tensor { return ops.pow(this, b); }
  /** Elementwise min(x, b) (broadcast); the derivative flows to the smaller operand (to x on ties). */
  minimum(b: Tensor | number): Tensor { return ops.minimum(this, b); }
  /** Elementwise max(x, b) (broadcast); the derivative flows to the larger operand (to x on ties). */
  maximum(b: Tensor | number): Tensor { return ops.maximum(this, b); }
  /** 1 where x > b, else 0 (broadcast); piecewise constant, so never recorded (derivative 0). */
  greater(b: Tensor | number): Tensor { return ops.greater(this, b); }
  /** 1 where x ≥ b, else 0 (broadcast); never recorded (derivative 0). */
  greaterEqual(b: Tensor | number): Tensor { return ops.greaterEqual(this, b); }
  /** 1 where x < b, else 0 (broadcast); never recorded (derivative 0). */
  less(b: Tensor | number): Tensor { return ops.less(this, b); }
  /** 1 where x ≤ b, else 0 (broadcast); never recorded (derivative 0). */
  lessEqual(b: Tensor | number): Tensor { return ops.lessEqual(this, b); }
  /** 1 where x = b, else 0 (broadcast); never recorded (derivative 0). */
  equal(b: Tensor | number): Tensor { return ops.equal(this, b); }
  /** 1 where x ≠ b, else 0 (broadcast); never recorded (derivative 0). */
  notEqual(b: Tensor | number): Tensor { return ops.notEqual(this, b); }
  /** Elementwise −x; d/dx = −1. */
  neg(): Tensor { return ops.neg(this); }
  /** Elementwise y = eˣ; dy/dx = y. */
  exp(): Tensor { return ops.exp(this); }
  /** Elementwise natural log y = ln x; dy/dx = 1/x. */
  log(): Tensor { return ops.log(this); }
  /** Elementwise y = tanh x; dy/dx = 1 − y². */
  tanh(): Tensor { return ops.tanh(this); }
  /** Elementwise y = σ(x) = 1 / (1 + e⁻ˣ); dy/dx = y(1 − y). */
  sigmoid(): Tensor { return ops.sigmoid(this); }
  /** Elementwise y = log(1 + eˣ), computed stably; dy/dx = σ(x). */
  softplus(): Tensor { return ops.softplus(this); }
  /** Elementwise y = √x; dy/dx = 1 / (2y). */
  sqrt(): Tensor { return ops.sqrt(this); }
  /** Elementwise x², recorded as x·x; d/dx = 2x. */
  square(): Tensor { return ops.square(this); }
  /** Elementwise |x|; d/dx = sign(x) (0 at x = 0). */
  abs(): Tensor { return ops.abs(this); }
  /** Elementwise sign(x) ∈ {−1, 0, 1}; piecewise constant, so never recorded (derivative 0). */
  sign(): Tensor { return ops.sign(this); }
  /** min(max(x, lo), hi) elementwise; derivative 1 on [lo, hi], 0 outside. Throws unless lo ≤ hi. */
  clip(lo: number, hi: number): Tensor { return ops.clip(this, lo, hi); }
  /** `cond.where(a, b)`: a where this tensor is non-zero, else b. */
  where(a: Tensor | number, b: Tensor | number): Tensor { return ops.where(this, a, b); }

  // ---- reductions ----
  /**
   * Σ over `axis` (an axis or a list; all axes when omitted; negative axes count from the end), dropping
   * the reduced axes unless `keepDims`. Throws on an out-of-range axis. The derivative broadcasts back.
   */
  sum(axis?: number | number[], keepDims = false): Tensor { return ops.sum(this, axis, keepDims); }
  /** Mean over `axis` (all axes when omitted): the sum divided by the count; throws on an empty axis. */
  mean(axis?: number | number[], keepDims = false): Tensor { return ops.mean(this, axis, keepDims); }
  /** Maximum over `axis` (all axes when omitted); the derivative is shared equally among ties. Throws on an empty axis. */
  max(axis?: number | number[], keepDims = false): Tensor { return ops.max(this, axis, keepDims); }
  /** log Σ exp(x) over `axis` (all axes when omitted), computed stably as m + log Σ exp(x − m); its gradient is softmax(x). */
  logSumExp(axis?: number | number[], keepDims = false): Tensor { return ops.logSumExp(this, axis, keepDims); }

  // ---- shape ----
  /** The same elements (shared storage) in a new shape; one entry may be −1 (inferred). Throws when the sizes differ. */
  reshape(shape: readonly number[]): Tensor { return ops.reshape(this, shape); }
  /** Permutes the axes: axis i of the result is axis perm[i] (reversed when omitted). Throws unless perm is a permutation. */
  transpose(perm?: readonly number[]): Tensor { return ops.transpose(this, perm); }
  /** The axes reversed, as `transpose()`: the matrix transpose of a 2-D tensor. */
  get T(): Tensor { return ops.transpose(this); }
  /** Broadcasts to `shape` by NumPy rules (new leading axes, length-1 axes repeated); throws when incompatible. */
  broadcastTo(shape: readonly number[]): Tensor { return ops.broadcastTo(this, shape); }
  /**
   * x[starts[0]:ends[0], starts[1]:ends[1], …]: missing entries take the whole axis, negative ones count
   * from the end (NumPy), bounds are clamped. The derivative pads with zeros.
   */
  slice(starts: readonly number[], ends?: readonly (number | undefined)[]): Tensor { return ops.slice(this, starts, ends); }
  /** Entry i along axis 0, that axis dropped (negative i counts from the end); throws when out of range or 0-d. */
  index(i: number): Tensor { return ops.index(this, i); }
  /**
   * Take-along-axis: out[…, i, …] = x[…, indices[…, i, …], …] along `axis`; `indices` has this tensor's rank,
   * and the result has the shape of `indices`. Throws on non-integer or out-of-range indices. The derivative scatter-adds.
   */
  gather(indices: Tensor | readonly number[] | Int32Array, axis: number): Tensor { return ops.gather(this, indices, axis); }
  /** Running sum along `axis`; `reverse` sums from the end (reward-to-go). The derivative is the opposite cumsum. */
  cumsum(axis: number, reverse = false): Tensor { return ops.cumsum(this, axis, reverse); }
  /** Inserts an axis of length 1 at `axis` (negative counts from the end of the result's axes). */
  expandDims(axis: number): Tensor { return ops.expandDims(this, axis); }
  /** Removes `axis`, which must have length 1 (else it throws), or every length-1 axis when omitted. */
  squeeze(axis?: number): Tensor { return ops.squeeze(this, axis); }
  /** Converts to `dtype` (this tensor itself when it has it already); the derivative converts back. */
  astype(dtype: DType): Tensor { return ops.astype(this, dtype); }

  // ---- nn ----
  /**
   * Matrix product with NumPy semantics: [..., m, k]·[..., k, n] → [..., m, n], batch axes broadcast, a 1-D
   * operand promoted to a matrix and that axis dropped. Throws when the inner dimensions or dtypes differ.
   */
  matmul(b: Tensor): Tensor { return ops.matmul(this, b); }
  /** x − logSumExp(x) along `axis` (the last by default): log-probabilities. */
  logSoftmax(axis = -1): Tensor { return ops.logSoftmax(this, axis); }
  /** exp(logSoftmax(x)) along `axis` (the last by default): non-negative, summing to 1 along it. */
  softmax(axis = -1): Tensor { return ops.softmax(this, axis); }

  /** Same value, cut from the graph (derivative zero at every order). */
  detach(): Tensor {
    const d = new Tensor(this.data, this.shape);
    recorder()?.alias(this, d);
    return d;
  }
}

/** What {@link tensor} accepts: a number, nested arrays of numbers, or a Float64Array / Float32Array (copied). */
export type TensorLike = Nested | Float64Array | Float32Array;

function inferShape(x: Nested, path: number[] = []): number[] {
  if (typeof x === 'number') return [];
  if (!Array.isArray(x)) throw new Error(`tensor: expected numbers or nested arrays, found ${typeof x} at ${fmtIndex(path)}`);
  if (x.length === 0) return [0];
  return [x.length, ...inferShape(x[0]!, [...path, 0])];
}

function fmtIndex(path: number[]): string {
  return path.length ? path.map((i) => `[${i}]`).join('') : 'the top level';
}

function fillNested(x: Nested, shape: number[], d: number, out: Data, pos: { i: number }, path: number[]): void {
  if (d === shape.length) {
    if (typeof x !== 'number') throw new Error(`tensor: ragged nested array: expected a number at ${fmtIndex(path)}, found an array`);
    out[pos.i++] = x;
    return;
  }
  if (!Array.isArray(x)) throw new Error(`tensor: ragged nested array: expected an array of length ${shape[d]} at ${fmtIndex(path)}, found a number`);
  if (x.length !== shape[d]) throw new Error(`tensor: ragged nested array: expected length ${shape[d]} at ${fmtIndex(path)}, found length ${x.length}`);
  for (let i = 0; i < x.length; i++) fillNested(x[i]!, shape, d + 1, out, pos, [...path, i]);
}

/** The dtype of `opts` (float64 when none), checking that opts is an options object and the dtype a known one. */
function dtypeArg(fn: string, opts: unknown, fallback: DType = 'float64'): DType {
  if (opts === undefined) return fallback;
  if (opts === null || typeof opts !== 'object' || Array.isArray(opts))
    throw new Error(`${fn}: options must be an object such as { dtype: 'float32' }, got ${fmtValue(opts)}`);
  const dtype = (opts as { dtype?: unknown }).dtype;
  if (dtype === undefined) return fallback;
  if (dtype !== 'float64' && dtype !== 'float32') throw new Error(`${fn}: unknown dtype ${fmtValue(dtype)} (use 'float64' or 'float32')`);
  return dtype;
}

/** Throws unless `v` is a number (NaN and ±Infinity included), naming the function and the argument. */
function numberArg(fn: string, what: string, v: unknown): number {
  if (typeof v !== 'number') throw new Error(`${fn}: ${what} must be a number, got ${fmtValue(v)}`);
  return v;
}

/** Throws unless `v` is a finite number, naming the function and the argument. */
function finiteArg(fn: string, what: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`${fn}: ${what} must be a finite number, got ${fmtValue(v)}`);
  return v;
}

/** The generator behind an `Rng | seed` argument: a seed must be a finite number (see {@link Rng}). */
function rngArg(fn: string, rng: unknown): Rng {
  if (rng instanceof Rng) return rng;
  if (typeof rng === 'number' && Number.isFinite(rng)) return new Rng(rng);
  throw new Error(`${fn}: rng must be an Rng or a finite number (a seed), got ${fmtValue(rng)}`);
}

/**
 * Builds a tensor from a number, nested arrays or a typed array (copied). `shape` reshapes flat data
 * (its size must match). dtype: `opts.dtype`, else float32 for a Float32Array, else float64.
 * Throws on an unknown dtype, a shape that is not an array of non-negative integers, or ragged arrays.
 */
export function tensor(data: TensorLike, shape?: readonly number[], opts: { dtype?: DType } = {}): Tensor {
  const dtype = dtypeArg('tensor', opts, data instanceof Float32Array ? 'float32' : 'float64');
  if (shape !== undefined) checkShape('tensor', shape);
  let flat: Data;
  let inferred: number[];
  if (data instanceof Float64Array || data instanceof Float32Array) {
    flat = alloc(dtype, data.length, 'tensor', [data.length]);
    flat.set(data);
    inferred = [data.length];
  } else {
    inferred = inferShape(data);
    flat = alloc(dtype, sizeOf(inferred), 'tensor', inferred);
    fillNested(data, inferred, 0, flat, { i: 0 }, []);
  }
  if (shape === undefined) return new Tensor(flat, inferred);
  if (sizeOf(shape) !== flat.length)
    throw new Error(`tensor: data has ${flat.length} elements but shape ${fmtShape(shape)} needs ${sizeOf(shape)}`);
  return new Tensor(flat, shape);
}

/**
 * A tensor of the given shape filled with `value` (any number, NaN and ±Infinity included). Throws on a
 * shape that is not an array of non-negative integers, a non-number value or an unknown dtype.
 */
export function full(shape: readonly number[], value: number, opts: { dtype?: DType } = {}, fn = 'full'): Tensor {
  checkShape(fn, shape);
  numberArg(fn, 'value', value);
  const d = alloc(dtypeArg(fn, opts), sizeOf(shape), fn, shape);
  d.fill(value);
  return new Tensor(d, shape);
}

/** Zeros of the given shape (checked as in {@link full}). */
export function zeros(shape: readonly number[], opts: { dtype?: DType } = {}): Tensor {
  return full(shape, 0, opts, 'zeros');
}

/** Ones of the given shape (checked as in {@link full}). */
export function ones(shape: readonly number[], opts: { dtype?: DType } = {}): Tensor {
  return full(shape, 1, opts, 'ones');
}

/** A 0-d tensor holding `value` (a number; throws otherwise). */
export function scalar(value: number, opts: { dtype?: DType } = {}): Tensor {
  return full([], value, opts, 'scalar');
}

/**
 * Standard-normal samples of the given shape from a seeded generator (or a seed). Throws on a bad shape,
 * an `rng` that is neither an Rng nor a finite number, or an unknown dtype.
 */
export function randn(shape: readonly number[], rng: Rng | number = 0, opts: { dtype?: DType } = {}): Tensor {
  checkShape('randn', shape);
  const r = rngArg('randn', rng);
  const d = alloc(dtypeArg('randn', opts), sizeOf(shape), 'randn', shape);
  for (let i = 0; i < d.length; i++) d[i] = r.normal();
  return new Tensor(d, shape);
}

/**
 * Uniform samples in [lo, hi) of the given shape from a seeded generator (or a seed). Throws on a bad shape
 * or rng, bounds that are not finite numbers with lo ≤ hi, or an unknown dtype.
 */
export function rand(shape: readonly number[], rng: Rng | number = 0, lo = 0, hi = 1, opts: { dtype?: DType } = {}): Tensor {
  checkShape('rand', shape);
  const r = rngArg('rand', rng);
  finiteArg('rand', 'lo', lo);
  finiteArg('rand', 'hi', hi);
  if (!(lo <= hi)) throw new Error(`rand: lo (${lo}) must be ≤ hi (${hi})`);
  const d = alloc(dtypeArg('rand', opts), sizeOf(shape), 'rand', shape);
  for (let i = 0; i < d.length; i++) d[i] = r.uniformIn(lo, hi);
  return new Tensor(d, shape);
}

/** The n×n identity; throws unless n is a non-negative integer. */
export function eye(n: number, opts: { dtype?: DType } = {}): Tensor {
  if (!Number.isInteger(n) || n < 0) throw new Error(`eye: n must be a non-negative integer, got ${fmtValue(n)}`);
  const d = allocZeroed(dtypeArg('eye', opts), n * n, 'eye', [n, n]);
  for (let i = 0; i < n; i++) d[i * n + i] = 1;
  return new Tensor(d, [n, n]);
}

/**
 * [start, start + step, …) up to (not including) stop; `arange(n)` is [0, 1, …, n − 1]. Throws unless start
 * and stop are finite numbers and step a non-zero finite number.
 */
export function arange(start: number, stop?: number, step = 1, opts: { dtype?: DType } = {}): Tensor {
  finiteArg('arange', stop === undefined ? 'stop' : 'start', start);
  if (stop !== undefined) finiteArg('arange', 'stop', stop);
  if (typeof step !== 'number' || !Number.isFinite(step) || step === 0)
    throw new Error(`arange: step must be a non-zero finite number, got ${fmtValue(step)}`);
  const dtype = dtypeArg('arange', opts);
  const [a, b] = stop === undefined ? [0, start] : [start, stop];
  const n = Math.max(Math.ceil((b - a) / step), 0);
  const d = alloc(dtype, n, 'arange', [n]);
  for (let i = 0; i < n; i++) d[i] = a + i * step;
  return new Tensor(d, [n]);
}

/** A tensor inside vmap: the per-example view (shape) of a batch's storage (`val`, batch axis first). */
export class BatchTracer extends Tensor {
  /** The batch's storage: [batch, ...shape] (itself a tracer of an outer level inside nested vmaps). */
  readonly val: Tensor;
  /** The vmap this tracer belongs to. */
  readonly level: number;

  /** Wraps `val` ([batch, ...shape]) as a tracer of vmap level `level`, recorded as made by `node`. */
  constructor(val: Tensor, level: number, node: Node | null = null) {
    super(val.data, val.shape.slice(1), node);
    this.val = val;
    this.level = level;
  }

  private noValues(what: string): never {
    throw new Error(`${what}: a tensor inside vmap stands for a whole batch of values (per-example shape ${fmtShape(this.shape)}); return it from the vmapped function to read it`);
  }

  /** Throws: a batched tensor has no single set of values inside vmap. */
  override toArray(): never {
    return this.noValues('toArray()');
  }

  /** Throws: a batched tensor has no single value inside vmap. */
  override item(): never {
    return this.noValues('item()');
  }

  /** Throws: a batched tensor has no single set of values inside vmap. */
  override toNested(): never {
    return this.noValues('toNested()');
  }

  /** The tracer without its record (stopGradient inside vmap): still batched. */
  override detach(): Tensor {
    return new BatchTracer(this.val.detach(), this.level);
  }

  /** `BatchTracer([3], float64, batch of 5)`. */
  override toString(): string {
    return `BatchTracer(${fmtShape(this.shape)}, ${this.dtype}, batch of ${this.val.shape[0]})`;
  }
}

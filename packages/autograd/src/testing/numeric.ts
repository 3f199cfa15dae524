/**
 * The numerical side of the testing library: central finite differences (Richardson-extrapolated, in
 * float64) and the one closeness criterion every comparison uses. No fast-check here.
 */
import { Tensor, tensor } from '../index.js';

/** Numbers to compare: a Tensor, a typed or plain array (nested arrays are flattened), or one number. */
export type Numeric = Tensor | ArrayLike<number> | number | readonly Numeric[];

/** Options of the finite-difference helpers ({@link centralDifference}, {@link numericalGrad}, {@link numericalJvp}). */
export interface FiniteDifferenceOptions {
  /**
   * The step h along the (unnormalized) direction. Default {@link DEFAULT_EPS} (1e-4): with Richardson
   * extrapolation the truncation error is O(h⁴) (about 1e-16 · f⁽⁵⁾) and the rounding error about
   * 3·ε_float64·|f| / h ≈ 7e-12 · |f|.
   */
  eps?: number;
  /**
   * Richardson extrapolation (4·D(h/2) − D(h)) / 3 of the central difference D(h) = (F(x + h·d) − F(x − h·d)) / 2h,
   * which cancels the h² term: 4 evaluations instead of 2. Default true.
   */
  richardson?: boolean;
}

/** The default finite-difference step (see {@link FiniteDifferenceOptions.eps}). */
export const DEFAULT_EPS = 1e-4;

/** The values of `x` as a new Float64Array (tensors row-major, nested arrays flattened). */
export function toFloat64(x: Numeric): Float64Array {
  if (x instanceof Tensor) return Float64Array.from(x.data);
  if (typeof x === 'number') return Float64Array.of(x);
  if (Array.isArray(x)) {
    const out: number[] = [];
    const rec = (v: Numeric): void => {
      if (v instanceof Tensor) for (const d of v.data) out.push(d);
      else if (typeof v === 'number') out.push(v);
      else if (Array.isArray(v)) v.forEach(rec);
      else for (let i = 0; i < (v as ArrayLike<number>).length; i++) out.push((v as ArrayLike<number>)[i]!);
    };
    rec(x);
    return Float64Array.from(out);
  }
  return Float64Array.from(x as ArrayLike<number>);
}

/** The values of several tensors concatenated, row-major each, as one Float64Array. */
export function flatten(ts: readonly Tensor[]): Float64Array {
  const out = new Float64Array(ts.reduce((s, t) => s + t.size, 0));
  let o = 0;
  for (const t of ts) {
    out.set(t.data, o);
    o += t.size;
  }
  return out;
}

/** Splits a flat vector into new float64 tensors shaped like `like` (the inverse of {@link flatten}). */
export function unflatten(x: ArrayLike<number>, like: readonly Tensor[]): Tensor[] {
  const total = like.reduce((s, t) => s + t.size, 0);
  if (x.length !== total) throw new Error(`unflatten: ${x.length} values for tensors of ${total} elements`);
  const v = x instanceof Float64Array ? x : Float64Array.from(x);
  let o = 0;
  return like.map((t) => {
    const r = tensor(v.subarray(o, o + t.size), [...t.shape]);
    o += t.size;
    return r;
  });
}

/** The outcome of comparing an actual array with an expected one ({@link compare}). */
export interface Comparison {
  /** max |actual − expected| (Infinity when the lengths differ or a difference is NaN). */
  absErr: number;
  /** max |expected|: the scale rtol applies to. */
  scale: number;
  /** absErr / scale (0 when absErr is 0, Infinity when scale is 0 and absErr is not). */
  relErr: number;
  /** Flat index of the largest difference (-1 when the arrays are empty or of different lengths). */
  worst: number;
  /** Whether absErr ≤ atol + rtol · scale. */
  ok: boolean;
}

/**
 * Compares `actual` with `expected` by the library's one criterion, in the ∞-norm:
 * max|actual − expected| ≤ atol + rtol · max|expected|. A NaN anywhere in either fails; arrays of
 * different lengths fail.
 */
export function compare(actual: Numeric, expected: Numeric, rtol: number, atol = 0): Comparison {
  const a = toFloat64(actual), b = toFloat64(expected);
  if (a.length !== b.length) return { absErr: Infinity, scale: NaN, relErr: Infinity, worst: -1, ok: false };
  let absErr = 0, scale = 0, worst = a.length > 0 ? 0 : -1;
  for (let i = 0; i < a.length; i++) {
    const e = Math.abs(a[i]! - b[i]!);
    if (Number.isNaN(e)) {
      if (absErr !== Infinity) worst = i;
      absErr = Infinity;
    } else if (e > absErr) {
      absErr = e;
      worst = i;
    }
    const m = Math.abs(b[i]!);
    if (m > scale) scale = m;
  }
  const relErr = absErr === 0 ? 0 : absErr / scale;
  return { absErr, scale, relErr, worst, ok: absErr <= atol + rtol * scale };
}

/**
 * max|a − b| / max|b|: the scale-aware relative error of a whole array against the reference `b`
 * (0 when they are equal, Infinity for different lengths, a NaN, or a non-zero difference from all zeros).
 */
export function relErr(a: Numeric, b: Numeric): number {
  return compare(a, b, 0).relErr;
}

/** max|a − b| (Infinity for different lengths or a NaN). */
export function maxAbsDiff(a: Numeric, b: Numeric): number {
  return compare(a, b, 0).absErr;
}

/** Options of {@link assertAllClose}. */
export interface AllCloseOptions {
  /** Relative tolerance, against max|expected|. Default 1e-6. */
  rtol?: number;
  /** Absolute tolerance, for values that are zero up to rounding. Default 0. */
  atol?: number;
  /** What is compared, for the message (e.g. 'gradient'). */
  what?: string;
}

/** A multi-index of the flat row-major index `i` of an array of `shape`, as `[1, 0]` (or `[i]` without a shape). */
export function unravel(i: number, shape: readonly number[] | null): number[] {
  if (!shape) return [i];
  const out = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    out[d] = i % shape[d]!;
    i = Math.floor(i / shape[d]!);
  }
  return out;
}

/** A number for a message: 9 significant digits, enough to see where two values part. */
export function fmtNumber(v: number): string {
  return Number.isFinite(v) ? String(Number(v.toPrecision(9))) : String(v);
}

/**
 * Asserts actual ≈ expected by {@link compare}'s criterion: max|actual − expected| ≤ atol + rtol · max|expected|
 * (and, for two tensors, equal shapes). Throws an Error naming `what`, the relative error, the worst index
 * with both values, and the first values of each. Works with any test runner (no `expect`).
 */
export function assertAllClose(actual: Numeric, expected: Numeric, opts: AllCloseOptions = {}): void {
  const { rtol = 1e-6, atol = 0, what = 'assertAllClose' } = opts;
  if (actual instanceof Tensor && expected instanceof Tensor && (actual.shape.length !== expected.shape.length || actual.shape.some((d, i) => d !== expected.shape[i])))
    throw new Error(`${what}: shapes differ: got [${actual.shape.join(', ')}], expected [${expected.shape.join(', ')}]`);
  const c = compare(actual, expected, rtol, atol);
  if (c.ok) return;
  const a = toFloat64(actual), b = toFloat64(expected);
  if (a.length !== b.length) throw new Error(`${what}: got ${a.length} values, expected ${b.length}`);
  const shape = expected instanceof Tensor ? expected.shape : actual instanceof Tensor ? actual.shape : null;
  const show = (v: Float64Array): string => `[${Array.from(v.subarray(0, 8), fmtNumber).join(', ')}${v.length > 8 ? ', …' : ''}]`;
  throw new Error(
    `${what}: relative error ${c.relErr.toExponential(3)} > rtol ${rtol} (max|got − expected| ${c.absErr.toExponential(3)}, atol ${atol}, max|expected| ${c.scale.toExponential(3)})\n` +
      `  worst at index [${unravel(c.worst, shape).join(', ')}]: got ${fmtNumber(a[c.worst]!)}, expected ${fmtNumber(b[c.worst]!)}\n` +
      `  got      ${show(a)}\n  expected ${show(b)}`,
  );
}

function checkFdOptions(fn: string, opts: FiniteDifferenceOptions): { eps: number; richardson: boolean } {
  const { eps = DEFAULT_EPS, richardson = true } = opts;
  if (typeof eps !== 'number' || !(eps > 0) || !Number.isFinite(eps)) throw new Error(`${fn}: eps must be a positive finite number, got ${String(eps)}`);
  return { eps, richardson };
}

/**
 * The directional derivative of a vector function of a flat float64 vector, by central differences:
 * D(h) = (F(x₀ + h·d) − F(x₀ − h·d)) / 2h, Richardson-extrapolated to (4·D(h/2) − D(h)) / 3 unless
 * `richardson: false`. F may return a number or an array of numbers (always of the same length).
 * The core every other finite difference of this library calls.
 */
export function centralDifference(
  F: (x: Float64Array) => ArrayLike<number> | number, x0: ArrayLike<number>, direction: ArrayLike<number>, opts: FiniteDifferenceOptions = {},
): Float64Array {
  const { eps, richardson } = checkFdOptions('centralDifference', opts);
  if (direction.length !== x0.length) throw new Error(`centralDifference: the direction has ${direction.length} entries but x0 has ${x0.length}`);
  const evalAt = (h: number): Float64Array => {
    const x = new Float64Array(x0.length);
    for (let i = 0; i < x.length; i++) x[i] = x0[i]! + h * direction[i]!;
    const y = F(x);
    return typeof y === 'number' ? Float64Array.of(y) : Float64Array.from(y);
  };
  const D = (h: number): Float64Array => {
    const fp = evalAt(h), fm = evalAt(-h);
    if (fp.length !== fm.length) throw new Error(`centralDifference: F returned ${fp.length} values at one point and ${fm.length} at another`);
    return fp.map((v, i) => (v - fm[i]!) / (2 * h));
  };
  const d1 = D(eps);
  if (!richardson) return d1;
  const d2 = D(eps / 2);
  return d2.map((v, i) => (4 * v - d1[i]!) / 3);
}

function checkArgs(fn: string, f: unknown, args: unknown): Tensor[] {
  if (typeof f !== 'function') throw new Error(`${fn}: f must be a function, got ${typeof f}`);
  if (!Array.isArray(args)) throw new Error(`${fn}: args must be an array of tensors`);
  args.forEach((x, i) => {
    if (!(x instanceof Tensor)) throw new Error(`${fn}: argument ${i} is not a Tensor (got ${x === null ? 'null' : typeof x})`);
  });
  return args as Tensor[];
}

function outputOf(fn: string, y: unknown): Tensor {
  if (!(y instanceof Tensor)) throw new Error(`${fn}: f must return a Tensor, got ${y === null ? 'null' : typeof y}`);
  return y;
}

/**
 * ∂f/∂argᵢ for a scalar (size-1) f of several tensors, by central differences along every coordinate
 * (float64; {@link FiniteDifferenceOptions}): one float64 tensor per argument, shaped like it. f is
 * called with new float64 tensors. Costs 4 (2 without Richardson) evaluations per element.
 */
export function numericalGrad(f: (...args: Tensor[]) => Tensor, args: readonly Tensor[], opts: FiniteDifferenceOptions = {}): Tensor[] {
  const xs = checkArgs('numericalGrad', f, args);
  checkFdOptions('numericalGrad', opts);
  const x0 = flatten(xs);
  const F = (x: Float64Array): number => {
    const y = outputOf('numericalGrad', f(...unflatten(x, xs)));
    if (y.size !== 1) throw new Error(`numericalGrad: f must return a scalar (size-1) tensor, got shape [${y.shape.join(', ')}]`);
    return y.data[0]!;
  };
  const g = new Float64Array(x0.length);
  const e = new Float64Array(x0.length);
  for (let i = 0; i < x0.length; i++) {
    e[i] = 1;
    g[i] = centralDifference(F, x0, e, opts)[0]!;
    e[i] = 0;
  }
  return unflatten(g, xs);
}

/**
 * The directional derivative of f (any output shape) at args along `tangents` (one per argument, same
 * shapes) by central differences in float64: a float64 tensor of f's output shape, the finite-difference
 * counterpart of `jvp(f, args, tangents)[1]`. f is called with new float64 tensors.
 */
export function numericalJvp(f: (...args: Tensor[]) => Tensor, args: readonly Tensor[], tangents: readonly Tensor[], opts: FiniteDifferenceOptions = {}): Tensor {
  const xs = checkArgs('numericalJvp', f, args);
  checkFdOptions('numericalJvp', opts);
  if (!Array.isArray(tangents) || tangents.length !== xs.length) throw new Error(`numericalJvp: ${Array.isArray(tangents) ? tangents.length : 'no'} tangents for ${xs.length} arguments`);
  tangents.forEach((t, i) => {
    if (!(t instanceof Tensor) || t.shape.length !== xs[i]!.shape.length || t.shape.some((d, j) => d !== xs[i]!.shape[j]))
      throw new Error(`numericalJvp: tangent ${i} must be a Tensor of argument ${i}'s shape [${xs[i]!.shape.join(', ')}]`);
  });
  let shape: readonly number[] = [];
  const F = (x: Float64Array): Float64Array => {
    const y = outputOf('numericalJvp', f(...unflatten(x, xs)));
    shape = y.shape;
    return Float64Array.from(y.data);
  };
  const d = centralDifference(F, flatten(xs), flatten(tangents), opts);
  return tensor(d, [...shape]);
}

/**
 * Shared test helpers: the one closeness check and central finite differences in float64, the
 * independent reference every derivative in this repo is checked against.
 */
import { expect } from 'vitest';
import { Tensor, tensor } from '@metagrad/autograd';

type NestedNumbers = number | readonly NestedNumbers[];
type Numeric = Tensor | ArrayLike<number> | NestedNumbers;

function toF64(x: Numeric): Float64Array {
  if (x instanceof Tensor) return Float64Array.from(x.data);
  if (typeof x === 'number') return Float64Array.of(x);
  if (Array.isArray(x)) return Float64Array.from((x as unknown[]).flat(Infinity) as number[]);
  return Float64Array.from(x as ArrayLike<number>);
}

/** max|a − b| / (max|b| + tiny): the scale-aware relative error of a whole array. */
export function relErr(a: Numeric, b: Numeric): number {
  const x = toF64(a), y = toF64(b);
  if (x.length !== y.length) return Infinity;
  let num = 0, den = 0;
  for (let i = 0; i < x.length; i++) {
    num = Math.max(num, Math.abs(x[i]! - y[i]!));
    den = Math.max(den, Math.abs(y[i]!));
  }
  if (Number.isNaN(num)) return Infinity;
  return num / (den + 1e-12);
}

/** max|a − b|. */
export function maxAbsDiff(a: Numeric, b: Numeric): number {
  const x = toF64(a), y = toF64(b);
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i]! - y[i]!));
  return x.length === y.length && !Number.isNaN(m) ? m : Infinity;
}

/**
 * Asserts a ≈ b: shapes (for tensors) equal and relErr(a, b) ≤ tol. `atol` (default 0) also accepts
 * max|a − b| ≤ atol, for derivatives that are exactly zero where finite differences return noise.
 */
export function allClose(a: Numeric, b: Numeric, tol = 1e-6, what = '', atol = 0): void {
  if (a instanceof Tensor && b instanceof Tensor) expect(a.shape, `${what} shape`).toEqual(b.shape);
  const e = relErr(a, b);
  if (!(e <= tol) && !(maxAbsDiff(a, b) <= atol)) {
    const fa = toF64(a), fb = toF64(b);
    const show = (v: Float64Array): string => Array.from(v.slice(0, 8), (u) => u.toPrecision(8)).join(', ');
    throw new Error(`${what || 'allClose'}: relative error ${e.toExponential(3)} > ${tol}\n  got      [${show(fa)}${fa.length > 8 ? ', …' : ''}]\n  expected [${show(fb)}${fb.length > 8 ? ', …' : ''}]`);
  }
}

/** Concatenated float64 values of a list of tensors. */
export function flatten(ts: readonly Tensor[]): Float64Array {
  const n = ts.reduce((s, t) => s + t.size, 0);
  const out = new Float64Array(n);
  let o = 0;
  for (const t of ts) {
    out.set(t.data, o);
    o += t.size;
  }
  return out;
}

/** Splits a flat vector into float64 tensors shaped like `like`. */
export function unflatten(x: Float64Array, like: readonly Tensor[]): Tensor[] {
  let o = 0;
  return like.map((t) => {
    const r = tensor(x.subarray(o, o + t.size), [...t.shape]);
    o += t.size;
    return r;
  });
}

/** Central differences of a scalar function of several tensors: ∂f/∂(flat x)ᵢ ≈ (f(x + h eᵢ) − f(x − h eᵢ)) / 2h. */
export function fdGrad(f: (xs: Tensor[]) => number, xs: readonly Tensor[], h = 1e-5): Float64Array {
  const x0 = flatten(xs);
  const g = new Float64Array(x0.length);
  for (let i = 0; i < x0.length; i++) {
    const xp = x0.slice(), xm = x0.slice();
    xp[i]! += h;
    xm[i]! -= h;
    g[i] = (f(unflatten(xp, xs)) - f(unflatten(xm, xs))) / (2 * h);
  }
  return g;
}

/** Central difference of a vector function along a direction: (F(x + h v) − F(x − h v)) / 2h. */
export function fdDirectional(F: (xs: Tensor[]) => Float64Array, xs: readonly Tensor[], v: Float64Array, h = 1e-5): Float64Array {
  const x0 = flatten(xs);
  const xp = x0.map((a, i) => a + h * v[i]!), xm = x0.map((a, i) => a - h * v[i]!);
  const fp = F(unflatten(xp, xs)), fm = F(unflatten(xm, xs));
  return fp.map((a, i) => (a - fm[i]!) / (2 * h));
}

/** Asserts that `fn` throws an error whose message matches `re`. */
export function expectThrows(fn: () => unknown, re: RegExp): void {
  expect(fn).toThrow(re);
}

/** Shape arithmetic: sizes, strides, NumPy broadcasting, axis normalization. Pure functions on number[]. */

/** A shape: the length of each axis, outermost first ([] for a 0-d tensor). @inline */
export type Shape = readonly number[];

/** Number of elements of a shape (1 for a scalar shape []). */
export function sizeOf(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Row-major (C-order) strides of a contiguous array of this shape. */
export function stridesOf(shape: Shape): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i]!;
  }
  return s;
}

export function shapeEq(a: Shape, b: Shape): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function fmtShape(s: Shape): string {
  return `[${s.join(', ')}]`;
}

/** NumPy broadcasting of two shapes; throws naming the op and both shapes when they are incompatible. */
export function broadcastShapes(op: string, a: Shape, b: Shape): number[] {
  const n = Math.max(a.length, b.length);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const da = i < n - a.length ? 1 : a[i - (n - a.length)]!;
    const db = i < n - b.length ? 1 : b[i - (n - b.length)]!;
    if (da === db || db === 1) out[i] = da;
    else if (da === 1) out[i] = db;
    else throw new Error(`${op}: shapes ${fmtShape(a)} and ${fmtShape(b)} cannot be broadcast together (axis ${i - n} has ${da} vs ${db})`);
  }
  return out;
}

/**
 * Strides for reading an array of shape `src` as if broadcast to `out` (stride 0 on broadcast axes).
 * `src` must be broadcastable to `out`.
 */
export function broadcastStrides(src: Shape, out: Shape): number[] {
  const st = stridesOf(src);
  const off = out.length - src.length;
  const r = new Array<number>(out.length).fill(0);
  for (let i = 0; i < src.length; i++) r[i + off] = src[i] === 1 && out[i + off] !== 1 ? 0 : st[i]!;
  return r;
}

/** A value for an error message: numbers as JS prints them, strings quoted, anything else by its type. */
export function fmtValue(v: unknown): string {
  if (typeof v === 'number') return String(v);
  if (typeof v === 'string') return `'${v}'`;
  if (v === null) return 'null';
  if (Array.isArray(v)) return `[${v.map(fmtValue).join(', ')}]`;
  return typeof v;
}

/**
 * Throws unless `shape` is an array of non-negative integers, naming the function, the argument (`what`)
 * and the first bad dimension: `zeros: shape must be an array of non-negative integers, got [2,-1] (dimension 1 is -1)`.
 */
export function checkShape(fn: string, shape: unknown, what = 'shape'): void {
  if (!Array.isArray(shape)) throw new Error(`${fn}: ${what} must be an array of non-negative integers, got ${fmtValue(shape)}`);
  const bad = shape.findIndex((d) => !Number.isInteger(d) || (d as number) < 0);
  if (bad >= 0)
    throw new Error(
      `${fn}: ${what} must be an array of non-negative integers, got ${JSON.stringify(shape)} (dimension ${bad} is ${fmtValue(shape[bad])})`,
    );
}

/** Normalizes a possibly negative axis against rank `ndim`; throws naming the op when out of range. */
export function normAxis(op: string, axis: number, ndim: number, what = 'axis'): number {
  if (!Number.isInteger(axis)) throw new Error(`${op}: ${what} must be an integer, got ${fmtValue(axis)}`);
  const a = axis < 0 ? axis + ndim : axis;
  if (a < 0 || a >= ndim)
    throw new Error(`${op}: ${what} ${axis} is out of range for a tensor of rank ${ndim} (allowed: ${-ndim} to ${ndim - 1})`);
  return a;
}

/** Normalized, sorted, de-duplicated axes; `undefined` means all axes. */
export function normAxes(op: string, axes: number | readonly number[] | undefined, ndim: number): number[] {
  if (axes === undefined) return Array.from({ length: ndim }, (_, i) => i);
  if (typeof axes !== 'number' && !Array.isArray(axes))
    throw new Error(`${op}: axis must be an integer, an array of integers or undefined (all axes), got ${fmtValue(axes)}`);
  const list = typeof axes === 'number' ? [axes] : axes;
  const r = [...new Set(list.map((a) => normAxis(op, a, ndim)))].sort((x, y) => x - y);
  return r;
}

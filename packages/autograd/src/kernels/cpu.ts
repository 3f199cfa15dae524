/**
 * CPU kernels on contiguous row-major typed arrays. Each kernel switches on the operation once and then
 * runs a tight loop: no closures and no allocation per element. Matmul lives in ./matmul.ts.
 */
import { type Shape, broadcastStrides, fmtShape, sizeOf, stridesOf } from '../shape.js';

/** A tensor's storage: a Float64Array for float64, a Float32Array for float32 (row-major). */
export type Data = Float64Array | Float32Array;
/** The element type of a tensor: 'float64' (the default everywhere) or 'float32'. */
export type DType = 'float64' | 'float32';

type NodeBuffer = { allocUnsafeSlow(bytes: number): { buffer: ArrayBuffer; byteOffset: number } };
const NodeBuf = (globalThis as { Buffer?: NodeBuffer }).Buffer;
/** Above this many bytes, storage comes uninitialized from Node's Buffer: `new Float64Array(n)` zero-fills
 *  and, under GC pressure, costs ~15× more for a 1 MB array (measured: 1.6 ms vs 0.1 ms). */
const UNINIT_BYTES = 1 << 16;

/** `1e10` for 10000000000: three significant digits, no trailing zeros (plain below a million). */
function fmtCount(n: number): string {
  if (!Number.isFinite(n) || n < 1e6) return String(n);
  const e = Math.floor(Math.log10(n));
  const m = Number((n / 10 ** e).toPrecision(3));
  return m === 10 ? `1e${e + 1}` : `${m}e${e}`;
}

/** `80 GB`: decimal units, three significant digits. */
function fmtBytes(b: number): string {
  const units: [number, string][] = [[1e15, 'PB'], [1e12, 'TB'], [1e9, 'GB'], [1e6, 'MB'], [1e3, 'kB']];
  if (b >= 1e18) return `${fmtCount(b)} B`;
  for (const [u, name] of units) if (b >= u) return `${Number((b / u).toPrecision(3))} ${name}`;
  return `${b} B`;
}

/** The error every failed allocation throws: the op, the dtype, the shape, the size in elements and bytes, and why. */
function allocError(op: string, dtype: DType, n: number, shape: Shape | undefined, why: string): Error {
  const bytes = n * (dtype === 'float64' ? 8 : 4);
  const what = shape ? `of shape ${fmtShape(shape)} ` : '';
  return new Error(`${op}: cannot allocate a ${dtype} tensor ${what}(${fmtCount(n)} elements, ${fmtBytes(bytes)}): ${why}`);
}

/**
 * Storage for n elements, UNINITIALIZED for large n: every kernel writes each output element. The one place
 * tensor storage is allocated: a count that is not a non-negative safe integer, or a byte size past what an
 * ArrayBuffer can address (2^53 − 1 bytes), is refused before allocating; the engine's own limits (the
 * longest typed array, the memory it can get) are reported by the typed-array constructor, and either way
 * the error names `op` (the op or constructor asking), the dtype, `shape` and the size.
 */
export function alloc(dtype: DType, n: number, op = 'alloc', shape?: Shape): Data {
  if (offered !== null && offered.length === n && dtypeOf(offered) === dtype) {
    const b = offered;
    offered = null;
    return b;
  }
  const bytes = n * (dtype === 'float64' ? 8 : 4);
  if (!(n >= 0 && n <= Number.MAX_SAFE_INTEGER && Number.isInteger(n)))
    throw allocError(op, dtype, n, shape, 'the element count must be a non-negative integer below 2^53');
  if (bytes > Number.MAX_SAFE_INTEGER)
    throw allocError(op, dtype, n, shape, 'more than 2^53 − 1 bytes, the most an ArrayBuffer can hold');
  try {
    if (NodeBuf && bytes >= UNINIT_BYTES) {
      let b: { buffer: ArrayBuffer; byteOffset: number } | null = null;
      try {
        b = NodeBuf.allocUnsafeSlow(bytes);
      } catch (e) {
        // past Node's Buffer limit (4 GiB before Node 22): fall through to a zero-filled typed array, whose
        // own limit is the engine's
        if ((e as { code?: string }).code !== 'ERR_OUT_OF_RANGE') throw e;
      }
      if (b) return dtype === 'float64' ? new Float64Array(b.buffer, b.byteOffset, n) : new Float32Array(b.buffer, b.byteOffset, n);
    }
    return dtype === 'float64' ? new Float64Array(n) : new Float32Array(n);
  } catch (e) {
    if (!(e instanceof RangeError)) throw e;
    const why = /invalid typed array length/i.test(e.message)
      ? 'more elements than this JavaScript engine allows in one typed array'
      : /allocation failed|out of memory/i.test(e.message)
        ? 'out of memory'
        : 'the JavaScript engine refused the allocation';
    throw allocError(op, dtype, n, shape, `${why} (RangeError: ${e.message})`);
  }
}

let offered: Data | null = null;

/**
 * Offers `buf` (or withdraws the offer, null) to the next {@link alloc} of its dtype and length, which
 * returns it instead of new storage. jit's replay offers each step's planned buffer this way, so the
 * ops' own forward functions write into it.
 */
export function offerBuffer(buf: Data | null): void {
  offered = buf;
}

/** Zero-filled storage for n elements (for kernels that accumulate into their output); errors as {@link alloc}. */
export function allocZeroed(dtype: DType, n: number, op = 'alloc', shape?: Shape): Data {
  const d = alloc(dtype, n, op, shape);
  d.fill(0);
  return d;
}

export function dtypeOf(d: Data): DType {
  return d instanceof Float64Array ? 'float64' : 'float32';
}

export type UnaryOp = 'neg' | 'exp' | 'log' | 'tanh' | 'sigmoid' | 'softplus' | 'sqrt' | 'abs' | 'sign';

/**
 * A fresh copy of a self-contained kernel (no free variables), so float64 and float32 each get their own
 * function object and V8 keeps both monomorphic. Sharing one loop between Float64Array and Float32Array
 * made it polymorphic and 1.5–2× slower for both (measured on a [2000×64] multiply and tanh).
 */
function perDtype<F extends (...args: never[]) => void>(kernel: F): { float64: F; float32: F } {
  const copy = (): F => new Function(`return (${kernel.toString()})`)() as F;
  return { float64: copy(), float32: copy() };
}

/**
 * Each unary op as an expression of x, exactly as `unaryLoop` below computes it (jit's fused kernels
 * use these, so a fused chain gives the bits the ops give one at a time). exp and tanh have none: they
 * run on the SIMD kernels of ./wasm/vmath.ts.
 */
export const UNARY_EXPR: { readonly [op in Exclude<UnaryOp, 'exp' | 'tanh'>]: string } = {
  neg: '-x',
  log: 'Math.log(x)',
  sqrt: 'Math.sqrt(x)',
  abs: 'Math.abs(x)',
  sign: '(x > 0 ? 1 : x < 0 ? -1 : 0)',
  sigmoid: '(x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)))',
  softplus: '(Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x))))',
};

/** out[i] = op(x[i]). */
export function unary(op: UnaryOp, x: Data, out: Data): void {
  unaryKernels[dtypeOf(x)](op, x, out);
}

function unaryLoop(op: UnaryOp, x: Data, out: Data): void {
  const n = x.length;
  switch (op) {
    case 'neg':
      for (let i = 0; i < n; i++) out[i] = -x[i]!;
      return;
    case 'exp':
      for (let i = 0; i < n; i++) out[i] = Math.exp(x[i]!);
      return;
    case 'log':
      for (let i = 0; i < n; i++) out[i] = Math.log(x[i]!);
      return;
    case 'tanh':
      for (let i = 0; i < n; i++) out[i] = Math.tanh(x[i]!);
      return;
    case 'sigmoid':
      for (let i = 0; i < n; i++) {
        const v = x[i]!;
        // stable on both tails
        if (v >= 0) out[i] = 1 / (1 + Math.exp(-v));
        else {
          const e = Math.exp(v);
          out[i] = e / (1 + e);
        }
      }
      return;
    case 'softplus':
      for (let i = 0; i < n; i++) {
        const v = x[i]!;
        out[i] = Math.max(v, 0) + Math.log1p(Math.exp(-Math.abs(v)));
      }
      return;
    case 'sqrt':
      for (let i = 0; i < n; i++) out[i] = Math.sqrt(x[i]!);
      return;
    case 'abs':
      for (let i = 0; i < n; i++) out[i] = Math.abs(x[i]!);
      return;
    case 'sign':
      for (let i = 0; i < n; i++) {
        const v = x[i]!;
        out[i] = v > 0 ? 1 : v < 0 ? -1 : 0;
      }
      return;
  }
}

export type BinaryOp =
  | 'add' | 'sub' | 'mul' | 'div' | 'pow' | 'maximum' | 'minimum'
  | 'greater' | 'greaterEqual' | 'less' | 'lessEqual' | 'equal' | 'notEqual'
  | 'tanhBackward';

/**
 * Each binary op as an expression of x (from a) and y (from b), compiled into its own loop per dtype
 * (below), so every op's loop is monomorphic and has no dispatch inside. NaN propagates through
 * maximum and minimum.
 */
export const BINARY_EXPR: { readonly [op in BinaryOp]: string } = {
  add: 'x + y',
  sub: 'x - y',
  mul: 'x * y',
  div: 'x / y',
  pow: 'Math.pow(x, y)',
  maximum: 'x >= y || x !== x ? x : y',
  minimum: 'x <= y || x !== x ? x : y',
  greater: 'x > y ? 1 : 0',
  greaterEqual: 'x >= y ? 1 : 0',
  less: 'x < y ? 1 : 0',
  lessEqual: 'x <= y ? 1 : 0',
  equal: 'x === y ? 1 : 0',
  notEqual: 'x !== y ? 1 : 0',
  tanhBackward: 'x * (1 - y * y)', // g·(1 − y²)
};

/**
 * One plane of a broadcast binary op: `rows` runs of `inner` outputs, out[o + r·inner + t] =
 * a[ai + r·sar + t·sa] ∘ b[bi + r·sbr + t·sb], the strides 0 on broadcast axes.
 */
type BinaryPlane = (out: Data, o: number, rows: number, inner: number, a: Data, ai: number, sar: number, sa: number, b: Data, bi: number, sbr: number, sb: number) => void;

function binaryPlane(op: BinaryOp): BinaryPlane {
  return new Function('out', 'o', 'rows', 'inner', 'a', 'ai', 'sar', 'sa', 'b', 'bi', 'sbr', 'sb', `
    for (let r = 0; r < rows; r++, o += inner, ai += sar, bi += sbr)
      for (let t = 0; t < inner; t++) {
        const x = a[ai + t * sa], y = b[bi + t * sb];
        out[o + t] = ${BINARY_EXPR[op]};
      }`) as BinaryPlane;
}

const binaryPlanes = { float64: new Map<BinaryOp, BinaryPlane>(), float32: new Map<BinaryOp, BinaryPlane>() };

/** The compiled loop of `op` for `dtype` (built on first use). */
function planeOf(op: BinaryOp, dtype: DType): BinaryPlane {
  let k = binaryPlanes[dtype].get(op);
  if (!k) binaryPlanes[dtype].set(op, (k = binaryPlane(op)));
  return k;
}

/**
 * The fewest axes that address the same elements: axes of length 1 dropped, and neighbours merged where
 * every operand steps through them as one (stride[d] = stride[d+1]·shape[d+1], true of broadcast axes
 * too when both have stride 0). [4096, 3, 25] against a [3, 25] suffix becomes [4096, 75]: one plane
 * instead of 12,288 short rows.
 */
function coalesce(shape: Shape, strides: number[][]): { shape: number[]; strides: number[][] } {
  const keep = shape.map((_, d) => d).filter((d) => shape[d] !== 1);
  const outShape: number[] = [];
  const outStrides: number[][] = strides.map(() => []);
  for (const d of keep) {
    const last = outShape.length - 1;
    if (last >= 0 && strides.every((st, j) => outStrides[j]![last] === st[d]! * shape[d]!)) {
      outShape[last]! *= shape[d]!;
      strides.forEach((st, j) => (outStrides[j]![last] = st[d]!));
    } else {
      outShape.push(shape[d]!);
      strides.forEach((st, j) => outStrides[j]!.push(st[d]!));
    }
  }
  return { shape: outShape, strides: outStrides };
}

/**
 * Iterates the outer (all but last) axes of `outShape`, calling `run(o, offsets...)` once per innermost
 * row. Shared by every broadcasting kernel so the index arithmetic lives in one place.
 */
function forEachRow(outShape: Shape, strides: number[][], run: (o: number, offs: Int32Array | number[]) => void): void {
  const nd = outShape.length;
  const inner = nd === 0 ? 1 : outShape[nd - 1]!;
  const rows = inner === 0 ? 0 : sizeOf(outShape) / inner;
  const k = strides.length;
  const idx = new Array<number>(Math.max(nd - 1, 0)).fill(0);
  const offs = new Array<number>(k).fill(0);
  for (let r = 0, o = 0; r < rows; r++, o += inner) {
    run(o, offs);
    // increment the multi-index over the outer axes, updating each input's offset
    for (let d = nd - 2; d >= 0; d--) {
      idx[d]!++;
      for (let j = 0; j < k; j++) offs[j]! += strides[j]![d]!;
      if (idx[d]! < outShape[d]!) break;
      for (let j = 0; j < k; j++) offs[j]! -= strides[j]![d]! * outShape[d]!;
      idx[d] = 0;
    }
  }
}

const unaryKernels = perDtype(unaryLoop);

/** out = a ∘ b with NumPy broadcasting; `out` has `outShape`. */
export function binary(op: BinaryOp, a: Data, aShape: Shape, b: Data, bShape: Shape, outShape: Shape, out: Data): void {
  const plane = planeOf(op, dtypeOf(a));
  const n = out.length;
  if (a.length === n && b.length === n) return plane(out, 0, 1, n, a, 0, 0, 1, b, 0, 0, 1);
  if (b.length === 1 && a.length === n) return plane(out, 0, 1, n, a, 0, 0, 1, b, 0, 0, 0);
  if (a.length === 1 && b.length === n) return plane(out, 0, 1, n, a, 0, 0, 0, b, 0, 0, 1);
  const c = coalesce(outShape, [broadcastStrides(aShape, outShape), broadcastStrides(bShape, outShape)]);
  const [sa, sb] = c.strides as [number[], number[]];
  const nd = c.shape.length;
  if (nd <= 1) return plane(out, 0, 1, n, a, 0, 0, nd ? sa[0]! : 0, b, 0, 0, nd ? sb[0]! : 0);
  // the last two axes as one plane per call; the rest iterated
  const rows = c.shape[nd - 2]!, inner = c.shape[nd - 1]!;
  const sar = sa[nd - 2]!, sa1 = sa[nd - 1]!, sbr = sb[nd - 2]!, sb1 = sb[nd - 1]!;
  if (nd === 2) return plane(out, 0, rows, inner, a, 0, sar, sa1, b, 0, sbr, sb1);
  forEachRow(c.shape.slice(0, -1), [sa.slice(0, -1), sb.slice(0, -1)], (o, offs) =>
    plane(out, o * inner, rows, inner, a, offs[0]!, sar, sa1, b, offs[1]!, sbr, sb1));
}

/** out = cond ≠ 0 ? a : b, all three broadcast to `outShape`. */
export function where(c: Data, cShape: Shape, a: Data, aShape: Shape, b: Data, bShape: Shape, outShape: Shape, out: Data): void {
  const k = coalesce(outShape, [broadcastStrides(cShape, outShape), broadcastStrides(aShape, outShape), broadcastStrides(bShape, outShape)]);
  const [sc, sa, sb] = k.strides as [number[], number[], number[]];
  const nd = k.shape.length;
  if (nd === 0) {
    out[0] = c[0] !== 0 ? a[0]! : b[0]!;
    return;
  }
  const inner = k.shape[nd - 1]!;
  const ic = sc[nd - 1]!, ia = sa[nd - 1]!, ib = sb[nd - 1]!;
  forEachRow(k.shape, [sc, sa, sb], (o, offs) => {
    const c0 = offs[0]!, a0 = offs[1]!, b0 = offs[2]!;
    for (let t = 0; t < inner; t++) out[o + t] = c[c0 + t * ic] !== 0 ? a[a0 + t * ia]! : b[b0 + t * ib]!;
  });
}

/** out[index] = src[Σ index·srcStrides]: broadcast (stride 0) and permuted (transposed) reads. */
export function stridedCopy(src: Data, srcStrides: number[], outShape: Shape, out: Data): void {
  const k = coalesce(outShape, [srcStrides]);
  const st = k.strides[0]!;
  const nd = k.shape.length;
  if (nd === 0) {
    out[0] = src[0]!;
    return;
  }
  // the last two axes as one plane per call
  const inner = k.shape[nd - 1]!, is = st[nd - 1]!;
  const rows = nd >= 2 ? k.shape[nd - 2]! : 1, rs = nd >= 2 ? st[nd - 2]! : 0;
  const plane = (o: number, s0: number): void => {
    for (let r = 0; r < rows; r++, o += inner, s0 += rs) for (let t = 0; t < inner; t++) out[o + t] = src[s0 + t * is]!;
  };
  if (nd <= 2) return plane(0, 0);
  forEachRow(k.shape.slice(0, -1), [st.slice(0, -1)], (o, offs) => plane(o * inner, offs[0]!));
}

/** Transpose by a permutation: out.shape[i] = shape[perm[i]]. */
export function transpose(x: Data, shape: Shape, perm: readonly number[], out: Data): void {
  const st = stridesOf(shape);
  const outShape = perm.map((p) => shape[p]!);
  if (perm.length === 2 && perm[0] === 1 && perm[1] === 0) {
    // 2-D fast path, blocked for cache
    const r = shape[0]!, c = shape[1]!;
    const B = 32;
    for (let i0 = 0; i0 < r; i0 += B)
      for (let j0 = 0; j0 < c; j0 += B) {
        const i1 = Math.min(i0 + B, r), j1 = Math.min(j0 + B, c);
        for (let i = i0; i < i1; i++) for (let j = j0; j < j1; j++) out[j * r + i] = x[i * c + j]!;
      }
    return;
  }
  stridedCopy(x, perm.map((p) => st[p]!), outShape, out);
}

export type ReduceOp = 'sum' | 'max';

/**
 * Reduces over one contiguous block of axes viewed as [outer, red, inner]; out has outer·inner entries.
 */
function reduce3Loop(op: ReduceOp, x: Data, outer: number, red: number, inner: number, out: Data): void {
  for (let o = 0; o < outer; o++) {
    const base = o * red * inner;
    const ob = o * inner;
    if (op === 'sum' && inner === 1) {
      out[o] = 0;
      for (let r = 0; r < red; r++) out[o]! += x[base + r]!;
    } else if (op === 'sum') {
      for (let j = 0; j < inner; j++) out[ob + j] = 0;
      for (let r = 0; r < red; r++) {
        const rb = base + r * inner;
        for (let j = 0; j < inner; j++) out[ob + j]! += x[rb + j]!;
      }
    } else {
      for (let j = 0; j < inner; j++) out[ob + j] = red === 0 ? -Infinity : x[base + j]!;
      for (let r = 1; r < red; r++) {
        const rb = base + r * inner;
        for (let j = 0; j < inner; j++) {
          const v = x[rb + j]!;
          if (v > out[ob + j]! || v !== v) out[ob + j] = v;
        }
      }
    }
  }
}

const reduce3s = perDtype(reduce3Loop);

/** Sum or max over `axes` (sorted, unique); returns data of the kept-dims shape. */
export function reduce(op: ReduceOp, x: Data, shape: Shape, axes: readonly number[]): Data {
  const reduce3 = reduce3s[dtypeOf(x)];
  let cur = x;
  let curShape = [...shape];
  // reduce runs of adjacent axes at once, from the last run to the first
  let i = axes.length - 1;
  while (i >= 0) {
    let j = i;
    while (j > 0 && axes[j - 1] === axes[j]! - 1) j--;
    const a0 = axes[j]!, a1 = axes[i]!;
    const outer = sizeOf(curShape.slice(0, a0));
    const red = sizeOf(curShape.slice(a0, a1 + 1));
    const inner = sizeOf(curShape.slice(a1 + 1));
    const out = alloc(dtypeOf(x), outer * inner, op, curShape.map((d, k) => (k >= a0 && k <= a1 ? 1 : d)));
    reduce3(op, cur, outer, red, inner, out);
    for (let a = a0; a <= a1; a++) curShape[a] = 1;
    cur = out;
    i = j - 1;
  }
  return cur === x ? x.slice() : cur;
}

/** Copies the box [starts, starts+outShape) of x into out (slice), or out's box from x (pad), by `dir`. */
export function boxCopy(dir: 'slice' | 'pad', x: Data, xShape: Shape, starts: readonly number[], boxShape: Shape, out: Data, outShape: Shape): void {
  // 'slice': big = x (xShape), small = out (boxShape = outShape). 'pad': small = x, big = out.
  const bigShape = dir === 'slice' ? xShape : outShape;
  const bst = stridesOf(bigShape);
  let base = 0;
  for (let d = 0; d < starts.length; d++) base += starts[d]! * bst[d]!;
  const nd = boxShape.length;
  if (nd === 0 || sizeOf(boxShape) === 0) {
    if (nd === 0) {
      if (dir === 'slice') out[0] = x[0]!;
      else out[0] = x[0]!;
    }
    return;
  }
  const inner = boxShape[nd - 1]!;
  forEachRow(boxShape, [bst], (o, offs) => {
    const b0 = base + offs[0]!;
    if (dir === 'slice') for (let t = 0; t < inner; t++) out[o + t] = x[b0 + t]!;
    else for (let t = 0; t < inner; t++) out[b0 + t] = x[o + t]!;
  });
}

/**
 * PyTorch-style gather along `axis`: out[…i…] = x[… index[…i…] …] where the index tensor has the same
 * rank as x and out has the index's shape. `scatter` does the adjoint: out[… index …] += g.
 */
export function gatherScatter(dir: 'gather' | 'scatter', x: Data, xShape: Shape, index: Int32Array, indexShape: Shape, axis: number, out: Data): void {
  const xs = stridesOf(xShape);
  const is = stridesOf(indexShape);
  const n = index.length;
  const nd = indexShape.length;
  const dimSize = xShape[axis]!;
  for (let flat = 0; flat < n; flat++) {
    // decompose flat index over indexShape, compose offset into xShape with the axis coordinate replaced
    let rem = flat, off = 0;
    for (let d = 0; d < nd; d++) {
      const c = Math.floor(rem / is[d]!);
      rem -= c * is[d]!;
      if (d !== axis) off += c * xs[d]!;
    }
    const k = index[flat]!;
    if (k < 0 || k >= dimSize) throw new Error(`gather: index ${k} out of range for axis ${axis} of size ${dimSize}`);
    off += k * xs[axis]!;
    if (dir === 'gather') out[flat] = x[off]!;
    else out[off]! += x[flat]!;
  }
}

/** Cumulative sum along `axis` (from the end when `reverse`). */
export function cumsum(x: Data, shape: Shape, axis: number, reverse: boolean, out: Data): void {
  const outer = sizeOf(shape.slice(0, axis));
  const len = shape[axis]!;
  const inner = sizeOf(shape.slice(axis + 1));
  for (let o = 0; o < outer; o++) {
    const base = o * len * inner;
    for (let j = 0; j < inner; j++) {
      let acc = 0;
      if (!reverse)
        for (let r = 0; r < len; r++) {
          const p = base + r * inner + j;
          acc += x[p]!;
          out[p] = acc;
        }
      else
        for (let r = len - 1; r >= 0; r--) {
          const p = base + r * inner + j;
          acc += x[p]!;
          out[p] = acc;
        }
    }
  }
}

/** First index of a non-finite value, or -1. */
export function firstNonFinite(x: Data): number {
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    if (v - v !== 0) return i;
  }
  return -1;
}

/** Whether any element is non-zero (NaN counts as non-zero). */
export function anyNonZero(x: Data): boolean {
  for (let i = 0; i < x.length; i++) if (x[i] !== 0) return true;
  return false;
}

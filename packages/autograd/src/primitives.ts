/**
 * The closed set of primitives. Each states its forward (a kernel call) and its vector-Jacobian product,
 * and each VJP is written with the same differentiable tensor ops, so recording the backward pass
 * (createGraph) yields derivatives of every order. A VJP never reads a forward value as a constant when
 * it depends on the inputs: it uses the output tensor `y` or the inputs, which are in the graph.
 * The table is typed `{ [P in Primitive]: Rule<P> }`: a primitive without a derivative does not compile.
 */
import * as K from './kernels/cpu.js';
import { matmulInto } from './kernels/backend.js';
import { isCheckFinite, isGradEnabled, type Node } from './graph.js';
import { type Shape, broadcastShapes, broadcastStrides, fmtShape, shapeEq, sizeOf } from './shape.js';
import { Tensor } from './tensor.js';
import * as ops from './ops.js';

type Axes = { axes: number[]; keepDims: boolean };

/** Static parameters of each primitive (what is not a tensor input). */
export interface PrimParams {
  neg: null; exp: null; log: null; tanh: null; sigmoid: null; softplus: null; sqrt: null; abs: null;
  add: null; sub: null; mul: null; div: null; pow: null; maximum: null; minimum: null; tanhBackward: null;
  where: null;
  sum: Axes; max: Axes;
  reshape: { shape: number[] };
  transpose: { perm: number[] };
  broadcastTo: { shape: number[] };
  slice: { starts: number[]; sizes: number[] };
  pad: { starts: number[]; shape: number[] };
  concat: { axis: number };
  gather: { index: Int32Array; indexShape: number[]; axis: number };
  scatterAdd: { index: Int32Array; indexShape: number[]; axis: number; shape: number[] };
  cumsum: { axis: number; reverse: boolean };
  matmul: { transA: boolean; transB: boolean };
  cast: { dtype: K.DType };
  // piecewise-constant ops: recorded as constants (their derivative is zero everywhere it exists)
  sign: null; greater: null; greaterEqual: null; less: null; lessEqual: null; equal: null; notEqual: null;
}
/**
 * The name of a primitive: one of the closed set of recorded operations, each with its own VJP; every
 * other op is a composition of them.
 */
export type Primitive = keyof PrimParams;

type Grads = (Tensor | null)[];
/** Forward: kernel call returning [data, shape]. VJP: cotangents of the inputs (null = zero), given the
 *  output cotangent g, the output y, the inputs xs, and which inputs need one. */
export interface Rule<P extends Primitive> {
  forward(xs: readonly Tensor[], p: PrimParams[P]): [K.Data, Shape];
  vjp(g: Tensor, y: Tensor, xs: readonly Tensor[], p: PrimParams[P], needs: readonly boolean[]): Grads;
}

const CONSTANT: ReadonlySet<Primitive> = new Set<Primitive>(['sign', 'greater', 'greaterEqual', 'less', 'lessEqual', 'equal', 'notEqual']);

/** Runs a primitive's forward and, in grad mode, records it on the result. The one entry point. */
export function apply<P extends Primitive>(prim: P, inputs: readonly Tensor[], params: PrimParams[P]): Tensor {
  const [data, shape] = (rules[prim] as Rule<P>).forward(inputs, params);
  if (isCheckFinite()) {
    const i = K.firstNonFinite(data);
    if (i >= 0)
      throw new Error(
        `checkFinite: ${prim} produced ${data[i]} at flat index ${i} of its output ${fmtShape(shape)} ` +
          `(inputs ${inputs.map((t) => fmtShape(t.shape)).join(', ')})`,
      );
  }
  const node: Node<P> | null = isGradEnabled() && !CONSTANT.has(prim) ? { prim, inputs, params } : null;
  return new Tensor(data, shape, node);
}

// ---------- forward helpers ----------

function unaryFwd(op: K.UnaryOp) {
  return (xs: readonly Tensor[]): [K.Data, Shape] => {
    const x = xs[0]!;
    const out = K.alloc(x.dtype, x.size, op, x.shape);
    K.unary(op, x.data, out);
    return [out, x.shape];
  };
}

export function checkSameDtype(op: string, ts: readonly Tensor[]): void {
  for (const t of ts)
    if (t.dtype !== ts[0]!.dtype)
      throw new Error(`${op}: dtype mismatch: ${ts.map((u) => u.dtype).join(' vs ')}; convert one with .astype('${ts[0]!.dtype}')`);
}

function binaryFwd(op: K.BinaryOp) {
  return (xs: readonly Tensor[]): [K.Data, Shape] => {
    const a = xs[0]!, b = xs[1]!;
    checkSameDtype(op, [a, b]);
    const shape = shapeEq(a.shape, b.shape) ? a.shape : broadcastShapes(op, a.shape, b.shape);
    const out = K.alloc(a.dtype, sizeOf(shape), op, shape);
    K.binary(op, a.data, a.shape, b.data, b.shape, shape, out);
    return [out, shape];
  };
}

function keptShape(shape: Shape, axes: readonly number[]): number[] {
  return shape.map((d, i) => (axes.includes(i) ? 1 : d));
}

function reduceFwd(op: K.ReduceOp) {
  return (xs: readonly Tensor[], p: Axes): [K.Data, Shape] => {
    const x = xs[0]!;
    if (op === 'max' && p.axes.some((a) => x.shape[a] === 0)) throw new Error(`max: cannot reduce over an empty axis of ${fmtShape(x.shape)}`);
    const data = K.reduce(op, x.data, x.shape, p.axes);
    const kept = keptShape(x.shape, p.axes);
    return [data, p.keepDims ? kept : x.shape.filter((_, i) => !p.axes.includes(i))];
  };
}

const none = (): Grads => [null];
/** Cotangent of a broadcast input: sum g back over the broadcast axes. */
const unb = (g: Tensor, x: Tensor): Tensor => ops.sumTo(g, x.shape);
const when = (need: boolean | undefined, f: () => Tensor): Tensor | null => (need ? f() : null);

// ---------- the table ----------

export const rules: { [P in Primitive]: Rule<P> } = {
  // -x
  neg: { forward: unaryFwd('neg'), vjp: (g) => [ops.neg(g)] },
  // d eˣ = eˣ
  exp: { forward: unaryFwd('exp'), vjp: (g, y) => [ops.mul(g, y)] },
  // d log x = 1/x
  log: { forward: unaryFwd('log'), vjp: (g, _y, [x]) => [ops.div(g, x!)] },
  // d tanh x = 1 − tanh² x
  tanh: { forward: unaryFwd('tanh'), vjp: (g, y) => [ops.tanhBackward(g, y)] },
  // d σ(x) = σ(x)(1 − σ(x))
  sigmoid: { forward: unaryFwd('sigmoid'), vjp: (g, y) => [ops.mul(g, ops.mul(y, ops.sub(1, y)))] },
  // d log(1 + eˣ) = σ(x)
  softplus: { forward: unaryFwd('softplus'), vjp: (g, _y, [x]) => [ops.mul(g, ops.sigmoid(x!))] },
  // d √x = 1 / (2√x)
  sqrt: { forward: unaryFwd('sqrt'), vjp: (g, y) => [ops.div(g, ops.mul(y, 2))] },
  // d |x| = sign(x)
  abs: { forward: unaryFwd('abs'), vjp: (g, _y, [x]) => [ops.mul(g, ops.sign(x!))] },

  // a + b
  add: { forward: binaryFwd('add'), vjp: (g, _y, [a, b], _p, n) => [when(n[0], () => unb(g, a!)), when(n[1], () => unb(g, b!))] },
  // a − b
  sub: { forward: binaryFwd('sub'), vjp: (g, _y, [a, b], _p, n) => [when(n[0], () => unb(g, a!)), when(n[1], () => unb(ops.neg(g), b!))] },
  // ∂(ab) = b da + a db
  mul: {
    forward: binaryFwd('mul'),
    vjp: (g, _y, [a, b], _p, n) => [when(n[0], () => unb(ops.mul(g, b!), a!)), when(n[1], () => unb(ops.mul(g, a!), b!))],
  },
  // ∂(a/b) = da/b − (a/b) db/b
  div: {
    forward: binaryFwd('div'),
    vjp: (g, y, [a, b], _p, n) => [when(n[0], () => unb(ops.div(g, b!), a!)), when(n[1], () => unb(ops.neg(ops.div(ops.mul(g, y), b!)), b!))],
  },
  // ∂(aᵇ) = b·aᵇ⁻¹ da + aᵇ·log a db, with PyTorch's values at a = 0: the da term is 0 where b = 0 (masked only where
  // a = 0 too, 0·0⁻¹; elsewhere b·aᵇ⁻¹ is 0 by itself and keeps its true derivative in b), the db term is 0 where
  // a = 0 and b ≥ 0 (the limit as a → 0⁺; −∞ stays for b < 0). Masked entries take safe operands (exponent 0,
  // log 1), so nothing infinite meets a zero cotangent at any higher order.
  pow: {
    forward: binaryFwd('pow'),
    vjp: (g, y, [a, b], _p, n) => [
      when(n[0], () => {
        const z = ops.mul(ops.equal(a!, 0), ops.equal(b!, 0)); // constant mask: no derivative flows into it
        if (!K.anyNonZero(z.data)) return unb(ops.mul(g, ops.mul(b!, ops.pow(a!, ops.sub(b!, 1)))), a!);
        const e = ops.where(z, 0, ops.sub(b!, 1)); // b − 1, or 0 where masked (0⁰ = 1: finite)
        return unb(ops.where(z, 0, ops.mul(g, ops.mul(b!, ops.pow(a!, e)))), a!);
      }),
      when(n[1], () => {
        const m = ops.mul(ops.equal(a!, 0), ops.greaterEqual(b!, 0));
        if (!K.anyNonZero(m.data)) return unb(ops.mul(g, ops.mul(y, ops.log(a!))), b!);
        const la = ops.log(ops.where(m, 1, a!)); // log a, or log 1 = 0 where the term is masked
        return unb(ops.where(m, 0, ops.mul(g, ops.mul(y, la))), b!);
      }),
    ],
  },
  // tanh's VJP fused, t(g, y) = g·(1 − y²) (one pass instead of three; pinned by the tanh tests to third order):
  //   ∂t/∂g = 1 − y², ∂t/∂y = −2gy
  tanhBackward: {
    forward: binaryFwd('tanhBackward'),
    vjp: (h, _t, [g, y], _p, n) => [
      when(n[0], () => unb(ops.tanhBackward(h, y!), g!)),
      when(n[1], () => unb(ops.mul(ops.mul(h, g!), ops.mul(y!, -2)), y!)),
    ],
  },
  // max(a, b): the cotangent goes to the larger (to a on ties)
  maximum: {
    forward: binaryFwd('maximum'),
    vjp: (g, _y, [a, b], _p, n) => {
      const m = ops.greaterEqual(a!, b!);
      return [when(n[0], () => unb(ops.mul(g, m), a!)), when(n[1], () => unb(ops.mul(g, ops.sub(1, m)), b!))];
    },
  },
  // min(a, b): the cotangent goes to the smaller (to a on ties)
  minimum: {
    forward: binaryFwd('minimum'),
    vjp: (g, _y, [a, b], _p, n) => {
      const m = ops.lessEqual(a!, b!);
      return [when(n[0], () => unb(ops.mul(g, m), a!)), when(n[1], () => unb(ops.mul(g, ops.sub(1, m)), b!))];
    },
  },
  // cond ? a : b (no derivative in cond)
  where: {
    forward: (xs) => {
      const [c, a, b] = xs as [Tensor, Tensor, Tensor];
      checkSameDtype('where', [a, b]);
      const shape = broadcastShapes('where', broadcastShapes('where', c.shape, a.shape), b.shape);
      const out = K.alloc(a.dtype, sizeOf(shape), 'where', shape);
      K.where(c.data, c.shape, a.data, a.shape, b.data, b.shape, shape, out);
      return [out, shape];
    },
    vjp: (g, _y, [c, a, b], _p, n) => [
      null,
      when(n[1], () => unb(ops.where(c!, g, 0), a!)),
      when(n[2], () => unb(ops.where(c!, 0, g), b!)),
    ],
  },

  // Σ over axes: the cotangent is broadcast back
  sum: {
    forward: reduceFwd('sum'),
    vjp: (g, _y, [x], p) => [ops.broadcastTo(ops.reshape(g, keptShape(x!.shape, p.axes)), x!.shape)],
  },
  // max over axes: the cotangent is shared among the maximizers
  max: {
    forward: reduceFwd('max'),
    vjp: (g, y, [x], p) => {
      const kept = keptShape(x!.shape, p.axes);
      const mask = ops.equal(x!, ops.reshape(y.detach(), kept));
      const count = ops.sum(mask, p.axes, true);
      return [ops.mul(mask, ops.div(ops.reshape(g, kept), count))];
    },
  },

  reshape: { forward: ([x], p) => [x!.data, p.shape], vjp: (g, _y, [x]) => [ops.reshape(g, x!.shape)] },
  transpose: {
    forward: ([x], p) => {
      const shape = p.perm.map((i) => x!.shape[i]!);
      const out = K.alloc(x!.dtype, x!.size, 'transpose', shape);
      K.transpose(x!.data, x!.shape, p.perm, out);
      return [out, shape];
    },
    vjp: (g, _y, _x, p) => {
      const inv = new Array<number>(p.perm.length);
      p.perm.forEach((q, i) => (inv[q] = i));
      return [ops.transpose(g, inv)];
    },
  },
  broadcastTo: {
    forward: ([x], p) => {
      const out = K.alloc(x!.dtype, sizeOf(p.shape), 'broadcastTo', p.shape);
      K.stridedCopy(x!.data, broadcastStrides(x!.shape, p.shape), p.shape, out);
      return [out, p.shape];
    },
    vjp: (g, _y, [x]) => [unb(g, x!)],
  },
  // x[starts : starts + sizes]; its adjoint pads with zeros
  slice: {
    forward: ([x], p) => {
      const out = K.alloc(x!.dtype, sizeOf(p.sizes), 'slice', p.sizes);
      K.boxCopy('slice', x!.data, x!.shape, p.starts, p.sizes, out, p.sizes);
      return [out, p.sizes];
    },
    vjp: (g, _y, [x], p) => [ops.pad(g, p.starts, x!.shape)],
  },
  // zeros of `shape` with x placed at `starts`; its adjoint slices
  pad: {
    forward: ([x], p) => {
      const out = K.allocZeroed(x!.dtype, sizeOf(p.shape), 'pad', p.shape);
      K.boxCopy('pad', x!.data, x!.shape, p.starts, x!.shape, out, p.shape);
      return [out, p.shape];
    },
    vjp: (g, _y, [x], p) => [ops.slice(g, p.starts, p.starts.map((s, i) => s + x!.shape[i]!))],
  },
  concat: {
    forward: (xs, p) => {
      const shape = [...xs[0]!.shape];
      shape[p.axis] = xs.reduce((s, t) => s + t.shape[p.axis]!, 0);
      const out = K.alloc(xs[0]!.dtype, sizeOf(shape), 'concat', shape);
      let off = 0;
      for (const t of xs) {
        const starts = shape.map((_, i) => (i === p.axis ? off : 0));
        K.boxCopy('pad', t.data, t.shape, starts, t.shape, out, shape);
        off += t.shape[p.axis]!;
      }
      return [out, shape];
    },
    vjp: (g, _y, xs, p, n) => {
      let off = 0;
      return xs.map((t, i) => {
        const s = off;
        off += t.shape[p.axis]!;
        return when(n[i], () =>
          ops.slice(g, t.shape.map((_, d) => (d === p.axis ? s : 0)), t.shape.map((len, d) => (d === p.axis ? s + len : len))),
        );
      });
    },
  },
  // out = x[… index …] along axis; its adjoint scatters and adds
  gather: {
    forward: ([x], p) => {
      const out = K.alloc(x!.dtype, p.index.length, 'gather', p.indexShape);
      K.gatherScatter('gather', x!.data, x!.shape, p.index, p.indexShape, p.axis, out);
      return [out, p.indexShape];
    },
    vjp: (g, _y, [x], p) => [ops.scatterAdd(g, p.index, p.indexShape, p.axis, x!.shape)],
  },
  scatterAdd: {
    forward: ([x], p) => {
      const out = K.allocZeroed(x!.dtype, sizeOf(p.shape), 'scatterAdd', p.shape);
      K.gatherScatter('scatter', x!.data, p.shape, p.index, p.indexShape, p.axis, out);
      return [out, p.shape];
    },
    vjp: (g, _y, _x, p) => [ops.gatherIndex(g, p.index, p.indexShape, p.axis)],
  },
  // prefix sums; the adjoint is the suffix sum
  cumsum: {
    forward: ([x], p) => {
      const out = K.alloc(x!.dtype, x!.size, 'cumsum', x!.shape);
      K.cumsum(x!.data, x!.shape, p.axis, p.reverse, out);
      return [out, x!.shape];
    },
    vjp: (g, _y, _x, p) => [ops.cumsum(g, p.axis, !p.reverse)],
  },
  // C = op(A)·op(B), batched with broadcast batch axes. Adjoints (G = ∂C):
  //   C = AB: dA = GBᵀ, dB = AᵀG   C = ABᵀ: dA = GB, dB = GᵀA   C = AᵀB: dA = BGᵀ, dB = AG   C = AᵀBᵀ: dA = BᵀGᵀ, dB = GᵀAᵀ
  matmul: {
    forward: (xs, p) => matmulFwd(xs[0]!, xs[1]!, p.transA, p.transB),
    vjp: (g, _y, [a, b], { transA, transB }, n) => {
      const mm = ops.matmulT;
      const dA = (): Tensor =>
        !transA ? (transB ? mm(g, b!, false, false) : mm(g, b!, false, true)) : transB ? mm(b!, g, true, true) : mm(b!, g, false, true);
      const dB = (): Tensor =>
        !transB ? (transA ? mm(a!, g, false, false) : mm(a!, g, true, false)) : transA ? mm(g, a!, true, true) : mm(g, a!, true, false);
      return [when(n[0], () => unb(dA(), a!)), when(n[1], () => unb(dB(), b!))];
    },
  },
  cast: {
    forward: ([x], p) => {
      const out = K.alloc(p.dtype, x!.size, 'astype', x!.shape);
      out.set(x!.data);
      return [out, x!.shape];
    },
    vjp: (g, _y, [x]) => [ops.astype(g, x!.dtype)],
  },

  sign: { forward: unaryFwd('sign'), vjp: none },
  greater: { forward: binaryFwd('greater'), vjp: none },
  greaterEqual: { forward: binaryFwd('greaterEqual'), vjp: none },
  less: { forward: binaryFwd('less'), vjp: none },
  lessEqual: { forward: binaryFwd('lessEqual'), vjp: none },
  equal: { forward: binaryFwd('equal'), vjp: none },
  notEqual: { forward: binaryFwd('notEqual'), vjp: none },
};

function matmulFwd(a: Tensor, b: Tensor, transA: boolean, transB: boolean): [K.Data, Shape] {
  checkSameDtype('matmul', [a, b]);
  const ar = a.ndim, br = b.ndim;
  const m = a.shape[transA ? ar - 1 : ar - 2]!, ka = a.shape[transA ? ar - 2 : ar - 1]!;
  const kb = b.shape[transB ? br - 1 : br - 2]!, n = b.shape[transB ? br - 2 : br - 1]!;
  if (ka !== kb)
    throw new Error(`matmul: inner dimensions differ: ${fmtShape(a.shape)}${transA ? 'ᵀ' : ''} · ${fmtShape(b.shape)}${transB ? 'ᵀ' : ''} (${ka} vs ${kb})`);
  const batchA = a.shape.slice(0, ar - 2), batchB = b.shape.slice(0, br - 2);
  const batch = broadcastShapes('matmul (batch axes)', batchA, batchB);
  const nb = sizeOf(batch);
  const out = K.alloc(a.dtype, nb * m * n, 'matmul', [...batch, m, n]);
  const aOffs = new Array<number>(nb), bOffs = new Array<number>(nb);
  if (nb === 1) {
    aOffs[0] = 0;
    bOffs[0] = 0;
  } else {
    const sa = broadcastStrides(batchA, batch), sb = broadcastStrides(batchB, batch);
    const idx = new Array<number>(batch.length).fill(0);
    for (let t = 0; t < nb; t++) {
      let oa = 0, ob = 0;
      for (let d = 0; d < batch.length; d++) {
        oa += idx[d]! * sa[d]!;
        ob += idx[d]! * sb[d]!;
      }
      aOffs[t] = oa * m * ka;
      bOffs[t] = ob * ka * n;
      for (let d = batch.length - 1; d >= 0; d--) {
        if (++idx[d]! < batch[d]!) break;
        idx[d] = 0;
      }
    }
  }
  matmulInto(a.data, aOffs, b.data, bOffs, out, nb, m, ka, n, transA, transB);
  return [out, [...batch, m, n]];
}

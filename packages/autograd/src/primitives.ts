/**
 * The closed set of primitives. Each states its forward (a kernel call), its vector-Jacobian product
 * (reverse mode) and its Jacobian-vector product (forward mode), each written with the same
 * differentiable tensor ops, so recording them yields derivatives of every order, in any mix of modes.
 * A rule never reads a forward value as a constant when it depends on the inputs: it uses the output
 * tensor `y` or the inputs, which are in the graph. The table is typed `{ [P in Primitive]: Rule<P> }`:
 * a primitive without a derivative does not compile.
 */
import * as K from './kernels/cpu.js';
import { matmulInto, unaryInto } from './kernels/backend.js';
import { type TangentScope, enableGrad, isCheckFinite, isGradEnabled, noGrad, tangentScopes, withTangentScopes, type Node } from './graph.js';
import { gradients } from './autodiff.js';
import { atomic, recorder } from './trace.js';
import { type BatchArg, BatchTracer, aligned, batchArgs, batchLevel, batchSize, rankOf, vmap, withBatch } from './batching.js';
import { type Shape, broadcastShapes, broadcastStrides, fmtShape, shapeEq, sizeOf } from './shape.js';
import { Tensor, zeros } from './tensor.js';
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
  gather: { axis: number };
  scatterAdd: { axis: number; shape: number[] };
  cumsum: { axis: number; reverse: boolean };
  matmul: { transA: boolean; transB: boolean };
  cast: { dtype: K.DType };
  /** A user-defined derivative (customVjp): the function, its VJP rule and the name errors use. */
  custom: CustomParams;
  // piecewise-constant ops: recorded as constants (their derivative is zero everywhere it exists)
  sign: null; greater: null; greaterEqual: null; less: null; lessEqual: null; equal: null; notEqual: null;
}
/** The static part of a `customVjp` primitive. */
export interface CustomParams {
  /** The function's name in error messages. */
  name: string;
  /** The forward computation (run without recording: its derivative is the rule's). */
  f: (...xs: Tensor[]) => Tensor;
  /** The VJP: the inputs' cotangents (null = zero) from the output's cotangent g, the output y and the inputs. */
  rule: (g: Tensor, y: Tensor, ...xs: Tensor[]) => (Tensor | null)[];
}

/**
 * The name of a primitive: one of the closed set of recorded operations, each with its own VJP; every
 * other op is a composition of them.
 */
export type Primitive = keyof PrimParams;

type Grads = (Tensor | null)[];
/**
 * A primitive's rules. Forward: kernel call returning [data, shape]. VJP: cotangents of the inputs
 * (null = zero), given the output cotangent g, the output y, the inputs xs, and which inputs need one.
 * JVP: the output's tangent (same shape as y; null = zero), given the inputs' tangents ts (null = zero,
 * at least one not null), the output y and the inputs xs.
 */
export interface Rule<P extends Primitive> {
  forward(xs: readonly Tensor[], p: PrimParams[P]): [K.Data, Shape];
  vjp(g: Tensor, y: Tensor, xs: readonly Tensor[], p: PrimParams[P], needs: readonly boolean[]): Grads;
  jvp(ts: readonly (Tensor | null)[], y: Tensor, xs: readonly Tensor[], p: PrimParams[P]): Tensor | null;
  /**
   * vmap: the output for a whole batch, batch axis first, from the inputs at this vmap level (each its
   * batch storage, batch axis first, or unbatched; at least one batched), computed with the ops.
   */
  batch(args: readonly BatchArg[], p: PrimParams[P]): Tensor;
}

const CONSTANT: ReadonlySet<Primitive> = new Set<Primitive>(['sign', 'greater', 'greaterEqual', 'less', 'lessEqual', 'equal', 'notEqual']);

/**
 * Runs a primitive and, in grad mode, records it on the result; in forward mode, computes the result's
 * tangents; on vmap tracers, runs its batching rule on the whole batch. The one entry point.
 */
export function apply<P extends Primitive>(prim: P, inputs: readonly Tensor[], params: PrimParams[P]): Tensor {
  const level = batchLevel(inputs);
  if (level > 0) {
    const val = (rules[prim] as Rule<P>).batch(batchArgs(inputs, level), params);
    const node: Node<P> | null = isGradEnabled() && !CONSTANT.has(prim) ? { prim, inputs, params } : null;
    const out = new BatchTracer(val, level, node);
    const active = tangentScopes();
    if (active.length > 0 && !CONSTANT.has(prim)) propagateTangents(prim, inputs, params, out, active);
    return out;
  }
  const rec = recorder();
  const fwd = (): [K.Data, Shape] => (rules[prim] as Rule<P>).forward(inputs, params);
  const [data, shape] = rec ? atomic(fwd) : fwd();
  if (isCheckFinite()) {
    const i = K.firstNonFinite(data);
    if (i >= 0)
      throw new Error(
        `checkFinite: ${prim} produced ${data[i]} at flat index ${i} of its output ${fmtShape(shape)} ` +
          `(inputs ${inputs.map((t) => fmtShape(t.shape)).join(', ')})`,
      );
  }
  const node: Node<P> | null = isGradEnabled() && !CONSTANT.has(prim) ? { prim, inputs, params } : null;
  const out = new Tensor(data, shape, node);
  rec?.op(prim, inputs, params, out);
  const active = tangentScopes();
  if (active.length > 0 && !CONSTANT.has(prim)) propagateTangents(prim, inputs, params, out, active);
  return out;
}

/**
 * Forward mode: the output's tangent in every active scope whose tangents reach an input, outermost
 * first; each tangent is computed (by the primitive's JVP, in differentiable ops) with only the scopes
 * outside that one active, so outer scopes differentiate inner tangents and not the reverse (and the
 * output's outer tangents exist before an inner tangent's computation reads the output).
 */
function propagateTangents<P extends Primitive>(prim: P, inputs: readonly Tensor[], params: PrimParams[P], out: Tensor, active: readonly TangentScope[]): void {
  for (let i = 0; i < active.length; i++) {
    const scope = active[i]!;
    let any = false;
    const ts = inputs.map((x) => {
      const t = scope.tangents.get(x) ?? null;
      if (t) any = true;
      return t;
    });
    if (!any) continue;
    const t = withTangentScopes(active.slice(0, i), () => (rules[prim] as Rule<P>).jvp(ts, out, inputs, params));
    if (t === null) continue;
    if (!shapeEq(t.shape, out.shape))
      throw new Error(`jvp: internal error: ${prim} returned a tangent of shape ${fmtShape(t.shape)} for an output of shape ${fmtShape(out.shape)}`);
    scope.tangents.set(out, t);
  }
}

// ---------- forward helpers ----------

function unaryFwd(op: K.UnaryOp) {
  return (xs: readonly Tensor[]): [K.Data, Shape] => {
    const x = xs[0]!;
    const out = K.alloc(x.dtype, x.size, op, x.shape);
    unaryInto(op, x.data, out);
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
/** The elementwise ops by name (looked up at call time: ops and this table import each other). */
type ElementwiseOp = 'neg' | 'exp' | 'log' | 'tanh' | 'sigmoid' | 'softplus' | 'sqrt' | 'abs' | 'sign' | 'add' | 'sub' | 'mul' | 'div' | 'pow'
  | 'maximum' | 'minimum' | 'tanhBackward' | 'where' | 'greater' | 'greaterEqual' | 'less' | 'lessEqual' | 'equal' | 'notEqual';
/** The batching rule of an elementwise op: every argument aligned to the largest per-example rank, the op on the batch. */
const elementwise = (op: ElementwiseOp) => (args: readonly BatchArg[]): Tensor => {
  const r = Math.max(...args.map(rankOf));
  return (ops[op] as (...xs: Tensor[]) => Tensor)(...args.map((a) => aligned(a, r)));
};
/** The batch size of the (one, batched) argument of a structural op. */
const B0 = (args: readonly BatchArg[]): number => args[0]!.val.shape[0]!;
const noTangent = (): null => null;
/** A tangent broadcast to the output's shape (a broadcast input's tangent spreads like its values). */
const bc = (t: Tensor, y: Tensor): Tensor => (shapeEq(t.shape, y.shape) ? t : ops.broadcastTo(t, y.shape));
/** t₁ + t₂ where either may be null (zero), broadcast to y. */
const plus = (t1: Tensor | null, t2: Tensor | null, y: Tensor): Tensor | null =>
  t1 && t2 ? bc(ops.add(t1, t2), y) : t1 ? bc(t1, y) : t2 ? bc(t2, y) : null;
/** Cotangent of a broadcast input: sum g back over the broadcast axes. */
const unb = (g: Tensor, x: Tensor): Tensor => ops.sumTo(g, x.shape);
const when = (need: boolean | undefined, f: () => Tensor): Tensor | null => (need ? f() : null);

/**
 * ∂aᵇ/∂a = b·aᵇ⁻¹, with PyTorch's value 0 where b = 0 (masked only where a = 0 too, 0·0⁻¹; elsewhere
 * b·aᵇ⁻¹ is 0 by itself and keeps its true derivative in b). Masked entries take a safe exponent (0),
 * so nothing infinite meets a zero at any higher order. Always the masked form, never a branch on the
 * values, so a jit trace is right for every value.
 */
function powDa(a: Tensor, b: Tensor): Tensor {
  const z = ops.mul(ops.equal(a, 0), ops.equal(b, 0)); // constant mask: no derivative flows into it
  return ops.where(z, 0, ops.mul(b, ops.pow(a, ops.where(z, 0, ops.sub(b, 1)))));
}

/**
 * ∂aᵇ/∂b = aᵇ·log a (y = aᵇ), with PyTorch's value 0 where a = 0 and b ≥ 0 (the limit as a → 0⁺; −∞
 * stays for b < 0). Masked entries take log 1 = 0.
 */
function powDb(a: Tensor, b: Tensor, y: Tensor): Tensor {
  const m = ops.mul(ops.equal(a, 0), ops.greaterEqual(b, 0));
  return ops.where(m, 0, ops.mul(y, ops.log(ops.where(m, 1, a))));
}

/**
 * vmap of a customVjp function: the function and its rule, each vmapped over the batched inputs, as one
 * custom primitive on the batch; the cotangents of inputs shared by every example are summed over it.
 */
function customBatched(args: readonly BatchArg[], p: CustomParams): Tensor {
  const axes = args.map((a) => (a.batched ? 0 : null));
  const rule = (g: Tensor, y: Tensor, ...xs: Tensor[]): (Tensor | null)[] => {
    const perExample = vmap(
      (gg: Tensor, yy: Tensor, ...xx: Tensor[]) => p.rule(gg, yy, ...xx).map((c, i) => c ?? zeros(xx[i]!.shape, { dtype: xx[i]!.dtype })),
      [0, 0, ...axes],
    )(g, y, ...xs);
    return perExample.map((c, i) => (axes[i] === null ? ops.sum(c, [0]) : c));
  };
  return apply('custom', args.map((a) => a.val), { name: p.name, f: vmap(p.f, axes), rule });
}

/**
 * vmap of op(A)·op(B). Three ways, by what is batched: a batched A times a plain matrix B folds the
 * batch into A's rows (one large product instead of one per example); a contraction of length 1 (the
 * per-example gradient of a layer, xᵀ·g for one row x) is an outer product, a broadcast multiply; else
 * a batched product with A and B aligned.
 */
function matmulBatched(a: BatchArg, b: BatchArg, transA: boolean, transB: boolean): Tensor {
  const ra = rankOf(a), rb = rankOf(b);
  const k = a.val.shape[a.val.ndim - (transA ? 2 : 1)]!;
  if (a.batched && !b.batched && rb === 2 && !transA) {
    const s = a.val.shape;
    const rows = apply('reshape', [a.val], { shape: [s.slice(0, -1).reduce((x, y) => x * y, 1), k] });
    const c = apply('matmul', [rows, b.val], { transA: false, transB });
    return apply('reshape', [c], { shape: [...s.slice(0, -1), c.shape[1]!] });
  }
  const r = Math.max(ra, rb);
  const A = aligned(a, r), Bm = aligned(b, r);
  if (k === 1) {
    // op(A) [.., m, 1] times op(B) [.., 1, n]: each as a column / a row (a reshape, as one axis has length 1)
    const col = transA ? apply('reshape', [A], { shape: [...A.shape.slice(0, -2), A.shape[A.ndim - 1]!, 1] }) : A;
    const row = transB ? apply('reshape', [Bm], { shape: [...Bm.shape.slice(0, -2), 1, Bm.shape[Bm.ndim - 2]!] }) : Bm;
    return ops.mul(col, row);
  }
  return apply('matmul', [A, Bm], { transA, transB });
}

// ---------- the table ----------

export const rules: { [P in Primitive]: Rule<P> } = {
  // -x
  neg: { forward: unaryFwd('neg'), vjp: (g) => [ops.neg(g)], jvp: ([t]) => ops.neg(t!), batch: elementwise('neg') },
  // d eˣ = eˣ
  exp: { forward: unaryFwd('exp'), vjp: (g, y) => [ops.mul(g, y)], jvp: ([t], y) => ops.mul(t!, y), batch: elementwise('exp') },
  // d log x = 1/x
  log: { forward: unaryFwd('log'), vjp: (g, _y, [x]) => [ops.div(g, x!)], jvp: ([t], _y, [x]) => ops.div(t!, x!), batch: elementwise('log') },
  // d tanh x = 1 − tanh² x
  tanh: { forward: unaryFwd('tanh'), vjp: (g, y) => [ops.tanhBackward(g, y)], jvp: ([t], y) => ops.tanhBackward(t!, y), batch: elementwise('tanh') },
  // d σ(x) = σ(x)(1 − σ(x))
  sigmoid: { forward: unaryFwd('sigmoid'), vjp: (g, y) => [ops.mul(g, ops.mul(y, ops.sub(1, y)))], jvp: ([t], y) => ops.mul(t!, ops.mul(y, ops.sub(1, y))), batch: elementwise('sigmoid') },
  // d log(1 + eˣ) = σ(x)
  softplus: { forward: unaryFwd('softplus'), vjp: (g, _y, [x]) => [ops.mul(g, ops.sigmoid(x!))], jvp: ([t], _y, [x]) => ops.mul(t!, ops.sigmoid(x!)), batch: elementwise('softplus') },
  // d √x = 1 / (2√x)
  sqrt: { forward: unaryFwd('sqrt'), vjp: (g, y) => [ops.div(g, ops.mul(y, 2))], jvp: ([t], y) => ops.div(t!, ops.mul(y, 2)), batch: elementwise('sqrt') },
  // d |x| = sign(x)
  abs: { forward: unaryFwd('abs'), vjp: (g, _y, [x]) => [ops.mul(g, ops.sign(x!))], jvp: ([t], _y, [x]) => ops.mul(t!, ops.sign(x!)), batch: elementwise('abs') },

  // a + b
  add: {
    forward: binaryFwd('add'),
    vjp: (g, _y, [a, b], _p, n) => [when(n[0], () => unb(g, a!)), when(n[1], () => unb(g, b!))],
    jvp: ([ta, tb], y) => plus(ta!, tb!, y),
    batch: elementwise('add'),
  },
  // a − b
  sub: {
    forward: binaryFwd('sub'),
    vjp: (g, _y, [a, b], _p, n) => [when(n[0], () => unb(g, a!)), when(n[1], () => unb(ops.neg(g), b!))],
    jvp: ([ta, tb], y) => plus(ta!, tb ? ops.neg(tb) : null, y),
    batch: elementwise('sub'),
  },
  // ∂(ab) = b da + a db
  mul: {
    forward: binaryFwd('mul'),
    vjp: (g, _y, [a, b], _p, n) => [when(n[0], () => unb(ops.mul(g, b!), a!)), when(n[1], () => unb(ops.mul(g, a!), b!))],
    jvp: ([ta, tb], y, [a, b]) => plus(ta ? ops.mul(ta, b!) : null, tb ? ops.mul(a!, tb) : null, y),
    batch: elementwise('mul'),
  },
  // ∂(a/b) = da/b − (a/b) db/b
  div: {
    forward: binaryFwd('div'),
    vjp: (g, y, [a, b], _p, n) => [when(n[0], () => unb(ops.div(g, b!), a!)), when(n[1], () => unb(ops.neg(ops.div(ops.mul(g, y), b!)), b!))],
    jvp: ([ta, tb], y, [_a, b]) => plus(ta ? ops.div(ta, b!) : null, tb ? ops.neg(ops.div(ops.mul(tb, y), b!)) : null, y),
    batch: elementwise('div'),
  },
  // ∂(aᵇ) = b·aᵇ⁻¹ da + aᵇ·log a db, with PyTorch's values at a = 0 (powDa, powDb below)
  pow: {
    forward: binaryFwd('pow'),
    vjp: (g, y, [a, b], _p, n) => [
      when(n[0], () => unb(ops.mul(g, powDa(a!, b!)), a!)),
      when(n[1], () => unb(ops.mul(g, powDb(a!, b!, y)), b!)),
    ],
    jvp: ([ta, tb], y, [a, b]) => plus(ta ? ops.mul(ta, powDa(a!, b!)) : null, tb ? ops.mul(tb, powDb(a!, b!, y)) : null, y),
    batch: elementwise('pow'),
  },
  // tanh's VJP fused, t(g, y) = g·(1 − y²) (one pass instead of three; pinned by the tanh tests to third order):
  //   ∂t/∂g = 1 − y², ∂t/∂y = −2gy
  tanhBackward: {
    forward: binaryFwd('tanhBackward'),
    vjp: (h, _t, [g, y], _p, n) => [
      when(n[0], () => unb(ops.tanhBackward(h, y!), g!)),
      when(n[1], () => unb(ops.mul(ops.mul(h, g!), ops.mul(y!, -2)), y!)),
    ],
    // dt = (1 − y²) dg − 2gy dy
    jvp: ([tg, ty], t, [g, y]) => plus(tg ? ops.tanhBackward(tg, y!) : null, ty ? ops.mul(ops.mul(g!, ty), ops.mul(y!, -2)) : null, t),
    batch: elementwise('tanhBackward'),
  },
  // max(a, b): the cotangent goes to the larger (to a on ties)
  maximum: {
    forward: binaryFwd('maximum'),
    vjp: (g, _y, [a, b], _p, n) => {
      const m = ops.greaterEqual(a!, b!);
      return [when(n[0], () => unb(ops.mul(g, m), a!)), when(n[1], () => unb(ops.mul(g, ops.sub(1, m)), b!))];
    },
    jvp: ([ta, tb], y, [a, b]) => {
      const m = ops.greaterEqual(a!, b!);
      return plus(ta ? ops.mul(ta, m) : null, tb ? ops.mul(tb, ops.sub(1, m)) : null, y);
    },
    batch: elementwise('maximum'),
  },
  // min(a, b): the cotangent goes to the smaller (to a on ties)
  minimum: {
    forward: binaryFwd('minimum'),
    vjp: (g, _y, [a, b], _p, n) => {
      const m = ops.lessEqual(a!, b!);
      return [when(n[0], () => unb(ops.mul(g, m), a!)), when(n[1], () => unb(ops.mul(g, ops.sub(1, m)), b!))];
    },
    jvp: ([ta, tb], y, [a, b]) => {
      const m = ops.lessEqual(a!, b!);
      return plus(ta ? ops.mul(ta, m) : null, tb ? ops.mul(tb, ops.sub(1, m)) : null, y);
    },
    batch: elementwise('minimum'),
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
    jvp: ([, ta, tb], y, [c]) => (ta || tb ? bc(ops.where(c!, ta ?? 0, tb ?? 0), y) : null),
    batch: elementwise('where'),
  },

  // Σ over axes: the cotangent is broadcast back
  sum: {
    forward: reduceFwd('sum'),
    vjp: (g, _y, [x], p) => [ops.broadcastTo(ops.reshape(g, keptShape(x!.shape, p.axes)), x!.shape)],
    jvp: ([t], _y, _x, p) => ops.sum(t!, p.axes, p.keepDims),
    batch: ([x], p) => apply('sum', [x!.val], { axes: p.axes.map((a) => a + 1), keepDims: p.keepDims }),
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
    // the tangent shared like the cotangent: the mean of the maximizers' tangents
    jvp: ([t], y, [x], p) => {
      const kept = keptShape(x!.shape, p.axes);
      const mask = ops.equal(x!, ops.reshape(y.detach(), kept));
      return ops.div(ops.sum(ops.mul(t!, mask), p.axes, p.keepDims), ops.sum(mask, p.axes, p.keepDims));
    },
    batch: ([x], p) => apply('max', [x!.val], { axes: p.axes.map((a) => a + 1), keepDims: p.keepDims }),
  },

  reshape: { forward: ([x], p) => [x!.data, p.shape], vjp: (g, _y, [x]) => [ops.reshape(g, x!.shape)], jvp: ([t], _y, _x, p) => ops.reshape(t!, p.shape),
    batch: ([x], p) => apply('reshape', [x!.val], { shape: [B0([x!]), ...p.shape] }) },
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
    jvp: ([t], _y, _x, p) => ops.transpose(t!, p.perm),
    batch: ([x], p) => apply('transpose', [x!.val], { perm: [0, ...p.perm.map((q) => q + 1)] }),
  },
  broadcastTo: {
    forward: ([x], p) => {
      const out = K.alloc(x!.dtype, sizeOf(p.shape), 'broadcastTo', p.shape);
      K.stridedCopy(x!.data, broadcastStrides(x!.shape, p.shape), p.shape, out);
      return [out, p.shape];
    },
    vjp: (g, _y, [x]) => [unb(g, x!)],
    jvp: ([t], _y, _x, p) => ops.broadcastTo(t!, p.shape),
    batch: ([x], p) => apply('broadcastTo', [aligned(x!, p.shape.length)], { shape: [B0([x!]), ...p.shape] }),
  },
  // x[starts : starts + sizes]; its adjoint pads with zeros
  slice: {
    forward: ([x], p) => {
      const out = K.alloc(x!.dtype, sizeOf(p.sizes), 'slice', p.sizes);
      K.boxCopy('slice', x!.data, x!.shape, p.starts, p.sizes, out, p.sizes);
      return [out, p.sizes];
    },
    vjp: (g, _y, [x], p) => [ops.pad(g, p.starts, x!.shape)],
    jvp: ([t], _y, _x, p) => ops.slice(t!, p.starts, p.starts.map((s, i) => s + p.sizes[i]!)),
    batch: ([x], p) => apply('slice', [x!.val], { starts: [0, ...p.starts], sizes: [B0([x!]), ...p.sizes] }),
  },
  // zeros of `shape` with x placed at `starts`; its adjoint slices
  pad: {
    forward: ([x], p) => {
      const out = K.allocZeroed(x!.dtype, sizeOf(p.shape), 'pad', p.shape);
      K.boxCopy('pad', x!.data, x!.shape, p.starts, x!.shape, out, p.shape);
      return [out, p.shape];
    },
    vjp: (g, _y, [x], p) => [ops.slice(g, p.starts, p.starts.map((s, i) => s + x!.shape[i]!))],
    jvp: ([t], _y, _x, p) => ops.pad(t!, p.starts, p.shape),
    batch: ([x], p) => apply('pad', [x!.val], { starts: [0, ...p.starts], shape: [B0([x!]), ...p.shape] }),
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
    jvp: (ts, _y, xs, p) => ops.concat(xs.map((x, i) => ts[i] ?? zeros(x.shape, { dtype: x.dtype })), p.axis),
    batch: (args, p) => apply('concat', args.map((a) => withBatch(a, batchSize(args))), { axis: p.axis + 1 }),
  },
  // out = x[… index …] along axis, the index an input (a constant: no derivative), so under vmap it may
  // differ per example; the adjoint scatters and adds
  gather: {
    forward: ([x, i], p) => {
      const out = K.alloc(x!.dtype, i!.size, 'gather', i!.shape);
      K.gatherScatter('gather', x!.data, x!.shape, Int32Array.from(i!.data), i!.shape, p.axis, out);
      return [out, i!.shape];
    },
    vjp: (g, _y, [x, i], p) => [ops.scatterAdd(g, i!, p.axis, x!.shape), null],
    jvp: ([t], _y, [, i], p) => (t ? ops.gatherIndex(t, i!, p.axis) : null),
    batch: (args, p) => apply('gather', args.map((a) => withBatch(a, batchSize(args))), { axis: p.axis + 1 }),
  },
  scatterAdd: {
    forward: ([g, i], p) => {
      const out = K.allocZeroed(g!.dtype, sizeOf(p.shape), 'scatterAdd', p.shape);
      K.gatherScatter('scatter', g!.data, p.shape, Int32Array.from(i!.data), i!.shape, p.axis, out);
      return [out, p.shape];
    },
    vjp: (g, _y, [, i], p) => [ops.gatherIndex(g, i!, p.axis), null],
    jvp: ([t], _y, [, i], p) => (t ? ops.scatterAdd(t, i!, p.axis, p.shape) : null),
    batch: (args, p) => {
      const B = batchSize(args);
      return apply('scatterAdd', args.map((a) => withBatch(a, B)), { axis: p.axis + 1, shape: [B, ...p.shape] });
    },
  },
  // prefix sums; the adjoint is the suffix sum
  cumsum: {
    forward: ([x], p) => {
      const out = K.alloc(x!.dtype, x!.size, 'cumsum', x!.shape);
      K.cumsum(x!.data, x!.shape, p.axis, p.reverse, out);
      return [out, x!.shape];
    },
    vjp: (g, _y, _x, p) => [ops.cumsum(g, p.axis, !p.reverse)],
    jvp: ([t], _y, _x, p) => ops.cumsum(t!, p.axis, p.reverse),
    batch: ([x], p) => apply('cumsum', [x!.val], { axis: p.axis + 1, reverse: p.reverse }),
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
    // d(op(A)·op(B)) = op(dA)·op(B) + op(A)·op(dB)
    jvp: ([ta, tb], y, [a, b], { transA, transB }) =>
      plus(ta ? ops.matmulT(ta, b!, transA, transB) : null, tb ? ops.matmulT(a!, tb, transA, transB) : null, y),
    batch: ([a, b], p) => matmulBatched(a!, b!, p.transA, p.transB),
  },
  // a user-defined derivative: the rule is written in differentiable ops, so it is differentiated again for
  // higher orders; forward mode is the transpose of the rule (it is linear in g): J·t = ∇_g ⟨rule(g), t⟩
  custom: {
    forward: (xs, p) => {
      const y = withTangentScopes([], () => noGrad(() => p.f(...xs)));
      if (!(y instanceof Tensor)) throw new Error(`customVjp(${p.name}): the function must return a Tensor, got ${typeof y}`);
      return [y.data, y.shape];
    },
    vjp: (g, y, xs, p, n) => {
      const gs = p.rule(g, y, ...xs);
      if (!Array.isArray(gs) || gs.length !== xs.length)
        throw new Error(`customVjp(${p.name}): the rule must return an array of ${xs.length} cotangents (one per input, null for zero), got ${Array.isArray(gs) ? `${gs.length}` : typeof gs}`);
      return gs.map((gi, i) => {
        if (gi === null || gi === undefined || !n[i]) return null;
        if (!(gi instanceof Tensor)) throw new Error(`customVjp(${p.name}): the rule's cotangent for input ${i} must be a Tensor or null, got ${typeof gi}`);
        if (!shapeEq(gi.shape, xs[i]!.shape))
          throw new Error(`customVjp(${p.name}): the rule returned a cotangent of shape ${fmtShape(gi.shape)} for input ${i} of shape ${fmtShape(xs[i]!.shape)}`);
        return gi;
      });
    },
    jvp: (ts, y, xs, p) => {
      const u = zeros(y.shape, { dtype: y.dtype });
      return enableGrad(() => {
        const gu = apply('reshape', [u], { shape: [...y.shape] }) as Tensor; // a fresh leaf: the rule's cotangent variable
        const gs = rules.custom.vjp(gu, y, xs, p, xs.map((_, i) => ts[i] !== null));
        let s: Tensor | null = null;
        gs.forEach((gi, i) => {
          const ti = ts[i];
          if (gi && ti) s = s ? ops.add(s, ops.sum(ops.mul(gi, ti))) : ops.sum(ops.mul(gi, ti));
        });
        if (s === null || (s as Tensor).node === null) return null;
        return gradients(s, [gu], { createGraph: true })[0]!;
      });
    },
    batch: (args, p) => customBatched(args, p),
  },
  cast: {
    forward: ([x], p) => {
      const out = K.alloc(p.dtype, x!.size, 'astype', x!.shape);
      out.set(x!.data);
      return [out, x!.shape];
    },
    vjp: (g, _y, [x]) => [ops.astype(g, x!.dtype)],
    jvp: ([t], _y, _x, p) => ops.astype(t!, p.dtype),
    batch: ([x], p) => apply('cast', [x!.val], p),
  },

  sign: { forward: unaryFwd('sign'), vjp: none, jvp: noTangent, batch: elementwise('sign') },
  greater: { forward: binaryFwd('greater'), vjp: none, jvp: noTangent, batch: elementwise('greater') },
  greaterEqual: { forward: binaryFwd('greaterEqual'), vjp: none, jvp: noTangent, batch: elementwise('greaterEqual') },
  less: { forward: binaryFwd('less'), vjp: none, jvp: noTangent, batch: elementwise('less') },
  lessEqual: { forward: binaryFwd('lessEqual'), vjp: none, jvp: noTangent, batch: elementwise('lessEqual') },
  equal: { forward: binaryFwd('equal'), vjp: none, jvp: noTangent, batch: elementwise('equal') },
  notEqual: { forward: binaryFwd('notEqual'), vjp: none, jvp: noTangent, batch: elementwise('notEqual') },
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

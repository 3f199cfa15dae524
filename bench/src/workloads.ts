/**
 * The timed workloads of the autodiff suite, built per dtype from fixed seeds: the gradient calls
 * that benny times (inner_grad, meta_grad, hvp) and the correctness checks that run before timing
 * (hvp against central finite differences, gradients against directional finite differences).
 */
import {
  type Tensor, grad, hvp, jit, jvp, matmul, noGrad, randn, tensor, treeLeaves, treeMap,
} from '@metagrad/autograd';
import {
  type Batch, type DType, type PolicyParams, type PostBatch, ALPHA, BATCH,
  gaussianLogProb, hvpObjective, initPolicy, lrObjective, lvcObjective, makeBatches, metaObjective,
  randomDirection, treeDot,
} from './policy.js';

/** Seeds of the benchmark: parameters, batches and the hvp direction. */
export const SEEDS = { params: 1, batches: 2, direction: 3 } as const;

/** Everything one dtype's benchmarks need, and the calls they time. */
export interface Workload {
  dtype: DType;
  params: PolicyParams;
  pre: Batch;
  post: PostBatch;
  /** The fixed hvp direction v. */
  v: PolicyParams;
  /** ∇θ J^LVC(θ) on the pre batch (first order: the backward pass is not recorded). */
  innerGrad(): PolicyParams;
  /** ∇θ J^LR(θ + α∇J^LVC(θ)) on the post batch: second order through the inner step. */
  metaGrad(): PolicyParams;
  /** ∇θ(∇J^LVC(θ)·v), written as the gradient of hvpObjective. */
  hvp(): PolicyParams;
  /** The same product through the engine's `hvp` transform (double backward with cotangent v). */
  hvpTransform(): PolicyParams;
  /** J^LVC(θ) alone, nothing recorded: the forward pass the jvp is measured against. */
  objective(): Tensor;
  /** ∇J^LVC(θ)·v by forward mode (jvp). */
  jvp(): Tensor;
  /** ∇²J^LVC(θ)·v forward over reverse: the jvp of the gradient along v. */
  hvpForward(): PolicyParams;
  /** innerGrad, metaGrad and hvp compiled with `jit` (traced at the first call, replayed after). */
  innerGradJit(): PolicyParams;
  metaGradJit(): PolicyParams;
  hvpJit(): PolicyParams;
  /**
   * H v at a fixed θ as a conjugate-gradient solve asks for it: `jit(u => hvp(J^LVC, θ, u))` with θ and
   * the batch closed over, so the trace folds everything that does not depend on v (the forward pass and
   * the gradient at θ) into constants and replays only the rest.
   */
  hvpJitAt(): PolicyParams;
}

/** A tensor as plain JSON: its shape and its values (float64, exact through JSON). */
export interface LeafData { shape: number[]; data: number[] }
type ParamsData = { [K in keyof PolicyParams]: LeafData };

/**
 * The inputs of a workload as plain data, so a timing process can rebuild them in its dtype without
 * running a single kernel in the other dtype (V8 would otherwise see both Float64Array and Float32Array
 * in the shared kernels, and the type feedback it keeps makes them polymorphic and slower).
 */
export interface WorkloadData {
  params: ParamsData;
  pre: { obs: LeafData; act: LeafData; adv: LeafData };
  post: { obs: LeafData; act: LeafData; adv: LeafData; logpOld: LeafData };
  v: ParamsData;
}

const leafData = (t: Tensor): LeafData => ({ shape: [...t.shape], data: Array.from(t.data) });
const fromLeaf = (l: LeafData, dtype: DType): Tensor => tensor(Float64Array.from(l.data), l.shape, { dtype });
function paramsData(p: PolicyParams): ParamsData {
  return { W1: leafData(p.W1), b1: leafData(p.b1), W2: leafData(p.W2), b2: leafData(p.b2), W3: leafData(p.W3), b3: leafData(p.b3), logStd: leafData(p.logStd) };
}
function paramsFrom(d: ParamsData, dtype: DType): PolicyParams {
  return {
    W1: fromLeaf(d.W1, dtype), b1: fromLeaf(d.b1, dtype), W2: fromLeaf(d.W2, dtype), b2: fromLeaf(d.b2, dtype),
    W3: fromLeaf(d.W3, dtype), b3: fromLeaf(d.b3, dtype), logStd: fromLeaf(d.logStd, dtype),
  };
}

/** The benchmark inputs from the fixed seeds, computed in float64 (this runs float64 kernels). */
export function workloadData(n: number = BATCH): WorkloadData {
  const params = initPolicy(SEEDS.params, 'float64');
  const { pre, post } = makeBatches(params, SEEDS.batches, n, 'float64');
  const v = randomDirection(params, SEEDS.direction);
  return {
    params: paramsData(params),
    pre: { obs: leafData(pre.obs), act: leafData(pre.act), adv: leafData(pre.adv) },
    post: { obs: leafData(post.obs), act: leafData(post.act), adv: leafData(post.adv), logpOld: leafData(post.logpOld) },
    v: paramsData(v),
  };
}

/**
 * The workload in `dtype` from its data: both dtypes see the same inputs up to one rounding, so their
 * results can be compared directly. Building it runs no kernel.
 */
export function workloadFromData(d: WorkloadData, dtype: DType): Workload {
  const params = paramsFrom(d.params, dtype);
  const v = paramsFrom(d.v, dtype);
  const pre: Batch = { obs: fromLeaf(d.pre.obs, dtype), act: fromLeaf(d.pre.act, dtype), adv: fromLeaf(d.pre.adv, dtype) };
  const post: PostBatch = {
    obs: fromLeaf(d.post.obs, dtype), act: fromLeaf(d.post.act, dtype), adv: fromLeaf(d.post.adv, dtype), logpOld: fromLeaf(d.post.logpOld, dtype),
  };
  // Each call runs inside noGrad: the transforms still record what they differentiate (and the inner
  // grad still records its backward pass for the outer one), but the returned gradient is a constant,
  // as in an optimizer step, so nothing outlives the call.
  const innerJ = jit((p: PolicyParams, b: Batch) => grad((q: PolicyParams) => lvcObjective(q, b))(p));
  const metaJ = jit((p: PolicyParams, b: Batch, c: PostBatch) => grad((q: PolicyParams) => metaObjective(q, b, c, ALPHA))(p));
  const hvpJ = jit((p: PolicyParams, b: Batch, u: PolicyParams) => grad((q: PolicyParams) => hvpObjective(q, b, u))(p));
  const hvpAt = jit((u: PolicyParams) => hvp((p: PolicyParams) => lvcObjective(p, pre), params, u));
  return {
    dtype, params, pre, post, v,
    innerGradJit: () => noGrad(() => innerJ(params, pre)),
    metaGradJit: () => noGrad(() => metaJ(params, pre, post)),
    hvpJit: () => noGrad(() => hvpJ(params, pre, v)),
    hvpJitAt: () => noGrad(() => hvpAt(v)),
    innerGrad: () => noGrad(() => grad((p: PolicyParams) => lvcObjective(p, pre))(params)),
    metaGrad: () => noGrad(() => grad((p: PolicyParams) => metaObjective(p, pre, post, ALPHA))(params)),
    hvp: () => noGrad(() => grad((p: PolicyParams) => hvpObjective(p, pre, v))(params)),
    hvpTransform: () => noGrad(() => hvp((p: PolicyParams) => lvcObjective(p, pre), params, v)),
    objective: () => noGrad(() => lvcObjective(params, pre)),
    jvp: () => noGrad(() => jvp((p: PolicyParams) => lvcObjective(p, pre), params, v)[1]),
    hvpForward: () => noGrad(() => jvp(grad((p: PolicyParams) => lvcObjective(p, pre)), params, v)[1]),
  };
}

/** The workload in `dtype` from the fixed seeds (builds the data in float64 first). */
export function makeWorkload(dtype: DType, n: number = BATCH): Workload {
  return workloadFromData(workloadData(n), dtype);
}

// ---------- correctness checks ----------

/** ‖a − b‖₂ / ‖b‖₂ over all leaves, accumulated in float64. */
export function treeRelErr(a: PolicyParams, b: PolicyParams): number {
  const la = treeLeaves(a), lb = treeLeaves(b);
  let num = 0, den = 0;
  la.forEach((x, i) => {
    const y = lb[i]!;
    for (let j = 0; j < x.size; j++) {
      const d = x.data[j]! - y.data[j]!;
      num += d * d;
      den += y.data[j]! * y.data[j]!;
    }
  });
  return Math.sqrt(num) / Math.sqrt(den);
}

/** θ + s·v, leaf by leaf (a constant). */
function axpy(p: PolicyParams, s: number, v: PolicyParams): PolicyParams {
  return noGrad(() => treeMap((w, vw) => w.add(vw.mul(s)), p, v));
}

/** The pre batch with ⊥log π frozen at θ: J^LR(·) on it has J^LVC's derivatives at θ (Eq. 6). */
export function frozenPreBatch(w: Workload): PostBatch {
  return { ...w.pre, logpOld: noGrad(() => gaussianLogProb(w.params, w.pre.obs, w.pre.act)) };
}

/**
 * Central differences of the inner gradient along v: [∇J(θ + hv) − ∇J(θ − hv)] / 2h ≈ ∇²J^LVC(θ)·v.
 * The stop-gradient must stay at θ while θ moves, so the gradient differenced is that of J^LR with
 * log π_θ frozen (equal to ∇J^LVC at θ, Eq. 6). Re-evaluating ⊥ at θ ± hv would instead difference
 * mean(∇log π·A), whose derivative misses the ∇log π ∇log πᵀ·A term of the LVC Hessian.
 */
export function hvpByFiniteDifferences(w: Workload, h: number): PolicyParams {
  const frozen = frozenPreBatch(w);
  const g = (p: PolicyParams): PolicyParams => noGrad(() => grad((q: PolicyParams) => lrObjective(q, frozen))(p));
  const gp = g(axpy(w.params, h, w.v)), gm = g(axpy(w.params, -h, w.v));
  return noGrad(() => treeMap((a, b) => a.sub(b).div(2 * h), gp, gm));
}

/** The naive difference quotient that re-stops the gradient at θ ± hv (shown to make the point above). */
export function naiveHvpByFiniteDifferences(w: Workload, h: number): PolicyParams {
  const g = (p: PolicyParams): PolicyParams => noGrad(() => grad((q: PolicyParams) => lvcObjective(q, w.pre))(p));
  const gp = g(axpy(w.params, h, w.v)), gm = g(axpy(w.params, -h, w.v));
  return noGrad(() => treeMap((a, b) => a.sub(b).div(2 * h), gp, gm));
}

/**
 * |∇f(θ)·u − [f(θ + hu) − f(θ − hu)]/2h| / |FD| for a direction u: a cheap check of a full gradient.
 * f must be an ordinary function of θ (no stop-gradient re-evaluated at the shifted points).
 */
export function directionalRelErr(f: (p: PolicyParams) => Tensor, g: PolicyParams, w: Workload, u: PolicyParams, h: number): number {
  const fd = (noGrad(() => f(axpy(w.params, h, u))).item() - noGrad(() => f(axpy(w.params, -h, u))).item()) / (2 * h);
  const an = noGrad(() => treeDot(g, u)).item();
  return Math.abs(an - fd) / Math.abs(fd);
}

/**
 * The meta objective as an ordinary function of θ for finite differences: J^LR(θ + α∇J^LR(θ)) with the
 * inner J^LR's log π frozen at the workload's θ. At that θ its gradient is the meta-gradient (J^LR and
 * J^LVC agree there in value, gradient and Hessian); with ⊥ re-evaluated at θ ± hu it would not be.
 */
export function frozenMetaObjective(w: Workload): (p: PolicyParams) => Tensor {
  const frozen = frozenPreBatch(w);
  return (p) => {
    const g = grad((q: PolicyParams) => lrObjective(q, frozen))(p);
    return lrObjective(treeMap((x, gx) => x.add(gx.mul(ALPHA)), p, g), w.post);
  };
}

/** Square n×n operands for the matmul suite (seeded, entries N(0, 1)). */
export function matmulOperands(n: number, dtype: DType): [Tensor, Tensor] {
  return [randn([n, n], 11, { dtype }), randn([n, n], 12, { dtype })];
}

/** A·B with nothing recorded: the timed matmul call. */
export function matmulNoGrad(a: Tensor, b: Tensor): Tensor {
  return noGrad(() => matmul(a, b));
}

/**
 * Max relative error of a few entries of C = A·B against a float64 dot product (relative to Σ|a·b|):
 * a spot check that a faster kernel still multiplies.
 */
export function matmulSpotErr(a: Tensor, b: Tensor, c: Tensor): number {
  const n = a.shape[0]!;
  let worst = 0;
  for (const [i, j] of [[0, 0], [n - 1, n - 1], [n >> 1, 3 % n], [7 % n, n >> 2], [n - 2, 1]] as const) {
    let s = 0, t = 0;
    for (let p = 0; p < n; p++) {
      const x = a.data[i * n + p]! * b.data[p * n + j]!;
      s += x;
      t += Math.abs(x);
    }
    worst = Math.max(worst, Math.abs(c.data[i * n + j]! - s) / t);
  }
  return worst;
}

/**
 * The TRPO outer step of MAML-TRPO and E-MAML-TRPO (the reference's ConjugateGradientOptimizer):
 *
 *   minimize L(θ)  s.t.  D̄_KL(θ) ≤ δ
 *   d = H⁻¹ ∇L by conjugate gradient (10 iterations) on Hessian-vector products of the constraint,
 *   Δ = √(2δ / (dᵀHd + 1e-8)) · d,  θ_new = θ − 0.8ⁿ Δ for the first n < 15 with L(θ_new) < L(θ) and
 *   D̄_KL(θ_new) ≤ δ; if none, the step is rejected (θ unchanged).
 *
 * The reference computes H·v by finite differences of ∇D̄_KL (ε = 1e-5); here it is exact, by double
 * backward: ∇D̄_KL is recorded once (createGraph) and each product is one more backward pass through it
 * with cotangent v. When D̄_KL depends on θ through the recorded inner step θ'(θ), these products
 * differentiate through that step too (third derivatives of the inner objective).
 */
import { type Tensor, enableGrad, gradients, jit, noGrad } from '@metagrad/autograd';
import { type GaussianMLPParams, type GaussianMLPPolicy, trainableLeaves } from '../policies.js';
import { type MetaBatch, flatOf, splitLike } from './common.js';
import { type Chunk, type ChunkOps, type ChunkRunner, localRunner, metaBatchChunks, sumInOrder, valuesOn, valuesOp } from './chunks.js';

/** Settings of the TRPO step (the reference's defaults in parentheses). */
export interface TrpoOptions {
  /** KL bound δ (0.01). */
  stepSize: number;
  /** Conjugate-gradient iterations (10). */
  cgIters: number;
  /** Damping λ added to H: (H + λI) (the reference's reg_coeff, 0). */
  damping: number;
  /** Backtracking ratio (0.8). */
  backtrackRatio: number;
  /** Maximum backtracking steps (15). */
  maxBacktracks: number;
  /** Task-chunk element budget (algos/chunks.ts). */
  chunkElements?: number;
  /** Compile the Hessian-vector products with jit (the same bits, faster); default true. */
  jit?: boolean;
}

/** What one TRPO step did. */
export interface TrpoResult {
  /** The new flat parameters (a copy of θ when the step is rejected). */
  theta: Float64Array;
  /** Whether a line-search step was accepted. */
  accepted: boolean;
  /** L(θ) before the step. */
  lossBefore: number;
  /** L at the returned θ. */
  lossAfter: number;
  /** D̄_KL(θ) before the step. */
  klBefore: number;
  /** D̄_KL at the returned θ. */
  klAfter: number;
  /** Backtracking steps tried before acceptance (or all of them). */
  backtracks: number;
  /** The full step's size along d: √(2δ / dᵀHd). */
  initialStepSize: number;
}

/** The loss and the KL constraint of a TRPO problem on (a task chunk of) a meta-batch, built in one graph; both are means over the tasks. */
export type TrpoObjective = (p: GaussianMLPParams, batch: MetaBatch) => {
  /** The loss L to minimize, a scalar. */
  loss: Tensor;
  /** The constraint D̄_KL, a scalar. */
  constraint: Tensor;
};

/** Solves A x = b by conjugate gradient (Demmel p. 312, as the reference), stopping when rᵀr < 1e-10. */
export function conjugateGradient(Ax: (v: Float64Array) => Float64Array, b: Float64Array, iters: number, residualTol = 1e-10): Float64Array {
  return conjugateGradientWithProduct(Ax, b, iters, residualTol).x;
}

/** conjugateGradient that also returns A x, accumulated from the products it took (A x = Σ a_i A p_i): no extra product. */
export function conjugateGradientWithProduct(Ax: (v: Float64Array) => Float64Array, b: Float64Array, iters: number, residualTol = 1e-10): {
  /** The solution x ≈ A⁻¹ b. */
  x: Float64Array;
  /** A x. */
  Ax: Float64Array;
} {
  const n = b.length;
  const x = new Float64Array(n), Axk = new Float64Array(n);
  const r = b.slice();
  const p = b.slice();
  let rr = dot(r, r);
  for (let i = 0; i < iters; i++) {
    if (rr < residualTol) break;
    const z = Ax(p);
    const a = rr / dot(p, z);
    for (let j = 0; j < n; j++) {
      x[j]! += a * p[j]!;
      Axk[j]! += a * z[j]!;
      r[j]! -= a * z[j]!;
    }
    const rrNew = dot(r, r);
    const mu = rrNew / rr;
    for (let j = 0; j < n; j++) p[j] = r[j]! + mu * p[j]!;
    rr = rrNew;
  }
  return { x, Ax: Axk };
}

/** Σ a_i b_i. */
export function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

/**
 * Whether a chunk's recorded curvature (its ∇D̄_KL graph, holding `bytes` of storage) is kept for the
 * products that follow the linearization; a chunk not kept records it again at each product (the same
 * bits, one more forward and backward pass per product).
 */
export type KeepCurvature = (bytes: number) => boolean;

/** What {@link keepWhileMemoryLasts} leaves free whatever the graphs' size: room for the sampler, the line search and the other runs of a machine. */
export const CURVATURE_RESERVE_BYTES = 3e9;

/**
 * How many more graphs like the one asked about {@link keepWhileMemoryLasts} leaves room for: the products
 * through chunks recorded again (each holds its graph and the backward pass through it, in each worker
 * thread), the trace of a compiled product, garbage between collections. With room for one, a humanoid
 * MAML-TRPO run (40 chunks of 271 MB, 2 threads) kept memory down to 3.3 GB free and was then killed by
 * the OOM killer during the conjugate-gradient products.
 */
export const CURVATURE_ROOM = 12;

type NodeProcess = { availableMemory?(): number; getBuiltinModule?(id: string): unknown };
const nodeProcess = (): NodeProcess | undefined => (globalThis as { process?: NodeProcess }).process;

let fullGC: (() => void) | null | undefined;

/**
 * Runs a full garbage collection of this thread's heap where it can (Node ≥ 20.16: V8's `gc`, taken from a
 * fresh context with --expose-gc set for that moment only, so that no global `gc` appears elsewhere);
 * returns whether it ran. The storage of dropped tensors is freed only when their wrappers are
 * collected, and V8 may leave gigabytes of it (seen: 5 GB more in one of two equal worker threads): the
 * memory the OS reports available counts that garbage as used.
 */
export function collectGarbage(): boolean {
  if (fullGC === undefined) {
    fullGC = null;
    const get = nodeProcess()?.getBuiltinModule;
    if (get) {
      const v8 = get('node:v8') as { setFlagsFromString(f: string): void };
      const vm = get('node:vm') as { runInNewContext(code: string): unknown };
      v8.setFlagsFromString('--expose-gc');
      try {
        const gc = vm.runInNewContext('gc');
        if (typeof gc === 'function') fullGC = gc as () => void;
      } finally {
        v8.setFlagsFromString('--no-expose-gc');
      }
    }
  }
  fullGC?.();
  return fullGC !== null;
}

/**
 * The default {@link KeepCurvature}: keep a chunk's graph while the memory the OS reports available to
 * this process (`process.availableMemory()`, with the graph already allocated and the garbage collected:
 * {@link collectGarbage}) exceeds {@link CURVATURE_RESERVE_BYTES} plus room for {@link CURVATURE_ROOM} more graphs like it;
 * keep everything where nothing is reported (a browser). MAML-TRPO's curvature through the inner step
 * holds thousands of floats per sampled step (~8 GB on walker2d at the reference's 40 × 20 × 200, 11 GB on
 * the humanoid): keeping all of it on a larger task, or in two runs at once, would run the machine out of
 * memory, where recording it again only costs time.
 */
export function keepWhileMemoryLasts(bytes: number): boolean {
  const proc = nodeProcess();
  if (proc?.availableMemory === undefined) return true;
  collectGarbage();
  return proc.availableMemory() > CURVATURE_RESERVE_BYTES + CURVATURE_ROOM * bytes;
}

/** Bytes of the storage reachable from `outs` through their recorded graph, each buffer counted once. */
export function graphBytes(outs: readonly Tensor[]): number {
  const seen = new Set<Tensor>(), buffers = new Set<ArrayBufferLike>();
  const stack = [...outs];
  let bytes = 0;
  while (stack.length) {
    const t = stack.pop()!;
    if (seen.has(t)) continue;
    seen.add(t);
    if (!buffers.has(t.data.buffer)) {
      buffers.add(t.data.buffer);
      bytes += t.data.buffer.byteLength;
    }
    if (t.node) stack.push(...t.node.inputs);
  }
  return bytes;
}

/**
 * A chunk's curvature: v ↦ ∇(∇D̄_KL · v) through its recorded ∇D̄_KL (null when D̄_KL does not depend on θ
 * here), the leaves it differentiates, and the graph's bytes while the keep policy has yet to see what
 * the first product added (a compiled product's folded constants and planned buffers: half as much again
 * as the graph on the humanoid).
 */
interface Curvature {
  product: ((vs: Tensor[]) => Tensor[]) | null;
  leaves: Tensor[];
  unchecked?: number;
}

/** The product through ∇D̄_KL recorded as gC (one backward pass with cotangent v), compiled with jit when `compiled`. */
function curvatureOf(gC: readonly Tensor[], leaves: Tensor[], compiled: boolean): Curvature {
  const used = gC.map((t) => t.node !== null);
  const outs = gC.filter((_, i) => used[i]);
  const product = (vs: Tensor[]): Tensor[] => gradients(outs, leaves, { gradOutputs: vs.filter((_, i) => used[i]), allowUnused: true });
  return { product: outs.length === 0 ? null : compiled ? jit(product) : product, leaves };
}

/** H v on a chunk through its curvature (zero where D̄_KL does not depend on θ). */
function productThrough(k: Curvature, v: Float64Array): Float64Array {
  return k.product ? noGrad(() => flatOf(k.product!(splitLike(v, k.leaves)))) : new Float64Array(v.length);
}

/**
 * The chunk ops of a TRPO problem. `linearize`: one graph per chunk, [L, D̄_KL, ∇L flat] with ∇D̄_KL
 * recorded (createGraph) and kept for the chunk when `keep` says so (by default while memory lasts:
 * {@link keepWhileMemoryLasts}); `hvp` (args: v, flat): ∇(∇D̄_KL · v) = H v on the chunk, one backward
 * pass through the kept ∇D̄_KL (traced by jit at the first product when `compiled`, whose later ones
 * replay it: the graph's tensors are the trace's constants), or through ∇D̄_KL recorded again when it was
 * not kept (the same bits); `values`: [L, D̄_KL]. `keep` is asked again after a kept chunk's first product,
 * with what that product allocated now in memory, and the chunk is recorded again from then on when it says no.
 */
export function trpoOps(policy: GaussianMLPPolicy, objective: TrpoObjective, compiled = true, keep: KeepCurvature = keepWhileMemoryLasts): ChunkOps {
  const curv = new WeakMap<Chunk, Curvature | 'recompute'>();
  const recordCurvature = (p: GaussianMLPParams, c: Chunk): Curvature => {
    const leaves = trainableLeaves(p, policy.learnStd);
    const gC = enableGrad(() => gradients(objective(p, c.batch).constraint.mul(c.weight), leaves, { createGraph: true, allowUnused: true }));
    return curvatureOf(gC, leaves, false);
  };
  return {
    linearize(p, c) {
      const leaves = trainableLeaves(p, policy.learnStd); // a prefix of θ: with σ fixed, g and H v vanish on log σ
      const out = new Float64Array(2 + policy.numParams);
      const { g, gC } = enableGrad(() => {
        const o = objective(p, c.batch);
        const L = o.loss.mul(c.weight), C = o.constraint.mul(c.weight);
        out[0] = L.item();
        out[1] = C.item();
        return { g: gradients(L, leaves, { allowUnused: true }), gC: gradients(C, leaves, { createGraph: true, allowUnused: true }) };
      });
      out.set(flatOf(g), 2);
      const bytes = graphBytes(gC);
      curv.set(c, keep(bytes) ? { ...curvatureOf(gC, leaves, compiled), unchecked: bytes } : 'recompute');
      return out;
    },
    hvp(p, c, v) {
      const k = curv.get(c);
      if (!k) throw new Error('trpo: hvp on a chunk that was not linearized');
      const out = new Float64Array(policy.numParams);
      if (k === 'recompute') {
        out.set(productThrough(recordCurvature(p, c), v as Float64Array));
        collectGarbage(); // the graph just recorded is garbage now: free it before the next chunk records its own
        return out;
      }
      out.set(productThrough(k, v as Float64Array));
      if (k.unchecked !== undefined) {
        // asked again now that the first product's trace is in memory: kept chunks' programs cannot fill it
        if (!keep(k.unchecked)) curv.set(c, 'recompute');
        else k.unchecked = undefined;
      }
      return out;
    },
    values: valuesOp((p, b) => objective(p, b)),
  };
}

/** The linearization of a TRPO problem at θ from a runner of {@link trpoOps}: L, D̄_KL, ∇L and v ↦ (∇²D̄_KL + λI) v. */
export function trpoLinearizationOn(runner: ChunkRunner, theta: Float64Array, chunks: readonly Chunk[], damping: number): {
  /** L(θ). */
  loss: number;
  /** D̄_KL(θ). */
  constraint: number;
  /** ∇L(θ), flat (0 on log σ when σ is fixed). */
  grad: Float64Array;
  /** v ↦ (∇²D̄_KL(θ) + λI) v. */
  Hx: (v: Float64Array) => Float64Array;
} {
  const lin = sumInOrder(runner.run('linearize', theta, chunks));
  const Hx = (v: Float64Array): Float64Array => {
    const hv = v.map((x) => damping * x);
    for (const h of runner.run('hvp', theta, chunks, v)) for (let i = 0; i < h.length; i++) hv[i]! += h[i]!;
    return hv;
  };
  return { loss: lin[0]!, constraint: lin[1]!, grad: lin.slice(2), Hx };
}

/**
 * The curvature of D̄_KL at θ as a function v ↦ (∇²D̄_KL + λI) v, and the loss gradient, from one graph per
 * task chunk: the forward pass, ∇L (not recorded) and ∇D̄_KL (recorded, kept and reused by every product).
 */
export function trpoLinearization(policy: GaussianMLPPolicy, theta: Float64Array, chunks: readonly Chunk[], objective: TrpoObjective, damping: number, compiled = true): {
  /** L(θ). */
  loss: number;
  /** D̄_KL(θ). */
  constraint: number;
  /** ∇L(θ), flat (0 on log σ when σ is fixed). */
  grad: Float64Array;
  /** v ↦ (∇²D̄_KL(θ) + λI) v. */
  Hx: (v: Float64Array) => Float64Array;
} {
  return trpoLinearizationOn(localRunner(policy, trpoOps(policy, objective, compiled)), theta, chunks, damping);
}

/** Value-only evaluation of the loss and the constraint (the inner steps still take their gradients). */
export function evaluateObjective(policy: GaussianMLPPolicy, theta: Float64Array, chunks: readonly Chunk[], objective: TrpoObjective): {
  /** L(θ). */
  loss: number;
  /** D̄_KL(θ). */
  constraint: number;
} {
  const v = valuesOn(localRunner(policy, trpoOps(policy, objective)), 'values', ['loss', 'constraint'], theta, chunks);
  return { loss: v.loss!, constraint: v.constraint! };
}

/** One TRPO step from θ on a meta-batch (see the module comment). */
export function trpoStep(policy: GaussianMLPPolicy, theta: Float64Array, batch: MetaBatch, objective: TrpoObjective, opts: TrpoOptions): TrpoResult {
  return trpoStepOn(localRunner(policy, trpoOps(policy, objective, opts.jit ?? true)), theta, metaBatchChunks(batch, opts.chunkElements), opts);
}

/** {@link trpoStep} with its chunk work on a runner of {@link trpoOps} (this thread or worker threads: the same bits). */
export function trpoStepOn(runner: ChunkRunner, theta: Float64Array, chunks: readonly Chunk[], opts: TrpoOptions): TrpoResult {
  const lin = trpoLinearizationOn(runner, theta, chunks, opts.damping);
  const { x: d, Ax: Hd } = conjugateGradientWithProduct(lin.Hx, lin.grad, opts.cgIters); // d ≈ H⁻¹ ∇L, and H d
  const dHd = dot(d, Hd);
  const beta = Math.sqrt((2 * opts.stepSize) / (dHd + 1e-8));
  const reject = (backtracks: number, initialStepSize: number): TrpoResult => ({
    theta: theta.slice(), accepted: false, lossBefore: lin.loss, lossAfter: lin.loss, klBefore: lin.constraint,
    klAfter: lin.constraint, backtracks, initialStepSize,
  });
  if (!Number.isFinite(beta)) return reject(0, beta);
  const cand = new Float64Array(theta.length);
  let tried = 0;
  for (let n = 0; n < opts.maxBacktracks; n++) {
    const ratio = opts.backtrackRatio ** n;
    for (let i = 0; i < theta.length; i++) cand[i] = theta[i]! - ratio * beta * d[i]!;
    const e = valuesOn(runner, 'values', ['loss', 'constraint'], cand, chunks);
    tried = n + 1;
    if (e.loss! < lin.loss && e.constraint! <= opts.stepSize) {
      return {
        theta: cand.slice(), accepted: true, lossBefore: lin.loss, lossAfter: e.loss!, klBefore: lin.constraint, klAfter: e.constraint!,
        backtracks: n, initialStepSize: beta,
      };
    }
  }
  return reject(tried, beta);
}

/**
 * The benchmark workload: a Gaussian MLP policy (obs 20 → tanh 64 → tanh 64 → mean 6, plus a
 * state-independent log-std) as plain functions over a params pytree, seeded batches, and the three
 * objectives the suite differentiates: the inner LVC objective (Eq. 5, one step per sample), the
 * ProMP-style meta objective J^LR at θ' = θ + α∇J^LVC(θ) (Eq. 6–7 without the clip and KL terms), and
 * the Hessian-vector-product objective ∇J^LVC(θ)·v.
 */
import {
  type DType, Rng, type Tensor, exp, grad, mean, noGrad, randn, stopGradient, sum, tanh, treeLeaves, treeMap, zeros,
} from '@metagrad/autograd';

export type { DType };

/** Layer sizes of the benchmark policy. */
export const OBS_DIM = 20;
export const HIDDEN = 64;
export const ACT_DIM = 6;
/** Batch size of the pre- and post-update batches. */
export const BATCH = 2000;
/** Inner step size α in θ' = θ + α∇J^LVC(θ). */
export const ALPHA = 0.1;

/**
 * The policy parameters: h₁ = tanh(obs·W1 + b1), h₂ = tanh(h₁·W2 + b2), μ = h₂·W3 + b3, σ = exp(logStd).
 * A type alias (not an interface) so it is assignable to the engine's `Params` pytree type.
 */
export type PolicyParams = {
  W1: Tensor; b1: Tensor; W2: Tensor; b2: Tensor; W3: Tensor; b3: Tensor; logStd: Tensor;
};

/** Samples (o_n, a_n, A_n), n < N, of one batch. */
export interface Batch {
  /** Observations [N, 20]. */
  obs: Tensor;
  /** Actions [N, 6]. */
  act: Tensor;
  /** Advantages [N] (normalized to mean 0, std 1). */
  adv: Tensor;
}

/** A post-update batch also holds the log-probs of its actions under the policy that sampled them. */
export interface PostBatch extends Batch {
  /** log π_θo(a_n | o_n) [N], a constant. */
  logpOld: Tensor;
}

const HALF_LOG_2PI = 0.5 * Math.log(2 * Math.PI);

/**
 * Seeded initial parameters: weights N(0, 1/fan_in) (so tanh units start unsaturated), small random
 * biases (0.1·N(0, 1): non-zero so every second-order term of the check is exercised), logStd = −0.5.
 * The same seed gives the same values in both dtypes (float32 is the rounded float64 draw). `width` is
 * the hidden layers' width (the scaling benchmark varies it).
 */
export function initPolicy(seed: number, dtype: DType = 'float64', width: number = HIDDEN): PolicyParams {
  const rng = new Rng(seed);
  const o = { dtype };
  const weight = (fanIn: number, fanOut: number): Tensor => noGrad(() => randn([fanIn, fanOut], rng, o).mul(1 / Math.sqrt(fanIn)));
  const bias = (n: number): Tensor => noGrad(() => randn([n], rng, o).mul(0.1));
  return {
    W1: weight(OBS_DIM, width), b1: bias(width),
    W2: weight(width, width), b2: bias(width),
    W3: weight(width, ACT_DIM), b3: bias(ACT_DIM),
    logStd: noGrad(() => zeros([ACT_DIM], o).sub(0.5)),
  };
}

/** μ_θ(o) = tanh(tanh(o·W1 + b1)·W2 + b2)·W3 + b3, shape [N, 6]. */
export function policyMean(p: PolicyParams, obs: Tensor): Tensor {
  const h1 = tanh(obs.matmul(p.W1).add(p.b1));
  const h2 = tanh(h1.matmul(p.W2).add(p.b2));
  return h2.matmul(p.W3).add(p.b3);
}

/**
 * log π_θ(a | o) = Σ_d [−½((a_d − μ_d)/σ_d)² − log σ_d − ½ log 2π], per sample: shape [N].
 * The last two terms do not depend on the sample, so they are summed once over d instead of per entry.
 */
export function gaussianLogProb(p: PolicyParams, obs: Tensor, act: Tensor): Tensor {
  const z = act.sub(policyMean(p, obs)).div(exp(p.logStd)); // (a − μ)/σ, [N, 6]
  return sum(z.square(), 1).mul(-0.5).sub(sum(p.logStd)).sub(ACT_DIM * HALF_LOG_2PI);
}

/** a ~ N(μ_θ(o), σ²): μ + σ·ε with ε drawn from `rng` (a constant: nothing is recorded). */
export function sampleActions(p: PolicyParams, obs: Tensor, rng: Rng): Tensor {
  return noGrad(() => {
    const eps = randn([obs.shape[0]!, ACT_DIM], rng, { dtype: obs.dtype });
    return policyMean(p, obs).add(eps.mul(exp(p.logStd)));
  });
}

/** N(0, 1) advantages, standardized to mean 0 and std 1 as a baseline-corrected estimate would be. */
function advantages(n: number, rng: Rng, dtype: DType): Tensor {
  return noGrad(() => {
    const a = randn([n], rng, { dtype });
    const centered = a.sub(mean(a));
    return centered.div(mean(centered.square()).sqrt());
  });
}

/**
 * Seeded pre- and post-update batches of N samples each. Pre: o ~ N(0, I), a ~ π_θ(·|o). Post: sampled
 * from the adapted policy θ' = θ + α∇J^LVC(θ) (as a meta-RL sampler would), with logpOld = log π_θ'(a|o)
 * recorded at sampling time. Same seed, same values in both dtypes up to float32 rounding.
 */
export function makeBatches(
  params: PolicyParams, seed: number, n: number = BATCH, dtype: DType = params.W1.dtype,
): { pre: Batch; post: PostBatch } {
  const rng = new Rng(seed);
  const preObs = randn([n, OBS_DIM], rng, { dtype });
  const pre: Batch = { obs: preObs, act: sampleActions(params, preObs, rng), adv: advantages(n, rng, dtype) };
  const adapted = noGrad(() => innerStep(params, pre));
  const postObs = randn([n, OBS_DIM], rng, { dtype });
  const postAct = sampleActions(adapted, postObs, rng);
  const post: PostBatch = {
    obs: postObs,
    act: postAct,
    adv: advantages(n, rng, dtype),
    logpOld: noGrad(() => gaussianLogProb(adapted, postObs, postAct)),
  };
  return { pre, post };
}

/**
 * J^LVC(θ) = mean_n [π_θ(a_n|o_n) / ⊥π_θ(a_n|o_n)] · A_n = mean_n exp(log π_θ − ⊥log π_θ) · A_n
 * (Eq. 5 with one step per sample and advantages for rewards-to-go). Its value is mean A; its gradient
 * is the policy gradient and its Hessian the LVC Hessian estimate H1 + H2.
 */
export function lvcObjective(p: PolicyParams, batch: Batch): Tensor {
  const logp = gaussianLogProb(p, batch.obs, batch.act);
  return mean(exp(logp.sub(stopGradient(logp))).mul(batch.adv));
}

/**
 * θ' = θ + α∇_θ J^LVC(θ), one inner policy-gradient step. `grad` records its backward pass whenever
 * recording is on, so θ' stays a differentiable function of θ (second order through the step).
 */
export function innerStep(p: PolicyParams, pre: Batch, alpha: number = ALPHA): PolicyParams {
  const g = grad((q: PolicyParams) => lvcObjective(q, pre))(p);
  return treeMap((w, gw) => w.add(gw.mul(alpha)), p, g);
}

/**
 * J^LR(θ) = mean_n [π_θ(a_n|o_n) / π_θo(a_n|o_n)] · A_n with π_θo's log-probs held constant (Eq. 6 without
 * the clip). At θ = θo its derivatives of every order equal J^LVC's.
 */
export function lrObjective(p: PolicyParams, batch: PostBatch): Tensor {
  const logp = gaussianLogProb(p, batch.obs, batch.act);
  return mean(exp(logp.sub(batch.logpOld)).mul(batch.adv));
}

/**
 * The meta objective J^LR(θ') on the post-update batch at θ' = θ + α∇J^LVC(θ) (Eq. 7 before the clip and
 * the KL term). Its gradient in θ is the meta-gradient (I + α∇²J^LVC(θ))·∇J^LR(θ'): second order.
 */
export function metaObjective(p: PolicyParams, pre: Batch, post: PostBatch, alpha: number = ALPHA): Tensor {
  return lrObjective(innerStep(p, pre, alpha), post);
}

/** Σ over leaves of ⟨a, b⟩: the inner product of two pytrees of the same structure. */
export function treeDot(a: PolicyParams, b: PolicyParams): Tensor {
  const la = treeLeaves(a), lb = treeLeaves(b);
  return la.map((x, i) => sum(x.mul(lb[i]!))).reduce((s, t) => s.add(t));
}

/** ∇J^LVC(θ)·v for a fixed direction v: its gradient in θ is the Hessian-vector product ∇²J^LVC(θ)·v. */
export function hvpObjective(p: PolicyParams, pre: Batch, v: PolicyParams): Tensor {
  return treeDot(grad((q: PolicyParams) => lvcObjective(q, pre))(p), v);
}

/** A seeded direction v with the structure of θ, entries N(0, 1). */
export function randomDirection(like: PolicyParams, seed: number): PolicyParams {
  const rng = new Rng(seed);
  return treeMap((w) => randn(w.shape, rng, { dtype: w.dtype }), like);
}

/** Number of scalar parameters in θ (20·64 + 64 + 64·64 + 64 + 64·6 + 6 + 6 = 5,900). */
export function paramCount(p: PolicyParams): number {
  return treeLeaves(p).reduce((n, t) => n + t.size, 0);
}

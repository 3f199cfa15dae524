/**
 * Monte Carlo tools on tabular MDPs: sample trajectories, estimate meta-gradients with the DiCE or the
 * LVC inner objective, and measure their relative standard deviation (the quantity of the paper's Fig. 3).
 */
import { type Tensor, Rng, grad, jvp, noGrad, tensor, vmap } from '@metagrad/autograd';
import { dice, lvc, rewardToGo, type Steps } from '../estimators/objectives.js';
import { type TabularSpec, tabularLogProb, validateTabular } from './exact.js';

/** A batch of N sampled trajectories of length H: states, actions, rewards [N, H] and the Steps. */
export interface TabularBatch {
  /** [N, H] state indices. */
  states: Tensor;
  /** [N, H] action indices. */
  actions: Tensor;
  /** [N, H] rewards. */
  rewards: Tensor;
  /** An all-ones mask, trajectories weighted 1/N. */
  steps: Steps;
}

/** Samples n trajectories from the MDP under π_θ (seeded). */
export function sampleTabular(m: TabularSpec, theta: Tensor, n: number, rng: Rng): TabularBatch {
  if (!Number.isInteger(n) || n < 1) throw new Error(`sampleTabular: n must be a positive integer, got ${n}`);
  const { A, H } = m;
  const pi = noGrad(() => theta.softmax(-1)).data;
  const states = new Float64Array(n * H), actions = new Float64Array(n * H), rewards = new Float64Array(n * H);
  const init = Array.from(m.init);
  const row = new Float64Array(A);
  for (let i = 0; i < n; i++) {
    let s = rng.categorical(init);
    for (let t = 0; t < H; t++) {
      for (let a = 0; a < A; a++) row[a] = pi[s * A + a]!;
      const a = rng.categorical(row);
      states[i * H + t] = s;
      actions[i * H + t] = a;
      rewards[i * H + t] = m.R[s]![a]!;
      if (t < H - 1) s = rng.categorical(Array.from(m.P[s]![a]!));
    }
  }
  return {
    states: tensor(states, [n, H]),
    actions: tensor(actions, [n, H]),
    rewards: tensor(rewards, [n, H]),
    steps: { mask: tensor(new Float64Array(n * H).fill(1), [n, H]) },
  };
}

/** The inner objective whose Hessian a meta-gradient estimate uses: DiCE (Eq. 57) or LVC (Eq. 5, 64). */
export type InnerEstimator = 'dice' | 'lvc';

/** The inner objective on a batch: DiCE (Eq. 57) on rewards, or LVC (Eq. 64) on rewards-to-go. */
export function innerObjective(estimator: InnerEstimator, theta: Tensor, b: TabularBatch): Tensor {
  const logp = tabularLogProb(theta, b.states, b.actions);
  return estimator === 'dice' ? dice(logp, b.rewards, b.steps) : lvc(logp, rewardToGo(b.rewards, b.steps.mask), b.steps);
}

/** Options of metaGradientSample. */
export interface MetaGradientOptions {
  /** Inner step size α. */
  alpha: number;
  /** Trajectories sampled before the inner step (τ ~ π_θ). */
  nPre: number;
  /** Trajectories sampled after it (τ′ ~ π_θ′). */
  nPost: number;
}

/**
 * One Monte Carlo meta-gradient (formulation I, Eq. 4): sample τ ~ π_θ, θ′ = θ + α∇θ Ĵ_inner(θ) with the
 * chosen estimator, sample τ′ ~ π_θ′, and differentiate the post-update policy-gradient surrogate
 * Ĵ_outer(θ′(θ)) with respect to θ: (I + α∇²Ĵ_inner)·∇θ′Ĵ_outer.
 */
export function metaGradientSample(m: TabularSpec, theta: Tensor, estimator: InnerEstimator, opts: MetaGradientOptions, rng: Rng): Tensor {
  const pre = sampleTabular(m, theta, opts.nPre, rng);
  const adapt = (t: Tensor): Tensor => t.add(grad((u: Tensor) => innerObjective(estimator, u, pre))(t).mul(opts.alpha));
  const post = sampleTabular(m, noGrad(() => adapt(theta)), opts.nPost, rng);
  const postReturns = rewardToGo(post.rewards, post.steps.mask);
  const outer = (t: Tensor): Tensor => lvc(tabularLogProb(adapt(t), post.states, post.actions), postReturns, post.steps);
  return noGrad(() => grad(outer)(theta)).reshape([theta.size]);
}

/** One meta-gradient estimate and its per-trajectory parts (perSampleMetaGradients). */
export interface PerSampleMetaGradients {
  /** [S·A] the estimate (I + α∇²Ĵ_inner)·∇θ′Ĵ_outer, equal to metaGradientSample's on the same draws. */
  metaGradient: Tensor;
  /** [nPre, S·A] row i: (I + α∇²Ĵ_i)·∇θ′Ĵ_outer with Ĵ_i the inner estimator on pre-update trajectory i alone; their mean is metaGradient. */
  perSample: Tensor;
  /** [S·A] ∇θ′Ĵ_outer at θ′, shared by every row. */
  outerGradient: Tensor;
}

/**
 * A meta-gradient estimate split over its pre-update trajectories. The inner Hessian of a batch is the
 * mean of its trajectories' Hessians, so the estimate (I + α∇²Ĵ_inner)·v, v = ∇θ′Ĵ_outer, is the mean
 * over trajectories i of (I + α∇²Ĵ_i)·v. Each ∇²Ĵ_i·v is a forward-over-reverse Hessian-vector product
 * of the estimator code on one trajectory, all of them in one call: vmap over trajectories of
 * jvp(grad(Ĵ_i)). Their spread is the pre-update sampling noise of the curvature term α∇²Ĵ·v, the part
 * in which DiCE and LVC differ (Fig. 3), from a single batch. Draws the same samples as
 * metaGradientSample from the same `rng` state.
 */
export function perSampleMetaGradients(m: TabularSpec, theta: Tensor, estimator: InnerEstimator, opts: MetaGradientOptions, rng: Rng): PerSampleMetaGradients {
  const { H } = m;
  const pre = sampleTabular(m, theta, opts.nPre, rng);
  return noGrad(() => {
    const adapted = theta.add(grad((u: Tensor) => innerObjective(estimator, u, pre))(theta).mul(opts.alpha));
    const post = sampleTabular(m, adapted, opts.nPost, rng);
    const postReturns = rewardToGo(post.rewards, post.steps.mask);
    const v = grad((t: Tensor) => lvc(tabularLogProb(t, post.states, post.actions), postReturns, post.steps))(adapted);
    // the inner estimator on one trajectory (states, actions, rewards [H]), and its Hessian times v
    const one = (s: Tensor, a: Tensor, r: Tensor): TabularBatch => ({
      states: s.reshape([1, H]), actions: a.reshape([1, H]), rewards: r.reshape([1, H]), steps: { mask: tensor(new Float64Array(H).fill(1), [1, H]) },
    });
    const hv = (s: Tensor, a: Tensor, r: Tensor): Tensor => jvp((t: Tensor) => grad((u: Tensor) => innerObjective(estimator, u, one(s, a, r)))(t), theta, v)[1];
    const perSample = v.add(vmap(hv)(pre.states, pre.actions, pre.rewards).mul(opts.alpha)).reshape([opts.nPre, theta.size]);
    return { metaGradient: perSample.mean(0), perSample, outerGradient: v.reshape([theta.size]) };
  });
}

/**
 * Relative standard deviation of K estimates ĝ⁽ᵏ⁾ ∈ ℝᵈ: mean_i std_k(ĝᵢ) / mean_i |mean_k(ĝᵢ)| (a ratio of
 * averages over parameters, so near-zero mean components do not dominate).
 */
export function relativeStd(estimates: readonly Tensor[]): number {
  const K = estimates.length;
  if (K < 2) throw new Error(`relativeStd: needs at least 2 estimates, got ${K}`);
  const d = estimates[0]!.size;
  let stdSum = 0, meanSum = 0;
  for (let i = 0; i < d; i++) {
    let m = 0;
    for (const e of estimates) m += e.data[i]!;
    m /= K;
    let v = 0;
    for (const e of estimates) v += (e.data[i]! - m) ** 2;
    stdSum += Math.sqrt(v / (K - 1));
    meanSum += Math.abs(m);
  }
  return stdSum / meanSum;
}

/** One point of the Fig. 3 experiment: one estimator at one pre-update batch size. */
export interface VarianceResult {
  /** The inner objective used. */
  estimator: InnerEstimator;
  /** Pre-update trajectories per estimate. */
  nPre: number;
  /** relativeStd of the estimates. */
  relStd: number;
  /** [S·A] mean of the estimates, flat over θ [S, A]. */
  mean: number[];
}

/**
 * The Fig. 3 experiment on a tabular MDP: for each batch size, K independent meta-gradient estimates with
 * DiCE and with LVC (the same seeds for both), and their relative standard deviations.
 */
export function gradientVarianceExperiment(
  m: TabularSpec, theta: Tensor,
  opts: { alpha: number; batchSizes: number[]; nPost: number; repeats: number; seed: number; onProgress?: (done: number, total: number) => void },
): VarianceResult[] {
  validateTabular(m, 'gradientVarianceExperiment');
  const out: VarianceResult[] = [];
  const total = opts.batchSizes.length * 2 * opts.repeats;
  let done = 0;
  for (const nPre of opts.batchSizes)
    for (const estimator of ['dice', 'lvc'] as const) {
      const rng = new Rng(opts.seed + nPre);
      const ests: Tensor[] = [];
      for (let k = 0; k < opts.repeats; k++) {
        ests.push(metaGradientSample(m, theta, estimator, { alpha: opts.alpha, nPre, nPost: opts.nPost }, rng));
        opts.onProgress?.(++done, total);
      }
      const mean = Array.from({ length: theta.size }, (_, i) => ests.reduce((s, e) => s + e.data[i]!, 0) / ests.length);
      out.push({ estimator, nPre, relStd: relativeStd(ests), mean });
    }
  return out;
}

/** A random MDP with Dirichlet(1) transitions and initial states, rewards in [0, 1), and θ ~ U(−½, ½), from a seed. */
export function randomTabular(seed: number, S: number, A: number, H: number): {
  /** The MDP (S states, A actions, horizon H). */
  mdp: TabularSpec;
  /** [S, A] float64 softmax-policy parameters. */
  theta: Tensor;
} {
  const rng = new Rng(seed);
  const simplex = (k: number): number[] => {
    const x = Array.from({ length: k }, () => -Math.log(1 - rng.uniform()));
    const s = x.reduce((a, b) => a + b, 0);
    return x.map((v) => v / s);
  };
  const mdp: TabularSpec = {
    S, A, H, init: simplex(S),
    P: Array.from({ length: S }, () => Array.from({ length: A }, () => simplex(S))),
    R: Array.from({ length: S }, () => Array.from({ length: A }, () => rng.uniform())),
  };
  return { mdp, theta: tensor(Array.from({ length: S }, () => Array.from({ length: A }, () => rng.uniformIn(-0.5, 0.5)))) };
}

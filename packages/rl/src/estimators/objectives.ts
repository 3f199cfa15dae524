/**
 * The paper's objectives as differentiable surrogates. Each takes per-step log-likelihoods
 * logp [N, T] (a graph tensor of the policy parameters) of N trajectories padded to T steps, per-step
 * constants ([N, T]: rewards or advantages), and the batch's `Steps` (validity mask and per-trajectory
 * weights), and returns a scalar to MAXIMIZE. Their derivatives, at every order, are the estimators.
 *
 * Reduction: the paper's expectations are E_τ[Σ_t …]: a weighted mean over trajectories of the sum over
 * steps ('trajectory', the default). The reference implementation averages over all valid steps
 * ('step'), which only rescales; algorithms pass that to match its step sizes.
 */
import { BatchTracer, type Params, type Tensor, clip, exp, grad, minimum, mul, noGrad, stopGradient, sub, tensor, treeMap } from '@metagrad/autograd';

/** Which steps are real and how trajectories are weighted. */
export interface Steps {
  /** [N, T] 1 on valid steps, 0 on padding. */
  mask: Tensor;
  /** [N] weights of the trajectories in the expectation (default 1/N each; exact analysis uses P(τ)). */
  trajWeights?: Tensor;
  /** 'trajectory' (default): Σ_n w_n Σ_t x; 'step': Σ_{n,t} x / number of valid steps. */
  reduce?: 'trajectory' | 'step';
}

/** The expectation of per-step terms x [N, T] over the batch (masked), as `Steps.reduce` says. */
export function expectSteps(x: Tensor, steps: Steps): Tensor {
  if (x.ndim !== 2 || x.shape[0] !== steps.mask.shape[0] || x.shape[1] !== steps.mask.shape[1])
    throw new Error(`expectSteps: per-step terms have shape [${x.shape.join(', ')}] but the mask has [${steps.mask.shape.join(', ')}]`);
  const masked = x.mul(steps.mask);
  if (steps.reduce === 'step') {
    const count = steps.mask.sum().item();
    if (count === 0) throw new Error('expectSteps: the batch has no valid step');
    return masked.sum().div(count);
  }
  const perTraj = masked.sum(1);
  return steps.trajWeights ? perTraj.mul(steps.trajWeights).sum() : perTraj.mean();
}

/** The DiCE magic box □(x) = exp(x − ⊥x): value 1, derivatives those of exp at every order. */
export function magicBox(x: Tensor): Tensor {
  return exp(sub(x, stopGradient(x)));
}

/** Σ_{t'≥t} γ^{t'−t} r_t' (reward-to-go), masked; a constant. */
export function rewardToGo(rewards: Tensor, mask: Tensor, discount = 1): Tensor {
  return noGrad(() => {
    const r = rewards.mul(mask);
    if (discount === 1) return r.cumsum(1, true);
    // the discounted sum is a loop over the values, which inside vmap are the whole batch's
    if (r instanceof BatchTracer) throw new Error('rewardToGo: a discount other than 1 is not supported inside vmap; compute the rewards-to-go outside it');
    const [n, T] = r.shape as [number, number];
    const out = new Float64Array(n * T);
    for (let i = 0; i < n; i++) {
      let acc = 0;
      for (let t = T - 1; t >= 0; t--) {
        acc = r.data[i * T + t]! + discount * acc;
        out[i * T + t] = acc;
      }
    }
    return tensor(out, [n, T], { dtype: r.dtype });
  });
}

/** DiCE (Eq. 57): Σ_t (Π_{t'≤t} π_θ(a_t'|s_t') / ⊥π_θ(a_t'|s_t')) r_t — unbiased at every order. */
export function dice(logp: Tensor, rewards: Tensor, steps: Steps): Tensor {
  return expectSteps(magicBox(logp.mul(steps.mask).cumsum(1)).mul(rewards), steps);
}

/** LVC (Eq. 5, 64): Σ_t π_θ(a_t|s_t) / ⊥π_θ(a_t|s_t) · Ĝ_t with Ĝ_t the reward-to-go (or an advantage). */
export function lvc(logp: Tensor, returns: Tensor, steps: Steps): Tensor {
  return expectSteps(magicBox(logp).mul(returns), steps);
}

/** J^LR (Eq. 6): Σ_t π_θ(a_t|s_t) / π_θo(a_t|s_t) · A_t; its derivatives at θ = θo are LVC's. */
export function likelihoodRatioObjective(logp: Tensor, logpOld: Tensor, advantages: Tensor, steps: Steps): Tensor {
  return expectSteps(exp(sub(logp, logpOld)).mul(advantages), steps);
}

/** J^CLIP (PPO): Σ_t min(ρ_t A_t, clip(ρ_t, 1 − ε, 1 + ε) A_t) with ρ_t = π_θ/π_θo. */
export function clippedObjective(logp: Tensor, logpOld: Tensor, advantages: Tensor, steps: Steps, clipEps: number): Tensor {
  if (!(clipEps > 0)) throw new Error(`clippedObjective: clipEps must be positive, got ${clipEps}`);
  const ratio = exp(sub(logp, logpOld));
  return expectSteps(minimum(ratio.mul(advantages), clip(ratio, 1 - clipEps, 1 + clipEps).mul(advantages)), steps);
}

/** Vanilla policy-gradient surrogate: Σ_t log π_θ(a_t|s_t) A_t (right at first order only). */
export function vpgObjective(logp: Tensor, advantages: Tensor, steps: Steps): Tensor {
  return expectSteps(mul(logp, advantages), steps);
}

/** D̄_KL: the expected per-state KL [N, T] over the batch's valid steps (always a step average). */
export function meanKL(kl: Tensor, steps: Steps): Tensor {
  return expectSteps(kl, { ...steps, reduce: 'step' });
}

/** A policy as the estimators need it: per-step log-likelihoods and KLs over batch axes. */
export interface LogProbPolicy<P extends Params> {
  /** log π_P(a|o) per step: obs [N, T, …], actions [N, T, …] → [N, T]. */
  logProb(params: P, obs: Tensor, actions: Tensor): Tensor;
  /** KL(π_old(·|o) ‖ π_params(·|o)) per step, [N, T], with the old parameters a constant. */
  kl(oldParams: P, params: P, obs: Tensor): Tensor;
}

/** A batch of trajectories, batch-major and padded: obs [N, T, …], actions [N, T, …], per-step [N, T]. */
export interface TrajectoryBatch extends Steps {
  /** [N, T, …] observations (state indices for tabular policies). */
  obs: Tensor;
  /** [N, T, …] actions. */
  actions: Tensor;
  /** [N, T] rewards r_t. */
  rewards: Tensor;
  /** Advantage (or reward-to-go) per step, a constant. */
  advantages: Tensor;
  /** log π_θo(a_t|s_t) under the policy that sampled the batch, a constant. */
  logpOld: Tensor;
}

/** θ' = θ + α ∇θ J^LR(θ) (one inner step; recorded, so θ' stays differentiable in θ). */
export function innerStep<P extends Params>(policy: LogProbPolicy<P>, theta: P, batch: TrajectoryBatch, alpha: number): P {
  const g = grad((p: P) => likelihoodRatioObjective(policy.logProb(p, batch.obs, batch.actions), batch.logpOld, batch.advantages, batch))(theta);
  return treeMap((t, gt) => t.add(gt.mul(alpha)), theta, g);
}

/**
 * ProMP (Eq. 7): J^CLIP_T(θ') − η·D̄_KL(π_θo, π_θ) with θ' = θ + α∇θ J^LR_T(θ), for one task:
 * `pre` sampled by π_θo, `post` by π_θ'o (its logpOld), `oldTheta` = θo. Maximize it.
 */
export function prompObjective<P extends Params>(
  policy: LogProbPolicy<P>, theta: P, oldTheta: P, pre: TrajectoryBatch, post: TrajectoryBatch,
  opts: { alpha: number; eta: number; clipEps: number },
): Tensor {
  const thetaPrime = innerStep(policy, theta, pre, opts.alpha);
  const clipped = clippedObjective(policy.logProb(thetaPrime, post.obs, post.actions), post.logpOld, post.advantages, post, opts.clipEps);
  const kl = meanKL(policy.kl(oldTheta, theta, pre.obs), pre);
  return clipped.sub(kl.mul(opts.eta));
}

/**
 * Formulation II's extra term (Eq. 2, 31; E-MAML): E_τ[log π_θ(τ)] · ⊥R(τ'), whose gradient is
 * ∇θ log π_θ(τ) R(τ'): the pre-update policy is credited with the post-update return as if the update
 * were part of the environment. `postReturn` is a number (standardized over the meta-batch by callers).
 */
export function formulationIITerm(preLogp: Tensor, pre: Steps, postReturn: number): Tensor {
  return expectSteps(preLogp, pre).mul(postReturn);
}

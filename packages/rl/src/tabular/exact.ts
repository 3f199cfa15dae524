/**
 * Exact analysis of the RL objective and its estimators on a small tabular MDP with a softmax policy
 * π_θ(a|s) = softmax(θ[s])_a (the same at every step), finite horizon H.
 *
 * - J(θ) by dynamic programming, written in the engine, so ∇J and ∇²J come from autodiff.
 * - H1, H2, H12 (Eq. 36–38) by enumerating every trajectory with its probability.
 * - The DiCE and LVC estimators' exact expected gradients and Hessians (Eq. 65, 73–74) by the same
 *   enumeration: autodiff of Σ_τ P(τ)·J^est(τ) with P(τ) held constant, i.e. of the estimator code itself.
 * - Their per-element variances, from the per-trajectory Hessians (Eq. 40–41 for DiCE, 69–70 for LVC).
 */
import { type Tensor, grad, hessian, jacobian, matmulT, maximum, noGrad, stack, tensor, vmap } from '@metagrad/autograd';
import type { TabularMDPSpec } from '@metagrad/envs/tabular';
import { dice, lvc, rewardToGo, type Steps } from '../estimators/objectives.js';

/** A finite-horizon tabular MDP: init[s], P[s][a][s'] (rows sum to 1), R[s][a] (@metagrad/envs' TabularMDPSpec; a TabularMDP is one). */
export type TabularSpec = TabularMDPSpec;

/** Throws a clear error when the spec is malformed (sizes, probabilities, finiteness). */
export function validateTabular(m: TabularSpec, fn = 'TabularMDP'): void {
  const { S, A, H } = m;
  for (const [k, v] of [['S', S], ['A', A], ['H', H]] as const)
    if (!Number.isInteger(v) || v < 1) throw new Error(`${fn}: ${k} must be a positive integer, got ${v}`);
  if (m.init.length !== S) throw new Error(`${fn}: init has ${m.init.length} entries, expected S = ${S}`);
  checkDistribution(Array.from(m.init), `${fn}: init`);
  if (m.P.length !== S) throw new Error(`${fn}: P has ${m.P.length} rows, expected S = ${S}`);
  if (m.R.length !== S) throw new Error(`${fn}: R has ${m.R.length} rows, expected S = ${S}`);
  for (let s = 0; s < S; s++) {
    if (m.P[s]!.length !== A) throw new Error(`${fn}: P[${s}] has ${m.P[s]!.length} actions, expected A = ${A}`);
    if (m.R[s]!.length !== A) throw new Error(`${fn}: R[${s}] has ${m.R[s]!.length} actions, expected A = ${A}`);
    for (let a = 0; a < A; a++) {
      if (m.P[s]![a]!.length !== S) throw new Error(`${fn}: P[${s}][${a}] has ${m.P[s]![a]!.length} entries, expected S = ${S}`);
      checkDistribution(Array.from(m.P[s]![a]!), `${fn}: P[${s}][${a}]`);
      if (!Number.isFinite(m.R[s]![a]!)) throw new Error(`${fn}: R[${s}][${a}] is not finite (${m.R[s]![a]})`);
    }
  }
}

function checkDistribution(p: number[], what: string): void {
  if (p.some((x) => !(x >= 0) || !Number.isFinite(x))) throw new Error(`${what} must hold non-negative finite probabilities, got [${p.join(', ')}]`);
  const s = p.reduce((a, b) => a + b, 0);
  if (Math.abs(s - 1) > 1e-9) throw new Error(`${what} must sum to 1, sums to ${s}`);
}

function checkTheta(m: TabularSpec, theta: Tensor, fn: string): void {
  if (theta.ndim !== 2 || theta.shape[0] !== m.S || theta.shape[1] !== m.A)
    throw new Error(`${fn}: theta must have shape [S, A] = [${m.S}, ${m.A}], got [${theta.shape.join(', ')}]`);
  if (theta.dtype !== 'float64') throw new Error(`${fn}: theta must be float64 for exact analysis, got ${theta.dtype}`);
}

/** log π_θ(a|s) for integer state/action tensors of any shape: logSoftmax(θ)[s, a]. */
export function tabularLogProb(theta: Tensor, states: Tensor, actions: Tensor): Tensor {
  const [S, A] = theta.shape as [number, number];
  const flat = theta.logSoftmax(-1).reshape([S * A]);
  const index = states.mul(A).add(actions).reshape([states.size]);
  return flat.gather(index, 0).reshape([...states.shape]);
}

/** Q_t(s, a) for t = 0…H−1 by backward induction, [H, S, A]: Q_t = R + P·V_{t+1}, V_t = Σ_a π Q_t. */
export function exactQ(m: TabularSpec, theta: Tensor): Tensor {
  const { S, A, H } = m;
  const pi = theta.softmax(-1);
  const P = tensor(Array.from(m.P, (r) => Array.from(r, (c) => Array.from(c)))).reshape([S * A, S]);
  const R = tensor(Array.from(m.R, (r) => Array.from(r)));
  const Qs: Tensor[] = [];
  let V: Tensor | null = null;
  for (let t = H - 1; t >= 0; t--) {
    const Q: Tensor = V ? R.add(P.matmul(V).reshape([S, A])) : R;
    Qs.unshift(Q);
    V = pi.mul(Q).sum(1);
  }
  return stack(Qs, 0);
}

/** J(θ) = E_τ[Σ_t r_t] = Σ_s init(s) V_0(s), by dynamic programming (differentiable in θ). */
export function exactReturn(m: TabularSpec, theta: Tensor): Tensor {
  checkTheta(m, theta, 'exactReturn');
  const Q0 = exactQ(m, theta).index(0);
  return tensor(Array.from(m.init)).mul(theta.softmax(-1).mul(Q0).sum(1)).sum();
}

/** Every trajectory (s_0, a_0, …, s_{H−1}, a_{H−1}) of non-zero probability under θ. */
export interface Enumeration {
  /** Number of trajectories M. */
  M: number;
  /** [M, H] states s_t, row-major. */
  states: Int32Array;
  /** [M, H] actions a_t. */
  actions: Int32Array;
  /** [M, H] rewards R[s_t][a_t]. */
  rewards: Float64Array;
  /** [M] P(τ | θ), summing to 1. */
  prob: Float64Array;
}

/** The limit on (S·A)^H for enumeration. */
export const MAX_TRAJECTORIES = 1_000_000;

/** Enumerates all trajectories with their probabilities under θ (depth-first over prefixes). */
export function enumerateTrajectories(m: TabularSpec, theta: Tensor): Enumeration {
  checkTheta(m, theta, 'enumerateTrajectories');
  const { S, A, H } = m;
  const count = Math.pow(S * A, H);
  if (count > MAX_TRAJECTORIES)
    throw new Error(`enumerateTrajectories: (S·A)^H = ${count} trajectories is over the limit of ${MAX_TRAJECTORIES}; use Monte Carlo instead`);
  const pi = noGrad(() => theta.softmax(-1)).data;
  const states: number[] = [], actions: number[] = [], rewards: number[] = [], prob: number[] = [];
  const ss = new Int32Array(H), aa = new Int32Array(H);
  const rec = (t: number, s: number, p: number): void => {
    for (let a = 0; a < A; a++) {
      const pa = p * pi[s * A + a]!;
      if (pa === 0) continue;
      ss[t] = s;
      aa[t] = a;
      if (t === H - 1) {
        for (let k = 0; k < H; k++) {
          states.push(ss[k]!);
          actions.push(aa[k]!);
          rewards.push(m.R[ss[k]!]![aa[k]!]!);
        }
        prob.push(pa);
      } else for (let s2 = 0; s2 < S; s2++) if (m.P[s]![a]![s2]! > 0) rec(t + 1, s2, pa * m.P[s]![a]![s2]!);
    }
  };
  for (let s0 = 0; s0 < S; s0++) if (m.init[s0]! > 0) rec(0, s0, m.init[s0]!);
  return { M: prob.length, states: Int32Array.from(states), actions: Int32Array.from(actions), rewards: Float64Array.from(rewards), prob: Float64Array.from(prob) };
}

/** Everything exact about θ on this MDP. Matrices are [S·A, S·A], flattened row-major over θ [S, A]. */
export interface ExactAnalysis {
  /** J(θ) = E_τ[Σ_t r_t]. */
  J: number;
  /** [S·A] ∇J(θ). */
  grad: Tensor;
  /** [S·A, S·A] ∇²J(θ) = H1 + H2 + H12 + H12ᵀ. */
  hessian: Tensor;
  /** [S·A, S·A] H1 = E_τ[Σ_t ∇log π(a_t|s_t) ∇log π(a_t|s_t)ᵀ G_t] (Eq. 36), G_t the reward-to-go. */
  H1: Tensor;
  /** [S·A, S·A] H2 = E_τ[Σ_t ∇²log π(a_t|s_t) G_t] (Eq. 37). */
  H2: Tensor;
  /** [S·A, S·A] H12 = E_τ[Σ_t ∇log π(a_t|s_t) ∇Q_t(s_t, a_t)ᵀ] (Eq. 38). */
  H12: Tensor;
  /** [S·A] E[∇ DiCE], the DiCE estimator's expected gradient (equals ∇J). */
  diceGradMean: Tensor;
  /** [S·A] E[∇ LVC], the LVC estimator's expected gradient (Eq. 65; equals ∇J). */
  lvcGradMean: Tensor;
  /** [S·A, S·A] E[∇² DiCE] (Eq. 40–41: equals ∇²J, unbiased). */
  diceHessianMean: Tensor;
  /** [S·A, S·A] E[∇² LVC] = H1 + H2 (Eq. 73–74: biased by leaving out H12 + H12ᵀ). */
  lvcHessianMean: Tensor;
  /** [S·A] per-element variance of the single-trajectory DiCE gradient (divide by N for a batch of N). */
  diceGradVar: Tensor;
  /** [S·A] the same for LVC (the two gradients coincide per trajectory). */
  lvcGradVar: Tensor;
  /** [S·A, S·A] per-element variance of the single-trajectory DiCE Hessian (Eq. 40–41). */
  diceHessianVar: Tensor;
  /** [S·A, S·A] per-element variance of the single-trajectory LVC Hessian (Eq. 69–70). */
  lvcHessianVar: Tensor;
  /** Number of trajectories enumerated. */
  trajectories: number;
}

/** The enumeration as an estimator batch: states/actions [M, H], rewards, mask, weights P(τ). */
export function enumerationBatch(e: Enumeration, H: number): {
  /** [M, H] states. */
  states: Tensor;
  /** [M, H] actions. */
  actions: Tensor;
  /** [M, H] rewards. */
  rewards: Tensor;
  /** An all-ones mask and trajectory weights P(τ) (a 'trajectory' reduction: exact expectations). */
  steps: Steps;
} {
  const f = (x: ArrayLike<number>): Tensor => tensor(Float64Array.from(x), [e.M, H]);
  return {
    states: f(e.states),
    actions: f(e.actions),
    rewards: f(e.rewards),
    steps: { mask: tensor(new Float64Array(e.M * H).fill(1), [e.M, H]), trajWeights: tensor(e.prob) },
  };
}

/** Trajectories per vmap call in exactAnalysis: bounds memory at about chunk · (S·A)² · 8 bytes per Hessian. */
const CHUNK = 4096;

/**
 * E[f(τ)²] = Σ_k w_k f(x_k)² (elementwise) over the rows k of `xs` (tensors [M, …]), with f run by `vmap`
 * on chunks of rows: the second moment of a per-trajectory quantity, e.g. `hessian` of an estimator on
 * one trajectory.
 */
function secondMoment(f: (...x: Tensor[]) => Tensor, xs: Tensor[], w: Tensor): Tensor {
  const M = w.shape[0]!;
  let acc: Tensor | null = null;
  for (let lo = 0; lo < M; lo += CHUNK) {
    const hi = Math.min(M, lo + CHUNK);
    const y = vmap(f)(...xs.map((x) => x.slice([lo], [hi]))); // [hi − lo, …]
    const part = y.square().mul(w.slice([lo], [hi]).reshape([hi - lo, ...y.shape.slice(1).map(() => 1)])).sum(0);
    acc = acc ? acc.add(part) : part;
  }
  return acc!;
}

/**
 * Exact J, ∇J, ∇²J, its decomposition H1 + H2 + H12 + H12ᵀ, and the DiCE/LVC estimators' moments, all
 * by autodiff of the code that defines them: J by dynamic programming; the decomposition from the
 * per-step scores ∇log π(a_t|s_t) (`vmap` of `grad` of the log-likelihood), the Hessian of the
 * weighted log-likelihoods, and ∇Q; the estimators' means as derivatives of Σ_τ P(τ) J^est(τ) (Eq. 65,
 * 73–74) and their variances from every trajectory's own gradient and Hessian, `vmap(grad(J^est))` and
 * `vmap(hessian(J^est))` of the estimator on one trajectory (Eq. 40–41, 69–70).
 */
export function exactAnalysis(m: TabularSpec, theta: Tensor): ExactAnalysis {
  validateTabular(m, 'exactAnalysis');
  checkTheta(m, theta, 'exactAnalysis');
  const { S, A, H } = m;
  const n = S * A;
  const th = theta.detach();
  return noGrad(() => {
    const Jfn = (t: Tensor): Tensor => exactReturn(m, t);
    const e = enumerateTrajectories(m, th);
    const steps = e.M * H;
    const b = enumerationBatch(e, H);
    const returns = rewardToGo(b.rewards, b.steps.mask); // G_t, [M, H]
    const prob = b.steps.trajWeights!; // P(τ), [M]
    const pG = returns.mul(prob.reshape([e.M, 1])).reshape([steps, 1]); // P(τ)·G_t, one row per step (τ, t)

    // the decomposition (Eq. 36–38), from the per-step scores g_t = ∇log π(a_t|s_t): [M·H, S·A]
    const score = (s: Tensor, a: Tensor): Tensor => grad((t: Tensor) => tabularLogProb(t, s, a))(th).reshape([n]);
    const g = vmap(score)(b.states.reshape([steps]), b.actions.reshape([steps]));
    const H1 = matmulT(g.mul(pG), g, true, false); // E[Σ_t g_t g_tᵀ G_t]
    const H2 = hessian((t: Tensor) => tabularLogProb(t, b.states, b.actions).reshape([steps, 1]).mul(pG).sum())(th).reshape([n, n]); // E[Σ_t ∇²log π_t G_t]
    // E[Σ_t g_t ∇Q_t(s_t, a_t)ᵀ]: the rows (t, s_t, a_t) of ∇Q [H·S·A, S·A]
    const dQ = jacobian((t: Tensor) => exactQ(m, t))(th).reshape([H * n, n]);
    const row = new Float64Array(steps * n);
    for (let i = 0; i < steps; i++) row.fill((i % H) * n + e.states[i]! * A + e.actions[i]!, i * n, (i + 1) * n);
    const H12 = matmulT(g.mul(prob.reshape([e.M, 1]).broadcastTo([e.M, H]).reshape([steps, 1])), dQ.gather(tensor(row, [steps, n]), 0), true, false);

    // the estimators on one trajectory (s, a, r or G: [H]) and on the enumeration weighted by P(τ)
    const one = { mask: tensor(new Float64Array(H).fill(1), [1, H]) };
    const logp1 = (t: Tensor, s: Tensor, a: Tensor): Tensor => tabularLogProb(t, s.reshape([1, H]), a.reshape([1, H]));
    const dice1 = (t: Tensor, s: Tensor, a: Tensor, r: Tensor): Tensor => dice(logp1(t, s, a), r.reshape([1, H]), one);
    const lvc1 = (t: Tensor, s: Tensor, a: Tensor, G: Tensor): Tensor => lvc(logp1(t, s, a), G.reshape([1, H]), one);
    const diceAll = (t: Tensor): Tensor => dice(tabularLogProb(t, b.states, b.actions), b.rewards, b.steps);
    const lvcAll = (t: Tensor): Tensor => lvc(tabularLogProb(t, b.states, b.actions), returns, b.steps);
    const diceData = [b.states, b.actions, b.rewards], lvcData = [b.states, b.actions, returns];
    const perGrad = (est: typeof dice1) => (s: Tensor, a: Tensor, r: Tensor): Tensor => grad((t: Tensor) => est(t, s, a, r))(th).reshape([n]);
    const perHess = (est: typeof dice1) => (s: Tensor, a: Tensor, r: Tensor): Tensor => hessian((t: Tensor) => est(t, s, a, r))(th).reshape([n, n]);
    // Var = E[x²] − E[x]² per element, clipped at 0 against rounding
    const variance = (second: Tensor, mean: Tensor): Tensor => maximum(second.sub(mean.square()), 0);

    const diceGradMean = grad(diceAll)(th).reshape([n]), lvcGradMean = grad(lvcAll)(th).reshape([n]);
    const diceHessianMean = hessian(diceAll)(th).reshape([n, n]), lvcHessianMean = hessian(lvcAll)(th).reshape([n, n]);
    return {
      J: Jfn(th).item(),
      grad: grad(Jfn)(th).reshape([n]),
      hessian: hessian(Jfn)(th).reshape([n, n]),
      H1, H2, H12,
      diceGradMean, lvcGradMean, diceHessianMean, lvcHessianMean,
      diceGradVar: variance(secondMoment(perGrad(dice1), diceData, prob), diceGradMean),
      lvcGradVar: variance(secondMoment(perGrad(lvc1), lvcData, prob), lvcGradMean),
      diceHessianVar: variance(secondMoment(perHess(dice1), diceData, prob), diceHessianMean),
      lvcHessianVar: variance(secondMoment(perHess(lvc1), lvcData, prob), lvcHessianMean),
      trajectories: e.M,
    };
  });
}

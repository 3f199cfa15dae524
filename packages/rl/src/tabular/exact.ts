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
import { type Tensor, grad, hessian, jacobian, noGrad, stack, tensor } from '@metagrad/autograd';
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

/** Exact J, ∇J, ∇²J, its decomposition H1 + H2 + H12 + H12ᵀ, and the DiCE/LVC estimators' moments. */
export function exactAnalysis(m: TabularSpec, theta: Tensor): ExactAnalysis {
  validateTabular(m, 'exactAnalysis');
  checkTheta(m, theta, 'exactAnalysis');
  const { S, A, H } = m;
  const n = S * A;
  const th = theta.detach();
  const Jfn = (t: Tensor): Tensor => exactReturn(m, t);
  const J = noGrad(() => Jfn(th)).item();
  const gradJ = noGrad(() => grad(Jfn)(th)).reshape([n]);
  const hessJ = noGrad(() => hessian(Jfn)(th)).reshape([n, n]);

  const e = enumerateTrajectories(m, th);
  const pi = noGrad(() => th.softmax(-1)).data;
  // ∇θ Q_t(s, a) for every t, s, a: [H, S, A, S·A]
  const dQ = noGrad(() => jacobian((t: Tensor) => exactQ(m, t))(th)).data;

  // per-step analytic score g = ∇ log π(a|s) = e_s ⊗ (e_a − π_s), and ∇² log π(a|s) = −e_s e_sᵀ ⊗ (diag π_s − π_s π_sᵀ)
  const H1 = new Float64Array(n * n), H2 = new Float64Array(n * n), H12 = new Float64Array(n * n);
  const diceH2nd = new Float64Array(n * n), lvcH2nd = new Float64Array(n * n); // E[h²] for variances
  const diceG2nd = new Float64Array(n), lvcG2nd = new Float64Array(n);
  const score = (s: number, a: number, out: Float64Array): void => {
    out.fill(0);
    for (let b = 0; b < A; b++) out[s * A + b] = (b === a ? 1 : 0) - pi[s * A + b]!;
  };
  const addHessLogPi = (s: number, w: number, M: Float64Array): void => {
    for (let b = 0; b < A; b++)
      for (let c = 0; c < A; c++) M[(s * A + b) * n + s * A + c]! -= w * ((b === c ? pi[s * A + b]! : 0) - pi[s * A + b]! * pi[s * A + c]!);
  };
  const addOuter = (u: Float64Array, v: Float64Array, w: Float64Array | number, M: Float64Array): void => {
    for (let i = 0; i < n; i++) {
      const ui = u[i]!;
      if (ui === 0) continue;
      for (let j = 0; j < n; j++) M[i * n + j]! += (w as number) * ui * v[j]!;
    }
  };
  const g = Array.from({ length: H }, () => new Float64Array(n));
  const cum = new Float64Array(n); // Σ_{t'≤t} g_t'
  const hDice = new Float64Array(n * n), hLvc = new Float64Array(n * n), gTraj = new Float64Array(n);
  for (let k = 0; k < e.M; k++) {
    const p = e.prob[k]!;
    const base = k * H;
    const G = new Float64Array(H); // reward-to-go
    for (let t = H - 1, acc = 0; t >= 0; t--) G[t] = acc += e.rewards[base + t]!;
    for (let t = 0; t < H; t++) score(e.states[base + t]!, e.actions[base + t]!, g[t]!);
    // H1 (Eq. 36), H2 (Eq. 37), H12 (Eq. 38)
    for (let t = 0; t < H; t++) {
      const s = e.states[base + t]!, a = e.actions[base + t]!;
      addOuter(g[t]!, g[t]!, p * G[t]!, H1);
      addHessLogPi(s, p * G[t]!, H2);
      const dq = dQ.subarray(((t * S + s) * A + a) * n, ((t * S + s) * A + a + 1) * n);
      addOuter(g[t]!, dq as Float64Array, p, H12);
    }
    // per-trajectory estimates for the variances: gradient Σ_t g_t G_t (both estimators);
    // DiCE Hessian Σ_t [Σ_{t'≤t} ∇²logπ_t' + (Σ_{t'≤t} g_t')(Σ_{t'≤t} g_t')ᵀ] r_t (Eq. 40–41);
    // LVC Hessian Σ_t [g_t g_tᵀ + ∇²logπ_t] G_t (Eq. 69–70 at the point, □ = 1)
    gTraj.fill(0);
    hDice.fill(0);
    hLvc.fill(0);
    cum.fill(0);
    for (let t = 0; t < H; t++) {
      const s = e.states[base + t]!, r = e.rewards[base + t]!;
      for (let i = 0; i < n; i++) {
        gTraj[i]! += g[t]![i]! * G[t]!;
        cum[i]! += g[t]![i]!;
      }
      addOuter(cum, cum, r, hDice);
      for (let t2 = 0; t2 <= t; t2++) addHessLogPi(e.states[base + t2]!, r, hDice);
      addOuter(g[t]!, g[t]!, G[t]!, hLvc);
      addHessLogPi(s, G[t]!, hLvc);
    }
    for (let i = 0; i < n; i++) {
      diceG2nd[i]! += p * gTraj[i]! * gTraj[i]!;
      lvcG2nd[i]! += p * gTraj[i]! * gTraj[i]!;
    }
    for (let i = 0; i < n * n; i++) {
      diceH2nd[i]! += p * hDice[i]! * hDice[i]!;
      lvcH2nd[i]! += p * hLvc[i]! * hLvc[i]!;
    }
  }

  // the estimators' exact means: autodiff of Σ_τ P(τ) J^est(τ) (weights constant), Eq. 65, 73–74
  const b = enumerationBatch(e, H);
  const returns = rewardToGo(b.rewards, b.steps.mask);
  const diceObj = (t: Tensor): Tensor => dice(tabularLogProb(t, b.states, b.actions), b.rewards, b.steps);
  const lvcObj = (t: Tensor): Tensor => lvc(tabularLogProb(t, b.states, b.actions), returns, b.steps);
  const [diceGradMean, lvcGradMean, diceHessianMean, lvcHessianMean] = noGrad(() => [
    grad(diceObj)(th).reshape([n]),
    grad(lvcObj)(th).reshape([n]),
    hessian(diceObj)(th).reshape([n, n]),
    hessian(lvcObj)(th).reshape([n, n]),
  ]);
  const variance = (second: Float64Array, mean: Tensor): Tensor =>
    tensor(second.map((v, i) => Math.max(v - mean.data[i]! * mean.data[i]!, 0)), [...mean.shape]);

  return {
    J,
    grad: gradJ,
    hessian: hessJ,
    H1: tensor(H1, [n, n]),
    H2: tensor(H2, [n, n]),
    H12: tensor(H12, [n, n]),
    diceGradMean: diceGradMean!,
    lvcGradMean: lvcGradMean!,
    diceHessianMean: diceHessianMean!,
    lvcHessianMean: lvcHessianMean!,
    diceGradVar: variance(diceG2nd, diceGradMean!),
    lvcGradVar: variance(lvcG2nd, lvcGradMean!),
    diceHessianVar: variance(diceH2nd, diceHessianMean!),
    lvcHessianVar: variance(lvcH2nd, lvcHessianMean!),
    trajectories: e.M,
  };
}

/**
 * The exact analysis fast enough to follow a slider (the explorer's decomposition panel): the same
 * quantities as exactAnalysis (exact.ts), computed with the softmax policy's closed-form derivatives
 * instead of autodiff over every trajectory, and checked against it to 1e-10 (test/rl/tabular-summary).
 *
 *   score      g(s, a) = ∇θ log π(a|s):    block s of θ holds e_a − π_s, every other block 0
 *   curvature  C(s) = ∇²θ log π(a|s):      block (s, s) holds −(diag π_s − π_s π_sᵀ), whatever a
 *
 * - J, ∇J, ∇²J: dynamic programming (exactReturn) and autodiff, as exactAnalysis.
 * - H1, H2, H12 (Eq. 36–38) by dynamic programming over the state distribution d_t instead of over
 *   trajectories, since E[G_t | s_t, a_t] = Q_t(s_t, a_t):
 *     H1 = Σ_t Σ_{s,a} d_t(s) π(a|s) Q_t(s, a) g gᵀ,  H2 = Σ_t Σ_{s,a} d_t(s) π(a|s) Q_t(s, a) C(s),
 *     H12 = Σ_t Σ_{s,a} d_t(s) π(a|s) g ∇Q_t(s, a)ᵀ   (∇Q by autodiff of exactQ).
 * - The estimators' per-trajectory Hessians at θ (□ = 1), written with prefix sums S_t = Σ_{t'≤t} g_t',
 *   C_t = Σ_{t'≤t} C(s_t'), K_t = Σ_{t'≤t} (g_t' g_t'ᵀ + C(s_t')):
 *     DiCE (Eq. 57): Σ_t r_t (S_t S_tᵀ + C_t)
 *     LVC (Eq. 5):   Σ_t G_t (g_t g_tᵀ + C(s_t)) = Σ_t r_t K_t
 *   accumulated along one depth-first walk over every trajectory (each prefix's sums computed once, the
 *   upper triangle only), with P(τ), into their means (Eq. 40–41, 73–74: ∇²J and H1 + H2) and
 *   per-element variances.
 */
import { type Tensor, grad, hessian, jacobian, noGrad, tensor } from '@metagrad/autograd';
import { type ExactAnalysis, type TabularSpec, MAX_TRAJECTORIES, exactQ, exactReturn, validateTabular } from './exact.js';

/** What exactSummary returns: exactAnalysis's fields but the estimators' gradient means and variances. */
export type ExactSummary = Omit<ExactAnalysis, 'diceGradMean' | 'lvcGradMean' | 'diceGradVar' | 'lvcGradVar'>;

/** The exact analysis of θ [S, A] (float64) on `m`, as the module comment says. */
export function exactSummary(m: TabularSpec, theta: Tensor): ExactSummary {
  validateTabular(m, 'exactSummary');
  if (theta.ndim !== 2 || theta.shape[0] !== m.S || theta.shape[1] !== m.A || theta.dtype !== 'float64')
    throw new Error(`exactSummary: theta must be float64 of shape [S, A] = [${m.S}, ${m.A}], got ${theta.dtype} [${theta.shape.join(', ')}]`);
  const { S, A, H } = m;
  const n = S * A, nn = n * n;
  if ((S * A) ** H > MAX_TRAJECTORIES) throw new Error(`exactSummary: (S·A)^H = ${(S * A) ** H} trajectories is over the limit of ${MAX_TRAJECTORIES}`);
  const th = theta.detach();
  const Jfn = (t: Tensor): Tensor => exactReturn(m, t);
  const pi = noGrad(() => th.softmax(-1)).data;
  const Q = noGrad(() => exactQ(m, th)).data; // [H, S, A]
  const dQ = noGrad(() => jacobian((t: Tensor) => exactQ(m, t))(th)).data; // [H·S·A, S·A]
  const P = (s: number, a: number, s2: number): number => m.P[s]![a]![s2]!;

  // g(s, a) and C(s) as dense vectors/matrices (small: n ≤ 9 in the explorer)
  const score = Array.from({ length: n }, (_, sa) => {
    const s = Math.floor(sa / A), a = sa % A, g = new Float64Array(n);
    for (let j = 0; j < A; j++) g[s * A + j] = (j === a ? 1 : 0) - pi[s * A + j]!;
    return g;
  });
  const curv = Array.from({ length: S }, (_, s) => {
    const c = new Float64Array(nn);
    for (let i = 0; i < A; i++) for (let j = 0; j < A; j++) c[(s * A + i) * n + s * A + j] = -((i === j ? pi[s * A + i]! : 0) - pi[s * A + i]! * pi[s * A + j]!);
    return c;
  });

  // H1, H2, H12 over the state distribution d_t
  const H1 = new Float64Array(nn), H2 = new Float64Array(nn), H12 = new Float64Array(nn);
  let d = Float64Array.from(m.init);
  for (let t = 0; t < H; t++) {
    const next = new Float64Array(S);
    for (let s = 0; s < S; s++)
      for (let a = 0; a < A; a++) {
        const w = d[s]! * pi[s * A + a]!;
        if (w === 0) continue;
        const row = (t * S + s) * A + a, wq = w * Q[row]!, g = score[s * A + a]!, c = curv[s]!;
        for (let i = 0; i < n; i++) {
          if (g[i] === 0) continue;
          for (let j = 0; j < n; j++) {
            H1[i * n + j]! += wq * g[i]! * g[j]!;
            H12[i * n + j]! += w * g[i]! * dQ[row * n + j]!;
          }
        }
        for (let k = 0; k < nn; k++) if (c[k] !== 0) H2[k]! += wq * c[k]!;
        for (let s2 = 0; s2 < S; s2++) next[s2]! += w * P(s, a, s2);
      }
    d = next;
  }

  // one walk over every trajectory: prefix sums per depth, the two Hessians' moments at the leaves. All
  // the matrices are symmetric: only the entries i ≤ j are computed, then mirrored.
  const Sv = Array.from({ length: H + 1 }, () => new Float64Array(n));
  const C = Array.from({ length: H + 1 }, () => new Float64Array(nn));
  const K = Array.from({ length: H + 1 }, () => new Float64Array(nn));
  const D = Array.from({ length: H + 1 }, () => new Float64Array(nn));
  const L = Array.from({ length: H + 1 }, () => new Float64Array(nn));
  const meanD = new Float64Array(nn), sqD = new Float64Array(nn), meanL = new Float64Array(nn), sqL = new Float64Array(nn);
  let trajectories = 0;
  const walk = (t: number, s: number, p: number): void => {
    for (let a = 0; a < A; a++) {
      const pa = p * pi[s * A + a]!;
      if (pa === 0) continue;
      const g = score[s * A + a]!, c = curv[s]!, r = m.R[s]![a]!;
      const S0 = Sv[t]!, S1 = Sv[t + 1]!, C0 = C[t]!, K0 = K[t]!, D0 = D[t]!, L0 = L[t]!;
      for (let i = 0; i < n; i++) S1[i] = S0[i]! + g[i]!;
      if (t === H - 1) {
        // a leaf: its Hessians go straight into the moments
        trajectories++;
        for (let i = 0; i < n; i++) {
          const si = S1[i]!, gi = g[i]!;
          for (let j = i, k = i * n + i; j < n; j++, k++) {
            const dk = D0[k]! + r * (si * S1[j]! + C0[k]! + c[k]!);
            const lk = L0[k]! + r * (K0[k]! + gi * g[j]! + c[k]!);
            meanD[k]! += pa * dk;
            sqD[k]! += pa * dk * dk;
            meanL[k]! += pa * lk;
            sqL[k]! += pa * lk * lk;
          }
        }
        continue;
      }
      const C1 = C[t + 1]!, K1 = K[t + 1]!, D1 = D[t + 1]!, L1 = L[t + 1]!;
      for (let i = 0; i < n; i++)
        for (let j = i, k = i * n + i; j < n; j++, k++) {
          C1[k] = C0[k]! + c[k]!;
          K1[k] = K0[k]! + g[i]! * g[j]! + c[k]!;
          D1[k] = D0[k]! + r * (S1[i]! * S1[j]! + C1[k]!);
          L1[k] = L0[k]! + r * K1[k]!;
        }
      for (let s2 = 0; s2 < S; s2++) if (P(s, a, s2) > 0) walk(t + 1, s2, pa * P(s, a, s2));
    }
  };
  for (let s0 = 0; s0 < S; s0++) if (m.init[s0]! > 0) walk(0, s0, m.init[s0]!);
  for (const x of [meanD, sqD, meanL, sqL]) for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) x[j * n + i] = x[i * n + j]!;
  const variance = (sq: Float64Array, mean: Float64Array): Float64Array => sq.map((x, k) => Math.max(x - mean[k]! ** 2, 0));
  const mat = (x: Float64Array): Tensor => tensor(x, [n, n]);
  return {
    J: Jfn(th).item(),
    grad: noGrad(() => grad(Jfn)(th)).reshape([n]),
    hessian: noGrad(() => hessian(Jfn)(th)).reshape([n, n]),
    H1: mat(H1), H2: mat(H2), H12: mat(H12),
    diceHessianMean: mat(meanD), lvcHessianMean: mat(meanL),
    diceHessianVar: mat(variance(sqD, meanD)), lvcHessianVar: mat(variance(sqL, meanL)),
    trajectories,
  };
}

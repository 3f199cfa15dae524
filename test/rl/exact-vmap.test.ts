/**
 * exactAnalysis computes its decomposition and the estimators' per-trajectory moments by autodiff and
 * vmap of the estimator code. Here they are checked against an independent, hand-derived computation
 * (the analytic score e_s ⊗ (e_a − π_s), ∇²log π = −e_s e_sᵀ ⊗ (diag π_s − π_s π_sᵀ), and the per-trajectory
 * DiCE and LVC Hessians written out term by term, Eq. 36–38, 40–41, 69–70), to 1e-12.
 */
import { describe, expect, it } from 'vitest';
import { Rng, type Tensor, hessian, jacobian, noGrad, tensor, vmap } from '@metagrad/autograd';
import { rewardToGo } from '@metagrad/rl/estimators';
import {
  enumerateTrajectories, exactAnalysis, exactQ, innerObjective, metaGradientSample, perSampleMetaGradients, randomTabular, sampleTabular, type TabularSpec,
} from '@metagrad/rl/tabular';
import { allClose } from '../helpers.js';

/** H1, H2, H12 and the second moments of the per-trajectory DiCE/LVC gradients and Hessians, by hand. */
function handDerived(m: TabularSpec, th: Tensor) {
  const { S, A, H } = m;
  const n = S * A;
  const e = enumerateTrajectories(m, th);
  const pi = noGrad(() => th.softmax(-1)).data;
  const dQ = noGrad(() => jacobian((t: Tensor) => exactQ(m, t))(th)).data; // [H, S, A, S·A]
  const H1 = new Float64Array(n * n), H2 = new Float64Array(n * n), H12 = new Float64Array(n * n);
  const diceH2nd = new Float64Array(n * n), lvcH2nd = new Float64Array(n * n), g2nd = new Float64Array(n);
  const score = (s: number, a: number, out: Float64Array): void => {
    out.fill(0);
    for (let b = 0; b < A; b++) out[s * A + b] = (b === a ? 1 : 0) - pi[s * A + b]!;
  };
  const addHessLogPi = (s: number, w: number, M: Float64Array): void => {
    for (let b = 0; b < A; b++)
      for (let c = 0; c < A; c++) M[(s * A + b) * n + s * A + c]! -= w * ((b === c ? pi[s * A + b]! : 0) - pi[s * A + b]! * pi[s * A + c]!);
  };
  const addOuter = (u: Float64Array, v: ArrayLike<number>, w: number, M: Float64Array): void => {
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) M[i * n + j]! += w * u[i]! * v[j]!;
  };
  const g = Array.from({ length: H }, () => new Float64Array(n));
  const cum = new Float64Array(n), hDice = new Float64Array(n * n), hLvc = new Float64Array(n * n), gTraj = new Float64Array(n);
  for (let k = 0; k < e.M; k++) {
    const p = e.prob[k]!, base = k * H;
    const G = new Float64Array(H);
    for (let t = H - 1, acc = 0; t >= 0; t--) G[t] = acc += e.rewards[base + t]!;
    for (let t = 0; t < H; t++) score(e.states[base + t]!, e.actions[base + t]!, g[t]!);
    for (let t = 0; t < H; t++) {
      const s = e.states[base + t]!, a = e.actions[base + t]!;
      addOuter(g[t]!, g[t]!, p * G[t]!, H1);
      addHessLogPi(s, p * G[t]!, H2);
      addOuter(g[t]!, dQ.subarray(((t * S + s) * A + a) * n, ((t * S + s) * A + a + 1) * n), p, H12);
    }
    gTraj.fill(0), hDice.fill(0), hLvc.fill(0), cum.fill(0);
    for (let t = 0; t < H; t++) {
      const s = e.states[base + t]!, r = e.rewards[base + t]!;
      for (let i = 0; i < n; i++) {
        gTraj[i]! += g[t]![i]! * G[t]!;
        cum[i]! += g[t]![i]!;
      }
      addOuter(cum, cum, r, hDice); // DiCE: Σ_t [(Σ_{t'≤t} g_t')(Σ_{t'≤t} g_t')ᵀ + Σ_{t'≤t} ∇²log π_t'] r_t
      for (let t2 = 0; t2 <= t; t2++) addHessLogPi(e.states[base + t2]!, r, hDice);
      addOuter(g[t]!, g[t]!, G[t]!, hLvc); // LVC: Σ_t [g_t g_tᵀ + ∇²log π_t] G_t
      addHessLogPi(s, G[t]!, hLvc);
    }
    for (let i = 0; i < n; i++) g2nd[i]! += p * gTraj[i]! ** 2;
    for (let i = 0; i < n * n; i++) {
      diceH2nd[i]! += p * hDice[i]! ** 2;
      lvcH2nd[i]! += p * hLvc[i]! ** 2;
    }
  }
  const sq = (n2: number) => (x: Float64Array) => tensor(x, n2 === 1 ? [n] : [n, n]);
  return { H1: sq(2)(H1), H2: sq(2)(H2), H12: sq(2)(H12), g2nd: sq(1)(g2nd), diceH2nd: sq(2)(diceH2nd), lvcH2nd: sq(2)(lvcH2nd) };
}

describe('exactAnalysis by vmap of the estimator code', () => {
  it('equals the hand-derived decomposition and per-trajectory variances to 1e-12', () => {
    for (const [seed, S, A, H] of [[1, 2, 2, 3], [2, 3, 2, 3], [3, 2, 3, 4], [4, 3, 3, 2], [5, 1, 4, 3]] as const) {
      const { mdp, theta } = randomTabular(seed, S, A, H);
      const x = exactAnalysis(mdp, theta);
      const r = handDerived(mdp, theta);
      const what = `S=${S} A=${A} H=${H} (${x.trajectories} trajectories)`;
      allClose(x.H1, r.H1, 1e-12, `H1, ${what}`, 1e-14);
      allClose(x.H2, r.H2, 1e-12, `H2, ${what}`, 1e-14);
      allClose(x.H12, r.H12, 1e-12, `H12, ${what}`, 1e-14);
      // Var = E[x²] − E[x]², clipped at 0
      const v = (second: Tensor, mean: Tensor) => noGrad(() => second.sub(mean.square()).maximum(0));
      allClose(x.diceGradVar, v(r.g2nd, x.diceGradMean), 1e-12, `DiCE gradient variance, ${what}`, 1e-14);
      allClose(x.lvcGradVar, v(r.g2nd, x.lvcGradMean), 1e-12, `LVC gradient variance, ${what}`, 1e-14);
      allClose(x.diceHessianVar, v(r.diceH2nd, x.diceHessianMean), 1e-12, `DiCE Hessian variance, ${what}`, 1e-14);
      allClose(x.lvcHessianVar, v(r.lvcH2nd, x.lvcHessianMean), 1e-12, `LVC Hessian variance, ${what}`, 1e-14);
    }
  });
});

describe('per-trajectory meta-gradients (perSampleMetaGradients)', () => {
  it('average to metaGradientSample on the same draws, and each is (I + α∇²Ĵ_i)·v by a loop of Hessians', () => {
    const { mdp, theta } = randomTabular(7, 3, 2, 4);
    const opts = { alpha: 0.7, nPre: 6, nPost: 20 };
    for (const est of ['dice', 'lvc'] as const) {
      const x = perSampleMetaGradients(mdp, theta, est, opts, new Rng(5));
      allClose(x.metaGradient, metaGradientSample(mdp, theta, est, opts, new Rng(5)), 1e-12, `${est}: mean of the per-sample meta-gradients`, 1e-14);
      const pre = sampleTabular(mdp, theta, opts.nPre, new Rng(5)); // the same pre-update draws
      const n = theta.size;
      for (let i = 0; i < opts.nPre; i++) {
        const row = (t: Tensor) => t.slice([i], [i + 1]);
        const one = { states: row(pre.states), actions: row(pre.actions), rewards: row(pre.rewards), steps: { mask: row(pre.steps.mask) } };
        const Hi = noGrad(() => hessian((t: Tensor) => innerObjective(est, t, one))(theta)).reshape([n, n]);
        const expected = noGrad(() => x.outerGradient.add(Hi.matmul(x.outerGradient.reshape([n, 1])).reshape([n]).mul(opts.alpha)));
        allClose(x.perSample.slice([i], [i + 1]).reshape([n]), expected, 1e-12, `${est}: trajectory ${i}`, 1e-14);
      }
    }
  });
});

describe('estimator helpers inside vmap', () => {
  it('rewardToGo: discount 1 batches (a cumsum); another discount, a loop over values, refuses instead of reading the whole batch', () => {
    const r = tensor([[1, 2, 3], [4, 5, 6]]), mask = tensor([[1, 1, 1], [1, 1, 0]]);
    const per = vmap((ri: Tensor, mi: Tensor) => rewardToGo(ri.reshape([1, 3]), mi.reshape([1, 3])).reshape([3]))(r, mask);
    allClose(per, rewardToGo(r, mask), 0, 'undiscounted rewards-to-go per trajectory');
    expect(() => vmap((ri: Tensor, mi: Tensor) => rewardToGo(ri.reshape([1, 3]), mi.reshape([1, 3]), 0.9))(r, mask)).toThrow('rewardToGo: a discount other than 1 is not supported inside vmap');
  });
});

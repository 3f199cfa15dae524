/**
 * The Hessian decomposition and the estimators' bias, exactly, on random small MDPs (S, A ≤ 3, H ≤ 4) that
 * @metagrad/rl/testing's arbTabular.mdp draws:
 * - H1 + H2 + H12 + H12ᵀ = ∇²J by autodiff of the exact J = central finite differences of J (Eq. 35), and the
 *   DP's derivatives pass checkGrads to third order;
 * - E[∇²J^DiCE] = ∇²J (unbiased) and E[∇²J^LVC] = H1 + H2 (Eq. 73–74); both expected gradients = ∇J (Eq. 65);
 * - H12 of Eq. 38 (through ∇Q) equals the pure-enumeration form of Eq. 55.
 */
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { type Tensor, add, noGrad, tensor, transpose } from '@metagrad/autograd';
import { centralDifference, checkGrads } from '@metagrad/autograd/testing';
import { exactAnalysis, exactReturn, exactSummary, enumerateTrajectories, randomTabular, type TabularSpec } from '@metagrad/rl/tabular';
import { arbTabular } from '@metagrad/rl/testing';
import { allClose, fdGrad } from '../helpers.js';

/** Random MDPs (S, A ≤ 3, H ≤ 4; init and transition rows on the simplex, exact zeros included; R ∈ [−1, 1]) with θ ∈ [−1.5, 1.5]^{S×A}. */
const mdpArb = arbTabular.mdp({ S: { max: 3 }, A: { max: 3 }, H: { max: 4 } });

/**
 * ∇²J by finite differences of J alone: nested central differences (∂/∂θᵢ of ∂J/∂θⱼ), each Richardson-extrapolated,
 * with a step of 1e-3 (rounding ≈ ε·|J|/h² ≈ 1e-9 at that step; the truncation error is O(h⁴)).
 */
function fdHessian(mdp: TabularSpec, theta: Tensor): Float64Array {
  const n = theta.size;
  const J = (x: Float64Array): number => noGrad(() => exactReturn(mdp, tensor(x, [...theta.shape]))).item();
  const x0 = Float64Array.from(theta.data);
  const e = (i: number): Float64Array => Float64Array.from({ length: n }, (_, k) => (k === i ? 1 : 0));
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++)
      out[i * n + j] = centralDifference((x) => centralDifference(J, x, e(j), { eps: 1e-3 }), x0, e(i), { eps: 1e-3 })[0]!;
  return out;
}

describe('exact Hessian decomposition on random tabular MDPs', () => {
  it('H1 + H2 + H12 + H12ᵀ = ∇²J (autodiff of the DP) = finite differences of J (Eq. 35)', () => {
    fc.assert(
      fc.property(mdpArb, ({ mdp, theta }) => {
        const x = exactAnalysis(mdp, theta);
        const sum = add(add(x.H1, x.H2), add(x.H12, transpose(x.H12)));
        allClose(sum, x.hessian, 1e-10, 'H1 + H2 + H12 + H12ᵀ vs autodiff ∇²J', 1e-13);
        allClose(x.hessian, fdHessian(mdp, theta), 1e-6, 'autodiff ∇²J vs finite differences', 1e-8);
        // and the gradient against finite differences
        allClose(x.grad, fdGrad((ts) => noGrad(() => exactReturn(mdp, ts[0]!)).item(), [theta]), 1e-6, '∇J', 1e-10);
        // the DP's derivatives to third order, reverse and forward mode
        checkGrads((t) => exactReturn(mdp, t), [theta], { order: 3 });
      }),
      { numRuns: 40, seed: 35 },
    );
  });

  it('E[∇²J^DiCE] = ∇²J, E[∇²J^LVC] = H1 + H2, and both expected gradients = ∇J (Eq. 65, 73–74)', () => {
    fc.assert(
      fc.property(mdpArb, ({ mdp, theta }) => {
        const x = exactAnalysis(mdp, theta);
        allClose(x.diceHessianMean, x.hessian, 1e-10, 'DiCE unbiased', 1e-13);
        allClose(x.lvcHessianMean, add(x.H1, x.H2), 1e-10, 'LVC = H1 + H2', 1e-13);
        allClose(x.diceGradMean, x.grad, 1e-10, 'DiCE gradient', 1e-13);
        allClose(x.lvcGradMean, x.grad, 1e-10, 'LVC gradient', 1e-13);
      }),
      { numRuns: 40, seed: 73 },
    );
  });

  it('H12 through ∇Q_t (Eq. 38) equals the enumeration form Σ_t Σ_{t′>t} g_t g_t′ᵀ G_t′ (Eq. 55)', () => {
    fc.assert(
      fc.property(mdpArb, ({ mdp, theta }) => {
        const x = exactAnalysis(mdp, theta);
        const { S, A, H } = mdp;
        const e = enumerateTrajectories(mdp, theta);
        const n = S * A;
        const pi = theta.softmax(-1).data;
        const H12 = new Float64Array(n * n);
        const g = (s: number, a: number): Float64Array => {
          const v = new Float64Array(n);
          for (let b = 0; b < A; b++) v[s * A + b] = (b === a ? 1 : 0) - pi[s * A + b]!;
          return v;
        };
        for (let k = 0; k < e.M; k++) {
          for (let t = 0; t < H; t++)
            for (let t2 = t + 1; t2 < H; t2++) {
              let G = 0;
              for (let h = t2; h < H; h++) G += e.rewards[k * H + h]!;
              const u = g(e.states[k * H + t]!, e.actions[k * H + t]!), v = g(e.states[k * H + t2]!, e.actions[k * H + t2]!);
              for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) H12[i * n + j]! += e.prob[k]! * u[i]! * v[j]! * G;
            }
        }
        allClose(x.H12, H12, 1e-10, 'H12: Eq. 38 vs Eq. 55', 1e-13);
      }),
      { numRuns: 30, seed: 55 },
    );
  });

  it('the enumeration is a probability distribution and reproduces J', () => {
    const { mdp, theta } = randomTabular(4, 3, 2, 3);
    const e = enumerateTrajectories(mdp, theta);
    expect(e.M).toBe(Math.pow(3 * 2, 3));
    allClose(e.prob.reduce((a, b) => a + b, 0), 1, 1e-14);
    let J = 0;
    for (let k = 0; k < e.M; k++) for (let t = 0; t < 3; t++) J += e.prob[k]! * e.rewards[k * 3 + t]!;
    allClose(J, exactReturn(mdp, theta).item(), 1e-13);
  });
});

describe('the DESIGN contract: TabularMDP and exactAnalysis from @metagrad/rl', () => {
  it('a TabularMDP built from plain arrays analyses like its spec, and bad specs are refused', async () => {
    const { TabularMDP, exactAnalysis: analyse } = await import('@metagrad/rl');
    const spec = {
      S: 2, A: 2, H: 2, init: [0.3, 0.7],
      P: [[[0.9, 0.1], [0.2, 0.8]], [[0.5, 0.5], [0.0, 1.0]]],
      R: [[1, 0], [0, 2]],
    };
    const mdp = new TabularMDP(spec);
    const theta = tensor([0.1, -0.4, 0.3, 0.2], [2, 2]);
    const x = analyse(mdp, theta);
    const y = exactAnalysis(spec, theta);
    expect(x.J).toBe(y.J);
    allClose(x.hessian, y.hessian, 0);
    allClose(add(add(x.H1, x.H2), add(x.H12, transpose(x.H12))), x.hessian, 1e-12);
    expect(() => new TabularMDP({ ...spec, init: [0.5, 0.6] })).toThrow(/init/);
  });
});

describe('exactSummary (the fast path: closed-form softmax derivatives, H1/H2/H12 by dynamic programming) = exactAnalysis', () => {
  it('every matrix within 1e-10 of its largest entry (plus 1e-14: arbTabular draws subnormal rewards too), on random MDPs (S, A ≤ 3, H ≤ 4)', () => {
    const close = (a: Tensor, b: Tensor): boolean => {
      const scale = Math.max(...Array.from(b.data, Math.abs));
      return Array.from(a.data).every((v, i) => Math.abs(v - b.data[i]!) <= 1e-10 * scale + 1e-14);
    };
    fc.assert(
      fc.property(mdpArb, ({ mdp, theta }) => {
        const x = exactAnalysis(mdp, theta), y = exactSummary(mdp, theta);
        expect(y.J).toBe(x.J);
        expect(y.trajectories).toBe(x.trajectories);
        for (const k of ['grad', 'hessian', 'H1', 'H2', 'H12', 'diceHessianMean', 'lvcHessianMean', 'diceHessianVar', 'lvcHessianVar'] as const)
          expect(close(y[k], x[k]), k).toBe(true);
      }),
      { numRuns: 60, seed: 29 },
    );
  });

  it('refuses a theta of the wrong shape or dtype, naming it', () => {
    const { mdp, theta } = randomTabular(1, 2, 2, 2);
    expect(() => exactSummary(mdp, theta.reshape([4]))).toThrow('exactSummary: theta must be float64 of shape [S, A] = [2, 2], got float64 [4]');
    expect(() => exactSummary(mdp, theta.astype('float32'))).toThrow('got float32 [2, 2]');
  });
});

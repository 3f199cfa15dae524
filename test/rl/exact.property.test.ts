/**
 * The Hessian decomposition and the estimators' bias, exactly, on random small MDPs (S, A ≤ 3, H ≤ 4):
 * - H1 + H2 + H12 + H12ᵀ = ∇²J by autodiff of the exact J = central finite differences of J (Eq. 35);
 * - E[∇²J^DiCE] = ∇²J (unbiased) and E[∇²J^LVC] = H1 + H2 (Eq. 73–74); both expected gradients = ∇J (Eq. 65);
 * - H12 of Eq. 38 (through ∇Q) equals the pure-enumeration form of Eq. 55.
 */
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { Rng, type Tensor, add, noGrad, tensor, transpose } from '@metagrad/autograd';
import { exactAnalysis, exactReturn, enumerateTrajectories, type TabularSpec } from '@metagrad/rl/tabular';
import { allClose, fdGrad } from '../helpers.js';

/** A random MDP and θ from a seed (transition rows and init drawn from a Dirichlet(1) by normalized exponentials). */
export function randomMDP(seed: number, S: number, A: number, H: number): { mdp: TabularSpec; theta: Tensor } {
  const rng = new Rng(seed);
  const simplex = (k: number): number[] => {
    const x = Array.from({ length: k }, () => -Math.log(1 - rng.uniform()));
    const s = x.reduce((a, b) => a + b, 0);
    return x.map((v) => v / s);
  };
  const mdp: TabularSpec = {
    S, A, H,
    init: simplex(S),
    P: Array.from({ length: S }, () => Array.from({ length: A }, () => simplex(S))),
    R: Array.from({ length: S }, () => Array.from({ length: A }, () => rng.uniformIn(-1, 1))),
  };
  const theta = tensor(Array.from({ length: S }, () => Array.from({ length: A }, () => rng.uniformIn(-1.5, 1.5))));
  return { mdp, theta };
}

const mdpArb = fc.record({
  seed: fc.nat(),
  S: fc.integer({ min: 1, max: 3 }),
  A: fc.integer({ min: 1, max: 3 }),
  H: fc.integer({ min: 1, max: 4 }),
});

/** Central finite differences of J's gradient (itself by finite differences would lose too much precision): columns of ∇²J. */
function fdHessian(mdp: TabularSpec, theta: Tensor): Float64Array {
  const n = theta.size;
  const out = new Float64Array(n * n);
  const J = (ts: Tensor[]): number => noGrad(() => exactReturn(mdp, ts[0]!)).item();
  // second differences of J directly: [J(x+h ei+h ej) − J(x+h ei−h ej) − J(x−h ei+h ej) + J(x−h ei−h ej)] / 4h²
  const h = 1e-4;
  const x0 = theta.toArray();
  const at = (di: number, dj: number, i: number, j: number): number => {
    const x = Float64Array.from(x0);
    x[i]! += di;
    x[j]! += dj;
    return J([tensor(x, [...theta.shape])]);
  };
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) out[i * n + j] = (at(h, h, i, j) - at(h, -h, i, j) - at(-h, h, i, j) + at(-h, -h, i, j)) / (4 * h * h);
  return out;
}

describe('exact Hessian decomposition on random tabular MDPs', () => {
  it('H1 + H2 + H12 + H12ᵀ = ∇²J (autodiff of the DP) = finite differences of J (Eq. 35)', () => {
    fc.assert(
      fc.property(mdpArb, ({ seed, S, A, H }) => {
        const { mdp, theta } = randomMDP(seed, S, A, H);
        const x = exactAnalysis(mdp, theta);
        const sum = add(add(x.H1, x.H2), add(x.H12, transpose(x.H12)));
        allClose(sum, x.hessian, 1e-10, 'H1 + H2 + H12 + H12ᵀ vs autodiff ∇²J', 1e-13);
        allClose(x.hessian, fdHessian(mdp, theta), 1e-6, 'autodiff ∇²J vs finite differences', 1e-8);
        // and the gradient against finite differences
        allClose(x.grad, fdGrad((ts) => noGrad(() => exactReturn(mdp, ts[0]!)).item(), [theta]), 1e-6, '∇J', 1e-10);
      }),
      { numRuns: 40, seed: 35 },
    );
  });

  it('E[∇²J^DiCE] = ∇²J, E[∇²J^LVC] = H1 + H2, and both expected gradients = ∇J (Eq. 65, 73–74)', () => {
    fc.assert(
      fc.property(mdpArb, ({ seed, S, A, H }) => {
        const { mdp, theta } = randomMDP(seed, S, A, H);
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
      fc.property(mdpArb, ({ seed, S, A, H }) => {
        const { mdp, theta } = randomMDP(seed, S, A, H);
        const x = exactAnalysis(mdp, theta);
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
    const { mdp, theta } = randomMDP(4, 3, 2, 3);
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

/**
 * DiagGaussian and Categorical against hand computations, closed forms, Monte Carlo estimates with
 * fixed seeds, and central finite differences; plus their shape errors.
 */
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { Rng, Tensor, grad, hvp, randn, tensor, treeLeaves } from '@metagrad/autograd';
import { Categorical, DiagGaussian } from '@metagrad/rl/estimators';
import { allClose, fdDirectional, fdGrad, flatten } from '../helpers.js';

const LOG_2PI = Math.log(2 * Math.PI);

/** Mean and standard error of the values of a tensor. */
function meanSe(t: Tensor): { mean: number; se: number; std: number } {
  const d = t.data;
  let m = 0;
  for (let i = 0; i < d.length; i++) m += d[i]!;
  m /= d.length;
  let v = 0;
  for (let i = 0; i < d.length; i++) v += (d[i]! - m) ** 2;
  v /= d.length - 1;
  return { mean: m, std: Math.sqrt(v), se: Math.sqrt(v / d.length) };
}

describe('DiagGaussian', () => {
  it('logLik equals a hand computation for a 2-D example, with logStd [D] and [..., D]', () => {
    const x = [1.0, -0.5], mu = [0.2, 0.3], ls = [0.1, -0.4];
    let want = 0;
    for (let d = 0; d < 2; d++) want += -0.5 * ((x[d]! - mu[d]!) / Math.exp(ls[d]!)) ** 2 - ls[d]! - 0.5 * LOG_2PI;
    const got = DiagGaussian.logLik(tensor(x), tensor(mu), tensor(ls));
    expect(got.shape).toEqual([]);
    allClose(got.item(), want, 1e-14, 'logLik');
    // a batch of two rows: the first is the example above, the second has its own numbers
    const x2 = [[1.0, -0.5], [0.0, 2.0]], mu2 = [[0.2, 0.3], [-1.0, 1.5]];
    let want2 = 0;
    for (let d = 0; d < 2; d++) want2 += -0.5 * ((x2[1]![d]! - mu2[1]![d]!) / Math.exp(ls[d]!)) ** 2 - ls[d]! - 0.5 * LOG_2PI;
    const batch = DiagGaussian.logLik(tensor(x2), tensor(mu2), tensor(ls));
    expect(batch.shape).toEqual([2]);
    allClose(batch, [want, want2], 1e-14, 'batched logLik, logStd [D]');
    const perRow = DiagGaussian.logLik(tensor(x2), tensor(mu2), tensor([ls, ls]));
    allClose(perRow, [want, want2], 1e-14, 'batched logLik, logStd [N, D]');
  });

  it('logLik integrates to the entropy: −E[log N(x)] matches the closed form (Monte Carlo, seeded)', () => {
    const rng = new Rng(11);
    const n = 40000;
    const mu = tensor([0.5, -1.0, 2.0]), ls = tensor([0.3, -0.7, 0.0]);
    const mean = mu.broadcastTo([n, 3]);
    const x = DiagGaussian.sample(mean, ls, rng);
    const { mean: m, se } = meanSe(DiagGaussian.logLik(x, mean, ls).neg());
    const h = DiagGaussian.entropy(ls).item();
    expect(Math.abs(m - h)).toBeLessThan(4 * se);
  });

  it('entropy equals the closed form Σ_d (log σ + ½ log 2πe), broadcast to a batch shape', () => {
    const ls = [0.3, -0.7, 1.1];
    const want = ls.reduce((s, l) => s + l + 0.5 * Math.log(2 * Math.PI * Math.E), 0);
    allClose(DiagGaussian.entropy(tensor(ls)).item(), want, 1e-14, 'entropy');
    const b = DiagGaussian.entropy(tensor(ls), [4, 2]);
    expect(b.shape).toEqual([4, 2]);
    allClose(b, new Array(8).fill(want), 1e-14, 'broadcast entropy');
    const perRow = DiagGaussian.entropy(tensor([ls, ls.map((l) => l + 1)]));
    allClose(perRow, [want, want + 3], 1e-14, 'entropy of logStd [N, D]');
    // the gradient wrt log σ is 1 per dimension, also through the broadcast (8 copies)
    allClose(grad((l: Tensor) => DiagGaussian.entropy(l, [4, 2]).sum())(tensor(ls)), [8, 8, 8], 1e-14, '∂H/∂logσ');
  });

  it('KL of identical distributions is 0 with zero gradient in every argument', () => {
    const rng = new Rng(3);
    const mu = randn([4, 3], rng), ls = randn([3], rng).mul(0.5);
    const args = [mu, ls, tensor(mu.toArray(), [4, 3]), tensor(ls.toArray(), [3])];
    const f = (a: Tensor[]): Tensor => DiagGaussian.kl(a[0]!, a[1]!, a[2]!, a[3]!).sum();
    const v = f(args);
    expect(Math.abs(v.item())).toBeLessThan(1e-14);
    const g = grad(f)(args);
    for (const t of treeLeaves(g)) expect(Math.max(...Array.from(t.data, Math.abs))).toBeLessThan(1e-14);
    // the same tensors passed as both distributions: the value and gradient are zero too
    const same = grad((a: Tensor[]) => DiagGaussian.kl(a[0]!, a[1]!, a[0]!, a[1]!).sum())([mu, ls]);
    for (const t of treeLeaves(same)) expect(Math.max(...Array.from(t.data, Math.abs))).toBeLessThan(1e-14);
  });

  it('KL ≥ 0 on random draws, and > 0 when the distributions differ', () => {
    fc.assert(
      fc.property(fc.nat(), fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 6 }), (seed, D, N) => {
        const rng = new Rng(seed);
        const m0 = randn([N, D], rng), m1 = randn([N, D], rng).mul(2);
        const l0 = randn([N, D], rng), l1 = randn([D], rng);
        const kl = DiagGaussian.kl(m0, l0, m1, l1);
        expect(kl.shape).toEqual([N]);
        for (const k of kl.data) expect(k).toBeGreaterThan(0);
      }),
      { numRuns: 50, seed: 7 },
    );
  });

  it('KL matches the Monte Carlo estimate E_x~N0[log N0(x) − log N1(x)] within 4 standard errors', () => {
    const rng = new Rng(2024);
    const n = 100000;
    const m0 = tensor([0.3, -0.2, 1.0]), l0 = tensor([0.2, -0.5, 0.1]);
    const m1 = tensor([0.0, 0.4, 0.5]), l1 = tensor([0.0, -0.1, 0.4]);
    const kl = DiagGaussian.kl(m0, l0, m1, l1).item();
    const M0 = m0.broadcastTo([n, 3]), M1 = m1.broadcastTo([n, 3]);
    const x = DiagGaussian.sample(M0, l0, rng);
    const { mean, se } = meanSe(DiagGaussian.logLik(x, M0, l0).sub(DiagGaussian.logLik(x, M1, l1)));
    expect(se).toBeLessThan(0.01 * kl); // the check is sharp enough to catch a wrong term
    expect(Math.abs(mean - kl)).toBeLessThan(4 * se);
  });

  it('likelihoodRatio is 1 when old = new and exp(Δ logLik) otherwise', () => {
    const rng = new Rng(5);
    const x = randn([6, 2], rng), mu = randn([6, 2], rng), ls = randn([2], rng).mul(0.3);
    const r = DiagGaussian.likelihoodRatio(x, mu, ls, mu, ls);
    allClose(r, new Array(6).fill(1), 1e-15, 'ratio at old = new');
    const mu2 = mu.add(0.1), ls2 = ls.sub(0.2);
    const want = Array.from(DiagGaussian.logLik(x, mu2, ls2).data, (a, i) => Math.exp(a - DiagGaussian.logLik(x, mu, ls).data[i]!));
    allClose(DiagGaussian.likelihoodRatio(x, mu2, ls2, mu, ls), want, 1e-13, 'ratio');
  });

  it('sample: seeded and reproducible, with the right mean and std over 20k draws', () => {
    const n = 20000;
    const mu = tensor([1.5, -2.0]), ls = tensor([Math.log(0.5), Math.log(2.0)]);
    const M = mu.broadcastTo([n, 2]);
    const a = DiagGaussian.sample(M, ls, new Rng(9)), b = DiagGaussian.sample(M, ls, new Rng(9));
    expect(Array.from(a.data)).toEqual(Array.from(b.data));
    expect(a.node).toBeNull(); // a constant
    const sd = [0.5, 2.0];
    for (let d = 0; d < 2; d++) {
      const col = tensor(Array.from({ length: n }, (_, i) => a.data[i * 2 + d]!));
      const { mean, std } = meanSe(col);
      expect(Math.abs(mean - mu.data[d]!)).toBeLessThan((4 * sd[d]!) / Math.sqrt(n));
      expect(Math.abs(std / sd[d]! - 1)).toBeLessThan(4 / Math.sqrt(2 * n));
    }
  });

  it('logLik and kl: gradient and HVP in (x, mean, logStd) match central finite differences', () => {
    const rng = new Rng(1);
    const xs = [randn([3, 2], rng), randn([3, 2], rng), randn([2], rng).mul(0.3), randn([3, 2], rng), randn([3, 2], rng).mul(0.3)];
    const w = randn([3], rng);
    const f = (a: Tensor[]): Tensor =>
      DiagGaussian.logLik(a[0]!, a[1]!, a[2]!).mul(w).sum().add(DiagGaussian.kl(a[3]!, a[4]!, a[1]!, a[2]!).mul(w).sum());
    allClose(flatten(treeLeaves(grad(f)(xs))), fdGrad((a) => f(a).item(), xs), 1e-7, 'gradient');
    const v = xs.map((t) => randn([...t.shape], rng));
    const hv = flatten(treeLeaves(hvp(f, xs, v)));
    allClose(hv, fdDirectional((a) => flatten(treeLeaves(grad(f)(a))), xs, flatten(v)), 1e-6, 'HVP');
  });

  it('bad shapes throw errors naming the function and the shapes', () => {
    const z = (...s: number[]): Tensor => randn(s, 0);
    expect(() => DiagGaussian.logLik(z(5, 3), z(5, 2), z(3))).toThrow('DiagGaussian.logLik: x [5, 3] and mean [5, 2] differ');
    expect(() => DiagGaussian.logLik(z(5, 3), z(5, 3), z(4))).toThrow(/DiagGaussian\.logLik: logStd \[4\] does not broadcast to mean \[5, 3\]/);
    expect(() => DiagGaussian.logLik(z(5, 3), z(5, 3), z(2, 5, 3))).toThrow(/logStd \[2, 5, 3\] does not broadcast/);
    expect(() => DiagGaussian.logLik(tensor(1), tensor(1), tensor([0]))).toThrow(/DiagGaussian\.logLik: x must have at least one axis/);
    expect(() => DiagGaussian.kl(z(4, 2), z(2), z(4, 3), z(3))).toThrow('DiagGaussian.kl: mean0 [4, 2] and mean1 [4, 3] differ');
    expect(() => DiagGaussian.kl(z(4, 2), z(2), z(4, 2), z(3))).toThrow(/DiagGaussian\.kl: logStd1 \[3\] does not broadcast to mean1 \[4, 2\]/);
    expect(() => DiagGaussian.entropy(z(3, 2), [4])).toThrow(/DiagGaussian\.entropy: logStd \[3, 2\] does not broadcast to the batch shape \[4\]/);
    expect(() => DiagGaussian.sample(z(4, 2), z(3), new Rng(0))).toThrow(/DiagGaussian\.sample: logStd \[3\]/);
    expect(() => DiagGaussian.logLik(z(2), z(2), tensor([0, 0], [2], { dtype: 'float32' }))).toThrow(/DiagGaussian\.logLik: dtypes differ/);
  });
});

describe('Categorical', () => {
  it('logProb equals log softmax by hand', () => {
    const logits = [[1.0, 2.0, 0.5], [-1.0, 0.0, 3.0]];
    const actions = [1, 2];
    const want = logits.map((row, i) => row[actions[i]!]! - Math.log(row.reduce((s, l) => s + Math.exp(l), 0)));
    const got = Categorical.logProb(tensor(logits), tensor(actions));
    expect(got.shape).toEqual([2]);
    allClose(got, want, 1e-14, 'logProb');
    // extra leading axes
    const got3 = Categorical.logProb(tensor([logits, logits]), tensor([actions, [0, 0]]));
    expect(got3.shape).toEqual([2, 2]);
    allClose(got3.toArray().slice(0, 2), want, 1e-14, 'logProb [2, 2, A]');
    allClose(got3.data[2]!, 1.0 - Math.log(Math.exp(1) + Math.exp(2) + Math.exp(0.5)), 1e-14, 'logProb [1, 0]');
  });

  it('KL ≥ 0, and 0 iff the distributions are equal (logits equal up to a constant)', () => {
    fc.assert(
      fc.property(fc.nat(), fc.integer({ min: 2, max: 6 }), fc.integer({ min: 1, max: 5 }), (seed, A, N) => {
        const rng = new Rng(seed);
        const l0 = randn([N, A], rng), l1 = randn([N, A], rng);
        for (const k of Categorical.kl(l0, l1).data) expect(k).toBeGreaterThan(0);
        const shifted = l0.add(randn([N, 1], rng).mul(3)); // the same distributions
        for (const k of Categorical.kl(l0, shifted).data) expect(Math.abs(k)).toBeLessThan(1e-14);
        for (const k of Categorical.kl(l0, l0).data) expect(k).toBe(0);
      }),
      { numRuns: 50, seed: 8 },
    );
  });

  it('KL equals Σ p0 log(p0/p1) by hand; entropy of the uniform distribution is log A', () => {
    const l0 = [0.2, -1.0, 0.7], l1 = [1.0, 0.0, -0.5];
    const p = (l: number[]): number[] => {
      const z = l.reduce((s, v) => s + Math.exp(v), 0);
      return l.map((v) => Math.exp(v) / z);
    };
    const p0 = p(l0), p1 = p(l1);
    const want = p0.reduce((s, q, i) => s + q * Math.log(q / p1[i]!), 0);
    allClose(Categorical.kl(tensor(l0), tensor(l1)).item(), want, 1e-13, 'kl');
    for (const A of [1, 2, 5, 17]) allClose(Categorical.entropy(tensor(new Array(A).fill(0.3))).item(), Math.log(A), 1e-14, `entropy A=${A}`, 1e-15);
    allClose(Categorical.entropy(tensor(l0)).item(), -p0.reduce((s, q) => s + q * Math.log(q), 0), 1e-14, 'entropy');
  });

  it('logProb, kl and entropy: gradient and HVP match central finite differences', () => {
    const rng = new Rng(4);
    const xs = [randn([4, 3], rng), randn([4, 3], rng)];
    const acts = tensor([0, 2, 1, 2]);
    const w = randn([4], rng);
    const f = (a: Tensor[]): Tensor =>
      Categorical.logProb(a[0]!, acts).add(Categorical.kl(a[1]!, a[0]!)).add(Categorical.entropy(a[1]!)).mul(w).sum();
    allClose(flatten(treeLeaves(grad(f)(xs))), fdGrad((a) => f(a).item(), xs), 1e-7, 'gradient');
    const v = xs.map((t) => randn([...t.shape], rng));
    allClose(flatten(treeLeaves(hvp(f, xs, v))), fdDirectional((a) => flatten(treeLeaves(grad(f)(a))), xs, flatten(v)), 1e-6, 'HVP');
  });

  it('sample: reproducible, integer-valued, with frequencies near softmax', () => {
    const n = 20000;
    const probs = [0.1, 0.6, 0.3];
    const logits = tensor(probs.map(Math.log)).reshape([1, 3]).broadcastTo([n, 3]);
    const a = Categorical.sample(logits, new Rng(12)), b = Categorical.sample(logits, new Rng(12));
    expect(a.shape).toEqual([n]);
    expect(Array.from(a.data)).toEqual(Array.from(b.data));
    const counts = [0, 0, 0];
    for (const x of a.data) {
      expect(Number.isInteger(x)).toBe(true);
      counts[x]!++;
    }
    probs.forEach((p, k) => expect(Math.abs(counts[k]! / n - p)).toBeLessThan(4 * Math.sqrt((p * (1 - p)) / n)));
  });

  it('bad shapes and actions throw errors naming the function and the shapes', () => {
    const l = randn([4, 3], 0);
    expect(() => Categorical.logProb(l, tensor([0, 1, 2]))).toThrow('Categorical.logProb: actions [3] must have the batch shape [4] of logits [4, 3]');
    expect(() => Categorical.logProb(l, tensor([0, 1, 3, 0]))).toThrow('Categorical.logProb: action 3 at flat index 2 is not an integer in [0, 3)');
    expect(() => Categorical.logProb(l, tensor([0, 1.5, 2, 0]))).toThrow(/action 1\.5 at flat index 1/);
    expect(() => Categorical.kl(l, randn([4, 2], 0))).toThrow('Categorical.kl: logits0 [4, 3] and logits1 [4, 2] differ');
    expect(() => Categorical.entropy(tensor(1))).toThrow(/Categorical\.entropy: logits must have at least one axis/);
  });
});

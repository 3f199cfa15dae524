/**
 * GaussianMLPPolicy and TabularSoftmaxPolicy: first and second derivatives of log π against central
 * finite differences (every parameter block, first layer included) and the analytic softmax
 * derivatives; the Hessian of the KL at θ = θ0 against the Fisher information computed from the score;
 * seeded init and sampling; leading batch axes; shape errors; log π and the KL through checkGrads (orders 1–3)
 * on parameters arb.mlpParams draws.
 */
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { Rng, Tensor, grad, hessian, hvp, randn, tensor, treeLeaves, treeUnflatten, zeros } from '@metagrad/autograd';
import { DiagGaussian } from '@metagrad/rl/estimators';
import { type GaussianMLPParams, GaussianMLPPolicy, TabularSoftmaxPolicy } from '@metagrad/rl/estimators';
import { arb, checkGrads } from '@metagrad/autograd/testing';
import { allClose, fdDirectional, fdGrad, flatten } from '../helpers.js';

/** Policy parameters with every block perturbed off its init (non-zero biases, varied log σ). */
function randomParams(pol: GaussianMLPPolicy, rng: Rng): GaussianMLPParams {
  const p = pol.init(rng);
  return treeUnflatten(p, treeLeaves(p).map((t) => t.add(randn([...t.shape], rng).mul(0.3)).detach()));
}

/** Names of the parameter blocks in treeLeaves order. */
function blockNames(p: GaussianMLPParams): string[] {
  return [...p.layers.flatMap((_, i) => [`W${i + 1}`, `b${i + 1}`]), 'logStd'];
}

/** Asserts a ≈ b block by block (each parameter tensor on its own, so a small block cannot hide). */
function allCloseBlocks(a: Float64Array, b: Float64Array, like: Tensor[], names: string[], tol: number, what: string): void {
  let o = 0;
  like.forEach((t, i) => {
    allClose(a.subarray(o, o + t.size), b.subarray(o, o + t.size), tol, `${what}[${names[i]}]`, 1e-9);
    o += t.size;
  });
}

/** Eigenvalues of a small symmetric matrix by cyclic Jacobi rotations. */
function symEigenvalues(m: Float64Array, n: number): number[] {
  const a = Float64Array.from(m);
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += a[p * n + q]! ** 2;
    if (off < 1e-30) break;
    for (let p = 0; p < n; p++)
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q]!;
        if (Math.abs(apq) < 1e-300) continue;
        const theta = (a[q * n + q]! - a[p * n + p]!) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1), s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k * n + p]!, akq = a[k * n + q]!;
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p * n + k]!, aqk = a[q * n + k]!;
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
      }
  }
  return Array.from({ length: n }, (_, i) => a[i * n + i]!);
}

const sizes = fc.record({
  seed: fc.nat(),
  obsDim: fc.integer({ min: 1, max: 4 }),
  hidden: fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 2 }),
  actDim: fc.integer({ min: 1, max: 3 }),
  N: fc.integer({ min: 1, max: 3 }),
  T: fc.integer({ min: 1, max: 3 }),
});

describe('GaussianMLPPolicy: derivatives of log π', () => {
  it('gradient of Σ w·log π(a|o) matches central finite differences, every block', () => {
    fc.assert(
      fc.property(sizes, ({ seed, obsDim, hidden, actDim, N, T }) => {
        const rng = new Rng(seed);
        const pol = new GaussianMLPPolicy({ obsDim, actDim, hidden });
        const p = randomParams(pol, rng);
        const obs = randn([N, T, obsDim], rng), act = randn([N, T, actDim], rng), w = randn([N, T], rng);
        const f = (q: GaussianMLPParams): Tensor => pol.logProb(q, obs, act).mul(w).sum();
        const leaves = treeLeaves(p);
        const g = flatten(treeLeaves(grad(f)(p)));
        const fd = fdGrad((xs) => f(treeUnflatten(p, xs)).item(), leaves);
        allClose(g, fd, 1e-6, 'gradient');
        allCloseBlocks(g, fd, leaves, blockNames(p), 1e-6, '∇');
      }),
      { numRuns: 12, seed: 101 },
    );
  });

  it('HVP of Σ w·log π(a|o) matches finite differences of the gradient, a direction per block and all at once', () => {
    fc.assert(
      fc.property(sizes, ({ seed, obsDim, hidden, actDim, N, T }) => {
        const rng = new Rng(seed);
        const pol = new GaussianMLPPolicy({ obsDim, actDim, hidden });
        const p = randomParams(pol, rng);
        const obs = randn([N, T, obsDim], rng), act = randn([N, T, actDim], rng), w = randn([N, T], rng);
        const f = (q: GaussianMLPParams): Tensor => pol.logProb(q, obs, act).mul(w).sum();
        const leaves = treeLeaves(p);
        const names = blockNames(p);
        const gradAt = (xs: Tensor[]): Float64Array => flatten(treeLeaves(grad(f)(treeUnflatten(p, xs))));
        for (let b = 0; b <= leaves.length; b++) {
          const vLeaves = leaves.map((t, i) => (b === leaves.length || i === b ? randn([...t.shape], rng) : zeros([...t.shape])));
          const hv = flatten(treeLeaves(hvp(f, p, treeUnflatten(p, vLeaves))));
          const fd = fdDirectional(gradAt, leaves, flatten(vLeaves));
          const what = b === leaves.length ? 'all blocks' : `v in ${names[b]}`;
          allClose(hv, fd, 1e-6, `H·v (${what})`);
          allCloseBlocks(hv, fd, leaves, names, 1e-6, `H·v (${what})`);
        }
      }),
      { numRuns: 8, seed: 202 },
    );
  });
});

describe('GaussianMLPPolicy: checkGrads on fast-check parameters (arb.mlpParams)', () => {
  /** Sizes, then parameters of those sizes with observations and actions [N, obsDim], [N, actDim]. */
  const cases = fc
    .record({ obsDim: fc.integer({ min: 1, max: 3 }), hidden: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 2 }), actDim: fc.integer({ min: 1, max: 2 }), N: fc.integer({ min: 1, max: 2 }) })
    .chain((s) => fc.record({
      s: fc.constant(s),
      p: arb.mlpParams(s),
      p0: arb.mlpParams(s),
      obs: arb.tensor({ shape: [s.N, s.obsDim], min: -2, max: 2 }),
      act: arb.tensor({ shape: [s.N, s.actDim], min: -2, max: 2 }),
    }));

  it('log π(a|o) [N] and KL(π_θ0 ‖ π_θ) [N] as functions of every parameter block: orders 1–3, reverse and forward mode', () => {
    fc.assert(
      fc.property(cases, ({ s, p, p0, obs, act }) => {
        const pol = new GaussianMLPPolicy(s);
        const leaves = treeLeaves(p);
        checkGrads((...ls) => pol.logProb(treeUnflatten(p, ls), obs, act), leaves, { order: 3 });
        checkGrads((...ls) => pol.kl(p0, treeUnflatten(p, ls), obs), leaves, { order: 2 });
      }),
      { numRuns: 6, seed: 303 },
    );
  });
});

describe('GaussianMLPPolicy: the Hessian of the KL at θ = θ0 is the Fisher information', () => {
  // probabilists' Gauss–Hermite rule with 3 nodes: exact for E[q(z)], z ~ N(0, 1), q of degree ≤ 5
  const GH = [
    { z: -Math.sqrt(3), w: 1 / 6 },
    { z: 0, w: 2 / 3 },
    { z: Math.sqrt(3), w: 1 / 6 },
  ];

  it('H = E_o E_a~π[∇log π ∇log πᵀ] (exact quadrature of the score), PSD, and vᵀHv = E[(∇log π·v)²]', () => {
    const rng = new Rng(77);
    const obsDim = 2, actDim = 2, N = 3;
    const pol = new GaussianMLPPolicy({ obsDim, actDim, hidden: [3, 2] });
    const p0 = randomParams(pol, rng);
    const obs = randn([N, obsDim], rng);
    const n = pol.numParams;
    const shapes = treeLeaves(p0).map((t) => [...t.shape]);
    // params as differentiable slices of one flat vector x
    const fromFlat = (x: Tensor): GaussianMLPParams => {
      let o = 0;
      return treeUnflatten(
        p0,
        shapes.map((s) => {
          const k = s.reduce((a, b) => a * b, 1);
          const t = x.slice([o], [o + k]).reshape(s);
          o += k;
          return t;
        }),
      );
    };
    const x0 = tensor(pol.flatten(p0));
    const klMean = (x: Tensor): Tensor => pol.kl(p0, fromFlat(x), obs).mean(); // θ0 fixed, θ varies
    const H = hessian(klMean)(x0);
    expect(H.shape).toEqual([n, n]);

    // Fisher from the score: F = (1/N) Σ_o Σ_nodes w · s sᵀ, s = ∇θ log π(a|o) at a = μ(o) + σ z
    const F = new Float64Array(n * n);
    const mu = pol.mean(p0, obs), sigma = p0.logStd.exp();
    const scores: { s: Float64Array; w: number }[] = [];
    for (let i = 0; i < N; i++)
      for (const g1 of GH)
        for (const g2 of GH) {
          const z = [g1.z, g2.z];
          const a = tensor([[0, 1].map((d) => mu.data[i * actDim + d]! + sigma.data[d]! * z[d]!)]);
          const o = obs.slice([i], [i + 1]);
          const s = grad((x: Tensor) => pol.logProb(fromFlat(x), o, a).sum())(x0).toArray() as Float64Array;
          const w = (g1.w * g2.w) / N;
          scores.push({ s, w });
          for (let r = 0; r < n; r++) for (let c = 0; c < n; c++) F[r * n + c]! += w * s[r]! * s[c]!;
        }
    allClose(H, F, 1e-10, 'Hessian of KL vs Fisher');
    // PSD: every eigenvalue of H is ≥ 0 (up to rounding), and H is not trivially zero
    const eig = symEigenvalues(H.toArray() as Float64Array, n);
    const top = Math.max(...eig);
    expect(top).toBeGreaterThan(0.1);
    expect(Math.min(...eig)).toBeGreaterThan(-1e-10 * top);
    // quadratic forms: vᵀHv (by hvp on the pytree) = E[(s·v)²]
    for (let k = 0; k < 3; k++) {
      const v = randn([n], rng);
      const Hv = hvp((q: GaussianMLPParams) => pol.kl(p0, q, obs).mean(), p0, pol.unflatten(v.toArray() as Float64Array));
      const vHv = flatten(treeLeaves(Hv)).reduce((s, h, i) => s + h * v.data[i]!, 0);
      const want = scores.reduce((acc, { s, w }) => acc + w * s.reduce((d, si, i) => d + si * v.data[i]!, 0) ** 2, 0);
      allClose(vHv, want, 1e-10, `vᵀHv (${k})`);
    }
  });

  it('kl(θ, θ) = 0 with zero gradient; old params are constants even when they are the same tensors', () => {
    const rng = new Rng(8);
    const pol = new GaussianMLPPolicy({ obsDim: 3, actDim: 2, hidden: [4] });
    const p = randomParams(pol, rng);
    const obs = randn([5, 3], rng);
    const kl = pol.kl(p, p, obs);
    expect(kl.shape).toEqual([5]);
    for (const k of kl.data) expect(Math.abs(k)).toBeLessThan(1e-14);
    for (const g of treeLeaves(grad((q: GaussianMLPParams) => pol.kl(p, q, obs).sum())(p)))
      for (const x of g.data) expect(Math.abs(x)).toBeLessThan(1e-13);
    // f(q) = kl(q, q): old is cut from the graph, so its Hessian is the Fisher, the same as kl(p, q)'s at q = p
    const v = pol.unflatten(randn([pol.numParams], rng).toArray() as Float64Array);
    const hSame = flatten(treeLeaves(hvp((q: GaussianMLPParams) => pol.kl(q, q, obs).sum(), p, v)));
    const hFixed = flatten(treeLeaves(hvp((q: GaussianMLPParams) => pol.kl(p, q, obs).sum(), p, v)));
    expect(Math.max(...Array.from(hFixed, Math.abs))).toBeGreaterThan(1e-3);
    allClose(hSame, hFixed, 1e-12, 'Fisher-vector product of kl(q, q)');
    // and kl equals DiagGaussian.kl of the means for different parameters
    const p2 = randomParams(pol, rng);
    allClose(pol.kl(p, p2, obs), DiagGaussian.kl(pol.mean(p, obs), p.logStd, pol.mean(p2, obs), p2.logStd), 1e-14, 'kl');
  });
});

describe('GaussianMLPPolicy: init, shapes, sampling', () => {
  it('init: seeded Xavier-uniform weights, zero biases, logStd = initLogStd, default hidden [64, 64]', () => {
    const pol = new GaussianMLPPolicy({ obsDim: 10, actDim: 3, initLogStd: -0.5 });
    expect(pol.sizes).toEqual([10, 64, 64, 3]);
    const a = pol.init(new Rng(1)), b = pol.init(new Rng(1)), c = pol.init(new Rng(2));
    expect(pol.flatten(a)).toEqual(pol.flatten(b));
    expect(pol.flatten(a)).not.toEqual(pol.flatten(c));
    expect(pol.numParams).toBe(10 * 64 + 64 + 64 * 64 + 64 + 64 * 3 + 3 + 3);
    expect(pol.flatten(a).length).toBe(pol.numParams);
    a.layers.forEach(({ W, b: bias }, i) => {
      const [fanIn, fanOut] = [pol.sizes[i]!, pol.sizes[i + 1]!];
      expect(W.shape).toEqual([fanIn, fanOut]);
      const lim = Math.sqrt(6 / (fanIn + fanOut));
      let sq = 0;
      for (const x of W.data) {
        expect(Math.abs(x)).toBeLessThanOrEqual(lim);
        sq += x * x;
      }
      // Var U(−l, l) = l²/3; the 64×64 layer has 4096 draws
      if (W.size > 1000) expect(Math.abs(sq / W.size / (lim * lim / 3) - 1)).toBeLessThan(0.08);
      expect(Array.from(bias.data)).toEqual(new Array(fanOut).fill(0));
    });
    expect(Array.from(a.logStd.data)).toEqual([-0.5, -0.5, -0.5]);
  });

  it('flatten/unflatten round-trip in treeLeaves order; float32 policies work', () => {
    const pol = new GaussianMLPPolicy({ obsDim: 2, actDim: 1, hidden: [3] });
    const p = pol.init(new Rng(4));
    const flat = pol.flatten(p);
    expect(flat).toEqual(flatten(treeLeaves(p)));
    const q = pol.unflatten(flat);
    expect(treeLeaves(q).map((t) => t.shape)).toEqual(treeLeaves(p).map((t) => t.shape));
    expect(pol.flatten(q)).toEqual(flat);
    const p32 = new GaussianMLPPolicy({ obsDim: 2, actDim: 1, hidden: [3], dtype: 'float32' });
    const q32 = p32.unflatten(flat);
    expect(q32.layers[0]!.W.dtype).toBe('float32');
    const obs = tensor([[0.5, -1]], [1, 2], { dtype: 'float32' });
    const m32 = p32.mean(q32, obs);
    expect(m32.dtype).toBe('float32');
    allClose(m32, pol.mean(p, tensor([[0.5, -1]])), 1e-6, 'float32 mean');
  });

  it('leading batch axes: [N, T, obsDim] gives the same numbers as row by row', () => {
    const rng = new Rng(6);
    const pol = new GaussianMLPPolicy({ obsDim: 3, actDim: 2, hidden: [4, 4] });
    const p = randomParams(pol, rng);
    const obs = randn([2, 3, 3], rng), act = randn([2, 3, 2], rng);
    const lp = pol.logProb(p, obs, act);
    expect(lp.shape).toEqual([2, 3]);
    expect(pol.mean(p, obs).shape).toEqual([2, 3, 2]);
    expect(pol.kl(p, randomParams(pol, rng), obs).shape).toEqual([2, 3]);
    for (let i = 0; i < 6; i++) {
      const o = tensor(Array.from(obs.data.subarray(i * 3, i * 3 + 3))); // a single 1-D observation
      const a = tensor(Array.from(act.data.subarray(i * 2, i * 2 + 2)));
      const single = pol.logProb(p, o, a);
      expect(single.shape).toEqual([]);
      allClose(single.item(), lp.data[i]!, 1e-13, `row ${i}`);
      // by hand: μ = tanh(tanh(o W1 + b1) W2 + b2) W3 + b3
      let h: number[] = Array.from(o.data);
      p.layers.forEach(({ W, b }, l) => {
        const [, out] = W.shape as [number, number];
        h = Array.from({ length: out }, (_, j) => {
          const z = h.reduce((s, x, k) => s + x * W.data[k * out + j]!, b.data[j]!);
          return l < p.layers.length - 1 ? Math.tanh(z) : z;
        });
      });
      allClose(pol.mode(p, o), h, 1e-13, `mean by hand ${i}`);
    }
  });

  it('sample: reproducible, mean and std right over 20k draws', () => {
    const rng = new Rng(13);
    const pol = new GaussianMLPPolicy({ obsDim: 2, actDim: 2, hidden: [5], initLogStd: Math.log(0.7) });
    const p = randomParams(pol, rng);
    const n = 20000;
    const o = tensor([0.3, -0.8]);
    const obs = o.reshape([1, 2]).broadcastTo([n, 2]);
    const a = pol.sample(p, obs, new Rng(99)), b = pol.sample(p, obs, new Rng(99));
    expect(a.shape).toEqual([n, 2]);
    expect(a.node).toBeNull();
    expect(Array.from(a.data)).toEqual(Array.from(b.data));
    const mu = pol.mode(p, o), sd = p.logStd.exp();
    for (let d = 0; d < 2; d++) {
      let m = 0, v = 0;
      for (let i = 0; i < n; i++) m += a.data[i * 2 + d]!;
      m /= n;
      for (let i = 0; i < n; i++) v += (a.data[i * 2 + d]! - m) ** 2;
      const s = Math.sqrt(v / (n - 1));
      expect(Math.abs(m - mu.data[d]!)).toBeLessThan((4 * sd.data[d]!) / Math.sqrt(n));
      expect(Math.abs(s / sd.data[d]! - 1)).toBeLessThan(4 / Math.sqrt(2 * n));
    }
  });

  it('bad shapes and options throw errors naming the function and the shapes', () => {
    const pol = new GaussianMLPPolicy({ obsDim: 3, actDim: 2, hidden: [4] });
    const p = pol.init(new Rng(0));
    expect(() => pol.mean(p, randn([5, 4], 0))).toThrow('GaussianMLPPolicy.mean: obs [5, 4] must be [..., 3] (obsDim = 3)');
    expect(() => pol.logProb(p, randn([5, 3], 0), randn([5, 3], 0))).toThrow('GaussianMLPPolicy.logProb: actions [5, 3] must be [5, 2] for obs [5, 3]');
    expect(() => pol.logProb(p, randn([5, 3], 0), randn([4, 2], 0))).toThrow(/actions \[4, 2\] must be \[5, 2\]/);
    const other = new GaussianMLPPolicy({ obsDim: 3, actDim: 2, hidden: [5] }).init(new Rng(0));
    expect(() => pol.kl(p, other, randn([5, 3], 0))).toThrow('GaussianMLPPolicy.kl: params.layers[0].W has shape [3, 5], expected [3, 4]');
    expect(() => pol.mean({ layers: p.layers.slice(0, 1), logStd: p.logStd }, randn([3], 0))).toThrow(/params have 1 layers, this policy has 2/);
    expect(() => pol.unflatten(new Float64Array(3))).toThrow(`GaussianMLPPolicy.unflatten: expected a Float64Array of length ${pol.numParams}, got length 3`);
    expect(() => pol.mean(p, tensor([1, 2, 3], [3], { dtype: 'float32' }))).toThrow(/obs is float32 but the parameters are float64/);
    expect(() => new GaussianMLPPolicy({ obsDim: 0, actDim: 2 })).toThrow(/obsDim must be a positive integer/);
    expect(() => new GaussianMLPPolicy({ obsDim: 2, actDim: 2, hidden: [4, 2.5] })).toThrow(/hidden\[1\] must be a positive integer/);
  });
});

describe('TabularSoftmaxPolicy', () => {
  const tabSizes = fc.record({
    seed: fc.nat(),
    S: fc.integer({ min: 1, max: 4 }),
    A: fc.integer({ min: 1, max: 4 }),
    M: fc.integer({ min: 1, max: 8 }),
  });

  /** π(·|s) rows of softmax θ, computed by hand. */
  function piByHand(theta: Tensor, S: number, A: number): number[][] {
    return Array.from({ length: S }, (_, s) => {
      const row = Array.from(theta.data.subarray(s * A, (s + 1) * A));
      const z = row.reduce((acc, x) => acc + Math.exp(x), 0);
      return row.map((x) => Math.exp(x) / z);
    });
  }

  it('gradient and HVP of Σ w·log π(a|s) match the analytic softmax derivatives and finite differences', () => {
    fc.assert(
      fc.property(tabSizes, ({ seed, S, A, M }) => {
        const rng = new Rng(seed);
        const pol = new TabularSoftmaxPolicy(S, A);
        const theta = randn([S, A], rng);
        const states = Array.from({ length: M }, () => rng.int(S)), actions = Array.from({ length: M }, () => rng.int(A));
        const w = randn([M], rng);
        const obs = tensor(states).reshape([M]), act = tensor(actions);
        const f = (t: Tensor): Tensor => pol.logProb(t, obs, act).mul(w).sum();
        const pi = piByHand(theta, S, A);
        // ∂/∂θ[s', a'] Σ_i w_i log π(a_i|s_i) = Σ_i w_i 1[s' = s_i](1[a' = a_i] − π(a'|s_i))
        const g = new Float64Array(S * A);
        states.forEach((s, i) => {
          for (let b = 0; b < A; b++) g[s * A + b]! += w.data[i]! * ((b === actions[i] ? 1 : 0) - pi[s]![b]!);
        });
        const ag = grad(f)(theta);
        allClose(ag, g, 1e-12, '∇ analytic', 1e-14);
        allClose(ag.toArray(), fdGrad((xs) => f(xs[0]!).item(), [theta]), 1e-6, '∇ fd', 1e-9);
        // ∂²/∂θ[s, b]∂θ[s, c] = −Σ_{i: s_i = s} w_i π(b|s)(1[b = c] − π(c|s)), zero across states
        const v = randn([S, A], rng);
        const hv = new Float64Array(S * A);
        states.forEach((s, i) => {
          for (let b = 0; b < A; b++)
            for (let c = 0; c < A; c++) hv[s * A + b]! -= w.data[i]! * pi[s]![b]! * ((b === c ? 1 : 0) - pi[s]![c]!) * v.data[s * A + c]!;
        });
        const ahv = hvp(f, theta, v);
        allClose(ahv, hv, 1e-12, 'H·v analytic', 1e-14);
        allClose(ahv.toArray(), fdDirectional((xs) => grad(f)(xs[0]!).toArray() as Float64Array, [theta], v.toArray() as Float64Array), 1e-6, 'H·v fd', 1e-9);
      }),
      { numRuns: 30, seed: 303 },
    );
  });

  it('logProb equals log softmax by hand; kl per state and its Fisher Hessian; leading axes', () => {
    const rng = new Rng(21);
    const pol = new TabularSoftmaxPolicy(3, 4);
    const theta = randn([3, 4], rng), theta2 = randn([3, 4], rng);
    const obs = tensor([[0, 2, 1], [2, 2, 0]]), act = tensor([[3, 0, 1], [1, 2, 2]]);
    const lp = pol.logProb(theta, obs, act);
    expect(lp.shape).toEqual([2, 3]);
    const pi = piByHand(theta, 3, 4), pi2 = piByHand(theta2, 3, 4);
    allClose(lp, Array.from(obs.data, (s, i) => Math.log(pi[s]![act.data[i]!]!)), 1e-13, 'logProb');
    const kl = pol.kl(theta, theta2, obs);
    expect(kl.shape).toEqual([2, 3]);
    allClose(kl, Array.from(obs.data, (s) => pi[s]!.reduce((acc, q, a) => acc + q * Math.log(q / pi2[s]![a]!), 0)), 1e-13, 'kl');
    for (const k of pol.kl(theta, theta, obs).data) expect(Math.abs(k)).toBeLessThan(1e-15);
    // Hessian of kl(θ0, θ) at θ0 = Fisher per visited state: diag(π) − ππᵀ on each state's block
    const one = tensor([1]);
    const H = hessian((t: Tensor) => pol.kl(theta, t.reshape([3, 4]), one).sum())(theta.reshape([12]));
    const F = new Float64Array(144);
    for (let b = 0; b < 4; b++) for (let c = 0; c < 4; c++) F[(4 + b) * 12 + 4 + c] = pi[1]![b]! * ((b === c ? 1 : 0) - pi[1]![c]!);
    allClose(H, F, 1e-12, 'Hessian of kl = Fisher', 1e-15);
  });

  it('init, sample and mode: seeded, reproducible, right frequencies, argmax', () => {
    const pol = new TabularSoftmaxPolicy(2, 3);
    expect(Array.from(pol.init(new Rng(0)).data)).toEqual(new Array(6).fill(0)); // the uniform policy
    const rnd = new TabularSoftmaxPolicy(2, 3, { initScale: 0.5 });
    expect(Array.from(rnd.init(new Rng(3)).data)).toEqual(Array.from(rnd.init(new Rng(3)).data));
    expect(Array.from(rnd.init(new Rng(3)).data)).not.toEqual(Array.from(rnd.init(new Rng(4)).data));
    const probs = [[0.2, 0.5, 0.3], [0.7, 0.1, 0.2]];
    const theta = tensor(probs.map((r) => r.map(Math.log)));
    const n = 20000;
    const obs = tensor(Array.from({ length: n }, (_, i) => i % 2));
    const a = pol.sample(theta, obs, new Rng(5));
    expect(Array.from(a.data)).toEqual(Array.from(pol.sample(theta, obs, new Rng(5)).data));
    const counts = [[0, 0, 0], [0, 0, 0]];
    for (let i = 0; i < n; i++) counts[i % 2]![a.data[i]!]!++;
    probs.forEach((row, s) => row.forEach((p, k) => expect(Math.abs(counts[s]![k]! / (n / 2) - p)).toBeLessThan(4 * Math.sqrt((p * (1 - p)) / (n / 2)))));
    expect(Array.from(pol.mode(theta, tensor([0, 1, 1, 0])).data)).toEqual([1, 0, 0, 1]);
  });

  it('bad shapes and indices throw errors naming the function', () => {
    const pol = new TabularSoftmaxPolicy(3, 2);
    const theta = zeros([3, 2]);
    expect(() => pol.logProb(zeros([2, 3]), tensor([0]), tensor([0]))).toThrow('TabularSoftmaxPolicy.logProb: theta [2, 3] must be [3, 2]');
    expect(() => pol.logProb(theta, tensor([0, 3]), tensor([0, 1]))).toThrow('TabularSoftmaxPolicy.logProb: state 3 at flat index 1 is not an integer in [0, 3)');
    expect(() => pol.logProb(theta, tensor([0, 1]), tensor([0, 2]))).toThrow('TabularSoftmaxPolicy.logProb: action 2 at flat index 1 is not an integer in [0, 2)');
    expect(() => pol.logProb(theta, tensor([0, 1]), tensor([0]))).toThrow('TabularSoftmaxPolicy.logProb: obs [2] and actions [1] differ');
    expect(() => pol.kl(theta, theta, tensor([0.5]))).toThrow(/TabularSoftmaxPolicy\.kl: state 0\.5/);
    expect(() => new TabularSoftmaxPolicy(0, 2)).toThrow(/S must be a positive integer/);
  });
});

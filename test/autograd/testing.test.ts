/**
 * @metagrad/autograd/testing: checkGrads passes on correct functions at orders 1–3 in both modes and
 * catches planted wrong derivatives (a first derivative off by a factor 1 + 1e-4; a second derivative
 * wrong with value and first derivative right) with messages that name the order, mode, argument and
 * index; its argument checks; the finite differences and assertAllClose; the fast-check arbitraries.
 */
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import * as ag from '@metagrad/autograd';
import { Rng, Tensor, add, broadcastTo, grad, matmul, randn, stopGradient, tensor } from '@metagrad/autograd';
import {
  GradCheckError, arb, assertAllClose, centralDifference, checkGrads, compare, numericalGrad, numericalJvp, relErr, type MLPParams,
} from '@metagrad/autograd/testing';
import { GaussianMLPPolicy } from '@metagrad/rl/estimators';

/** The Gaussian policy's mean network: tanh hidden layers, linear output; obs [N, obsDim] → [N, actDim]. */
const mlp = (obs: Tensor, layers: { W: Tensor; b: Tensor }[]): Tensor =>
  layers.reduce((h, l, i) => {
    const z = h.matmul(l.W).add(l.b);
    return i + 1 < layers.length ? z.tanh() : z;
  }, obs);

/** f with its first derivative (and every higher one) scaled by 1 + c, its value unchanged: y + c·(y − ⊥y). */
const scaledDerivative = (y: Tensor, c: number): Tensor => y.add(y.sub(stopGradient(y)).mul(c));
/** f with its value and first derivative right but c·∇y∇yᵀ added to its second: y + c·½(y − ⊥y)². */
const wrongSecond = (y: Tensor, c: number): Tensor => y.add(y.sub(stopGradient(y)).square().mul(c / 2));

describe('checkGrads passes on correct functions, orders 1–3, reverse and forward mode', () => {
  it('a tanh MLP (non-scalar output [N, actDim]) on fast-check parameters and inputs', () => {
    fc.assert(
      fc.property(arb.mlpParams({ obsDim: 2, actDim: 2, hidden: [3] }), arb.tensor({ shape: [2, 2], min: -2, max: 2 }), (p, obs) => {
        const leaves = p.layers.flatMap((l) => [l.W, l.b]);
        const f = (x: Tensor, ...ls: Tensor[]): Tensor => mlp(x, [{ W: ls[0]!, b: ls[1]! }, { W: ls[2]!, b: ls[3]! }]);
        const r = checkGrads(f, [obs, ...leaves], { order: 3 });
        // every order and mode, one comparison per argument
        expect(r.length).toBe(3 * 2 * 5);
        expect(r.every((c) => c.ok)).toBe(true);
        expect(new Set(r.map((c) => `${c.order}${c.mode}`))).toEqual(new Set(['1rev', '1fwd', '2rev', '2fwd', '3rev', '3fwd']));
      }),
      { numRuns: 6, seed: 1 },
    );
  });

  it('logSumExp along a random axis of fast-check shapes and values', () => {
    fc.assert(
      fc.property(arb.tensor({ shape: arb.shape({ minRank: 1, maxRank: 3 }), min: -3, max: 3 }), fc.nat(), (x, k) => {
        const axis = k % x.ndim;
        expect(checkGrads((t) => t.logSumExp(axis), [x], { order: 3 }).every((c) => c.ok)).toBe(true);
      }),
      { numRuns: 25, seed: 2 },
    );
  });

  it('a matmul chain A·tanh(B)·C with broadcast bias, three arguments', () => {
    const rng = new Rng(3);
    const A = randn([2, 3], rng), B = randn([3, 3], rng), C = randn([3, 2], rng), d = randn([2], rng);
    const r = checkGrads((a, b, c, e) => add(matmul(matmul(a, b.tanh()), c), broadcastTo(e, [2, 2])).square(), [A, B, C, d], { order: 3 });
    expect(r.filter((c) => c.mode === 'rev')).toHaveLength(12);
    expect(r.every((c) => c.ok)).toBe(true);
  });

  it('one mode, a coordinate subset, and float32 arguments (checked in float64)', () => {
    const x = tensor([[0.3, -0.7, 1.1], [0.2, 0.9, -1.4]], undefined, { dtype: 'float32' });
    expect(checkGrads((t) => t.softmax(-1), [x], { order: 2, modes: ['fwd'] }).map((c) => `${c.order}${c.mode}`)).toEqual(['1fwd', '2fwd']);
    const r = checkGrads((t) => t.exp().sum(), [randn([40], 4)], { order: 1, modes: ['rev'], coordinates: 5 });
    expect(r).toHaveLength(1);
    expect(r[0]!.ok).toBe(true);
  });
});

describe('checkGrads catches planted wrong derivatives', () => {
  it('a first derivative off by a factor 1 + 1e-4: order 1 fails in both modes, naming argument 1 only', () => {
    const a = tensor([0.5, -2]), b = tensor([0.5, -1.5, 1]);
    // f(a, b) = a ⊗ b³, with the planted error on b's path only: ∂f/∂a is right, ∂f/∂b is (1 + 1e-4)·3a b²
    const f = (x: Tensor, y: Tensor): Tensor => x.reshape([2, 1]).mul(scaledDerivative(y.pow(3), 1e-4));
    let err: unknown;
    try {
      checkGrads(f, [a, b], { order: 2 });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(GradCheckError);
    const e = err as GradCheckError;
    expect(e.order).toBe(1);
    expect(e.failures.map((c) => `${c.order} ${c.mode} ${c.argument}`)).toEqual(['1 rev 1', '1 fwd 1']);
    for (const c of e.failures) {
      expect(c.got / c.expected).toBeCloseTo(1 + 1e-4, 9);
      expect(c.relErr).toBeCloseTo(1e-4, 9);
    }
    const [rev, fwd] = e.failures as [GradCheckError['failures'][number], GradCheckError['failures'][number]];
    const num = (v: number): string => String(Number(v.toPrecision(9))).replace(/[.-]/g, '\\$&');
    expect(e.message).toMatch(new RegExp([
      '^checkGrads: order-1 derivatives of f disagree with central finite differences \\(float64, eps 1e-4, tolerance atol 1e-8 \\+ rtol 1e-6 · max\\|finite differences\\|, seed 0\\):',
      `  order 1, mode rev \\(vjp of f, random cotangents\\), argument 1 \\(shape \\[3\\]\\), worst at index \\[${rev.index[0]}\\] of its derivative: expected ${num(rev.expected)} \\(finite differences\\), got ${num(rev.got)} \\(autodiff\\); relative error 1\\.00e-4 \\(.*\\)`,
      `  order 1, mode fwd \\(jvp of f, random tangents\\), argument 1 \\(shape \\[3\\]\\) perturbed, worst at index \\[${fwd.index.join(', ')}\\] of the output \\[2, 3\\]: expected ${num(fwd.expected)} \\(finite differences\\), got ${num(fwd.got)} \\(autodiff\\); relative error 1\\.00e-4 \\(.*\\)`,
      '  \\(orders above 1 were not checked\\)',
      "  If f uses stopGradient or a custom derivative, its derivatives differ from its value's by design: finite differences see only the value\\.$",
    ].join('\n')));
    // the worst reverse-mode index is the largest |∂f/∂b| = |u·a|·3b², at b = −1.5
    expect(rev.index).toEqual([1]);
  });

  it('a wrong second derivative with value and first derivative right: order 1 passes, order 2 fails (in both modes), order 3 stops there', () => {
    const x = tensor([0.4, -0.8, 1.2]);
    const f = (t: Tensor): Tensor => wrongSecond(t.tanh().mul(t).sum(), 1e-3);
    expect(checkGrads(f, [x], { order: 1 }).every((c) => c.ok)).toBe(true);
    for (const order of [2, 3] as const) {
      let err: unknown;
      try {
        checkGrads(f, [x], { order });
      } catch (e) {
        err = e;
      }
      const e = err as GradCheckError;
      expect(e).toBeInstanceOf(GradCheckError);
      expect(e.order).toBe(2);
      expect(e.failures.map((c) => `${c.order} ${c.mode}`)).toEqual(['2 rev', '2 fwd']);
      expect(e.message).toContain('checkGrads: order-2 derivatives of f disagree with central finite differences');
      expect(e.message).toContain("  order 2, mode rev (vjp of f's vjp, random cotangents), argument 0 (shape [3]), worst at index [");
      expect(e.message).toContain("  order 2, mode fwd (jvp of f's jvp, random tangents), argument 0 (shape [3]) perturbed, the scalar output: expected ");
      expect(e.message.includes('(orders above 2 were not checked)')).toBe(order === 3);
      expect(e.message).not.toContain('order 1,');
    }
  });

  it('the same planted errors in forward mode only or reverse mode only are caught in that mode', () => {
    const x = tensor([0.3, 0.6]);
    const f = (t: Tensor): Tensor => scaledDerivative(t.exp(), 1e-4);
    expect(() => checkGrads(f, [x], { order: 1, modes: ['fwd'] })).toThrow(/order 1, mode fwd .*relative error 1\.00e-4/);
    expect(() => checkGrads(f, [x], { order: 1, modes: ['rev'] })).toThrow(/order 1, mode rev .*relative error 1\.00e-4/);
    // a planted error below the tolerance passes
    expect(checkGrads((t: Tensor) => scaledDerivative(t.exp(), 1e-8), [x], { order: 1 }).every((c) => c.ok)).toBe(true);
  });
});

describe('checkGrads on customVjp: a user-written derivative', () => {
  // softplus(x)·y with its VJP written by hand: ∂/∂x = σ(x)·y·g, ∂/∂y = softplus(x)·g
  const rule = (scale: number) => (g: Tensor, _out: Tensor, x: Tensor, y: Tensor): Tensor[] => [g.mul(x.sigmoid()).mul(y).mul(scale), g.mul(x.softplus())];
  const x = tensor([0.4, -1.2, 2.0]), y = tensor([1.5, 0.7, -0.3]);

  it('passes the right rule at orders 1–3 in both modes (the rule is differentiated again; forward mode transposes it)', () => {
    const f = ag.customVjp((a: Tensor, b: Tensor) => a.softplus().mul(b), rule(1), 'softplusTimes');
    expect(checkGrads((a, b) => f(a, b).tanh(), [x, y], { order: 3 }).every((c) => c.ok)).toBe(true);
  });

  it('catches a rule off by a factor 1 + 1e-4 in its first input, in both modes, naming that argument', () => {
    const f = ag.customVjp((a: Tensor, b: Tensor) => a.softplus().mul(b), rule(1 + 1e-4), 'softplusTimes');
    let err: unknown = null;
    try {
      checkGrads((a, b) => f(a, b).tanh(), [x, y], { order: 1 });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(GradCheckError);
    const msg = (err as Error).message;
    expect(msg).toMatch(/order 1, mode rev .*argument 0 \(shape \[3\]\).*relative error 1\.00e-4/);
    expect(msg).toMatch(/order 1, mode fwd .*argument 0 \(shape \[3\]\).*relative error 1\.00e-4/);
    expect(msg).not.toMatch(/argument 1/);
  });
});

describe('checkGrads argument checks', () => {
  const x = tensor([1, 2]);
  it('names what is wrong', () => {
    expect(() => checkGrads((t) => t, [x, 3 as unknown as Tensor], { order: 1 })).toThrow('checkGrads: argument 1 is not a Tensor (got number); every argument must be a Tensor');
    expect(() => checkGrads((t) => t, x as unknown as Tensor[], { order: 1 })).toThrow('checkGrads: args must be an array of tensors');
    expect(() => checkGrads((t) => t, [], { order: 1 })).toThrow('checkGrads: no arguments');
    expect(() => checkGrads((() => 3) as unknown as (t: Tensor) => Tensor, [x], { order: 1 })).toThrow('checkGrads: f must return a Tensor, got number');
    expect(() => checkGrads('f' as unknown as (t: Tensor) => Tensor, [x], { order: 1 })).toThrow('checkGrads: f must be a function, got string');
    expect(() => checkGrads((t) => t, [x], { order: 4 as 1 })).toThrow('checkGrads: order must be 1, 2 or 3, got 4');
    expect(() => checkGrads((t) => t, [x], {} as { order: 1 })).toThrow('checkGrads: order must be 1, 2 or 3, got undefined');
    expect(() => checkGrads((t) => t, [x], undefined as unknown as { order: 1 })).toThrow('checkGrads: options are required');
    expect(() => checkGrads((t) => t, [x], { order: 1, modes: ['rev', 'bwd' as 'rev'] })).toThrow(`checkGrads: modes must be a non-empty array of 'rev' and 'fwd', got ["rev","bwd"]`);
    expect(() => checkGrads((t) => t, [x], { order: 1, eps: 0 })).toThrow('checkGrads: eps must be a positive finite number, got 0');
    expect(() => checkGrads((t) => t, [x], { order: 1, rtol: -1 })).toThrow('checkGrads: rtol must be a non-negative finite number, got -1');
    expect(() => checkGrads((t) => t, [x], { order: 1, coordinates: 0 })).toThrow('checkGrads: coordinates must be a positive integer, got 0');
    expect(() => checkGrads((t) => t.log(), [tensor([1, -1])], { order: 1 })).toThrow('checkGrads: f(args) is NaN at index [1] of its output [2]; check at a point where f is finite');
  });

  it('float32: the arguments are checked as float64 copies; an f that computes in float32 is refused', () => {
    const x32 = tensor([0.5, 1.5], undefined, { dtype: 'float32' });
    expect(checkGrads((t) => t.square(), [x32], { order: 2 }).every((c) => c.ok)).toBe(true);
    expect(() => checkGrads((t) => t.astype('float32').square(), [x32], { order: 1 })).toThrow(
      'checkGrads: f returned a float32 tensor for float64 arguments; checkGrads compares derivatives in float64, so f must compute in its arguments\' dtype',
    );
    const c32 = tensor([2, 3], undefined, { dtype: 'float32' });
    expect(() => checkGrads((t) => t.mul(c32), [x32], { order: 1 })).toThrow(/^checkGrads: f threw when called with float64 copies of its float32 arguments .*: mul: dtype mismatch/);
  });
});

describe('the finite differences and assertAllClose', () => {
  it('numericalGrad, numericalJvp and centralDifference match closed forms to ~1e-10', () => {
    const x = tensor([0.3, -1.2]), y = tensor([[0.5, 2]]);
    const [gx, gy] = numericalGrad((a, b) => a.mul(b).exp().sum(), [x, y]);
    const e = x.mul(y).exp();
    assertAllClose(gx!, e.mul(y).sum(0), { rtol: 1e-10, what: '∂/∂x' });
    assertAllClose(gy!, e.mul(x).reshape([1, 2]), { rtol: 1e-10, what: '∂/∂y' });
    const v = tensor([1, -1]);
    assertAllClose(numericalJvp((a) => a.tanh(), [x], [v]), x.tanh().square().neg().add(1).mul(v), { rtol: 1e-10 });
    // Richardson extrapolation is exact on cubics up to rounding; plain central differences are off by h²·f‴/6
    const cube = (z: Float64Array): number => z[0]! ** 3;
    expect(Math.abs(centralDifference(cube, [1], [1])[0]! - 3)).toBeLessThan(1e-10);
    expect(centralDifference(cube, [1], [1], { eps: 1e-2, richardson: false })[0]! - 3).toBeCloseTo(1e-4, 12);
    expect(() => numericalGrad((a) => a, [x])).toThrow('numericalGrad: f must return a scalar (size-1) tensor, got shape [2]');
  });

  it('compare and assertAllClose: max|a − b| ≤ atol + rtol·max|b|, with the worst index in the message', () => {
    expect(compare([1, 2, 3], [1, 2, 3.003], 1e-3)).toMatchObject({ ok: true, worst: 2 });
    expect(compare([1, 2, 3], [1, 2, 3.004], 1e-3).ok).toBe(false);
    expect(compare([0, 1e-12], [0, 0], 0, 1e-11).ok).toBe(true);
    expect(compare([NaN], [NaN], 1).ok).toBe(false);
    expect(relErr(tensor([1, 2]), [1, 4])).toBe(0.5);
    expect(() => assertAllClose(tensor([[1, 2], [3, 4]]), tensor([[1, 2], [3, 4.1]]), { what: 'H' })).toThrow(
      /^H: relative error 2\.439e-2 > rtol 0\.000001 .*\n {2}worst at index \[1, 1\]: got 4, expected 4\.1\n/,
    );
    expect(() => assertAllClose(tensor([1, 2]), tensor([[1, 2]]))).toThrow('assertAllClose: shapes differ: got [2], expected [1, 2]');
  });
});

describe('the arbitraries', () => {
  it('shapes and broadcast pairs stay within their bounds, and the pairs broadcast', () => {
    fc.assert(
      fc.property(arb.shape({ minRank: 1, maxRank: 4, minDim: 0, maxDim: 2 }), arb.broadcastShapes({ maxRank: 4, maxDim: 3 }), (s, [a, b]) => {
        expect(s.length >= 1 && s.length <= 4 && s.every((d) => d >= 0 && d <= 2)).toBe(true);
        expect(a.length <= 4 && b.length <= 4).toBe(true);
        const out = ag.add(ag.zeros(a), ag.zeros(b)).shape;
        expect(out.length).toBe(Math.max(a.length, b.length));
      }),
      { numRuns: 200, seed: 5 },
    );
    expect(() => arb.shape({ minRank: 3, maxRank: 2 })).toThrow('arb.shape: maxRank (2) is below minRank (3)');
  });

  it('tensors have the shape, dtype and range asked for; awayFromZero keeps |x| ≥ its value', () => {
    fc.assert(
      fc.property(
        arb.tensor({ shape: [2, 3], dtype: 'float32', min: -2, max: 5 }),
        arb.tensor({ shape: arb.shape({ maxRank: 2 }), min: -1, max: 1, awayFromZero: 0.25 }),
        (t, u) => {
          expect(t.shape).toEqual([2, 3]);
          expect(t.dtype).toBe('float32');
          expect(t.data.every((v) => v >= -2 && v <= 5)).toBe(true);
          expect(u.dtype).toBe('float64');
          expect(u.data.every((v) => Math.abs(v) >= 0.25 && Math.abs(v) <= 1)).toBe(true);
        },
      ),
      { numRuns: 100, seed: 6 },
    );
  });

  it('mlpParams has the structure of @metagrad/rl’s GaussianMLPParams: its policy takes them', () => {
    const policy = new GaussianMLPPolicy({ obsDim: 3, actDim: 2, hidden: [4, 5] });
    fc.assert(
      fc.property(arb.mlpParams({ obsDim: 3, actDim: 2, hidden: [4, 5], logStd: [-0.5, 0] }), (p: MLPParams) => {
        expect(p.layers.map((l) => [l.W.shape, l.b.shape])).toEqual([[[3, 4], [4]], [[4, 5], [5]], [[5, 2], [2]]]);
        expect(p.logStd.shape).toEqual([2]);
        expect(p.logStd.data.every((v) => v >= -0.5 && v <= 0)).toBe(true);
        const obs = tensor([[0.1, 0.2, 0.3]]), act = tensor([[0.5, -0.5]]);
        // the policy's log-likelihood is differentiable in every leaf
        const g = grad((q: MLPParams) => policy.logProb(q, obs, act).sum())(p);
        expect(g.layers).toHaveLength(3);
      }),
      { numRuns: 10, seed: 7 },
    );
  });
});

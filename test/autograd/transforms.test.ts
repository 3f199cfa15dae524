/**
 * The transforms over pytrees: hessian of random small MLPs against finite differences, hvp against
 * hessian·v, grad∘grad composition, vjp/jacobian, gradients with gradOutputs and createGraph, noGrad.
 */
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import * as ag from '@metagrad/autograd';
import { Rng, Tensor, grad, gradients, hessian, hvp, jacobian, noGrad, randn, tensor, valueAndGrad, vjp } from '@metagrad/autograd';
import { allClose, fdGrad, flatten } from '../helpers.js';

/** A random small MLP x ↦ Σ tanh(tanh(x·W1 + b1)·W2 + b2)·c on a fixed batch, as a function of flat params. */
function mlpProblem(seed: number, din: number, dh: number, nb: number) {
  const rng = new Rng(seed);
  const X = randn([nb, din], rng);
  const c = randn([1], rng);
  const sizes = [din * dh, dh, dh, 1];
  const n = sizes.reduce((a, b) => a + b, 0);
  const f = (theta: Tensor): Tensor => {
    let o = 0;
    const take = (len: number, shape: number[]): Tensor => {
      const t = theta.slice([o], [o + len]).reshape(shape);
      o += len;
      return t;
    };
    const W1 = take(din * dh, [din, dh]), b1 = take(dh, [dh]), W2 = take(dh, [dh, 1]), b2 = take(1, [1]);
    return X.matmul(W1).add(b1).tanh().matmul(W2).add(b2).tanh().mul(c).sum();
  };
  return { f, theta: randn([n], rng).mul(0.7), n };
}

describe('hessian of random small MLPs equals finite differences', () => {
  it('fast-check over sizes and seeds', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 5 }), fc.nat(), (din, dh, nb, seed) => {
        const { f, theta, n } = mlpProblem(seed, din, dh, nb);
        const H = hessian(f)(theta);
        expect(H.shape).toEqual([n, n]);
        // finite differences of the exact gradient, column by column
        const fdH = new Float64Array(n * n);
        for (let j = 0; j < n; j++) {
          const e = new Float64Array(n);
          e[j] = 1e-5;
          const gp = grad(f)(ag.add(theta, tensor(e))).data, gm = grad(f)(ag.sub(theta, tensor(e))).data;
          for (let i = 0; i < n; i++) fdH[i * n + j] = (gp[i]! - gm[i]!) / 2e-5;
        }
        allClose(H, fdH, 1e-6, 'hessian');
        // and the Hessian is symmetric
        allClose(H, H.transpose(), 1e-12, 'symmetry');
      }),
      { numRuns: 20, seed: 7 },
    );
  });
});

describe('hvp', () => {
  it('equals hessian(f)(x)·v for random MLPs', () => {
    fc.assert(
      fc.property(fc.nat(), (seed) => {
        const { f, theta, n } = mlpProblem(seed, 2, 3, 4);
        const v = randn([n], seed + 1);
        allClose(hvp(f, theta, v), hessian(f)(theta).matmul(v), 1e-10, 'hvp vs H·v');
      }),
      { numRuns: 20, seed: 11 },
    );
  });

  it('works over pytrees and gives zeros for leaves f does not use', () => {
    const p = { a: tensor([0.5, -0.3]), b: [tensor([[1.5]]), tensor([2])] };
    const f = (q: typeof p): Tensor => q.a.exp().sum().mul(q.b[0]!.sum()).add(q.a.square().sum());
    const v = { a: tensor([1, 2]), b: [tensor([[3]]), tensor([4])] };
    const r = hvp(f, p, v);
    // f = (e^a0 + e^a1)·B + a0² + a1²; H·v by hand
    const [a0, a1, B] = [0.5, -0.3, 1.5];
    allClose(r.a, [Math.exp(a0) * B * 1 + 2 * 1 + Math.exp(a0) * 3, Math.exp(a1) * B * 2 + 2 * 2 + Math.exp(a1) * 3], 1e-12, 'hvp a');
    allClose(r.b[0]!, [Math.exp(a0) * 1 + Math.exp(a1) * 2], 1e-12, 'hvp B');
    expect(r.b[1]!.toNested()).toEqual([0]);
  });

  it('is zero, not an error, when no gradient has a graph (found by the fuzzer: "gradients: no outputs given")', () => {
    // f independent of x after a stopGradient (fuzz graph `t3 = stopGradient(t2)` as the output), and f = x itself,
    // whose gradient is the seed: both gradients are constants without a node
    const x = tensor([0.3, -1.2]);
    expect(hvp((t: Tensor) => ag.stopGradient(t).square().sum(), x, tensor([1, 2])).toNested()).toEqual([0, 0]);
    expect(hvp((t: Tensor) => t, tensor([0.5]), tensor([1])).toNested()).toEqual([0]);
    expect(hvp((p: Tensor[]) => p[0]!.sum().add(ag.stopGradient(p[1]!).sum()), [x, x], [x, x]).map((t) => t.toNested())).toEqual([[0, 0], [0, 0]]);
    // and it still differentiates: the gradient of a zero HVP is zero
    expect(grad((t: Tensor) => ag.sum(hvp((u: Tensor) => ag.stopGradient(u).sum(), t, t)))(x).toNested()).toEqual([0, 0]);
  });
});

describe('composition', () => {
  it('grad of grad is the second derivative (scalar), and third order composes', () => {
    const f = (x: Tensor): Tensor => x.tanh().mul(x.exp()).sum();
    const x = tensor([0.4]);
    const d1 = (y: Tensor): Tensor => grad(f)(y).sum();
    const d2 = (y: Tensor): Tensor => grad(d1)(y).sum();
    const d3 = grad(d2)(x);
    // finite differences of the exact second derivative
    allClose(d3, fdGrad(([y]) => d2(y!).item(), [x]), 1e-6, 'third');
    allClose(grad(d1)(x), fdGrad(([y]) => d1(y!).item(), [x]), 1e-6, 'second');
  });

  it('grad of a function that calls hvp', () => {
    const { f, theta, n } = mlpProblem(3, 2, 3, 3);
    const v = randn([n], 5);
    const s = (t: Tensor): Tensor => hvp(f, t, v).square().sum();
    allClose(grad(s)(theta), fdGrad(([t]) => s(t!).item(), [theta]), 1e-6, 'grad of hvp');
  });

  it('a MAML-style meta-gradient is second order: it differs from the first-order one by α·H·∇L', () => {
    const { f: J, theta } = mlpProblem(9, 2, 3, 5);
    const { f: L } = mlpProblem(10, 2, 3, 5);
    const alpha = 0.3;
    const meta = (t: Tensor): Tensor => L(ag.add(t, grad(J)(t).mul(alpha)));
    const g = grad(meta)(theta);
    allClose(g, fdGrad(([t]) => meta(t!).item(), [theta]), 1e-6, 'meta-gradient vs finite differences');
    // (I + αH_J)·∇L(θ') — the exact chain rule
    const thetaP = ag.add(theta, grad(J)(theta).mul(alpha));
    const gL = grad(L)(thetaP);
    allClose(g, ag.add(gL, hvp(J, theta, gL).mul(alpha)), 1e-10, 'chain rule');
    expect(ag.sub(g, gL).abs().max().item()).toBeGreaterThan(1e-3);
  });
});

describe('gradients', () => {
  it('with gradOutputs computes vector-Jacobian products of non-scalar outputs', () => {
    const x = tensor([[1, 2], [3, 4]]);
    const y = x.square().mul(tensor([1, -1]));
    const w = tensor([[0.5, 1], [2, -3]]);
    const [g] = gradients(y, [x], { gradOutputs: [w] });
    expect(g!.toNested()).toEqual([[0.5 * 2 * 1 * 1, 1 * 2 * 2 * -1], [2 * 2 * 3, -3 * 2 * 4 * -1]]);
  });

  it('sums over several outputs and differentiates intermediate tensors', () => {
    const x = tensor([0.3, 0.6]);
    const h = x.exp();
    const y1 = h.sum(), y2 = h.square().sum();
    const [gx, gh] = gradients([y1, y2], [x, h]);
    allClose(gh!, ag.add(1, h.mul(2)), 1e-15);
    allClose(gx!, ag.mul(ag.add(1, h.mul(2)), h), 1e-15);
  });

  it('without createGraph returns constants; with it, the result differentiates again', () => {
    const x = tensor([0.7]);
    const y = x.pow(3).sum();
    const [g0] = gradients(y, [x]);
    expect(g0!.node).toBeNull();
    const [g1] = gradients(y, [x], { createGraph: true });
    const [h] = gradients(g1!.sum(), [x]);
    allClose(h!, [6 * 0.7], 1e-14);
  });

  it('iterative topological order: a 20,000-op chain does not overflow the stack', () => {
    const x = tensor([1]);
    let y = x;
    for (let i = 0; i < 20000; i++) y = y.mul(1.0001).add(-0.00001);
    const [g] = gradients(y.sum(), [x]);
    allClose(g!, [Math.pow(1.0001, 20000)], 1e-10);
  });
});

describe('valueAndGrad, vjp, jacobian, noGrad', () => {
  it('valueAndGrad returns f(p) and a gradient with p’s structure', () => {
    const p = { w: tensor([1, 2]), b: tensor(3) };
    const [v, g] = valueAndGrad((q: typeof p) => q.w.square().sum().mul(q.b))(p);
    expect(v.item()).toBe(15);
    expect(g.w.toNested()).toEqual([6, 12]);
    expect(g.b.toNested()).toBe(5);
  });

  it('vjp and jacobian agree with each other and with finite differences', () => {
    const f = (x: Tensor): Tensor => x.matmul(tensor([[1, 2, 0], [0, -1, 3]])).tanh();
    const x = tensor([[0.2, -0.4]]);
    const J = jacobian(f)(x);
    expect(J.shape).toEqual([1, 3, 1, 2]);
    const [out, back] = vjp(f, x);
    expect(out.shape).toEqual([1, 3]);
    const ct = tensor([[1, -2, 0.5]]);
    allClose(back(ct), J.reshape([3, 2]).transpose().matmul(ct.reshape([3])).reshape([1, 2]), 1e-14);
    for (let i = 0; i < 3; i++)
      allClose(J.reshape([3, 2]).index(i), fdGrad(([y]) => f(y!).data[i]!, [x]), 1e-6, `jacobian row ${i}`);
  });

  it('noGrad records nothing, and transforms still work inside it (returning constants)', () => {
    const x = tensor([0.5]);
    const y = noGrad(() => x.exp());
    expect(y.node).toBeNull();
    expect(() => gradients(y.sum(), [x])).toThrow(/not used to compute the outputs/);
    const g = noGrad(() => grad((t: Tensor) => t.exp().sum())(x));
    allClose(g, [Math.exp(0.5)], 1e-15);
    expect(g.node).toBeNull();
  });

  it('hessian is [n, n] for a flat input and symmetric', () => {
    const H = hessian((x: Tensor) => x.square().sum().mul(x.sum()))(tensor([1, 2, 3]));
    // f = (Σx²)(Σx): H = 2(Σx)I + 2(x1ᵀ + 1xᵀ)
    const x = [1, 2, 3], s = 6;
    const expected = x.flatMap((xi, i) => x.map((xj, j) => (i === j ? 2 * s : 0) + 2 * xi + 2 * xj));
    expect(H.shape).toEqual([3, 3]);
    allClose(H, expected, 1e-14);
  });
});

describe('stopGradient and the DiCE magic box', () => {
  it('stopGradient keeps the value and has zero derivative at orders 1, 2, 3', () => {
    const x = tensor([0.3, -1.2]);
    const f = (t: Tensor): Tensor => ag.stopGradient(t).square().mul(t).sum();
    // f = Σ c·t with c = x² held constant: ∇f = c, all higher derivatives 0
    expect(ag.stopGradient(x).toNested()).toEqual(x.toNested());
    allClose(grad(f)(x), [0.09, 1.44], 1e-15);
    expect(flatten([hessian(f)(x)]).every((v) => v === 0)).toBe(true);
    const third = grad((t: Tensor) => hvp(f, t, tensor([1, 1])).sum())(x);
    expect(third.toNested()).toEqual([0, 0]);
    const pure = (t: Tensor): Tensor => ag.stopGradient(t.exp()).sum();
    expect(() => gradients(pure(x), [x])).toThrow(/not used/);
    expect(grad(pure)(x).toNested()).toEqual([0, 0]);
  });

  it('magic box exp(x − ⊥x) has value 1 and every derivative equal to exp(x)’s at the point ·1', () => {
    fc.assert(
      fc.property(fc.double({ min: -2, max: 2, noNaN: true }), fc.double({ min: -2, max: 2, noNaN: true }), (a, r) => {
        const x0 = tensor([a]);
        const box = (x: Tensor): Tensor => ag.exp(ag.sub(x, ag.stopGradient(x)));
        expect(box(x0).item()).toBe(1);
        // d^k/dx^k [box(x)·r] = r at the point for every k (the box's derivatives are those of exp(x − c) at x = c)
        const d1 = (x: Tensor): Tensor => grad((t: Tensor) => box(t).mul(r).sum())(x).sum();
        const d2 = (x: Tensor): Tensor => grad(d1)(x).sum();
        const d3 = (x: Tensor): Tensor => grad(d2)(x).sum();
        allClose(d1(x0).item(), r, 1e-15, 'd1');
        allClose(d2(x0).item(), r, 1e-15, 'd2');
        allClose(d3(x0).item(), r, 1e-15, 'd3');
        // and the product rule through the box: d²/dx² [box(x)·f(x)] = f'' + 2f' + f at the point, f = sin-free tanh
        const fx = (t: Tensor): Tensor => t.tanh();
        const g2 = grad((t: Tensor) => grad((u: Tensor) => box(u).mul(fx(u)).sum())(t).sum())(x0).item();
        const th = Math.tanh(a), s = 1 - th * th;
        allClose(g2, -2 * th * s + 2 * s + th, 1e-12, 'box·f second derivative');
      }),
      { numRuns: 50, seed: 3 },
    );
  });
});

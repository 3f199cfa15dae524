/**
 * vmap beyond single ops: nested vmaps, in/out axes and shared arguments, pytrees, customVjp under vmap,
 * per-example Hessians, a tanh-MLP policy's per-example gradients equal to a loop (the benchmark's
 * workload at a small size), and the errors a user can act on.
 */
import { describe, it, expect } from 'vitest';
import { Rng, type Tensor, customVjp, grad, hessian, jvp, randn, stack, tensor, vmap } from '@metagrad/autograd';
import { allClose } from '../helpers.js';

const rng = new Rng(11);
const W1 = randn([5, 8], rng).mul(0.4), W2 = randn([8, 2], rng).mul(0.4);
type P = { W1: Tensor; W2: Tensor; logStd: Tensor };
const params: P = { W1, W2, logStd: tensor([0.1, -0.2]) };
/** log π(a|o) of a tanh-MLP Gaussian policy for one (o, a). */
const logp = (p: P, o: Tensor, a: Tensor): Tensor => {
  const mean = o.matmul(p.W1).tanh().matmul(p.W2);
  const z = a.sub(mean).div(p.logStd.exp());
  return z.square().mul(-0.5).sub(p.logStd).sum();
};

describe('vmap', () => {
  const N = 7;
  const obs = randn([N, 5], rng), act = randn([N, 2], rng);
  const row = (t: Tensor, i: number): Tensor => t.slice([i], [i + 1]).reshape(t.shape.slice(1) as number[]);

  it("per-example gradients of a policy's log-likelihood equal a loop of grad calls", () => {
    const per = vmap((o: Tensor, a: Tensor) => grad((p: P) => logp(p, o, a))(params))(obs, act);
    for (let i = 0; i < N; i++) {
      const g = grad((p: P) => logp(p, row(obs, i), row(act, i)))(params);
      allClose(row(per.W1, i), g.W1, 1e-13, `W1, example ${i}`);
      allClose(row(per.W2, i), g.W2, 1e-13, `W2, example ${i}`);
      allClose(row(per.logStd, i), g.logStd, 1e-13, `logStd, example ${i}`);
    }
    expect(per.W1.shape).toEqual([N, 5, 8]);
  });

  it('per-example Hessians, and grad of a vmapped sum', () => {
    const f = (x: Tensor): Tensor => x.matmul(W1).tanh().sum();
    const H = vmap(hessian(f))(obs);
    expect(H.shape).toEqual([N, 5, 5]);
    for (let i = 0; i < N; i++) allClose(row(H, i), hessian(f)(row(obs, i)), 1e-13, `H ${i}`);
    const g = grad((x: Tensor) => vmap(f)(x).sum())(obs);
    for (let i = 0; i < N; i++) allClose(row(g, i), grad(f)(row(obs, i)), 1e-13, `grad ${i}`);
  });

  it('nested vmaps, in and out axes, shared (null) arguments, pytrees', () => {
    const x = randn([3, 4, 5], rng); // vmap over axis 1 outside, axis 0 inside
    const inner = (v: Tensor, s: Tensor): Tensor => v.mul(s).sum();
    const out = vmap((m: Tensor) => vmap(inner, [0, null])(m, tensor(2)), 1)(x);
    expect(out.shape).toEqual([4, 3]);
    for (let j = 0; j < 4; j++) for (let i = 0; i < 3; i++)
      expect(out.toNested()).toSatisfy((o: number[][]) => Math.abs(o[j]![i]! - x.slice([i, j], [i + 1, j + 1]).sum().mul(2).item()) < 1e-12);
    const moved = vmap((v: Tensor) => v.mul(2), 0, 1)(obs);
    expect(moved.shape).toEqual([5, N]);
    allClose(moved, obs.T.mul(2), 0, 'outAxes 1');
    const tree = vmap((d: { a: Tensor; b: Tensor[] }) => ({ s: d.a.add(d.b[0]!), t: [d.b[0]!.mul(3)] }), [{ a: 0, b: [null] }])({ a: obs, b: [tensor([1, 2, 3, 4, 5])] });
    allClose(tree.s, obs.add(tensor([1, 2, 3, 4, 5])), 0, 'pytree in, batched out');
    expect(tree.t[0]!.shape).toEqual([N, 5]); // an unbatched output is broadcast along the batch
  });

  it('jvp inside and outside vmap', () => {
    const f = (x: Tensor): Tensor => x.tanh().mul(x).sum();
    const v = randn([5], rng);
    const inside = vmap((x: Tensor) => jvp(f, x, v)[1])(obs);
    const outside = jvp((x: Tensor) => vmap(f)(x), obs, stack(Array.from({ length: N }, () => v), 0))[1];
    for (let i = 0; i < N; i++) {
      const want = jvp(f, row(obs, i), v)[1];
      allClose(row(inside, i), want, 1e-13, `inside ${i}`);
      allClose(row(outside, i), want, 1e-13, `outside ${i}`);
    }
  });

  it('customVjp under vmap: the rule is vmapped too, shared inputs get summed cotangents', () => {
    const scaledDot = customVjp((a: Tensor, b: Tensor) => a.mul(b).sum(), (g, _y, a, b) => [g.mul(b), g.mul(a)], 'dot');
    const b = tensor([1, 2, 3, 4, 5]);
    const per = vmap((a: Tensor) => grad((z: Tensor) => scaledDot(z, b))(a))(obs);
    allClose(per, stack(Array.from({ length: N }, () => b), 0), 0, 'per-example rule');
    const gb = grad((z: Tensor) => vmap((a: Tensor) => scaledDot(a, z))(obs).sum())(b);
    allClose(gb, obs.sum(0), 1e-13, 'shared input: the summed cotangent');
  });

  it('gather with indices that differ per example (categorical log-likelihoods), to third order', () => {
    const S = 3, A = 4, H = 5;
    const theta = randn([S, A], rng);
    const states = tensor(Array.from({ length: N * H }, (_, i) => (i * 7) % S), [N, H]);
    const actions = tensor(Array.from({ length: N * H }, (_, i) => (i * 5 + 1) % A), [N, H]);
    // Σ_t log softmax(θ)[s_t, a_t] · (t + 1) for one trajectory, via a flat gather (as tabularLogProb does)
    const f = (th: Tensor, s: Tensor, a: Tensor): Tensor =>
      th.logSoftmax(-1).reshape([S * A]).gather(s.mul(A).add(a), 0).mul(tensor([1, 2, 3, 4, 5])).sum();
    const vals = vmap((s: Tensor, a: Tensor) => f(theta, s, a))(states, actions);
    const hs = vmap((s: Tensor, a: Tensor) => hessian((th: Tensor) => f(th, s, a))(theta))(states, actions);
    // third order: the directional derivative of the Hessian along v, per example
    const v = randn([S, A], rng);
    const d3 = vmap((s: Tensor, a: Tensor) => jvp((th: Tensor) => hessian((u: Tensor) => f(u, s, a))(th), theta, v)[1])(states, actions);
    for (let i = 0; i < N; i++) {
      const s = row(states, i), a = row(actions, i);
      allClose(row(vals, i), f(theta, s, a), 1e-14, `value, example ${i}`);
      allClose(row(hs, i), hessian((th: Tensor) => f(th, s, a))(theta), 1e-13, `Hessian, example ${i}`);
      allClose(row(d3, i), jvp((th: Tensor) => hessian((u: Tensor) => f(u, s, a))(th), theta, v)[1], 1e-13, `third order, example ${i}`);
    }
    // batched x and batched indices along another axis; indices shorter than x on a non-gathered axis
    const xs = randn([N, 3, 4], rng), idx = tensor(Array.from({ length: N * 2 * 2 }, (_, i) => (i * 3) % 4), [N, 2, 2]);
    const got = vmap((x: Tensor, j: Tensor) => x.gather(j, 1))(xs, idx);
    for (let i = 0; i < N; i++) allClose(row(got, i), row(xs, i).gather(row(idx, i), 1), 0, `gather along axis 1, example ${i}`);
    expect(() => vmap((j: Tensor) => theta.gather(j, 1))(tensor([[[0, 4]], [[1, 2]]]))).toThrow('gather: index 4 is out of range for axis 1 of length 4');
  });

  it('errors name the problem', () => {
    expect(() => vmap((x: Tensor) => x)(obs.sum(), obs)).toThrow(/vmap: inAxes 0 is out of range for argument 0 of shape \[\]/);
    expect(() => vmap((a: Tensor, b: Tensor) => a.add(b))(obs, randn([3, 5], rng))).toThrow('vmap: batch sizes differ: argument 1 has 3 along axis 0, an earlier one 7');
    expect(() => vmap((x: Tensor) => x.item())(obs)).toThrow(/item\(\): a tensor inside vmap stands for a whole batch of values \(per-example shape \[5\]\)/);
    let leaked: Tensor | null = null;
    vmap((x: Tensor) => {
      leaked = x;
      return x;
    })(obs);
    expect(() => leaked!.add(1)).toThrow('vmap: a batched tensor was used after its vmap returned');
    expect(() => vmap((x: Tensor) => x, null)(obs)).toThrow('vmap: no argument is batched');
    expect(() => vmap((x: Tensor) => x, 0, null)(obs)).toThrow('vmap: output 0 depends on the batch, but its outAxes entry is null');
  });
});

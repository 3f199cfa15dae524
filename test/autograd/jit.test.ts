/**
 * jit (packages/autograd/src/jit.ts): the policy benchmark's second-order workloads traced and replayed
 * equal eager bit for bit in both dtypes, with chains fused and buffers planned; replays do not disturb
 * earlier results; signatures (shapes, statics, repeated tensors) retrace; the documented limits
 * (closure constants baked in, outputs without a graph) behave as documented; vmap, jvp and nested jit
 * fall back to eager; bad arguments are refused by path; checkFinite and logSumExp's −∞ rows replay.
 */
import { describe, expect, it } from 'vitest';
import {
  type Params, type Tensor, checkFinite, grad, gradients, hvp, jit, jvp, logSumExp, noGrad, randn, sum, tanh, tensor, treeLeaves, vmap,
} from '@metagrad/autograd';
import { ALPHA, type Batch, type PolicyParams, type PostBatch, hvpObjective, initPolicy, lvcObjective, makeBatches, metaObjective, randomDirection } from '../../bench/src/policy.js';

const bits = (x: Params): Float64Array[] => treeLeaves(x).map((t) => Float64Array.from(t.data));

describe('jit', () => {
  for (const dtype of ['float64', 'float32'] as const) {
    it(`${dtype}: inner_grad, meta_grad, hvp and forward-over-reverse HVP of the policy equal eager bit for bit, on new batches too`, () => {
      const params = initPolicy(1, dtype);
      const b1 = makeBatches(params, 2, 300, dtype), b2 = makeBatches(params, 5, 300, dtype);
      const v = randomDirection(params, 3);
      const works: [string, (p: PolicyParams, pre: Batch, post: PostBatch) => Params][] = [
        ['inner_grad', (p, pre) => grad((q: PolicyParams) => lvcObjective(q, pre))(p)],
        ['meta_grad', (p, pre, post) => grad((q: PolicyParams) => metaObjective(q, pre, post, ALPHA))(p)],
        ['hvp', (p, pre) => grad((q: PolicyParams) => hvpObjective(q, pre, v))(p)],
        ['hvp transform', (p, pre) => hvp((q: PolicyParams) => lvcObjective(q, pre), p, v)],
        ['forward over reverse', (p, pre) => jvp(grad((q: PolicyParams) => lvcObjective(q, pre)), p, v)[1]],
      ];
      for (const [name, fn] of works) {
        const jf = jit(fn);
        for (const b of [b1, b2, b1]) {
          const want = noGrad(() => fn(params, b.pre, b.post));
          expect(bits(noGrad(() => jf(params, b.pre, b.post))), name).toEqual(bits(want));
        }
        expect(jf.describe()[0], name).toMatch(/fused loops/);
      }
      const meta = jit((p: PolicyParams, pre: Batch, post: PostBatch) => grad((q: PolicyParams) => metaObjective(q, pre, post, ALPHA))(p));
      meta(params, b1.pre, b1.post);
      expect(meta.describe()[0]).toMatch(/\(([1-9]\d*) fused loops of \d+ primitives\), \d+ constants, [1-9]\d* planned buffers/);
    });
  }

  it('folds constants: with θ and the batch closed over, jit(v ↦ H v) replays only what depends on v, with the eager bits (both HVP forms, both dtypes)', () => {
    for (const dtype of ['float64', 'float32'] as const) {
      const params = initPolicy(1, dtype);
      const { pre } = makeBatches(params, 2, 300, dtype);
      const f = (q: PolicyParams): Tensor => lvcObjective(q, pre);
      const forms: [string, (u: PolicyParams) => Params][] = [
        ['hvp transform', (u) => hvp(f, params, u)],
        ['forward over reverse', (u) => jvp(grad(f), params, u)[1]],
      ];
      for (const [name, fn] of forms) {
        const folded = jit(fn), unfolded = jit(fn, { fold: false });
        for (const seed of [3, 4, 3]) {
          const v = randomDirection(params, seed);
          const want = bits(noGrad(() => fn(v)));
          expect(bits(noGrad(() => folded(v))), `${name} ${dtype}`).toEqual(want);
          expect(bits(noGrad(() => unfolded(v))), `${name} ${dtype}`).toEqual(want);
        }
        // the forward pass and the gradient at θ are computed once, by the traced call
        const steps = (j: { describe(): string[] }): number => Number(/: (\d+) steps/.exec(j.describe()[0]!)![1]);
        expect(steps(folded), name).toBeLessThan(0.7 * steps(unfolded));
      }
    }
  });

  it('a folded value that is an output comes back right on every call, as a new tensor; values of arguments are never folded', () => {
    const w = tensor([0.5, -1, 2]);
    const f = jit((x: Tensor) => [x.mul(w.exp()), w.exp().add(1), x]);
    for (const x of [tensor([1, 2, 3]), tensor([4, 5, 6])]) {
      const [a, b, c] = f(x) as Tensor[];
      expect(Array.from(a!.data)).toEqual(Array.from(x.data).map((xi, i) => xi * Math.exp(w.data[i]!)));
      expect(Array.from(b!.data)).toEqual(Array.from(w.data).map((wi) => Math.exp(wi) + 1));
      expect(Array.from(c!.data)).toEqual(Array.from(x.data));
      expect(c).not.toBe(x); // an argument returned as it is: a new tensor on its storage, so x itself is not marked as a jit output
      expect(() => gradients(x, [w], { gradOutputs: [tensor([1, 1, 1])], allowUnused: true })).not.toThrow();
      expect(() => gradients(c!, [w], { gradOutputs: [tensor([1, 1, 1])], allowUnused: true })).toThrow(/returned by a jit-compiled function/);
    }
    expect(f.describe()[0]).toMatch(/: 1 steps/); // only x·exp(w) is replayed; exp(w) and exp(w) + 1 are constants
  });

  it('sums over all axes but the last, or over the last, join the loop of the chain they read (both dtypes, keepDims), with the eager bits', () => {
    for (const dtype of ['float64', 'float32'] as const) {
      const f = (x: Tensor, y: Tensor, b: Tensor): Tensor[] => {
        const z = x.mul(y).add(b).square();
        return [sum(z, [0, 1]), sum(z, 2, true), z.matmul(tensor([[1], [2], [3], [4], [5]], undefined, { dtype }))];
      };
      const jf = jit(f);
      for (const seed of [1, 2]) {
        const x = randn([3, 4, 5], seed, { dtype }), y = randn([3, 4, 5], seed + 10, { dtype }), b = randn([5], seed + 20, { dtype });
        expect(bits(jf(x, y, b))).toEqual(bits(f(x, y, b)));
      }
      // [mul, add] (their result is read twice, by square), then [square, sum over axes 0, 1]; the second sum and the matmul stay
      expect(jf.describe()[0]).toMatch(/: 4 steps \(2 fused loops of 4 primitives\)/);
    }
  });

  it('a replay does not overwrite the results of earlier calls (planned buffers stay inside)', () => {
    const f = jit((x: Tensor) => {
      const h = tanh(x.mul(2).add(1)).mul(x).sub(3);
      return [h.square().add(h), sum(h)];
    });
    const x1 = randn([50, 40], 1), x2 = randn([50, 40], 2);
    const r1 = f(x1), keep = bits(r1);
    const r2 = f(x2);
    expect(bits(r1)).toEqual(keep);
    expect(bits(r2)).not.toEqual(keep);
    expect(bits(f(x1))).toEqual(keep);
  });

  it('retraces for new shapes, new static values and repeated tensors; closure constants are baked in', () => {
    let traces = 0;
    let scale = 2;
    const f = jit((x: Tensor, y: Tensor, s: { k: number }) => {
      traces++;
      return x.mul(y).mul(s.k).add(scale);
    });
    const a = tensor([1, 2, 3]), b = tensor([4, 5, 6]);
    expect(Array.from(f(a, b, { k: 1 }).data)).toEqual([6, 12, 20]);
    expect(Array.from(f(b, a, { k: 1 }).data)).toEqual([6, 12, 20]);
    expect(traces).toBe(1);
    f(a, b, { k: 3 });
    expect(traces).toBe(2); // a static value is part of the signature
    f(tensor([1, 2]), tensor([3, 4]), { k: 1 });
    expect(traces).toBe(3); // a new shape
    f(a, a, { k: 1 });
    expect(traces).toBe(4); // the same tensor twice is another signature
    expect(Array.from(f(b, b, { k: 1 }).data)).toEqual([18, 27, 38]);
    scale = 100; // a closure value is a constant of the trace, as in JAX
    expect(Array.from(f(a, b, { k: 1 }).data)).toEqual([6, 12, 20]);
    expect(f.describe()).toHaveLength(4);
  });

  it('keeps the cacheSize most recently used signatures (their buffers with them), tracing a dropped one again', () => {
    let traces = 0;
    const f = jit((x: Tensor) => {
      traces++;
      return x.mul(2);
    }, { cacheSize: 2 });
    const [a, b, c] = [tensor([1]), tensor([1, 2]), tensor([1, 2, 3])];
    f(a); f(b); f(a); f(c); // c drops b, the least recently used
    expect(traces).toBe(3);
    expect(f.describe()).toHaveLength(2);
    f(a);
    expect(traces).toBe(3);
    expect(Array.from(f(b).data)).toEqual([2, 4]);
    expect(traces).toBe(4);
    expect(() => jit((x: Tensor) => x, { cacheSize: 0 })).toThrow(/cacheSize must be a positive integer/);
  });

  it('outputs are constants: differentiate inside (jit(grad(f))); a gradient of a jitted call says so, traced or replayed', () => {
    const f = jit((x: Tensor) => sum(x.square()));
    const x = tensor([1, 2]);
    expect(() => gradients(f(x), [x])).toThrow(/output 0 was returned by a jit-compiled function, whose outputs are constants .*jit\(grad\(f\)\)/);
    expect(() => grad((y: Tensor) => f(y))(x)).toThrow(/jit-compiled function/);
    expect(Array.from((jit(grad((y: Tensor) => sum(y.square())))(x) as Tensor).data)).toEqual([2, 4]);
  });

  it('under vmap, inside jvp and inside another trace, runs f as it is (right answers)', () => {
    const f = jit((x: Tensor) => tanh(x).mul(x));
    const xs = randn([4, 3], 7);
    expect(bits(vmap(f)(xs))).toEqual(bits(vmap((x: Tensor) => tanh(x).mul(x))(xs)));
    const [y, t] = jvp(f, xs, tensor(new Float64Array(12).fill(1), [4, 3]));
    const [y0, t0] = jvp((x: Tensor) => tanh(x).mul(x), xs, tensor(new Float64Array(12).fill(1), [4, 3]));
    expect(bits([y, t])).toEqual(bits([y0, t0]));
    const outer = jit((x: Tensor) => f(x).add(1));
    outer(xs);
    expect(bits(outer(xs))).toEqual(bits(tanh(xs).mul(xs).add(1)));
  });

  it('refuses arguments that are not tensors, plain containers or static scalars, naming the path', () => {
    const f = jit((o: { a: Tensor[] }) => o.a[0]!);
    expect(() => f({ a: [new Float64Array(2) as unknown as Tensor] })).toThrow(/argument 0\.a\[0\] is a Float64Array/);
  });

  it('checkFinite holds on replay; logSumExp rows of −∞ replay as −∞', () => {
    const f = jit((x: Tensor) => x.log());
    f(tensor([1, 2]));
    expect(() => checkFinite(() => f(tensor([1, 0])))).toThrow(/checkFinite: .*-Infinity/);
    const g = jit((x: Tensor) => logSumExp(x, 1));
    g(tensor([[1, 2], [3, 4]]));
    expect(Array.from(g(tensor([[-Infinity, -Infinity], [0, 0]])).data)).toEqual([-Infinity, Math.log(2)]);
  });
});

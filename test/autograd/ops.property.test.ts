/**
 * Every op against central finite differences in float64, on shapes and values fast-check draws
 * (broadcasting included): the gradient, the second derivative (an HVP against finite differences of
 * the gradient), and the third (the gradient of uᵀ·H·v against finite differences of that scalar).
 * Each check is of F(x) = Σ w ⊙ y + ½ Σ (u ⊙ y)² with y = op(x) and random w, u: every output element
 * counts, and the cotangent reaching the op (w + u² ⊙ y) depends on x, so every path through each VJP
 * (including a VJP's dependence on its cotangent) is exercised at orders 2 and 3.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as ag from '@metagrad/autograd';
import { Rng, Tensor, gradients, grad, hvp, jvp, matmulT, rand, tensor } from '@metagrad/autograd';
import { arb, checkGrads } from '@metagrad/autograd/testing';
import { allClose, flatten } from '../helpers.js';

type Shape = number[];

interface OpCase {
  /** Input tensors (differentiated) and the op applied to them. */
  inputs: Tensor[];
  f: (xs: Tensor[]) => Tensor;
}

interface OpSpec {
  name: string;
  /** Builds a random case from a seed and fast-check-drawn shape material. */
  make: (rng: Rng, shapes: Shape[]) => OpCase | null;
  /** How many input shapes to draw and how (see shapeArb). */
  shapes: 'unary' | 'broadcast' | 'same2' | 'matmul';
}

const shapeArb = (minRank = 0, maxRank = 3): fc.Arbitrary<Shape> => arb.shape({ minRank, maxRank, maxDim: 3 });
/** Two shapes that broadcast: b drops some leading axes of a and sets some axes to 1 (roles may swap). */
const broadcastPair: fc.Arbitrary<Shape[]> = arb.broadcastShapes({ maxRank: 3, maxDim: 3 });
const dim = fc.integer({ min: 1, max: 3 });

const arbFor = (kind: OpSpec['shapes']): fc.Arbitrary<Shape[]> => {
  switch (kind) {
    case 'unary':
      return shapeArb().map((s) => [s]);
    case 'broadcast':
      return broadcastPair;
    case 'same2':
      return shapeArb().map((s) => [s, s]);
    case 'matmul':
      return fc.tuple(dim, dim, dim, fc.integer({ min: 0, max: 2 })).map(([m, k, n, b]) => [[m, k, n, b]]);
  }
};

const u = (rng: Rng, s: Shape, lo = -2, hi = 2): Tensor => rand(s, rng, lo, hi);
/** Values with |x| ∈ [lo, hi] and random signs (away from a kink at 0). */
const awayFromZero = (rng: Rng, s: Shape, lo = 0.3, hi = 2): Tensor => {
  const t = rand(s, rng, lo, hi);
  const d = t.toArray();
  for (let i = 0; i < d.length; i++) if (rng.uniform() < 0.5) d[i] = -d[i]!;
  return tensor(d, s);
};
/** Distinct values spaced ≥ 0.1 apart (no near-ties for max). */
const distinct = (rng: Rng, s: Shape): Tensor => {
  const n = s.reduce((a, b) => a * b, 1);
  const perm = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [perm[i], perm[j]] = [perm[j]!, perm[i]!];
  }
  return tensor(Float64Array.from(perm, (p) => (p - n / 2) * 0.2 + rng.uniformIn(-0.02, 0.02)), s);
};
const farApart = (a: Tensor, b: Tensor, gap = 1e-2): boolean => ag.sub(a, b).abs().data.every((v) => v > gap);

const unary = (name: string, f: (x: Tensor) => Tensor, sample: (rng: Rng, s: Shape) => Tensor = u): OpSpec => ({
  name,
  shapes: 'unary',
  make: (rng, [s]) => ({ inputs: [sample(rng, s!)], f: ([x]) => f(x!) }),
});
const binary = (name: string, f: (a: Tensor, b: Tensor) => Tensor, sa: (rng: Rng, s: Shape) => Tensor = u, sb = sa, ok?: (a: Tensor, b: Tensor) => boolean): OpSpec => ({
  name,
  shapes: 'broadcast',
  make: (rng, [s1, s2]) => {
    const a = sa(rng, s1!), b = sb(rng, s2!);
    if (ok && !ok(a, b)) return null;
    return { inputs: [a, b], f: ([x, y]) => f(x!, y!) };
  },
});
const randAxis = (rng: Rng, nd: number): number => rng.int(nd) - (rng.uniform() < 0.5 ? nd : 0);

const specs: OpSpec[] = [
  unary('neg', (x) => x.neg()),
  unary('exp', (x) => x.exp()),
  unary('log', (x) => x.log(), (r, s) => u(r, s, 0.3, 3)),
  unary('tanh', (x) => x.tanh()),
  unary('sigmoid', (x) => x.sigmoid(), (r, s) => u(r, s, -4, 4)),
  unary('softplus', (x) => x.softplus(), (r, s) => u(r, s, -4, 4)),
  unary('sqrt', (x) => x.sqrt(), (r, s) => u(r, s, 0.3, 3)),
  unary('square', (x) => x.square()),
  unary('abs', (x) => x.abs(), awayFromZero),
  unary('clip', (x) => x.clip(-0.5, 0.5), (r, s) => {
    const t = u(r, s, -1, 1);
    return t.data.every((v) => Math.abs(Math.abs(v) - 0.5) > 1e-2) ? t : t.mul(0).add(0.25);
  }),
  binary('add', (a, b) => a.add(b)),
  binary('sub', (a, b) => a.sub(b)),
  binary('mul', (a, b) => a.mul(b)),
  binary('div', (a, b) => a.div(b), u, (r, s) => awayFromZero(r, s, 0.5, 2)),
  binary('pow', (a, b) => a.pow(b), (r, s) => u(r, s, 0.5, 2), (r, s) => u(r, s, -1.5, 1.5)),
  binary('pow (scalar exponent)', (a) => a.pow(3), u),
  binary('maximum', (a, b) => a.maximum(b), u, u, (a, b) => farApart(ag.broadcastTo(a, ag.add(a, b).shape), ag.broadcastTo(b, ag.add(a, b).shape))),
  binary('minimum', (a, b) => a.minimum(b), u, u, (a, b) => farApart(ag.broadcastTo(a, ag.add(a, b).shape), ag.broadcastTo(b, ag.add(a, b).shape))),
  {
    name: 'where',
    shapes: 'broadcast',
    make: (rng, [s1, s2]) => {
      const a = u(rng, s1!), b = u(rng, s2!);
      const shape = [...ag.add(a, b).shape];
      const cond = rand(shape, rng).greater(0.5);
      return { inputs: [a, b], f: ([x, y]) => ag.where(cond, x!, y!) };
    },
  },
  {
    name: 'sum / mean (random axes, keepDims)',
    shapes: 'unary',
    make: (rng, [s]) => {
      const x = u(rng, s!);
      const nd = s!.length;
      const axis = nd === 0 || rng.uniform() < 0.3 ? undefined : randAxis(rng, nd);
      const keep = rng.uniform() < 0.5;
      return { inputs: [x], f: ([t]) => ag.add(t!.sum(axis, keep), t!.square().mean(axis, keep)) };
    },
  },
  {
    name: 'max (reduction)',
    shapes: 'unary',
    make: (rng, [s]) => {
      const x = distinct(rng, s!);
      const axis = s!.length === 0 || rng.uniform() < 0.3 ? undefined : randAxis(rng, s!.length);
      const keep = rng.uniform() < 0.5;
      return { inputs: [x], f: ([t]) => t!.max(axis, keep) };
    },
  },
  {
    name: 'logSumExp / logSoftmax / softmax',
    shapes: 'unary',
    make: (rng, [s]) => {
      if (s!.length === 0) return null;
      const axis = randAxis(rng, s!.length);
      return { inputs: [u(rng, s!)], f: ([t]) => ag.add(ag.add(t!.logSoftmax(axis), t!.softmax(axis).mul(3)), t!.logSumExp(axis, true)) };
    },
  },
  {
    name: 'reshape / expandDims / squeeze',
    shapes: 'unary',
    make: (rng, [s]) => ({ inputs: [u(rng, s!)], f: ([t]) => t!.reshape([-1]).expandDims(0).squeeze(0).reshape([...s!].reverse()).mul(t!.reshape([...s!].reverse())) }),
  },
  {
    name: 'transpose (random permutation)',
    shapes: 'unary',
    make: (rng, [s]) => {
      const perm = s!.map((_, i) => i);
      for (let i = perm.length - 1; i > 0; i--) {
        const j = rng.int(i + 1);
        [perm[i], perm[j]] = [perm[j]!, perm[i]!];
      }
      return { inputs: [u(rng, s!)], f: ([t]) => t!.transpose(perm).square() };
    },
  },
  {
    name: 'broadcastTo',
    shapes: 'broadcast',
    make: (rng, [s1, s2]) => {
      const x = u(rng, s1!);
      const target = [...ag.add(x, u(rng, s2!)).shape];
      return { inputs: [x], f: ([t]) => t!.broadcastTo(target).tanh() };
    },
  },
  {
    name: 'slice / index',
    shapes: 'unary',
    make: (rng, [s]) => {
      if (s!.length === 0) return null;
      const starts = s!.map((d) => rng.int(d));
      const ends = s!.map((d, i) => starts[i]! + 1 + rng.int(d - starts[i]!));
      const i0 = rng.int(s![0]!);
      return { inputs: [u(rng, s!)], f: ([t]) => ag.add(t!.slice(starts, ends).exp().sum(), t!.index(i0).square().sum()) };
    },
  },
  {
    name: 'concat / stack',
    shapes: 'same2',
    make: (rng, [s]) => {
      if (s!.length === 0) return null;
      const axis = rng.int(s!.length);
      const s2 = [...s!];
      s2[axis] = 1 + rng.int(3);
      return {
        inputs: [u(rng, s!), u(rng, s2), u(rng, s!)],
        f: ([a, b, c]) => ag.add(ag.concat([a!, b!, a!.mul(c!)], axis).tanh().sum(), ag.stack([a!, c!], 0).square().sum()),
      };
    },
  },
  {
    name: 'gather (take along axis)',
    shapes: 'unary',
    make: (rng, [s]) => {
      if (s!.length === 0) return null;
      const axis = rng.int(s!.length);
      const ishape = [...s!];
      ishape[axis] = 1 + rng.int(4);
      const idx = tensor(Float64Array.from({ length: ishape.reduce((a, b) => a * b, 1) }, () => rng.int(s![axis]!)), ishape);
      return { inputs: [u(rng, s!)], f: ([t]) => t!.gather(idx, axis).square() };
    },
  },
  {
    name: 'cumsum (forward and reverse)',
    shapes: 'unary',
    make: (rng, [s]) => {
      if (s!.length === 0) return null;
      const axis = randAxis(rng, s!.length);
      return { inputs: [u(rng, s!)], f: ([t]) => ag.mul(t!.cumsum(axis), t!.cumsum(axis, true)) };
    },
  },
  {
    name: 'matmul (2-D, batched, broadcast batch, 1-D operands)',
    shapes: 'matmul',
    make: (rng, [[m, k, n, b]]) => {
      const variant = rng.int(4);
      const sa = variant === 2 ? [k!] : b ? [b, m!, k!] : [m!, k!];
      const sb = variant === 3 ? [k!] : variant === 1 && b ? [b, k!, n!] : [k!, n!];
      return { inputs: [u(rng, sa), u(rng, sb)], f: ([x, y]) => x!.matmul(y!) };
    },
  },
  {
    name: 'matmul with transposed operands (all four forms)',
    shapes: 'matmul',
    make: (rng, [[m, k, n, b]]) => {
      const tA = rng.uniform() < 0.5, tB = rng.uniform() < 0.5;
      const pre = b ? [b] : [];
      const sa = [...pre, ...(tA ? [k!, m!] : [m!, k!])];
      const sb = tB ? [n!, k!] : [k!, n!];
      return { inputs: [u(rng, sa), u(rng, sb)], f: ([x, y]) => matmulT(x!, y!, tA, tB) };
    },
  },
];

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

/**
 * The scalar every check differentiates: F(x) = Σ w ⊙ y + ½ Σ (u ⊙ y)² with y = op(x) and random w, u
 * (drawn from rng, in that order), so every output element counts and the cotangent reaching the op
 * depends on x.
 */
function scalarized(c: OpCase, rng: Rng): (xs: Tensor[]) => Tensor {
  const outShape = [...c.f(c.inputs).shape];
  const w = rand(outShape, rng, -1, 1), u = rand(outShape, rng, -1, 1);
  return (xs) => {
    const y = c.f(xs);
    return ag.add(ag.sum(ag.mul(y, w)), ag.sum(ag.square(ag.mul(y, u))).mul(0.5));
  };
}

/** The third derivative along v and u: ∇(uᵀ·∇²F·v), one tensor per input. */
const thirdDerivative = (F: (xs: Tensor[]) => Tensor, vs: Tensor[], us: Tensor[]) => (xs: Tensor[]): Tensor[] =>
  grad((ys: Tensor[]) => ag.sum(ag.stack(hvp(F, ys, vs).map((h, i) => ag.sum(ag.mul(h, us[i]!))))))(xs);

/**
 * One case: checkGrads of F (orders 1–3, reverse and forward mode, against finite differences), then the
 * engine's own identities: jvp = gradient·v and forward-over-reverse H·v = reverse-over-reverse H·v.
 */
function checkCase(c: OpCase, rng: Rng): void {
  const F = scalarized(c, rng);
  checkGrads((...xs) => F(xs), c.inputs, { order: 3, seed: rng.int(2 ** 31) });
  const vs = c.inputs.map((x) => rand([...x.shape], rng, -1, 1));
  const v = flatten(vs);
  const g = flatten(gradients(F(c.inputs), c.inputs, { allowUnused: true }));
  allClose(jvp((ys: Tensor[]) => F(ys), c.inputs, vs)[1].item(), dot(g, v), 1e-10, 'jvp = gradient·v', 1e-12);
  const fwdRev = flatten(jvp((ys: Tensor[]) => gradients(F(ys), ys, { allowUnused: true }), c.inputs, vs)[1]);
  allClose(fwdRev, flatten(hvp(F, c.inputs, vs)), 1e-10, 'forward-over-reverse H·v = reverse-over-reverse H·v', 1e-12);
}

/** One test per op: `check` on `numRuns` fast-check cases (shapes of the op's kind, and a seed for values). */
function eachOp(check: (c: OpCase, rng: Rng) => void, numRuns: number, seed: number): void {
  for (const spec of specs) {
    it(spec.name, () => {
      fc.assert(
        fc.property(arbFor(spec.shapes), fc.integer({ min: 0, max: 2 ** 31 - 1 }), (shapes, valueSeed) => {
          const rng = new Rng(valueSeed);
          const c = spec.make(rng, shapes);
          fc.pre(c !== null);
          check(c!, rng);
        }),
        { numRuns, seed },
      );
    });
  }
}

describe('every op matches central finite differences at orders 1, 2 and 3, in reverse and forward mode (float64)', () => {
  eachOp(checkCase, 25, 20261124);
});

/**
 * vmap: every op's batching rule against the unbatched result. A case's inputs are perturbed into a
 * batch of examples and stacked along a random axis (some inputs left unbatched, shared by every
 * example); the vmapped value, per-example gradient, HVP, third derivative and jvp equal a loop over
 * the examples, and the gradient of a vmapped sum equals the loop's summed gradients.
 */
function checkBatched(c: OpCase, rng: Rng): void {
  const nIn = c.inputs.length;
  const batched = c.inputs.map(() => rng.uniform() < 0.7);
  if (!batched.some((b) => b)) batched[rng.int(nIn)] = true;
  const B = 1 + rng.int(3);
  const axes = c.inputs.map((x, i) => (batched[i] ? rng.int(x.ndim + 1) : null));
  // example b: batched inputs perturbed (relatively, so every op's domain is kept), shared ones as they are
  const examples = Array.from({ length: B }, (_, b) => c.inputs.map((x, i) => (batched[i] ? ag.mul(x, ag.add(rand([...x.shape], rng, -1, 1).mul(1e-3 * (b + 1)), 1)) : x)));
  const stacked = c.inputs.map((x, i) => (batched[i] ? ag.stack(examples.map((e) => e[i]!), axes[i]!) : x));
  const inAxes = [axes];
  const stack0 = (ts: Tensor[]): Tensor => ag.stack(ts, 0);
  const F = scalarized(c, rng);
  const vs = c.inputs.map((x) => rand([...x.shape], rng, -1, 1));
  const us = c.inputs.map((x) => rand([...x.shape], rng, -1, 1));
  const third = thirdDerivative(F, vs, us);
  // value
  allClose(ag.vmap((xs: Tensor[]) => c.f(xs), inAxes)(stacked), stack0(examples.map((e) => c.f(e))), 1e-12, 'vmap value', 1e-14);
  // per-example gradient, HVP, third derivative and jvp, one stacked tensor per input
  const perInput = (fn: (xs: Tensor[]) => Tensor[]): Tensor[] => {
    const loop = examples.map(fn);
    return c.inputs.map((_, i) => stack0(loop.map((r) => r[i]!)));
  };
  const cmp = (what: string, got: Tensor[], want: Tensor[]): void => got.forEach((g, i) => allClose(g, want[i]!, 1e-11, `${what}, input ${i}`, 1e-13));
  cmp('vmap(grad)', ag.vmap(grad((xs: Tensor[]) => F(xs)), inAxes)(stacked), perInput(grad((xs: Tensor[]) => F(xs))));
  cmp('vmap(hvp)', ag.vmap((xs: Tensor[]) => hvp(F, xs, vs), inAxes)(stacked), perInput((xs) => hvp(F, xs, vs)));
  cmp('vmap(third derivative)', ag.vmap(third, inAxes)(stacked), perInput(third));
  allClose(ag.vmap((xs: Tensor[]) => jvp(F, xs, vs)[1], inAxes)(stacked), stack0(examples.map((e) => jvp(F, e, vs)[1])), 1e-11, 'vmap(jvp)', 1e-13);
  // grad of a vmapped sum: batched inputs get the per-example gradients in place, shared ones their sum
  const outer = grad((xs: Tensor[]) => ag.sum(ag.vmap((ys: Tensor[]) => F(ys), inAxes)(xs)))(stacked);
  const loopGrads = examples.map((e) => grad((xs: Tensor[]) => F(xs))(e));
  outer.forEach((g, i) => {
    const want = batched[i] ? ag.stack(loopGrads.map((r) => r[i]!), axes[i]!) : loopGrads.map((r) => r[i]!).reduce((a, b) => ag.add(a, b));
    allClose(g, want, 1e-11, `grad of vmap, input ${i}`, 1e-13);
  });
}

describe('every op batches under vmap: value, per-example gradient, HVP, third derivative and jvp equal a loop; grad of vmap equals the summed loop', () => {
  eachOp(checkBatched, 15, 20261130);
});

/**
 * jit: every op's value, gradient, HVP, third derivative and jvp, traced on one set of inputs and
 * replayed on another of the same shapes (fused and buffer-planned), equal the eager results bit for bit
 * on both (toEqual compares with Object.is: −0 ≠ 0, NaN = NaN).
 */
function checkJit(c: OpCase, rng: Rng): void {
  const F = scalarized(c, rng);
  const vs = c.inputs.map((x) => rand([...x.shape], rng, -1, 1));
  const us = c.inputs.map((x) => rand([...x.shape], rng, -1, 1));
  const fns: [string, (xs: Tensor[]) => ag.Params][] = [
    ['value', (xs) => c.f(xs)],
    ['gradient', (xs) => gradients(F(xs), xs, { allowUnused: true })],
    ['hvp', (xs) => hvp(F, xs, vs)],
    ['third derivative', thirdDerivative(F, vs, us)],
    ['jvp', (xs) => jvp(F, xs, vs)],
    ['forward over reverse', (xs) => jvp((ys: Tensor[]) => gradients(F(ys), ys, { allowUnused: true }), xs, vs)[1]],
  ];
  // new values of the same shapes, inside each op's domain (positive where the case's inputs are, and so on)
  const again = c.inputs.map((x) => ag.noGrad(() => ag.mul(x, ag.add(rand([...x.shape], rng, -1, 1).mul(1e-2), 1))));
  for (const [what, fn] of fns) {
    const jitted = ag.jit(fn);
    for (const [when, xs] of [['trace', c.inputs], ['replay', again], ['replay again', c.inputs]] as const) {
      const got = ag.treeLeaves(jitted(xs)), want = ag.treeLeaves(fn(xs));
      got.forEach((g, i) => expect(g.data, `${what} (${when}), output ${i}`).toEqual(want[i]!.data));
    }
  }
}

describe('every op under jit: value, gradient, HVP, third derivative, jvp and forward-over-reverse equal eager bit for bit, traced and replayed', () => {
  eachOp(checkJit, 8, 20261201);
});

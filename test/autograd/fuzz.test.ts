/**
 * The derivative fuzzer in CI: 2,000 random graphs of the engine's ops (bench/src/fuzz-graphs.ts), each checked
 * in float64 for its gradient, a Hessian-vector product and a third-order directional derivative against
 * Richardson-extrapolated central differences, to 1e-6 relative (1e-8 absolute floor). The seeds are fixed, so
 * a failure names a seed that `node bench/dist/fuzz.js --seed S --graphs 1` reproduces; longer runs:
 * `node bench/dist/fuzz.js --seconds 120`. The checker is itself checked: ops with the right value but a wrong
 * second or third derivative must make it fail, at that order and not below.
 */
import { describe, it, expect } from 'vitest';
import * as ag from '@metagrad/autograd';
import type { Tensor } from '@metagrad/autograd';
import { FUZZ_OPS, checkGraph, describeGraph, describeResult, makeGraph, opCounts } from '../../bench/src/fuzz-graphs.js';

const GRAPHS = 2000;
const SEED = 1_300_000;

/** Runs `count` graphs from `seed`; the failures' reports and which orders failed. */
function run(count: number, seed: number, override?: Parameters<typeof makeGraph>[1]): { failures: string[]; orders: Set<number>; counts: Map<string, number> } {
  const failures: string[] = [];
  const orders = new Set<number>();
  const counts = new Map<string, number>();
  for (let i = 0; i < count; i++) {
    const g = makeGraph(seed + i, override);
    const r = checkGraph(g);
    opCounts([g], counts);
    if (!r.ok) {
      failures.push(describeResult(g, r));
      r.checks.filter((c) => !c.ok).forEach((c) => orders.add(c.order));
      if (r.error) orders.add(0);
    }
  }
  return { failures, orders, counts };
}

const sg = ag.stopGradient;

describe('derivative fuzzer: random graphs against finite differences at orders 1, 2 and 3 (float64)', () => {
  it(`${GRAPHS} graphs pass, and every op is drawn`, () => {
    const { failures, counts } = run(GRAPHS, SEED);
    expect(failures.length, `${failures.length} of ${GRAPHS} graphs failed; the first:\n${failures.slice(0, 3).join('\n\n')}`).toBe(0);
    for (const op of FUZZ_OPS) expect(counts.get(op) ?? 0, `${op} drawn`).toBeGreaterThanOrEqual(25);
  });

  it('a graph is a function of its seed', () => {
    for (const seed of [1, 77, 123456]) {
      expect(describeGraph(makeGraph(seed))).toBe(describeGraph(makeGraph(seed)));
      expect(checkGraph(makeGraph(seed)).checks.map((c) => c.ad)).toEqual(checkGraph(makeGraph(seed)).checks.map((c) => c.ad));
    }
    expect(describeGraph(makeGraph(1))).not.toBe(describeGraph(makeGraph(2)));
  });

  it('the checker catches a wrong second derivative: tanh with its output treated as a constant in the VJP', () => {
    // value tanh x and gradient 1 − tanh² x, but the gradient is a constant: the second derivative is 0
    const tanh = (x: Tensor): Tensor => {
      const t = ag.tanh(sg(x));
      return ag.add(t, ag.mul(ag.sub(x, sg(x)), ag.sub(1, ag.square(t))));
    };
    const { failures, orders } = run(300, SEED, { override: { tanh } });
    expect(failures.length).toBeGreaterThan(10);
    expect([...orders].sort()).toEqual([2, 3]);
  });

  it('the checker catches a wrong third derivative only: exp exact to second order', () => {
    // value, gradient and Hessian of eˣ at every point, but a third derivative of 0 (a second-order Taylor model
    // around the point itself, with d = x − sg(x) = 0 in value)
    const exp = (x: Tensor): Tensor => {
      const e = ag.exp(sg(x)), d = ag.sub(x, sg(x));
      return ag.add(ag.add(e, ag.mul(d, e)), ag.mul(ag.square(d), ag.mul(e, 0.5)));
    };
    const { failures, orders } = run(300, SEED, { override: { exp } });
    expect(failures.length).toBeGreaterThan(10);
    expect([...orders]).toEqual([3]);
  });
});

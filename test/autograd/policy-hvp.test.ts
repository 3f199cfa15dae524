/**
 * The failure this project exists to rule out: wrong second derivatives of a two-layer tanh MLP Gaussian
 * policy's log-likelihood. The Hessian-vector product by double backward must match finite differences
 * of the gradient, block by block (each parameter tensor separately, first-layer weights included).
 */
import { describe, it } from 'vitest';
import fc from 'fast-check';
import * as ag from '@metagrad/autograd';
import { Rng, Tensor, grad, hvp, randn, treeLeaves } from '@metagrad/autograd';
import { allClose, fdDirectional, flatten } from '../helpers.js';

type Policy = { W1: Tensor; b1: Tensor; W2: Tensor; b2: Tensor; W3: Tensor; b3: Tensor; logStd: Tensor };

function initPolicy(rng: Rng, dObs: number, h: number, dAct: number): Policy {
  return {
    W1: randn([dObs, h], rng).mul(1 / Math.sqrt(dObs)),
    b1: randn([h], rng).mul(0.1),
    W2: randn([h, h], rng).mul(1 / Math.sqrt(h)),
    b2: randn([h], rng).mul(0.1),
    W3: randn([h, dAct], rng).mul(1 / Math.sqrt(h)),
    b3: randn([dAct], rng).mul(0.1),
    logStd: randn([dAct], rng).mul(0.2),
  };
}

/** Σₙ log N(aₙ; μ(oₙ), diag σ²) with μ = tanh(tanh(o W1 + b1) W2 + b2) W3 + b3, weighted by advantages. */
function weightedLogLik(p: Policy, obs: Tensor, act: Tensor, adv: Tensor): Tensor {
  const h1 = obs.matmul(p.W1).add(p.b1).tanh();
  const h2 = h1.matmul(p.W2).add(p.b2).tanh();
  const mu = h2.matmul(p.W3).add(p.b3);
  const z = act.sub(mu).div(p.logStd.exp());
  const logp = z.square().mul(-0.5).sub(p.logStd).sub(0.5 * Math.log(2 * Math.PI)).sum(-1);
  return logp.mul(adv).mean();
}

describe('tanh-MLP Gaussian policy: second derivatives are right, block by block', () => {
  it('HVP of the log-likelihood matches finite differences of the gradient for every parameter block', () => {
    fc.assert(
      fc.property(fc.nat(), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 2, max: 5 }), fc.integer({ min: 1, max: 3 }), (seed, dObs, h, dAct) => {
        const rng = new Rng(seed);
        const p = initPolicy(rng, dObs, h, dAct);
        const N = 7;
        const obs = randn([N, dObs], rng), act = randn([N, dAct], rng), adv = randn([N], rng);
        const f = (q: Policy): Tensor => weightedLogLik(q, obs, act, adv);
        const leaves = treeLeaves(p);
        const names = Object.keys(p);
        // one direction per block alone (so a wrong block cannot hide behind a right one), then all at once
        for (let b = 0; b <= leaves.length; b++) {
          const vLeaves = leaves.map((t, i) => (b === leaves.length || i === b ? randn([...t.shape], rng) : ag.zeros([...t.shape])));
          const v = Object.fromEntries(names.map((k, i) => [k, vLeaves[i]!])) as Policy;
          const hv = flatten(treeLeaves(hvp(f, p, v)));
          const gradAt = (xs: Tensor[]): Float64Array =>
            flatten(treeLeaves(grad(f)(Object.fromEntries(names.map((k, i) => [k, xs[i]!])) as Policy)));
          const fd = fdDirectional(gradAt, leaves, flatten(vLeaves));
          allClose(hv, fd, 1e-6, b === leaves.length ? 'all blocks' : `direction in ${names[b]}`);
          // and every output block separately, so a small block (W1 rows) is not drowned out by a large one
          let o = 0;
          for (let i = 0; i < leaves.length; i++) {
            const n = leaves[i]!.size;
            allClose(hv.subarray(o, o + n), fd.subarray(o, o + n), 1e-6, `H[${names[i]}, ·]v`, 1e-9);
            o += n;
          }
        }
      }),
      { numRuns: 15, seed: 2026 },
    );
  });
});

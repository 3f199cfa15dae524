/**
 * One Gaussian MLP for sampling and for the losses: @metagrad/rl's GaussianMLPPolicy and the samplers'
 * policy spec (@metagrad/envs) share the flat layout and the forward pass of @metagrad/envs/policy. A
 * policy flattened by rl is read identically by the sampler: the sampler's actions minus its own noise
 * are rl's means, bit for bit, and the layout's blocks are rl's parameter tensors.
 */
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { Rng, randn } from '@metagrad/autograd';
import { batchedPolicy, type GaussianMLPSpec } from '@metagrad/envs';
import { gaussianMLPLayout, gaussianMLPParamCount } from '@metagrad/envs/policy';
import { GaussianMLPPolicy } from '@metagrad/rl/estimators';

describe('GaussianMLPPolicy (rl) and the sampler policy spec (envs)', () => {
  it('share the flat layout and the forward pass (fast-check sizes; non-zero biases and log σ)', () => {
    fc.assert(fc.property(
      fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 4 }), fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 3 }),
      fc.integer({ min: 1, max: 7 }), fc.integer({ min: 0, max: 1000 }),
      (obsDim, actDim, hidden, n, seed) => {
        const policy = new GaussianMLPPolicy({ obsDim, actDim, hidden });
        const rng = new Rng(seed);
        // every block perturbed off its init, so a swapped or misplaced block cannot go unnoticed
        const p0 = policy.init(rng);
        const params = { layers: p0.layers.map(({ W, b }) => ({ W: W.add(randn(W.shape as number[], rng).mul(0.1)), b: randn(b.shape as number[], rng) })), logStd: randn([actDim], rng).mul(0.3) };
        const flat = policy.flatten(params);
        // the layout: rl's blocks sit where envs says
        const layout = gaussianMLPLayout(obsDim, actDim, hidden);
        expect(layout.numParams).toBe(policy.numParams);
        expect(gaussianMLPParamCount(obsDim, actDim, hidden)).toBe(flat.length);
        const leaves = [...params.layers.flatMap(({ W, b }) => [W, b]), params.logStd];
        layout.blocks.forEach((blk, i) => {
          expect(blk.shape).toEqual([...leaves[i]!.shape]);
          expect(Array.from(flat.subarray(blk.offset, blk.offset + blk.size))).toEqual(Array.from(leaves[i]!.toArray()));
        });
        expect(Array.from(policy.flatten(policy.unflatten(flat)))).toEqual(Array.from(flat));
        // the sampler reads the same policy: actions − σ·ε (its own noise, replayed) = rl's mean, bit for bit
        const obs = randn([n, obsDim], rng);
        const spec: GaussianMLPSpec = { kind: 'gaussian-mlp', obsDim, actDim, hidden, params: flat };
        const out = new Float64Array(n * actDim);
        batchedPolicy(spec)(obs.toArray() as Float64Array, n, Array.from({ length: n }, (_, k) => new Rng(seed + 17 * k)), out);
        const mean = policy.mode(params, obs).toArray();
        const std = params.logStd.exp().toArray();
        for (let k = 0; k < n; k++) {
          const noise = new Rng(seed + 17 * k);
          for (let j = 0; j < actDim; j++) expect(out[k * actDim + j]).toBe(mean[k * actDim + j]! + std[j]! * noise.normal());
        }
      },
    ), { numRuns: 60 });
  });

  it('a row is sampled the same whatever batch it is in (the worker sampler relies on it)', () => {
    const policy = new GaussianMLPPolicy({ obsDim: 11, actDim: 3, hidden: [32, 32] });
    const spec: GaussianMLPSpec = { kind: 'gaussian-mlp', obsDim: 11, actDim: 3, hidden: [32, 32], params: policy.flatten(policy.init(new Rng(3))) };
    const obs = randn([9, 11], new Rng(4)).toArray() as Float64Array;
    const run = (rows: number, first: number): Float64Array => {
      const out = new Float64Array(rows * 3);
      batchedPolicy(spec)(obs.subarray(first * 11), rows, Array.from({ length: rows }, (_, k) => new Rng(100 + first + k)), out);
      return out;
    };
    const all = run(9, 0);
    for (let first = 0; first < 9; first++) for (let rows = 1; first + rows <= 9; rows++)
      expect(Array.from(run(rows, first))).toEqual(Array.from(all.subarray(first * 3, (first + rows) * 3)));
  });
});

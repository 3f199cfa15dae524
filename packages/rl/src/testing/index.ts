/**
 * @metagrad/rl/testing: fast-check arbitraries of the tabular setting: random finite MDPs with a softmax
 * policy θ [S, A], and batches of trajectories sampled from them with their log-likelihoods, for property
 * tests of the estimators (use them with `checkGrads` and `assertAllClose` from
 * `@metagrad/autograd/testing`).
 *
 * This subpath imports fast-check: fast-check ^4 is an optional peer dependency of @metagrad/rl, needed
 * here only (`npm install -D fast-check`). `@metagrad/rl/tabular` and the other entry points never import
 * it. Browser-safe (no Node imports).
 *
 * ```ts
 * import fc from 'fast-check';
 * import { checkGrads } from '@metagrad/autograd/testing';
 * import { exactReturn } from '@metagrad/rl/tabular';
 * import { arbTabular } from '@metagrad/rl/testing';
 * fc.assert(fc.property(arbTabular.mdp({ S: { max: 3 }, H: 3 }), ({ mdp, theta }) => {
 *   checkGrads((t) => exactReturn(mdp, t), [theta], { order: 2 });
 * }));
 * ```
 *
 * @module
 */
import fc, { type Arbitrary } from 'fast-check';
import { Rng, type Tensor, noGrad, tensor } from '@metagrad/autograd';
import { rewardToGo } from '../estimators/objectives.js';
import { type TabularSpec, tabularLogProb } from '../tabular/exact.js';
import { type TabularBatch, sampleTabular } from '../tabular/montecarlo.js';

/** An integer setting: a fixed value, or a range `{ min, max }` (each bound optional, defaulting to the setting's). */
export type IntRange = number | {
  /** Smallest value (default: the setting's). */
  min?: number;
  /** Largest value (default: the setting's, or min when that is larger). */
  max?: number;
};

/** Options of {@link arbTabular}.mdp. */
export interface TabularMDPOptions {
  /** Number of states. Default 1 … 3. */
  S?: IntRange;
  /** Number of actions. Default 1 … 3. */
  A?: IntRange;
  /** Horizon. Default 1 … 4. */
  H?: IntRange;
  /** Range of the rewards R[s][a]. Default [−1, 1]. */
  reward?: readonly [number, number];
  /** Range of the policy parameters θ[s][a]. Default [−1.5, 1.5]. */
  theta?: readonly [number, number];
}

/** A drawn MDP and policy parameters. */
export interface TabularCase {
  /** The MDP: init and every transition row on the simplex (exact zeros included), rewards in range. */
  mdp: TabularSpec;
  /** [S, A] float64 softmax-policy parameters. */
  theta: Tensor;
}

/** Options of {@link arbTabular}.batch: the MDP's, and the batch's. */
export interface TabularBatchOptions extends TabularMDPOptions {
  /** Number of trajectories. Default 1 … 4. */
  N?: IntRange;
  /**
   * Trajectories of random lengths 1 … H (the mask 0 after each one's end, its rewards there 0) instead
   * of all of length H. Default false.
   */
  ragged?: boolean;
}

/** A drawn MDP and θ with a batch sampled from it under π_θ. */
export interface TabularBatchCase extends TabularCase {
  /** The trajectories: states, actions, rewards [N, H] and the Steps (mask; trajectories weighted 1/N). */
  batch: TabularBatch;
  /** The seed of the Rng the batch was sampled with (`sampleTabular(mdp, theta, N, new Rng(seed))`). */
  seed: number;
  /** log π_t(a|s) of the batch's steps as a function of the policy parameters t: [N, H], differentiable. */
  logp: (t: Tensor) => Tensor;
  /** The log-likelihoods at the sampling θ, [N, H], constants (no graph): the `logpOld` of J^LR and J^CLIP. */
  logpOld: Tensor;
  /** Rewards-to-go Ĝ [N, H] (masked): LVC's returns. */
  returns: Tensor;
}

function range(what: string, v: IntRange | undefined, lo: number, hi: number, least: number): Arbitrary<number> {
  if (v === undefined) return fc.integer({ min: lo, max: hi });
  const [min, max] = typeof v === 'number' ? [v, v] : [v.min ?? lo, v.max ?? Math.max(hi, v.min ?? lo)];
  if (!Number.isInteger(min) || !Number.isInteger(max) || min < least || max < min)
    throw new Error(`arbTabular: ${what} must be an integer ≥ ${least} or a range { min, max } of them with min ≤ max, got ${JSON.stringify(v)}`);
  return fc.integer({ min, max });
}

function interval(what: string, v: readonly [number, number] | undefined, def: [number, number]): [number, number] {
  const [lo, hi] = v ?? def;
  if (!Number.isFinite(lo) || !Number.isFinite(hi) || !(lo <= hi)) throw new Error(`arbTabular: ${what} must be a finite range [lo, hi] with lo ≤ hi, got ${JSON.stringify(v)}`);
  return [lo, hi];
}

/** A point of the k-simplex: non-negative weights (zeros included) normalized; all zeros give the uniform distribution. */
const simplex = (k: number): Arbitrary<number[]> =>
  fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: k, maxLength: k }).map((w) => {
    const s = w.reduce((a, b) => a + b, 0);
    return s > 0 ? w.map((x) => x / s) : w.map(() => 1 / k);
  });

const grid = <T>(rows: number, cols: number, cell: Arbitrary<T>): Arbitrary<T[][]> =>
  fc.array(fc.array(cell, { minLength: cols, maxLength: cols }), { minLength: rows, maxLength: rows });

function mdp(opts: TabularMDPOptions = {}): Arbitrary<TabularCase> {
  const [rLo, rHi] = interval('reward', opts.reward, [-1, 1]);
  const [tLo, tHi] = interval('theta', opts.theta, [-1.5, 1.5]);
  return fc
    .tuple(range('S', opts.S, 1, 3, 1), range('A', opts.A, 1, 3, 1), range('H', opts.H, 1, 4, 1))
    .chain(([S, A, H]) =>
      fc.record({
        init: simplex(S),
        P: grid(S, A, simplex(S)),
        R: grid(S, A, fc.double({ min: rLo, max: rHi, noNaN: true })),
        theta: grid(S, A, fc.double({ min: tLo, max: tHi, noNaN: true })),
      }).map(({ init, P, R, theta }) => ({ mdp: { S, A, H, init, P, R }, theta: tensor(theta, [S, A]) })));
}

function batch(opts: TabularBatchOptions = {}): Arbitrary<TabularBatchCase> {
  const nArb = range('N', opts.N, 1, 4, 1);
  return mdp(opts).chain((c) =>
    fc.tuple(fc.integer({ min: 0, max: 2 ** 31 - 1 }), nArb).chain(([seed, N]) =>
      (opts.ragged ? fc.array(fc.integer({ min: 1, max: c.mdp.H }), { minLength: N, maxLength: N }) : fc.constant(null)).map((lengths) => {
        let b = sampleTabular(c.mdp, c.theta, N, new Rng(seed));
        if (lengths) {
          const H = c.mdp.H;
          const mask = new Float64Array(N * H), rewards = Float64Array.from(b.rewards.data);
          for (let n = 0; n < N; n++) for (let t = 0; t < H; t++) if (t < lengths[n]!) mask[n * H + t] = 1; else rewards[n * H + t] = 0;
          b = { ...b, rewards: tensor(rewards, [N, H]), steps: { mask: tensor(mask, [N, H]) } };
        }
        const { states, actions } = b;
        return {
          ...c, batch: b, seed,
          logp: (t: Tensor) => tabularLogProb(t, states, actions),
          logpOld: noGrad(() => tabularLogProb(c.theta, states, actions)),
          returns: rewardToGo(b.rewards, b.steps.mask),
        };
      })));
}

/**
 * fast-check arbitraries of tabular MDPs and sampled batches:
 *
 * - `arbTabular.mdp({ S = 1…3, A = 1…3, H = 1…4, reward = [−1, 1], theta = [−1.5, 1.5] })`: an MDP (init and
 *   every transition row drawn on the simplex, exact zeros included, so deterministic transitions occur;
 *   rewards and θ uniform in their ranges, as fc.double draws) and θ [S, A];
 * - `arbTabular.batch({ …the MDP's options, N = 1…4, ragged = false })`: the same with N trajectories sampled
 *   under π_θ ({@link TabularBatchCase}: the batch, its seed, logp(t), logpOld and the rewards-to-go).
 */
export const arbTabular: {
  /** A random MDP and θ. */
  mdp: (opts?: TabularMDPOptions) => Arbitrary<TabularCase>;
  /** A random MDP, θ and a batch sampled under π_θ with its log-likelihoods. */
  batch: (opts?: TabularBatchOptions) => Arbitrary<TabularBatchCase>;
} = { mdp, batch };

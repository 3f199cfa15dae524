/**
 * Sample processing (the reference's MetaSampleProcessor): discounted returns, GAE, per-task
 * normalization, the linear feature baseline, E-MAML's standardized rewards, DiCE's adjusted rewards;
 * and Adam against hand-computed steps.
 */
import { describe, it, expect } from 'vitest';
import { Rng, noGrad, treeLeaves, treeMap, valueAndGrad } from '@metagrad/autograd';
import type { SampleBatch } from '@metagrad/envs';
import { type ProcessedSamples, GaussianMLPPolicy, broadcastToTasks, evalRound, flatOf, discountCumsum, gae, normalizeMasked, processSamples, taskInnerObjective, toStepBatch } from '@metagrad/rl';
import { LinearFeatureBaseline, LinearTimeBaseline, choleskySolve } from '@metagrad/rl';
import { Adam } from '@metagrad/rl';
import { allClose } from '../../helpers.js';

/** A synthetic padded batch ('episodes' layout): K tasks × R rollouts × H steps, some trajectories shorter. */
function syntheticBatch(K: number, R: number, H: number, obsDim: number, seed: number, lengths?: number[]): SampleBatch {
  const rng = new Rng(seed);
  const nTraj = K * R;
  const lens = Int32Array.from({ length: nTraj }, (_, j) => lengths?.[j] ?? H);
  const obs = new Float64Array(nTraj * H * obsDim), rewards = new Float64Array(nTraj * H), mask = new Uint8Array(nTraj * H);
  for (let j = 0; j < nTraj; j++)
    for (let t = 0; t < lens[j]!; t++) {
      mask[j * H + t] = 1;
      rewards[j * H + t] = rng.normal() + 0.1 * t;
      for (let d = 0; d < obsDim; d++) obs[(j * H + t) * obsDim + d] = rng.normal() * 3;
    }
  const actions = Float64Array.from({ length: nTraj * H }, (_, i) => (mask[i] ? rng.normal() : 0));
  return {
    mode: 'episodes', nTasks: K, rolloutsPerTask: R, rowsPerTask: R, nRows: nTraj, nTraj, horizon: H, obsDim, actDim: 1, obs, actions, rewards, mask,
    dones: new Uint8Array(nTraj * H), pathStart: Int32Array.from({ length: nTraj }, (_, j) => j * H), lengths: lens,
    taskIndex: Int32Array.from({ length: nTraj }, (_, j) => Math.floor(j / R)),
    finalObs: new Float64Array(nTraj * obsDim), infos: {}, divergences: [], simMessages: { count: 0, first: null }, envSteps: lens.reduce((a, b) => a + b, 0),
  };
}

/**
 * The same paths packed as the 'steps' sampling mode lays them out: each task's paths end to end in
 * rows of H (a path that does not fit in what is left of a row starts the next), every task with the
 * same number of rows.
 */
function packed(b: SampleBatch): SampleBatch {
  const H = b.horizon, D = b.obsDim;
  const place: number[] = [];
  let rows = 1;
  for (let k = 0; k < b.nTasks; k++) {
    let row = 0, col = 0;
    for (let j = 0; j < b.nTraj; j++) {
      if (b.taskIndex[j] !== k) continue;
      if (col + b.lengths[j]! > H) [row, col] = [row + 1, 0];
      place[j] = row * H + col;
      col += b.lengths[j]!;
    }
    rows = Math.max(rows, row + 1);
  }
  const size = b.nTasks * rows * H;
  const obs = new Float64Array(size * D), actions = new Float64Array(size), rewards = new Float64Array(size), mask = new Uint8Array(size);
  const pathStart = new Int32Array(b.nTraj);
  for (let j = 0; j < b.nTraj; j++) {
    const to = b.taskIndex[j]! * rows * H + place[j]!, from = b.pathStart[j]!, L = b.lengths[j]!;
    pathStart[j] = to;
    obs.set(b.obs.subarray(from * D, (from + L) * D), to * D);
    actions.set(b.actions.subarray(from, from + L), to);
    rewards.set(b.rewards.subarray(from, from + L), to);
    mask.fill(1, to, to + L);
  }
  return { ...b, mode: 'steps', rowsPerTask: rows, nRows: b.nTasks * rows, obs, actions, rewards, mask, dones: new Uint8Array(size), pathStart };
}

describe('returns and GAE', () => {
  it('discountCumsum: R_t = r_t + γ R_{t+1}, by hand', () => {
    const out = new Float64Array(3);
    discountCumsum(Float64Array.of(1, 2, 3), 0, 3, 0.5, out);
    expect(Array.from(out)).toEqual([1 + 0.5 * 2 + 0.25 * 3, 2 + 0.5 * 3, 3]);
  });

  it('GAE by hand, and with λ = 1 it equals the discounted return minus the baseline', () => {
    const r = Float64Array.of(1, 0, 2), b = Float64Array.of(0.5, 0.25, 1), g = 0.9, l = 0.8;
    const out = new Float64Array(3);
    gae(r, b, 0, 3, g, l, out);
    const d = [1 + g * 0.25 - 0.5, 0 + g * 1 - 0.25, 2 + 0 - 1]; // δ_t, with b after the end = 0
    allClose(out, [d[0]! + g * l * (d[1]! + g * l * d[2]!), d[1]! + g * l * d[2]!, d[2]!], 1e-15);
    const ret = new Float64Array(3);
    discountCumsum(r, 0, 3, g, ret);
    gae(r, b, 0, 3, g, 1, out);
    allClose(out, ret.map((x, i) => x - b[i]!), 1e-14);
  });

  it('normalizeMasked: mean 0, population std 1 over valid entries, padding 0', () => {
    const x = Float64Array.of(1, 2, 3, 99, 4), m = Float64Array.of(1, 1, 1, 0, 1);
    normalizeMasked(x, m, 0, 5);
    const v = [x[0]!, x[1]!, x[2]!, x[4]!];
    expect(v.reduce((a, b) => a + b, 0)).toBeCloseTo(0, 12);
    expect(v.reduce((a, b) => a + b * b, 0) / 4).toBeCloseTo(1, 6);
    expect(x[3]).toBe(0);
  });
});

describe('linear baselines', () => {
  it('LinearFeatureBaseline recovers a target that is linear in its features [clip(o), clip(o)², t/100, (t/100)², (t/100)³, 1]', () => {
    const b = syntheticBatch(1, 4, 30, 2, 1);
    const c = [0.5, -1, 0.25, 0.1, 3, -2, 1, 0.7]; // 2 obs, 2 obs², t, t², t³, 1
    const target = new Float64Array(b.nTraj * b.horizon);
    for (let j = 0; j < b.nTraj; j++)
      for (let t = 0; t < b.horizon; t++) {
        const o = [0, 1].map((d) => Math.min(Math.max(b.obs[(j * b.horizon + t) * 2 + d]!, -10), 10));
        const s = t / 100;
        target[j * b.horizon + t] = c[0]! * o[0]! + c[1]! * o[1]! + c[2]! * o[0]! ** 2 + c[3]! * o[1]! ** 2 + c[4]! * s + c[5]! * s * s + c[6]! * s ** 3 + c[7]!;
      }
    const bl = new LinearFeatureBaseline();
    bl.fit(b, 0, b.nTraj, target);
    const pred = new Float64Array(target.length);
    for (let j = 0; j < b.nTraj; j++) bl.predict(b, j, pred);
    allClose(pred, target, 1e-3); // up to the bias of the 1e-5 ridge term
  });

  it('padding is ignored by the fit and predicted as 0; the time baseline fits t-polynomials', () => {
    const b = syntheticBatch(1, 3, 20, 1, 2, [20, 12, 7]);
    const target = new Float64Array(b.nTraj * b.horizon);
    for (let j = 0; j < 3; j++) for (let t = 0; t < 20; t++) target[j * 20 + t] = t < b.lengths[j]! ? 2 - 5 * (t / 100) : 1e6;
    const bl = new LinearTimeBaseline();
    bl.fit(b, 0, 3, target);
    const pred = new Float64Array(target.length);
    for (let j = 0; j < 3; j++) bl.predict(b, j, pred);
    for (let j = 0; j < 3; j++)
      for (let t = 0; t < 20; t++) {
        if (t < b.lengths[j]!) expect(Math.abs(pred[j * 20 + t]! - (2 - 5 * (t / 100)))).toBeLessThan(1e-3); // reg 1e-5 shrinks c slightly
        else expect(pred[j * 20 + t]).toBe(0);
      }
  });

  it('choleskySolve solves (A + reg I) x = b and refuses an indefinite matrix', () => {
    const A = Float64Array.of(4, 1, 1, 3), x = choleskySolve(A, Float64Array.of(1, 2), 2, 0)!;
    allClose([4 * x[0]! + x[1]!, x[0]! + 3 * x[1]!], [1, 2], 1e-14);
    expect(choleskySolve(Float64Array.of(1, 2, 2, 1), Float64Array.of(1, 1), 2, 0)).toBeNull();
  });
});

describe('processSamples', () => {
  const b = syntheticBatch(3, 4, 10, 2, 3, [10, 10, 8, 10, 3, 10, 10, 10, 10, 9, 10, 10]);
  const p = processSamples(b, { discount: 0.99, gaeLambda: 1, normalizeAdv: true, diceRewards: true });
  const H = 10;

  it('per task: normalized advantages (mean 0, std 1 over valid steps), step weights summing to 1, padding zero', () => {
    for (let k = 0; k < 3; k++) {
      let n = 0, s = 0, s2 = 0, w = 0;
      for (let i = k * 4 * H; i < (k + 1) * 4 * H; i++) {
        w += p.stepWeights[i]!;
        if (!p.mask[i]) {
          expect(p.advantages[i]).toBe(0);
          expect(p.stepWeights[i]).toBe(0);
          continue;
        }
        n++;
        s += p.advantages[i]!;
        s2 += p.advantages[i]! ** 2;
      }
      expect(s / n).toBeCloseTo(0, 10);
      expect(s2 / n).toBeCloseTo(1, 6);
      expect(w).toBeCloseTo(1, 12);
    }
  });

  it('returns are the discounted reward-to-go; task returns are the undiscounted sums per trajectory, averaged', () => {
    const j = 2, len = 8;
    let acc = 0;
    for (let t = len - 1; t >= 0; t--) {
      acc = b.rewards[j * H + t]! + 0.99 * acc;
      expect(p.returns[j * H + t]).toBeCloseTo(acc, 12);
    }
    let sum0 = 0;
    for (let i = 0; i < 4 * H; i++) sum0 += b.mask[i] ? b.rewards[i]! : 0;
    expect(p.taskReturns[0]).toBeCloseTo(sum0 / 4, 12);
    expect(p.averageReturn).toBeCloseTo((p.taskReturns[0]! + p.taskReturns[1]! + p.taskReturns[2]!) / 3, 12);
  });

  it("E-MAML's standardized rewards: (r − μ)/(σ + 1e-8) over the whole meta-batch, averaged per task", () => {
    const vals: number[] = [];
    for (let i = 0; i < b.nTraj * H; i++) if (b.mask[i]) vals.push(b.rewards[i]!);
    const mu = vals.reduce((a, c) => a + c, 0) / vals.length;
    const sd = Math.sqrt(vals.reduce((a, c) => a + (c - mu) ** 2, 0) / vals.length);
    for (let k = 0; k < 3; k++) {
      const own: number[] = [];
      for (let i = k * 4 * H; i < (k + 1) * 4 * H; i++) if (b.mask[i]) own.push((b.rewards[i]! - mu) / (sd + 1e-8));
      expect(p.standardizedRewardMean[k]).toBeCloseTo(own.reduce((a, c) => a + c, 0) / own.length, 12);
    }
  });

  it('DiCE adjusted rewards are normalized per task and zero on padding', () => {
    for (let k = 0; k < 3; k++) {
      let n = 0, s = 0;
      for (let i = k * 4 * H; i < (k + 1) * 4 * H; i++) if (p.mask[i]) { n++; s += p.adjustedRewards![i]!; } else expect(p.adjustedRewards![i]).toBe(0);
      expect(s / n).toBeCloseTo(0, 10);
    }
  });
});

describe("paths packed into rows ('steps' sampling) are processed as the same paths one per row", () => {
  // short paths, so that rows hold two or three of them
  const lengths = [4, 5, 10, 3, 3, 2, 7, 6, 1, 9, 2, 8, 4, 4, 5, 10, 2, 3];
  const b = syntheticBatch(3, 6, 10, 2, 7, lengths);
  const pk = packed(b);
  const opts = { discount: 0.95, gaeLambda: 0.9, normalizeAdv: true, diceRewards: true };
  const one = processSamples(b, opts), two = processSamples(pk, opts);

  it('returns, baselines, advantages, DiCE adjusted rewards and step weights agree step by step; task returns average over paths', () => {
    expect(pk.rowsPerTask).toBeLessThan(6);
    for (let j = 0; j < b.nTraj; j++)
      for (let t = 0; t < b.lengths[j]!; t++) {
        const i = b.pathStart[j]! + t, k = pk.pathStart[j]! + t;
        for (const key of ['returns', 'baselines', 'advantages', 'adjustedRewards', 'stepWeights'] as const) expect(Math.abs(two[key]![k]! - one[key]![i]!), `${key} path ${j} t ${t}`).toBeLessThan(1e-12);
      }
    allClose(two.taskReturns, one.taskReturns, 1e-13);
    allClose(two.standardizedRewardMean, one.standardizedRewardMean, 1e-13);
    expect(two.averageReturn).toBeCloseTo(one.averageReturn, 13);
    let sum0 = 0;
    for (let j = 0; j < 6; j++) for (let t = 0; t < lengths[j]!; t++) sum0 += b.rewards[j * 10 + t]!;
    expect(one.taskReturns[0]).toBeCloseTo(sum0 / 6, 12);
  });

  it("DiCE's inner objective restarts its running sum at every path: value and gradient equal the one-path-per-row batch's", () => {
    const policy = new GaussianMLPPolicy({ obsDim: 2, actDim: 1, hidden: [4], initLogStd: -0.3 });
    const theta = policy.init(new Rng(11));
    const old = noGrad(() => broadcastToTasks(treeMap((t) => t.add(0.05), theta), 3));
    const f = (p: ProcessedSamples) => {
      const d = toStepBatch(p, old);
      return valueAndGrad((th: typeof theta) => taskInnerObjective('dice', evalRound(broadcastToTasks(th, 3), d), d).sum())(theta);
    };
    const [v1, g1] = f(one), [v2, g2] = f(two);
    expect(Math.abs(v2.item() - v1.item())).toBeLessThan(1e-12);
    allClose(flatOf(treeLeaves(g2)), flatOf(treeLeaves(g1)), 1e-12);
    // and the restart matters: without it the packed batch's value would differ
    const d = toStepBatch(two, old);
    expect(d.pathOffsets).not.toBeNull();
    const at = broadcastToTasks(theta, 3);
    const noRestart = taskInnerObjective('dice', evalRound(at, d), { ...d, pathOffsets: null }).sum().item();
    expect(Math.abs(noRestart - taskInnerObjective('dice', evalRound(at, d), d).sum().item())).toBeGreaterThan(1e-6);
  });
});

describe('Adam (TensorFlow form)', () => {
  it('first two steps by hand', () => {
    const adam = new Adam(2, { lr: 0.1 });
    const th = Float64Array.of(1, -1);
    adam.step(th, Float64Array.of(2, -0.5));
    // t = 1: m̂/√v̂ = sign(g): θ − 0.1·g/|g| (up to ε)
    allClose(th, [0.9, -0.9], 1e-7);
    const th1 = th.slice();
    adam.step(th, Float64Array.of(1, 1));
    const m = [0.9 * 0.2 + 0.1 * 1, 0.9 * -0.05 + 0.1 * 1], v = [0.999 * 0.004 + 0.001, 0.999 * 0.00025 + 0.001];
    const lr2 = (0.1 * Math.sqrt(1 - 0.999 ** 2)) / (1 - 0.9 ** 2);
    allClose(th, [th1[0]! - (lr2 * m[0]!) / (Math.sqrt(v[0]!) + 1e-8), th1[1]! - (lr2 * m[1]!) / (Math.sqrt(v[1]!) + 1e-8)], 1e-12);
  });

  it('state round-trips through JSON and continues identically', () => {
    const a = new Adam(3, { lr: 0.01 }), th = Float64Array.of(0.1, 0.2, 0.3);
    a.step(th, Float64Array.of(1, 2, 3));
    const b = new Adam(3, { lr: 0.01 });
    b.restore(JSON.parse(JSON.stringify(a.state())));
    const th2 = th.slice();
    a.step(th, Float64Array.of(-1, 0.5, 2));
    b.step(th2, Float64Array.of(-1, 0.5, 2));
    expect(Array.from(th2)).toEqual(Array.from(th));
  });
});

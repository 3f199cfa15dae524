/**
 * The point tasks against hand computations of the reference's rules (point_env_2d_corner.py,
 * point_env_2d_v2.py, point_env_2d_momentum.py): dynamics, the sparse corner reward, dense variants, task distributions,
 * seeded determinism.
 */
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { Rng } from '@metagrad/autograd';
import { makeEnvSync, PointCornerEnv, PointGoalEnv, PointMomentumEnv, POINT_CORNERS } from '@metagrad/envs';

/** Puts a raw point env at (x, y) by resetting and stepping (steps of at most 0.2 per coordinate). */
function placeAt(env: PointCornerEnv, x: number, y: number): void {
  const o = env.reset(new Rng(0));
  let cx = o[0]!, cy = o[1]!;
  while (Math.abs(x - cx) > 1e-12 || Math.abs(y - cy) > 1e-12) {
    const r = env.step([Math.max(-0.2, Math.min(0.2, x - cx)), Math.max(-0.2, Math.min(0.2, y - cy))]);
    cx = r.obs[0]!;
    cy = r.obs[1]!;
  }
}

describe('point-corner (MetaPointEnvCorner)', () => {
  it('start uniform in [-0.2, 0.2]^2, s\' = s + clip(a, ±0.2), never done', () => {
    const env = new PointCornerEnv();
    env.setTask([2, 2]);
    const rng = new Rng(11);
    for (let i = 0; i < 200; i++) {
      const o = env.reset(rng);
      expect(Math.abs(o[0]!) <= 0.2 && Math.abs(o[1]!) <= 0.2).toBe(true);
    }
    const o = env.reset(new Rng(3));
    const r = env.step([0.5, -0.05]);
    expect(r.obs[0]).toBe(o[0]! + 0.2);
    expect(r.obs[1]).toBe(o[1]! - 0.05);
    expect(r.done).toBe(false);
    expect(r.info.distance).toBeCloseTo(Math.hypot(r.obs[0]! - 2, r.obs[1]! - 2), 14);
  });

  it('sparse reward: 0 in the start region (L1 < 0.5)', () => {
    const env = new PointCornerEnv();
    env.setTask([2, 2]);
    placeAt(env, 0.1, 0.1);
    const r = env.step([0.2, 0.05]); // → (0.3, 0.15): L1 0.45 < 0.5
    expect(r.reward).toBe(0);
  });

  it('sparse reward: progress toward the goal when it is the nearest corner, else 0', () => {
    const env = new PointCornerEnv();
    env.setTask([2, 2]);
    placeAt(env, 0.4, 0.3);
    const r = env.step([0.2, 0.1]); // (0.4, 0.3) → (0.6, 0.4): nearest corner (2, 2)
    const expected = Math.hypot(0.4 - 2, 0.3 - 2) - Math.hypot(0.6 - 2, 0.4 - 2);
    expect(r.reward).toBeCloseTo(expected, 14);
    expect(r.reward).toBeGreaterThan(0);
    const away = env.step([-0.2, -0.2]); // moving away from the goal: negative progress
    expect(away.reward).toBeLessThan(0);

    env.setTask([-2, -2]); // the same move pays nothing when (−2, −2) is not the nearest corner
    placeAt(env, 0.4, 0.3);
    expect(env.step([0.2, 0.1]).reward).toBe(0);
  });

  it('dense and dense-squared rewards: -d and -d^2 of the new state', () => {
    for (const [reward, f] of [['dense', (d: number) => -d], ['dense-squared', (d: number) => -d * d]] as const) {
      const env = new PointCornerEnv({ reward });
      env.setTask([-2, 2]);
      const o = env.reset(new Rng(4));
      const r = env.step([-0.1, 0.2]);
      expect(r.reward).toBeCloseTo(f(Math.hypot(o[0]! - 0.1 + 2, o[1]! + 0.2 - 2)), 13);
    }
  });

  it('tasks are the four corners, each with probability 1/4', () => {
    const env = makeEnvSync('point-corner');
    const tasks = env.sampleTasks(4000, new Rng(7));
    const counts = POINT_CORNERS.map((c) => tasks.filter((t) => t[0] === c[0] && t[1] === c[1]).length);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(4000);
    // each count ~ Binomial(4000, 1/4): sd ≈ 27; 5 sd
    for (const c of counts) expect(Math.abs(c - 1000)).toBeLessThan(140);
  });

  it('the same seed gives the same trajectory, bit for bit', () => {
    const run = (seed: number): number[] => {
      const env = makeEnvSync('point-corner');
      const rng = new Rng(seed);
      env.setTask(env.sampleTasks(1, rng)[0]!);
      const out = Array.from(env.reset(rng));
      for (let t = 0; t < 50; t++) {
        const r = env.step([rng.uniformIn(-10, 10), rng.uniformIn(-10, 10)]);
        out.push(...r.obs, r.reward);
      }
      return out;
    };
    expect(run(5)).toEqual(run(5));
    expect(run(5)).not.toEqual(run(6));
  });

  it('property: the sparse reward is 0 or the distance decrease, and bounded by the step length', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 1e9 }), (corner, seed) => {
        const env = new PointCornerEnv();
        env.setTask(POINT_CORNERS[corner]!);
        const rng = new Rng(seed);
        let o = env.reset(rng);
        for (let t = 0; t < 30; t++) {
          const r = env.step([rng.uniformIn(-0.3, 0.3), rng.uniformIn(-0.3, 0.3)]);
          const g = POINT_CORNERS[corner]!;
          const progress = Math.hypot(o[0]! - g[0], o[1]! - g[1]) - Math.hypot(r.obs[0]! - g[0], r.obs[1]! - g[1]);
          if (r.reward !== 0 && r.reward !== progress) return false;
          if (Math.abs(r.reward) > Math.SQRT2 * 0.2 + 1e-12) return false;
          o = r.obs;
        }
        return true;
      }),
      { numRuns: 100 },
    );
  });
});

describe('point-goal (MetaPointEnv)', () => {
  it('starts at the origin; s\' = s + clip(a, ±0.1); reward −‖s\' − g‖; never done', () => {
    const env = new PointGoalEnv();
    env.setTask([1.5, -0.5]);
    expect(Array.from(env.reset(new Rng(0)))).toEqual([0, 0]);
    const r = env.step([0.05, -1]);
    expect(Array.from(r.obs)).toEqual([0.05, -0.1]);
    expect(r.reward).toBeCloseTo(-Math.hypot(1.45, -0.4), 14);
    expect(r.done).toBe(false);
  });

  it('goals are uniform in [-2, 2]^2', () => {
    const tasks = new PointGoalEnv().sampleTasks(4000, new Rng(9));
    const xs = tasks.map((t) => t[0]), ys = tasks.map((t) => t[1]);
    for (const v of [...xs, ...ys]) expect(v >= -2 && v < 2).toBe(true);
    const mean = (a: number[]): number => a.reduce((s, v) => s + v, 0) / a.length;
    const varc = (a: number[]): number => mean(a.map((v) => v * v)) - mean(a) ** 2;
    // U(−2, 2): mean 0 (sd of the mean 0.018), variance 16/12
    expect(Math.abs(mean(xs))).toBeLessThan(0.1);
    expect(Math.abs(mean(ys))).toBeLessThan(0.1);
    expect(Math.abs(varc(xs) - 4 / 3)).toBeLessThan(0.1);
    expect(xs.filter((x) => x < 0).length / 4000).toBeCloseTo(0.5, 1);
  });

  it('bad tasks are rejected', () => {
    const env = new PointGoalEnv();
    expect(() => env.setTask([1] as unknown as [number, number])).toThrow('point-goal: a task is a goal [x, y] of two finite numbers');
    expect(() => env.setTask('north' as unknown as [number, number])).toThrow('point-goal: a task is a goal [x, y], got string');
    expect(() => env.sampleTasks(-1, new Rng(0))).toThrow('point-goal: n must be a non-negative integer, got -1');
  });
});

describe('point-momentum (MetaPointEnvMomentum)', () => {
  it('v\' = v + clip(a, ±0.1), s\' = s + v\'; observation [s, v]; never done', () => {
    const env = new PointMomentumEnv();
    env.setTask([2, -2]);
    const o = env.reset(new Rng(4));
    const [x0, y0, vx0, vy0] = Array.from(o);
    expect(o).toHaveLength(4);
    const r1 = env.step([0.05, -3]); // y clipped to −0.1
    const vx1 = vx0! + 0.05, vy1 = vy0! - 0.1;
    expect(Array.from(r1.obs)).toEqual([x0! + vx1, y0! + vy1, vx1, vy1]);
    const r2 = env.step([0, 0]); // no push: the point keeps moving at v
    expect(Array.from(r2.obs)).toEqual([x0! + vx1 + vx1, y0! + vy1 + vy1, vx1, vy1]);
    expect(r1.done || r2.done).toBe(false);
  });

  it('sparse reward max(2 − ‖s\' − g‖, 0) of the new position only; dense −d and −d²; info.distance', () => {
    const run = (reward: 'sparse' | 'dense' | 'dense-squared'): number[] => {
      const env = new PointMomentumEnv({ reward });
      env.setTask([2, 2]);
      env.reset(new Rng(1));
      const out: number[] = [];
      for (let t = 0; t < 40; t++) {
        const r = env.step([0.1, 0.1]);
        const d = Math.hypot(r.obs[0]! - 2, r.obs[1]! - 2);
        expect(r.info['distance']).toBeCloseTo(d, 14);
        out.push(r.reward, d);
      }
      return out;
    };
    const sparse = run('sparse'), dense = run('dense'), sq = run('dense-squared');
    let positives = 0, zeros = 0;
    for (let i = 0; i < sparse.length; i += 2) {
      const d = sparse[i + 1]!;
      expect(sparse[i]).toBeCloseTo(Math.max(2 - d, 0), 14);
      expect(dense[i]).toBeCloseTo(-d, 14);
      expect(sq[i]).toBeCloseTo(-d * d, 12);
      if (sparse[i]! > 0) positives++;
      else zeros++;
    }
    // accelerating toward (2, 2): zero reward first (more than 2 away), then positive, then past the goal, zero again
    expect(positives).toBeGreaterThan(0);
    expect(zeros).toBeGreaterThan(0);
  });

  it('starts s ~ U([−0.2, 0.2]²), v ~ U([−0.1, 0.1]²); goals are the four corners, 1/4 each', () => {
    const env = new PointMomentumEnv();
    const rng = new Rng(11);
    for (let i = 0; i < 500; i++) {
      const o = env.reset(rng);
      expect(Math.abs(o[0]!) <= 0.2 && Math.abs(o[1]!) <= 0.2).toBe(true);
      expect(Math.abs(o[2]!) <= 0.1 && Math.abs(o[3]!) <= 0.1).toBe(true);
    }
    const tasks = env.sampleTasks(4000, new Rng(3));
    for (const c of POINT_CORNERS) {
      const share = tasks.filter((t) => t[0] === c[0] && t[1] === c[1]).length / 4000;
      expect(share).toBeGreaterThan(0.22); // 1/4 ± 3 sd (sd 0.0068)
      expect(share).toBeLessThan(0.28);
    }
    expect(tasks.every((t) => POINT_CORNERS.some((c) => c[0] === t[0] && c[1] === t[1]))).toBe(true);
  });

  it('the same seed gives the same episode; clone keeps the task and options; bad inputs are named', () => {
    const a = makeEnvSync('point-momentum');
    const b = a.clone();
    a.setTask([-2, 2]);
    const c = a.clone();
    expect(c.getTask()).toEqual([-2, 2]);
    expect(b.getTask()).toEqual([2, 2]);
    const ep = (env: typeof a): number[] => {
      const o = Array.from(env.reset(new Rng(5)));
      for (let t = 0; t < 10; t++) o.push(...env.step([3, -4]).obs, env.step([-1, 1]).reward);
      return o;
    };
    expect(ep(a)).toEqual(ep(c));
    expect(() => new PointMomentumEnv({ sparseRadius: -1 })).toThrow('point-momentum: sparseRadius must be a finite non-negative number, got -1');
    expect(() => new PointMomentumEnv({ reward: 'hot' as 'sparse' })).toThrow("point-momentum: reward must be 'sparse', 'dense' or 'dense-squared', got 'hot'");
    expect(() => new PointMomentumEnv().step([0, 0])).toThrow('point-momentum: step() before reset()');
    const env = new PointMomentumEnv();
    env.reset(new Rng(0));
    expect(() => env.step([Number.NaN, 0])).toThrow(/point-momentum: /);
    expect(() => env.setTask([1] as unknown as [number, number])).toThrow('point-momentum: a task is a goal [x, y] of two finite numbers');
  });
});

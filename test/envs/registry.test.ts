/**
 * makeEnv / envNames, the spaces of every env, and the bad inputs shared by all envs: unknown names
 * and options, wrong action shapes, NaN and infinite actions (each message checked), and the
 * reference's action normalization and clipping.
 */
import { describe, it, expect } from 'vitest';
import { Rng } from '@metagrad/autograd';
import { makeEnv, makeEnvSync, envNames, envShape, EnvError, NormalizedActionEnv, isMujocoEnv, ENV_DIMS } from '@metagrad/envs';
import type { BoxSpace } from '@metagrad/envs';

const ALL = [
  'point-corner', 'point-goal', 'point-momentum', 'tabular', 'half-cheetah-fwd-back', 'ant-rand-dir', 'walker2d-fwd-back',
  'hopper-rand-params', 'walker2d-rand-params', 'humanoid-rand-dir',
];

/** Raw (unnormalized) spaces, horizons and observation sizes of every env. */
const EXPECTED: Record<string, { obs: number; act: number | 'discrete'; low?: number; high?: number; horizon: number }> = {
  'point-corner': { obs: 2, act: 2, low: -0.2, high: 0.2, horizon: 100 },
  'point-goal': { obs: 2, act: 2, low: -0.1, high: 0.1, horizon: 100 },
  'point-momentum': { obs: 4, act: 2, low: -0.1, high: 0.1, horizon: 100 },
  tabular: { obs: 1, act: 'discrete', horizon: 3 },
  'half-cheetah-fwd-back': { obs: 17, act: 6, low: -1, high: 1, horizon: 100 },
  'ant-rand-dir': { obs: 111, act: 8, low: -1, high: 1, horizon: 200 },
  'walker2d-fwd-back': { obs: 17, act: 6, low: -1, high: 1, horizon: 200 },
  'hopper-rand-params': { obs: 11, act: 3, low: -1, high: 1, horizon: 200 },
  'walker2d-rand-params': { obs: 17, act: 6, low: -1, high: 1, horizon: 200 },
  'humanoid-rand-dir': { obs: 376, act: 17, low: -0.4, high: 0.4, horizon: 200 },
};

describe('ENV_DIMS', () => {
  it('equals the shape of every built box env', async () => {
    const boxEnvs = envNames.filter((n) => n !== 'tabular');
    expect(Object.keys(ENV_DIMS).sort()).toEqual([...boxEnvs].sort());
    for (const name of boxEnvs) {
      const s = envShape(await makeEnv(name));
      expect({ obsDim: s.obsDim, actDim: s.actDim }, name).toEqual(ENV_DIMS[name as keyof typeof ENV_DIMS]);
    }
  });
});

describe('registry', () => {
  it('envNames lists the ten tasks of the design contract', () => {
    expect([...envNames]).toEqual(ALL);
    expect(ALL.filter(isMujocoEnv)).toEqual(ALL.slice(4));
  });

  it('an unknown env name lists the valid ones', async () => {
    await expect(makeEnv('half-cheetah')).rejects.toThrow(`makeEnv: unknown env 'half-cheetah'; valid names: ${ALL.join(', ')}`);
    expect(() => makeEnvSync('cartpole')).toThrow(/unknown env 'cartpole'; valid names: point-corner, point-goal, point-momentum, tabular, half-cheetah-fwd-back/);
  });

  it('unknown or misplaced options are rejected with the valid ones', async () => {
    await expect(makeEnv('point-goal', { reward: 'dense' })).rejects.toThrow("point-goal: unknown option 'reward'; valid options for point-goal: normalizeActions, actionScale, horizon");
    expect(() => makeEnvSync('tabular', { normalizeActions: true })).toThrow('tabular: normalizeActions needs a box action space');
    expect(() => makeEnvSync('point-corner', { reward: 'dense-ish' as 'dense' })).toThrow("point-corner: reward must be 'sparse', 'dense' or 'dense-squared', got 'dense-ish'");
    expect(() => makeEnvSync('point-corner', { horizon: 0 })).toThrow('point-corner: horizon must be a positive integer, got 0');
    await expect(makeEnv('hopper-rand-params', { logScaleLimit: -1 })).rejects.toThrow('hopper-rand-params: logScaleLimit must be a finite non-negative number, got -1');
  });

  it.each(ALL)('%s: raw spaces and horizon', async (name) => {
    const env = await makeEnv(name, name === 'tabular' ? {} : { normalizeActions: false });
    const e = EXPECTED[name]!;
    expect(env.name).toBe(name);
    expect(env.horizon).toBe(e.horizon);
    expect(env.observationSpace.kind === 'box' ? env.observationSpace.shape[0] : 1).toBe(e.obs);
    if (e.act === 'discrete') {
      expect(env.actionSpace).toEqual({ kind: 'discrete', n: 2 });
      expect(env.observationSpace).toEqual({ kind: 'discrete', n: 3 });
    } else {
      const a = env.actionSpace as BoxSpace;
      expect(a.kind).toBe('box');
      expect(a.shape).toEqual([e.act]);
      expect(Array.from(a.low)).toEqual(new Array(e.act).fill(e.low));
      expect(Array.from(a.high)).toEqual(new Array(e.act).fill(e.high));
      const obs = env.reset(new Rng(0));
      expect(obs).toBeInstanceOf(Float64Array);
      expect(obs.length).toBe(e.obs);
      expect(obs.every(Number.isFinite)).toBe(true);
    }
  });

  it.each(ALL.filter((n) => n !== 'tabular'))('%s: normalized by default to [-10, 10]', async (name) => {
    const env = await makeEnv(name);
    expect(env).toBeInstanceOf(NormalizedActionEnv);
    const a = env.actionSpace as BoxSpace;
    expect(Array.from(a.low).every((v) => v === -10) && Array.from(a.high).every((v) => v === 10)).toBe(true);
    expect(env.horizon).toBe(EXPECTED[name]!.horizon);
  });

  it('the horizon option overrides the default', async () => {
    expect((await makeEnv('half-cheetah-fwd-back', { horizon: 7 })).horizon).toBe(7);
    expect(makeEnvSync('tabular', { H: 5 }).horizon).toBe(5);
  });
});

describe('bad actions name the env', () => {
  const boxEnvs = ALL.filter((n) => n !== 'tabular');
  it.each(boxEnvs.flatMap((n) => [[n, true], [n, false]] as const))('%s (normalized %s)', async (name, normalizeActions) => {
    const env = await makeEnv(name, { normalizeActions });
    const dim = (env.actionSpace as BoxSpace).shape[0];
    const rng = new Rng(1);
    env.setTask(env.sampleTasks(1, rng)[0]!);
    env.reset(rng);
    const good = new Array<number>(dim).fill(0);
    expect(() => env.step(new Array<number>(dim + 1).fill(0))).toThrow(`${name}: action must have ${dim} entries (action space shape [${dim}]), got ${dim + 1}`);
    expect(() => env.step(good.slice(1))).toThrow(EnvError);
    const nan = good.slice();
    nan[dim - 1] = NaN;
    expect(() => env.step(nan)).toThrow(`${name}: action[${dim - 1}] is NaN`);
    const inf = good.slice();
    inf[0] = -Infinity;
    expect(() => env.step(inf)).toThrow(`${name}: action[0] is -Infinity (actions must be finite)`);
    expect(() => env.step('left' as unknown as number[])).toThrow(`${name}: action must be an array of ${dim} numbers, got string`);
    expect(() => env.step([...good.slice(1), '1'] as unknown as number[])).toThrow(`${name}: action[${dim - 1}] must be a number, got string`);
    // the env is still usable after rejected actions
    const r = env.step(good);
    expect(Number.isFinite(r.reward)).toBe(true);
  });

  it('tabular: actions must be integers in [0, A)', () => {
    const env = makeEnvSync('tabular');
    const rng = new Rng(2);
    env.setTask(env.sampleTasks(1, rng)[0]!);
    env.reset(rng);
    expect(() => env.step(2)).toThrow('tabular: a discrete action must be an integer in [0, 2), got 2');
    expect(() => env.step(0.5)).toThrow('tabular: a discrete action must be an integer in [0, 2), got 0.5');
    expect(() => env.step(NaN)).toThrow('tabular: action is NaN');
    expect(() => env.step(Infinity)).toThrow('tabular: action is Infinity (actions must be finite)');
    expect(() => env.step([0, 1])).toThrow('tabular: a discrete action must be one integer in [0, 2), got an array of length 2');
    expect(env.step([1]).done).toBe(false);
  });

  it('stepping before reset is an error', async () => {
    const env = await makeEnv('half-cheetah-fwd-back');
    expect(() => env.step(new Array(6).fill(0))).toThrow('half-cheetah-fwd-back: step() before reset()');
    expect(() => makeEnvSync('point-corner').step([0, 0])).toThrow('point-corner: step() before reset()');
  });
});

describe('action normalization (reference normalized_env.py, scale 10)', () => {
  it('maps [-10, 10] linearly onto [low, high] and clips', () => {
    const env = makeEnvSync('point-goal') as NormalizedActionEnv<unknown>;
    const out = new Float64Array(2);
    // a_env = low + (a + 10)(high − low)/20 on [−0.1, 0.1]
    expect(Array.from(env.toInner([-10, 10], out))).toEqual([-0.1, 0.1]);
    const mid = Array.from(env.toInner([0, 5], out));
    expect(mid[0]).toBeCloseTo(0, 15);
    expect(mid[1]).toBeCloseTo(0.05, 15);
    expect(Array.from(env.toInner([-35, 1e6], out))).toEqual([-0.1, 0.1]); // clipped
    const scaled = makeEnvSync('point-goal', { actionScale: 1 }) as NormalizedActionEnv<unknown>;
    const s2 = Array.from(scaled.toInner([0.5, -2], out));
    expect(s2[0]).toBeCloseTo(0.05, 15);
    expect(s2[1]).toBe(-0.1);
  });

  it('a normalized step equals the raw step on the mapped action', () => {
    const norm = makeEnvSync('point-corner', { reward: 'dense' });
    const raw = makeEnvSync('point-corner', { reward: 'dense', normalizeActions: false });
    norm.setTask([2, 2]);
    raw.setTask([2, 2]);
    const o1 = norm.reset(new Rng(5)), o2 = raw.reset(new Rng(5));
    expect(o1).toEqual(o2);
    const mapped = (norm as NormalizedActionEnv<unknown>).toInner([5, -20], new Float64Array(2));
    expect(mapped[1]).toBe(-0.2); // clipped
    const a = norm.step([5, -20]);
    const b = raw.step(mapped);
    expect(a.obs).toEqual(b.obs);
    expect(a.reward).toBe(b.reward);
  });

  it('raw envs clip out-of-range actions to the action space, as the reference does', () => {
    const env = makeEnvSync('point-goal', { normalizeActions: false });
    env.setTask([1, 1]);
    env.reset(new Rng(0));
    const r = env.step([5, -5]);
    expect(Array.from(r.obs)).toEqual([0.1, -0.1]);
  });
});

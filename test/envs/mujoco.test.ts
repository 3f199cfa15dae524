/**
 * The MuJoCo tasks on mujoco-js: model facts, rewards against hand computations on known states,
 * termination, task distributions, seeded determinism, pinned short trajectories, RandParams
 * parameters reaching the model and changing the dynamics, and divergence handling.
 */
import { describe, it, expect, beforeAll } from 'vitest';
import { Rng } from '@metagrad/autograd';
import { makeEnv, loadMujoco, MujocoEnv, HalfCheetahFwdBackEnv } from '@metagrad/envs';
import type { BoxSpace, MetaEnv, RandParamsTask, MjSim } from '@metagrad/envs';

const MUJOCO = ['half-cheetah-fwd-back', 'ant-rand-dir', 'walker2d-fwd-back', 'hopper-rand-params', 'walker2d-rand-params', 'humanoid-rand-dir'] as const;
type Name = (typeof MUJOCO)[number];

/** Raw env (no action normalization) as a MujocoEnv. */
async function raw(name: Name): Promise<MujocoEnv<unknown>> {
  const env = await makeEnv(name, { normalizeActions: false });
  expect(env).toBeInstanceOf(MujocoEnv);
  return env as MujocoEnv<unknown>;
}

function randomAction(env: MetaEnv<unknown>, rng: Rng): number[] {
  const sp = env.actionSpace as BoxSpace;
  return Array.from(sp.low, (lo, i) => rng.uniformIn(lo, sp.high[i]!));
}

/** 5 rewards from seed 1234 (task, reset, uniform actions), recorded from this implementation (ant, humanoid: with 2-D directions). */
const PINNED: Record<Name, number[]> = {
  'half-cheetah-fwd-back': [0.2138279099481096, 0.4142591141297131, 0.34396731170429307, -0.7117976741356888, -0.8512276800858204],
  'ant-rand-dir': [-0.9210333181036505, -0.07800009348389225, 0.30522778749894086, -0.5280727257718476, 0.2285906224377473],
  'walker2d-fwd-back': [1.1749724310695275, 1.7608663717707809, 2.5842366009257587, 2.3758874995208124, 1.6227187269096455],
  'hopper-rand-params': [1.0077934355569516, 1.007508329484369, 1.0088691985879776, 0.9977109237068147, 1.0033607620634384],
  'walker2d-rand-params': [0.7741579539239009, 0.5696640617660258, 0.5037131846831979, 0.4476028718187955, 0.42835481351569804],
  'humanoid-rand-dir': [4.904050345914086, 4.919796960273321, 4.938057497281797, 4.892361384676343, 4.909072566138306],
};

/** Model facts: nq, nv, nu, nbody, frame skip, dt. */
const FACTS: Record<Name, [number, number, number, number, number, number]> = {
  'half-cheetah-fwd-back': [9, 9, 6, 8, 5, 0.05],
  'ant-rand-dir': [15, 14, 8, 14, 5, 0.05],
  'walker2d-fwd-back': [9, 9, 6, 8, 8, 0.016],
  'hopper-rand-params': [6, 6, 3, 5, 4, 0.016],
  'walker2d-rand-params': [9, 9, 6, 8, 5, 0.02],
  'humanoid-rand-dir': [24, 23, 17, 14, 5, 0.015],
};

beforeAll(async () => {
  await loadMujoco();
});

describe.each(MUJOCO)('%s', (name) => {
  it('model facts, frame skip and dt', async () => {
    const env = await raw(name);
    const sim = env.simulator;
    const [nq, nv, nu, nbody, frameSkip, dt] = FACTS[name];
    expect([sim.nq, sim.nv, sim.nu, sim.nbody]).toEqual([nq, nv, nu, nbody]);
    expect(env.frameSkip).toBe(frameSkip);
    expect(env.dt).toBeCloseTo(dt, 12);
    expect(Array.from(sim.bodyMass).slice(1).every((m) => m > 0)).toBe(true);
  });

  it('pinned rewards of a short seeded trajectory', async () => {
    const env = await raw(name);
    const rng = new Rng(1234);
    env.setTask(env.sampleTasks(1, rng)[0]);
    env.reset(rng);
    const rewards = Array.from({ length: 5 }, () => env.step(randomAction(env, rng)).reward);
    for (let t = 0; t < 5; t++) expect(rewards[t]).toBeCloseTo(PINNED[name][t]!, 9);
  });

  it('the same seed gives the same trajectory bit for bit; another seed does not', async () => {
    const base = await raw(name);
    const run = (seed: number, env: MetaEnv<unknown>): number[] => {
      const rng = new Rng(seed);
      env.setTask(env.sampleTasks(1, rng)[0]);
      const out = Array.from(env.reset(rng));
      for (let t = 0; t < 8; t++) {
        const r = env.step(randomAction(env, rng));
        out.push(...r.obs, r.reward, r.done ? 1 : 0);
        if (r.done) break;
      }
      return out;
    };
    const a = run(77, base);
    expect(run(77, base.clone())).toEqual(a);
    expect(run(78, base)).not.toEqual(a);
  });

  it('info terms add up to the reward', async () => {
    const env = await raw(name);
    const rng = new Rng(5);
    env.setTask(env.sampleTasks(1, rng)[0]);
    env.reset(rng);
    for (let t = 0; t < 3; t++) {
      const r = env.step(randomAction(env, rng));
      expect(Object.keys(r.info)).toEqual([...env.infoKeys]);
      const sum = Object.values(r.info).reduce((s, v) => s + v, 0);
      expect(sum).toBeCloseTo(r.reward, 10);
    }
  });
});

describe('direction tasks: ±1 with probability 1/2', () => {
  it.each(['half-cheetah-fwd-back', 'walker2d-fwd-back'] as const)('%s', async (name) => {
    const env = await raw(name);
    const tasks = env.sampleTasks(2000, new Rng(3)) as number[];
    expect(tasks.every((t) => t === 1 || t === -1)).toBe(true);
    const plus = tasks.filter((t) => t === 1).length;
    expect(Math.abs(plus - 1000)).toBeLessThan(120); // sd ≈ 22
    expect(() => env.setTask('forward')).toThrow(`${name}: a task is a direction (+1 or −1), got forward`);
  });
});

describe('2-D direction tasks (ant, humanoid): unit vectors uniform on the circle', () => {
  it.each(['ant-rand-dir', 'humanoid-rand-dir'] as const)('%s', async (name) => {
    const env = await raw(name);
    const tasks = env.sampleTasks(4000, new Rng(3)) as [number, number][];
    for (const [x, y] of tasks) expect(Math.abs(Math.hypot(x, y) - 1)).toBeLessThan(1e-15);
    // uniform angle: each quadrant 1/4 (sd 0.0068), E[cos] = E[sin] = 0, E[cos²] = 1/2 (sd 0.011)
    const quadrants = [0, 0, 0, 0];
    for (const [x, y] of tasks) quadrants[(x >= 0 ? 0 : 1) + (y >= 0 ? 0 : 2)]! += 1 / 4000;
    for (const q of quadrants) expect(Math.abs(q - 0.25)).toBeLessThan(0.03);
    const mean = (f: (t: [number, number]) => number): number => tasks.reduce((a, t) => a + f(t), 0) / tasks.length;
    expect(Math.abs(mean((t) => t[0]))).toBeLessThan(0.04);
    expect(Math.abs(mean((t) => t[1]))).toBeLessThan(0.04);
    expect(Math.abs(mean((t) => t[0] ** 2) - 0.5)).toBeLessThan(0.04);
    expect(() => env.setTask(1)).toThrow(`${name}: a task is a direction [dx, dy] in the plane (two finite numbers), got 1`);
    expect(() => env.setTask([1, Number.NaN])).toThrow(`${name}: a task is a direction [dx, dy] in the plane (two finite numbers), got [1,null]`);
    env.setTask([0, -1]);
    expect(env.getTask()).toEqual([0, -1]);
    expect(env.clone().getTask()).toEqual([0, -1]);
  });
});

/** The post-step state and the action for a hand computation. */
function stepFrom(env: MujocoEnv<unknown>, qpos: number[], qvel: number[], a: number[]) {
  env.setState(qpos, qvel);
  const before = env.getState();
  const sim = env.simulator;
  const xposTorso = sim.xpos[3]!, yposTorso = sim.xpos[4]!;
  const com = comXY(sim);
  const r = env.step(a);
  return { r, before, after: env.getState(), xposTorso, yposTorso, com, sim };
}

function comXY(sim: MjSim): [number, number] {
  let mx = 0, my = 0, m = 0;
  for (let i = 0; i < sim.nbody; i++) {
    mx += sim.bodyMass[i]! * sim.xipos[3 * i]!;
    my += sim.bodyMass[i]! * sim.xipos[3 * i + 1]!;
    m += sim.bodyMass[i]!;
  }
  return [mx / m, my / m];
}

const sq = (a: number[]): number => a.reduce((s, v) => s + v * v, 0);

describe('rewards against hand computations on known states', () => {
  it('half-cheetah: dir·Δx/dt − 0.05·‖a‖², obs [qpos[1:], qvel], never done', async () => {
    const env = (await raw('half-cheetah-fwd-back')) as HalfCheetahFwdBackEnv;
    env.reset(new Rng(0));
    for (const dir of [1, -1]) {
      env.setTask(dir);
      const a = [0.5, -0.25, 1, 0, -1, 0.75];
      const qpos = [0, 0.1, 0.2, 0.1, -0.2, 0.3, 0, 0.1, -0.1];
      const qvel = [1, 0, 0.5, 0, 0, 0, 0, 0, 0];
      const { r, before, after } = stepFrom(env, qpos, qvel, a);
      expect(before.qpos[0]).toBe(0);
      const expected = (dir * (after.qpos[0]! - before.qpos[0]!)) / 0.05 - 0.05 * sq(a);
      expect(r.reward).toBeCloseTo(expected, 12);
      expect(r.info.reward_ctrl).toBeCloseTo(-0.05 * sq(a), 14);
      expect(Array.from(r.obs)).toEqual([...Array.from(after.qpos).slice(1), ...Array.from(after.qvel)]);
      expect(r.done).toBe(false);
    }
    // upside down and still not done
    const { r } = stepFrom(env, [0, 0, Math.PI, 0, 0, 0, 0, 0, 0], new Array(9).fill(0), new Array(6).fill(0));
    expect(r.done).toBe(false);
  });

  it('ant: d·Δ(x, y)_torso/dt − 0.5‖a‖² − 5e-4‖clip(cfrc_ext)‖² + 1; done outside 0 ≤ z ≤ 1', async () => {
    const env = await raw('ant-rand-dir');
    env.reset(new Rng(0));
    env.setTask([0.6, -0.8]);
    const a = [0.2, -0.2, 0.5, 0.5, -1, 1, 0, 0.3];
    let touched = false;
    let r = env.step(new Array(8).fill(0));
    for (let t = 0; t < 60 && !touched; t++) {
      env.step(new Array(8).fill(0)); // fall and settle, until a step ends with the feet on the floor
      const s0 = env.getState();
      const out = stepFrom(env, Array.from(s0.qpos), Array.from(s0.qvel), a);
      const { xposTorso, yposTorso, sim } = out;
      r = out.r;
      let c = 0;
      for (const f of sim.cfrcExt) c += Math.min(1, Math.max(-1, f)) ** 2;
      touched = c > 0;
      const expected = (0.6 * (sim.xpos[3]! - xposTorso) - 0.8 * (sim.xpos[4]! - yposTorso)) / 0.05 - 0.5 * sq(a) - 0.5e-3 * c + 1;
      expect(sim.xpos[4]! - yposTorso).not.toBe(0); // the y part is exercised
      expect(r.reward).toBeCloseTo(expected, 12);
      expect(r.info.reward_contact).toBeCloseTo(-0.5e-3 * c, 15);
    }
    expect(touched).toBe(true);
    expect(r.obs.length).toBe(111);
    expect(r.obs.slice(27).every((v) => v >= -1 && v <= 1)).toBe(true);
    expect(r.done).toBe(false);
    const high = stepFrom(env, [0, 0, 1.5, 1, 0, 0, 0, 0, 1, 0, -1, 0, -1, 0, 1], new Array(14).fill(0), new Array(8).fill(0));
    expect(high.r.done).toBe(true);
  });

  it('walker2d-fwd-back: dir·Δx/dt + 1 − 1e-3‖a‖²; done unless 0.8 < h < 2 and |angle| < 1', async () => {
    const env = await raw('walker2d-fwd-back');
    env.reset(new Rng(0));
    env.setTask(-1);
    const a = [1, -1, 0.5, 0, 0.2, -0.3];
    const qpos = [0.3, 1.25, 0.1, -0.2, -0.1, 0, -0.3, -0.2, 0.1];
    const { r, before, after } = stepFrom(env, qpos, [2, 0, 0, 0, 0, 0, 0, 0, 0], a);
    expect(r.reward).toBeCloseTo((-(after.qpos[0]! - before.qpos[0]!)) / 0.016 + 1 - 1e-3 * sq(a), 12);
    expect(r.done).toBe(false);
    const obs = Array.from(r.obs);
    expect(obs.slice(0, 8)).toEqual(Array.from(after.qpos).slice(1));
    expect(obs.slice(8)).toEqual(Array.from(after.qvel).map((v) => Math.max(-10, Math.min(10, v))));
    expect(stepFrom(env, [0, 0.7, 0, 0, 0, 0, 0, 0, 0], new Array(9).fill(0), new Array(6).fill(0)).r.done).toBe(true); // too low
    expect(stepFrom(env, [0, 1.25, 1.2, 0, 0, 0, 0, 0, 0], new Array(9).fill(0), new Array(6).fill(0)).r.done).toBe(true); // tilted
    // velocities are clipped to ±10 in the observation
    const fast = stepFrom(env, [0, 1.25, 0, 0, 0, 0, 0, 0, 0], [30, 0, 0, 0, 0, 0, 0, 0, 0], new Array(6).fill(0));
    expect(fast.r.obs[8]).toBe(10);
  });

  it('hopper-rand-params: Δx/dt + 1 − 1e-3‖a‖²; done unless h > 0.7, |angle| < 0.2, |s[2:]| < 100', async () => {
    const env = await raw('hopper-rand-params');
    env.reset(new Rng(0));
    const a = [0.5, -0.5, 1];
    const { r, before, after } = stepFrom(env, [0.1, 1.25, 0.05, -0.1, -0.1, 0.05], [1, 0, 0, 0, 0, 0], a);
    expect(r.reward).toBeCloseTo((after.qpos[0]! - before.qpos[0]!) / 0.016 + 1 - 1e-3 * sq(a), 12);
    expect(r.done).toBe(false);
    const healthy = (q: Float64Array, v: Float64Array): boolean =>
      q[1]! > 0.7 && Math.abs(q[2]!) < 0.2 && [...q.slice(2), ...v].every((x) => Math.abs(x) < 100);
    expect(stepFrom(env, [0, 1.25, 0.3, 0, 0, 0], new Array(6).fill(0), [0, 0, 0]).r.done).toBe(true); // angle
    expect(stepFrom(env, [0, 1.25, 0, 0, 0, 0], [500, 0, 0, 0, 0, 0], [0, 0, 0]).r.done).toBe(true); // |qvel| ≥ 100
    // height: the torso at 0.5 with the leg folded up (thigh at −149°) is upright but too low
    const low = stepFrom(env, [0, 0.5, 0, -2.6, 0, 0], new Array(6).fill(0), [0, 0, 0]);
    expect(low.after.qpos[1]).toBeLessThan(0.7);
    expect(Math.abs(low.after.qpos[2]!)).toBeLessThan(0.2);
    expect(low.r.done).toBe(true);
    // and along random episodes, done is exactly the negated health condition of the post-step state
    const rng = new Rng(8);
    env.reset(rng);
    for (let t = 0; t < 100; t++) {
      const s = env.step([rng.uniformIn(-1, 1), rng.uniformIn(-1, 1), rng.uniformIn(-1, 1)]);
      const after = env.getState();
      expect(s.done).toBe(!healthy(after.qpos, after.qvel));
      if (s.done) env.reset(rng);
    }
  });

  it('walker2d-rand-params: Δx/dt + 1 − 1e-3‖a‖² (no direction); same termination as the walker', async () => {
    const env = await raw('walker2d-rand-params');
    env.reset(new Rng(0));
    const a = [0.1, 0.2, 0.3, -0.4, -0.5, -0.6];
    const { r, before, after } = stepFrom(env, [0, 1.25, 0, 0, 0, 0, 0, 0, 0], [-1, 0, 0, 0, 0, 0, 0, 0, 0], a);
    expect(r.reward).toBeCloseTo((after.qpos[0]! - before.qpos[0]!) / 0.02 + 1 - 1e-3 * sq(a), 12);
    expect(stepFrom(env, [0, 2.2, 0, 0, 0, 0, 0, 0, 0], new Array(9).fill(0), new Array(6).fill(0)).r.done).toBe(true); // too high
  });

  it('humanoid: 0.25·d·Δcom_(x,y)/timestep + 5 − 0.1‖a‖² − min(5e-7‖cfrc_ext‖², 10); done outside 1 ≤ z ≤ 2', async () => {
    const env = await raw('humanoid-rand-dir');
    env.reset(new Rng(0));
    env.setTask([0.6, 0.8]);
    const qpos = Array.from(env.simulator.qpos0);
    const qvel = new Array(23).fill(0);
    qvel[0] = 1;
    qvel[1] = 0.5;
    const a = Array.from({ length: 17 }, (_, i) => 0.4 * Math.sin(i));
    const { r, com, sim } = stepFrom(env, qpos, qvel, a);
    const impact = Math.min(0.5e-6 * sq(Array.from(sim.cfrcExt)), 10);
    const after = comXY(sim);
    const expected = (0.25 * (0.6 * (after[0] - com[0]) + 0.8 * (after[1] - com[1]))) / 0.003 + 5 - 0.1 * sq(a) - impact;
    expect(r.reward).toBeCloseTo(expected, 12);
    expect(r.info.reward_linvel).toBeGreaterThan(0); // moving along +x and +y, the direction's side
    expect(r.obs.length).toBe(376);
    const low = qpos.slice();
    low[2] = 0.9;
    expect(stepFrom(env, low, new Array(23).fill(0), new Array(17).fill(0)).r.done).toBe(true);
  });
});

describe('RandParams (rand_param_envs base.py)', () => {
  it.each(['hopper-rand-params', 'walker2d-rand-params'] as const)('%s: multipliers 1.5^u (damping 1.3^u), u ~ U(-3, 3)', async (name) => {
    const env = await raw(name);
    const nom = (env as unknown as { nominal: RandParamsTask }).nominal;
    const tasks = env.sampleTasks(200, new Rng(4)) as RandParamsTask[];
    const logs: Record<string, number[]> = { body_mass: [], body_inertia: [], dof_damping: [], geom_friction: [] };
    for (const t of tasks)
      for (const [k, base] of [['body_mass', 1.5], ['body_inertia', 1.5], ['dof_damping', 1.3], ['geom_friction', 1.5]] as const)
        t[k].forEach((v, i) => {
          if (nom[k][i]! > 0) logs[k]!.push(Math.log(v / nom[k][i]!) / Math.log(base));
        });
    for (const [k, u] of Object.entries(logs)) {
      expect(u.length, k).toBeGreaterThan(200);
      expect(Math.min(...u)).toBeGreaterThanOrEqual(-3 - 1e-9);
      expect(Math.max(...u)).toBeLessThanOrEqual(3 + 1e-9);
      const mean = u.reduce((s, v) => s + v, 0) / u.length;
      const variance = u.reduce((s, v) => s + (v - mean) ** 2, 0) / u.length;
      expect(Math.abs(mean), k).toBeLessThan(0.35);
      expect(Math.abs(variance - 3), k).toBeLessThan(0.6); // Var U(−3, 3) = 3
    }
  });

  it('the scaled parameters land in the model and change the dynamics', async () => {
    const env = await raw('hopper-rand-params');
    const sim = env.simulator;
    const nominal = (env as unknown as { nominal: RandParamsTask }).nominal;
    const [task] = env.sampleTasks(1, new Rng(12)) as RandParamsTask[];
    const rollout = (e: MujocoEnv<unknown>, t: RandParamsTask): number[] => {
      e.setTask(t);
      const rng = new Rng(99);
      const out = Array.from(e.reset(rng));
      expect(Array.from(sim.bodyMass)).toEqual(Array.from(t.body_mass));
      expect(Array.from(sim.bodyInertia)).toEqual(Array.from(t.body_inertia));
      expect(Array.from(sim.dofDamping)).toEqual(Array.from(t.dof_damping));
      expect(Array.from(sim.geomFriction)).toEqual(Array.from(t.geom_friction));
      for (let i = 0; i < 10; i++) out.push(...e.step([0.5, -0.5, 0.5]).obs);
      return out;
    };
    const withTask = rollout(env, task!);
    const withNominal = rollout(env.clone(), nominal);
    expect(withTask).not.toEqual(withNominal);
    // heavier bodies fall the same but respond less to the same torques: scale all masses by 2.25
    const heavy: RandParamsTask = { ...nominal, body_mass: nominal.body_mass.map((m) => m * 2.25), body_inertia: nominal.body_inertia.map((m) => m * 2.25) };
    expect(rollout(env.clone(), heavy)).not.toEqual(withNominal);
    expect(rollout(env.clone(), nominal)).toEqual(withNominal);
  });

  it('envs with different tasks interleaved on one shared simulator match runs alone', async () => {
    const base = await raw('walker2d-rand-params');
    const tasks = base.sampleTasks(2, new Rng(31));
    const alone = tasks.map((t, k) => {
      const e = base.clone();
      e.setTask(t);
      const rng = new Rng(100 + k);
      const out = Array.from(e.reset(rng));
      for (let i = 0; i < 15; i++) out.push(e.step(randomAction(e, rng)).reward);
      return out;
    });
    const envs = tasks.map((t) => {
      const e = base.clone();
      e.setTask(t);
      return e;
    });
    const rngs = [new Rng(100), new Rng(101)];
    const outs = envs.map((e, k) => Array.from(e.reset(rngs[k]!)));
    for (let i = 0; i < 15; i++) for (let k = 0; k < 2; k++) outs[k]!.push(envs[k]!.step(randomAction(envs[k]!, rngs[k]!)).reward);
    expect(outs).toEqual(alone);
  });

  it('bad tasks are rejected', async () => {
    const env = await raw('walker2d-rand-params');
    const [t] = env.sampleTasks(1, new Rng(1)) as RandParamsTask[];
    expect(() => env.setTask({ ...t!, body_mass: t!.body_mass.slice(1) })).toThrow('walker2d-rand-params: task.body_mass has 7 entries, the model has 8');
    expect(() => env.setTask({ ...t!, dof_damping: [1, 2] as unknown as Float64Array })).toThrow('walker2d-rand-params: task.dof_damping must be a Float64Array');
    const neg = t!.geom_friction.slice();
    neg[2] = -1;
    expect(() => env.setTask({ ...t!, geom_friction: neg })).toThrow('walker2d-rand-params: task.geom_friction[2] must be finite and non-negative, got -1');
  });
});

describe('divergence', () => {
  it('a blown-up state ends the episode, is reported, and never yields NaN rewards', async () => {
    const env = await raw('half-cheetah-fwd-back');
    const rng = new Rng(0);
    env.setTask(1);
    const obs0 = env.reset(rng);
    const qpos = Array.from(env.getState().qpos);
    const r = (() => {
      env.setState(qpos, [1e12, 0, 0, 0, 0, 0, 0, 0, 0]);
      return env.step(new Array(6).fill(0));
    })();
    expect(r.done).toBe(true);
    expect(r.reward).toBe(0);
    expect(r.diverged).toMatch(/^half-cheetah-fwd-back: simulation diverged at t=[0-9.]+ \(state is NaN, infinite or beyond 1e10 after mj_step 1 of 5.*\); episode ended$/);
    expect(r.obs.every(Number.isFinite)).toBe(true);
    expect(Object.values(r.info).every((v) => v === 0)).toBe(true);
    expect(() => env.step(new Array(6).fill(0))).toThrow('half-cheetah-fwd-back: step() after the simulation diverged; call reset()');
    // a reset recovers
    expect(env.reset(new Rng(0))).toEqual(obs0);
    expect(Number.isFinite(env.step(new Array(6).fill(0.1)).reward)).toBe(true);
  });

  it('NaN in the state is caught the same way', async () => {
    const env = await raw('ant-rand-dir');
    env.reset(new Rng(0));
    const qpos = Array.from(env.getState().qpos);
    qpos[7] = NaN;
    env.setState(qpos, new Array(14).fill(0));
    const r = env.step(new Array(8).fill(0));
    expect(r.done).toBe(true);
    expect(r.reward).toBe(0);
    expect(r.diverged).toContain('ant-rand-dir: simulation diverged');
  });
});

describe('freeing MuJoCo memory', () => {
  it('releaseMujocoSims deletes the models and data; old envs say so, new envs work', async () => {
    const { releaseMujocoSims } = await import('@metagrad/envs');
    const old = await raw('half-cheetah-fwd-back');
    old.reset(new Rng(0));
    const before = old.step(new Array(6).fill(0.1)).reward;
    releaseMujocoSims();
    expect(old.simulator.isDeleted).toBe(true);
    expect(() => old.step(new Array(6).fill(0))).toThrow("MuJoCo model 'half_cheetah' was released (releaseMujocoSims); create the env again");
    const fresh = await raw('half-cheetah-fwd-back');
    fresh.reset(new Rng(0));
    expect(fresh.step(new Array(6).fill(0.1)).reward).toBe(before);
  });
});

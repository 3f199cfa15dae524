/**
 * Meta-batch sampling: the batched policies against independent computations, the serial executor's
 * layout and its equality with one-environment-at-a-time rollouts, and the worker-thread sampler
 * returning exactly what the serial one does (MuJoCo with terminations and RandParams, tabular).
 */
import { describe, it, expect, afterAll } from 'vitest';
import { Rng } from '@metagrad/autograd';
import {
  makeEnv, makeEnvSync, sampleMetaBatch, WorkerSampler, batchedPolicy, gaussianMLPParamCount,
} from '@metagrad/envs';
import type { GaussianMLPSpec, MetaEnv, PolicySpec, SampleBatch, RandParamsTask } from '@metagrad/envs';

function mlpSpec(obsDim: number, actDim: number, hidden: number[], seed: number, logStd = -0.5): GaussianMLPSpec {
  const rng = new Rng(seed);
  const n = gaussianMLPParamCount(obsDim, actDim, hidden);
  const params = Float64Array.from({ length: n }, () => rng.uniformIn(-0.3, 0.3));
  params.fill(logStd, n - actDim);
  return { kind: 'gaussian-mlp', obsDim, actDim, hidden, params };
}

/** Bitwise equality of two batches (every array and the divergences). */
function expectSameBatch(a: SampleBatch, b: SampleBatch): void {
  const same = (x: ArrayBufferView, y: ArrayBufferView): boolean =>
    Buffer.from(x.buffer, x.byteOffset, x.byteLength).equals(Buffer.from(y.buffer, y.byteOffset, y.byteLength));
  expect([a.mode, a.rowsPerTask, a.nTraj]).toEqual([b.mode, b.rowsPerTask, b.nTraj]);
  for (const k of ['obs', 'actions', 'rewards', 'mask', 'dones', 'pathStart', 'lengths', 'taskIndex', 'finalObs'] as const) expect(same(a[k], b[k]), k).toBe(true);
  expect(Object.keys(a.infos)).toEqual(Object.keys(b.infos));
  for (const k of Object.keys(a.infos)) expect(same(a.infos[k]!, b.infos[k]!), `info ${k}`).toBe(true);
  expect(a.divergences).toEqual(b.divergences);
  expect(a.envSteps).toBe(b.envSteps);
}

describe('batched policies', () => {
  it('gaussian-mlp: mean = tanh MLP with W [in, out] row-major, action = mean + exp(logStd)·ε', () => {
    const spec = mlpSpec(3, 2, [4, 5], 1, 0.3);
    const p = spec.params;
    // independent forward pass on nested arrays, in flatten order W1, b1, W2, b2, W3, b3, logStd
    const sizes = [3, 4, 5, 2];
    let o = 0;
    const layers = sizes.slice(1).map((out, l) => {
      const inp = sizes[l]!;
      const W = Array.from({ length: inp }, (_, i) => Array.from({ length: out }, (_, j) => p[o + i * out + j]!));
      o += inp * out;
      const b = Array.from(p.subarray(o, o + out));
      o += out;
      return { W, b };
    });
    const logStd = Array.from(p.subarray(o));
    const mean = (x: number[]): number[] =>
      layers.reduce((h, { W, b }, l) => {
        const z = b.map((bj, j) => h.reduce((s, hi, i) => s + hi * W[i]![j]!, 0) + bj);
        return l < layers.length - 1 ? z.map(Math.tanh) : z;
      }, x);
    const obs = Float64Array.of(0.5, -1, 2, 0.1, 0.2, -0.3);
    const rngs = [new Rng(10), new Rng(11)];
    const eps = rngs.map((r) => {
      const c = Rng.fromState(r.state());
      return [c.normal(), c.normal()];
    });
    const out = new Float64Array(4);
    batchedPolicy(spec)(obs, 2, rngs, out);
    for (let k = 0; k < 2; k++) {
      const m = mean(Array.from(obs.subarray(3 * k, 3 * k + 3)));
      for (let j = 0; j < 2; j++) expect(out[2 * k + j]).toBeCloseTo(m[j]! + Math.exp(logStd[j]!) * eps[k]![j]!, 13);
    }
  });

  it('a row does not depend on the other rows of its batch', () => {
    const spec = mlpSpec(4, 3, [8, 8], 2);
    const f = batchedPolicy(spec);
    const obs = Float64Array.from({ length: 20 }, (_, i) => Math.sin(i));
    const all = new Float64Array(15);
    f(obs, 5, [0, 1, 2, 3, 4].map((s) => new Rng(s)), all);
    const one = new Float64Array(3);
    f(obs.subarray(12, 16), 1, [new Rng(3)], one);
    expect(Array.from(one)).toEqual(Array.from(all.subarray(9, 12)));
  });

  it('tabular-softmax samples with probabilities softmax(θ[s])', () => {
    const theta = Float64Array.of(0, 0, 0, Math.log(1), Math.log(3), Math.log(6));
    const f = batchedPolicy({ kind: 'tabular-softmax', S: 2, A: 3, theta });
    const rng = new Rng(4);
    const counts = [0, 0, 0];
    const out = new Float64Array(1);
    for (let i = 0; i < 10000; i++) {
      f(Float64Array.of(1), 1, [rng], out);
      counts[out[0]!]! += 1;
    }
    expect(counts[0]! / 10000).toBeCloseTo(0.1, 1.5);
    expect(counts[1]! / 10000).toBeCloseTo(0.3, 1.5);
    expect(counts[2]! / 10000).toBeCloseTo(0.6, 1.5);
  });
});

describe('sampleMetaBatch (serial vectorized executor)', () => {
  it("'episodes' layout: batch-major, one path per row, task index per trajectory, lengths and masks agree", async () => {
    const env = await makeEnv('hopper-rand-params');
    const rng = new Rng(5);
    const tasks = env.sampleTasks(3, rng);
    const b = sampleMetaBatch(env, { tasks, rolloutsPerTask: 4, policy: mlpSpec(11, 3, [16], 3, 0), rng, horizon: 60, mode: 'episodes' });
    expect([b.mode, b.nTasks, b.rolloutsPerTask, b.rowsPerTask, b.nRows, b.nTraj, b.horizon, b.obsDim, b.actDim]).toEqual(['episodes', 3, 4, 4, 12, 12, 60, 11, 3]);
    expect(Array.from(b.pathStart)).toEqual(Array.from({ length: 12 }, (_, j) => j * 60));
    expect(b.obs.length).toBe(12 * 60 * 11);
    expect(b.actions.length).toBe(12 * 60 * 3);
    expect(Array.from(b.taskIndex)).toEqual([0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2]);
    expect(Object.keys(b.infos)).toEqual(['reward_run', 'reward_ctrl', 'reward_alive']);
    let total = 0, terminated = 0;
    for (let j = 0; j < 12; j++) {
      const L = b.lengths[j]!;
      total += L;
      for (let t = 0; t < 60; t++) {
        const i = j * 60 + t;
        expect(b.mask[i]).toBe(t < L ? 1 : 0);
        if (t >= L) expect(b.rewards[i] === 0 && b.obs[i * 11] === 0 && b.infos.reward_alive![i] === 0).toBe(true);
        else expect(b.infos.reward_alive![i]).toBe(1);
        if (t !== L - 1) expect(b.dones[i]).toBe(0);
      }
      if (L < 60) {
        terminated++;
        expect(b.dones[j * 60 + L - 1]).toBe(1); // an early end is a termination
      }
    }
    expect(terminated).toBeGreaterThan(0); // a random hopper falls within 60 steps
    expect(b.envSteps).toBe(total);
  });

  it('equals running each (task, rollout) alone with its forked Rng', () => {
    const env = makeEnvSync('point-corner', { reward: 'dense' });
    const spec = mlpSpec(2, 2, [8], 6, 0);
    const tasks = env.sampleTasks(2, new Rng(1));
    const b = sampleMetaBatch(env, { tasks, rolloutsPerTask: 3, policy: spec, rng: new Rng(42), horizon: 25 });
    const seedRng = new Rng(42);
    const forks = Array.from({ length: 6 }, () => seedRng.fork());
    const f = batchedPolicy(spec);
    for (let j = 0; j < 6; j++) {
      const e = env.clone();
      e.setTask(tasks[Math.floor(j / 3)]!);
      let o = e.reset(forks[j]!);
      const a = new Float64Array(2);
      for (let t = 0; t < 25; t++) {
        expect(Array.from(b.obs.subarray((j * 25 + t) * 2, (j * 25 + t + 1) * 2))).toEqual(Array.from(o));
        f(o, 1, [forks[j]!], a);
        expect(Array.from(b.actions.subarray((j * 25 + t) * 2, (j * 25 + t + 1) * 2))).toEqual(Array.from(a));
        const r = e.step(a);
        expect(b.rewards[j * 25 + t]).toBe(r.reward);
        o = r.obs;
      }
    }
  });

  it('the same seed gives the same batch; a batched policy function works too', async () => {
    const env = await makeEnv('half-cheetah-fwd-back');
    const tasks = [1, -1];
    const spec = mlpSpec(17, 6, [32, 32], 8);
    const opts = { tasks, rolloutsPerTask: 2, policy: spec, horizon: 20 };
    const a = sampleMetaBatch(env, { ...opts, rng: new Rng(9) });
    expectSameBatch(a, sampleMetaBatch(env, { ...opts, rng: new Rng(9) }));
    expect(sampleMetaBatch(env, { ...opts, rng: new Rng(10) }).rewards).not.toEqual(a.rewards);
    const fn = batchedPolicy(spec);
    expectSameBatch(a, sampleMetaBatch(env, { ...opts, policy: (o, n, r, out) => fn(o, n, r, out), rng: new Rng(9) }));
    // the direction task flips the sign of the running reward
    const run = a.infos.reward_run!;
    expect(run.subarray(0, 40).some((v) => v !== 0)).toBe(true);
  });

  it('bad sampling options have clear messages', async () => {
    const env = makeEnvSync('point-goal');
    const rng = new Rng(0);
    const tasks = env.sampleTasks(2, rng);
    const policy = mlpSpec(2, 2, [4], 1);
    expect(() => sampleMetaBatch(env, { tasks: [], rolloutsPerTask: 1, policy, rng })).toThrow('sampler: tasks must be a non-empty array (from env.sampleTasks)');
    expect(() => sampleMetaBatch(env, { tasks, rolloutsPerTask: 0, policy, rng })).toThrow('sampler: rolloutsPerTask must be a positive integer, got 0');
    expect(() => sampleMetaBatch(env, { tasks, rolloutsPerTask: 1, policy: mlpSpec(3, 2, [4], 1), rng })).toThrow(
      'policy gaussian-mlp: [obsDim, actDim] = [3, 2] but the env has [2, 2]',
    );
    const short: PolicySpec = { ...policy, params: policy.params.subarray(1) };
    expect(() => sampleMetaBatch(env, { tasks, rolloutsPerTask: 1, policy: short, rng })).toThrow(
      'policy gaussian-mlp: params must be a Float64Array of 24 numbers (W_1, b_1, …, W_L, b_L, logStd), got 23',
    );
    expect(() => sampleMetaBatch(env, { tasks, rolloutsPerTask: 1, policy: { kind: 'lstm' } as unknown as PolicySpec, rng })).toThrow(
      "policy: unknown kind 'lstm'; valid kinds: gaussian-mlp, tabular-softmax, uniform",
    );
  });

  it('a diverging simulation is reported in the batch and never yields NaN', async () => {
    const env = await makeEnv('hopper-rand-params');
    const [t] = env.sampleTasks(1, new Rng(2)) as RandParamsTask[];
    // a degenerate task: near-massless bodies with huge damping blow up the integrator
    const bad: RandParamsTask = { ...t!, body_mass: t!.body_mass.map(() => 1e-12), body_inertia: t!.body_inertia.map(() => 1e-14), dof_damping: t!.dof_damping.map(() => 1e9) };
    const b = sampleMetaBatch(env, { tasks: [bad, t!], rolloutsPerTask: 2, policy: mlpSpec(11, 3, [8], 4, 1), rng: new Rng(3), horizon: 30 });
    expect(b.rewards.every(Number.isFinite)).toBe(true);
    expect(b.obs.every(Number.isFinite)).toBe(true);
    expect(b.divergences.length).toBeGreaterThan(0);
    for (const d of b.divergences) {
      expect(b.taskIndex[d.traj]).toBe(0); // the degenerate task's paths
      expect(d.message).toMatch(/^hopper-rand-params: simulation diverged at t=/);
      expect(b.dones[b.pathStart[d.traj]! + b.lengths[d.traj]! - 1]).toBe(1);
    }
  });
});

/**
 * The reference's sampling loop (MetaSampler.obtain_samples with its vectorized executor), written
 * plainly: one environment and one policy call at a time; an environment whose episode ends (done or
 * `horizon` steps) is reset and goes on; the loop stops once the finished paths hold n·horizon steps.
 */
function referenceSampling(env: MetaEnv<unknown>, tasks: readonly unknown[], R: number, H: number, policies: PolicySpec[], seeds: Rng[]) {
  const n = tasks.length * R;
  const rngs = seeds.flatMap((r) => Array.from({ length: R }, () => r.fork()));
  const fs = policies.map(batchedPolicy);
  const envs = rngs.map((_, e) => {
    const c = env.clone();
    c.setTask(tasks[Math.floor(e / R)]);
    return c;
  });
  const obs = envs.map((c, e) => c.reset(rngs[e]!));
  const empty = (): { obs: number[]; rewards: number[] } => ({ obs: [], rewards: [] });
  const running = envs.map(empty);
  const paths: { obs: number[]; rewards: number[] }[][] = envs.map(() => []);
  const actDim = policies[0]!.kind === 'gaussian-mlp' ? policies[0]!.actDim : 1;
  let samples = 0, T = 0;
  while (samples < n * H) {
    for (let e = 0; e < n; e++) {
      const a = new Float64Array(actDim);
      fs[Math.floor(e / R) % fs.length]!(obs[e]!, 1, [rngs[e]!], a);
      const r = envs[e]!.step(a);
      running[e]!.obs.push(...obs[e]!);
      running[e]!.rewards.push(r.reward);
      if (r.done || running[e]!.rewards.length === H) {
        paths[e]!.push(running[e]!);
        samples += running[e]!.rewards.length;
        running[e] = empty();
        obs[e] = envs[e]!.reset(rngs[e]!);
      } else obs[e] = r.obs;
    }
    T++;
  }
  return { paths: paths.flat(), T };
}

describe("'steps' sampling (the default): the reference's reset-and-continue", () => {
  it('returns the paths the reference loop finishes, per-task policies and Rngs, packed end to end into rows of H', async () => {
    const env = await makeEnv('hopper-rand-params');
    const tasks = env.sampleTasks(3, new Rng(4));
    const R = 4, H = 40;
    const policies = [0, 1, 2].map((k) => mlpSpec(11, 3, [16], 40 + k, 0));
    const seeds = (): Rng[] => [7, 8, 9].map((x) => new Rng(x));
    const b = sampleMetaBatch(env, { tasks, rolloutsPerTask: R, policy: policies, rng: seeds(), horizon: H });
    const ref = referenceSampling(env as MetaEnv<unknown>, tasks, R, H, policies, seeds());
    expect(ref.T).toBeGreaterThan(H); // a random hopper falls: the round runs past the horizon
    expect(b.mode).toBe('steps');
    expect(b.nTraj).toBe(ref.paths.length);
    expect(b.nTraj).toBeGreaterThan(3 * R);
    ref.paths.forEach((p, j) => {
      expect(b.lengths[j]).toBe(p.rewards.length);
      expect(Array.from(b.rewards.subarray(b.pathStart[j]!, b.pathStart[j]! + b.lengths[j]!))).toEqual(p.rewards);
      expect(Array.from(b.obs.subarray(b.pathStart[j]! * 11, (b.pathStart[j]! + b.lengths[j]!) * 11))).toEqual(p.obs);
    });
    // the nominal count, and at least that many finished steps kept
    expect(b.envSteps).toBe(3 * R * H);
    const kept = b.lengths.reduce((s, L) => s + L, 0);
    expect(kept).toBeGreaterThanOrEqual(3 * R * H);
    expect(b.mask.reduce((s, m) => s + m, 0)).toBe(kept);
    // layout: each path inside one row of its task's rows, no two paths overlap
    expect(b.nRows).toBe(3 * b.rowsPerTask);
    const seen = new Uint8Array(b.nRows * H);
    for (let j = 0; j < b.nTraj; j++) {
      const row = Math.floor(b.pathStart[j]! / H);
      expect(Math.floor((b.pathStart[j]! + b.lengths[j]! - 1) / H)).toBe(row);
      expect(Math.floor(row / b.rowsPerTask)).toBe(b.taskIndex[j]);
      for (let i = b.pathStart[j]!; i < b.pathStart[j]! + b.lengths[j]!; i++) seen[i]! += 1;
    }
    expect(Array.from(seen)).toEqual(Array.from(b.mask));
  });

  it('equals one episode per rollout when nothing ends early (half-cheetah): the same batch bit for bit', async () => {
    const env = await makeEnv('half-cheetah-fwd-back');
    const opts = { tasks: [1, -1], rolloutsPerTask: 3, policy: mlpSpec(17, 6, [16], 12), horizon: 30 };
    const steps = sampleMetaBatch(env, { ...opts, rng: new Rng(3) });
    const episodes = sampleMetaBatch(env, { ...opts, rng: new Rng(3), mode: 'episodes' });
    expectSameBatch({ ...steps, mode: 'episodes' }, episodes);
    expect(steps.envSteps).toBe(2 * 3 * 30);
  });

  it("per-task policies and Rngs in one call equal one call per task ('episodes': the trainer's former sampling)", async () => {
    const env = await makeEnv('hopper-rand-params');
    const tasks = env.sampleTasks(2, new Rng(6));
    const policies = [mlpSpec(11, 3, [8], 50, 0), mlpSpec(11, 3, [8], 51, 0)];
    const one = sampleMetaBatch(env, { tasks, rolloutsPerTask: 3, policy: policies, rng: [new Rng(1), new Rng(2)], horizon: 50, mode: 'episodes' });
    const parts = [0, 1].map((k) => sampleMetaBatch(env, { tasks: [tasks[k]], rolloutsPerTask: 3, policy: policies[k]!, rng: new Rng(k + 1), horizon: 50, mode: 'episodes' }));
    expect(Buffer.from(one.obs.buffer).equals(Buffer.concat(parts.map((p) => Buffer.from(p.obs.buffer))))).toBe(true);
    expect(Array.from(one.lengths)).toEqual(parts.flatMap((p) => Array.from(p.lengths)));
  });

  it('bad mode, policy and Rng arrays have clear messages', () => {
    const env = makeEnvSync('point-goal');
    const tasks = env.sampleTasks(2, new Rng(0));
    const policy = mlpSpec(2, 2, [4], 1);
    expect(() => sampleMetaBatch(env, { tasks, rolloutsPerTask: 1, policy, rng: new Rng(0), mode: 'paths' as 'steps' })).toThrow('sampler: mode must be one of steps, episodes, got paths');
    expect(() => sampleMetaBatch(env, { tasks, rolloutsPerTask: 1, policy: [policy], rng: new Rng(0) })).toThrow('sampler: policy is an array of 1 policies but there are 2 tasks');
    expect(() => sampleMetaBatch(env, { tasks, rolloutsPerTask: 1, policy, rng: [new Rng(0)] })).toThrow('sampler: rng is an array of 1 Rngs but there are 2 tasks');
  });
});

describe('WorkerSampler (2 worker threads) returns exactly what the serial sampler does', () => {
  const pools: WorkerSampler[] = [];
  afterAll(async () => {
    await Promise.all(pools.map((p) => p.close()));
  });

  async function compare(name: string, opts: Record<string, unknown>, policy: (env: MetaEnv<unknown>) => PolicySpec, nTasks: number, R: number, horizon: number): Promise<SampleBatch> {
    const env = await makeEnv(name, opts);
    const ws = await WorkerSampler.create({ env: name, envOptions: opts, workers: 2 });
    pools.push(ws);
    expect(ws.shape.name).toBe(name);
    const tasks = env.sampleTasks(nTasks, new Rng(17));
    const spec = policy(env);
    const serial = sampleMetaBatch(env, { tasks, rolloutsPerTask: R, policy: spec, rng: new Rng(23), horizon });
    const parallel = await ws.sample({ tasks, rolloutsPerTask: R, policy: spec, rng: new Rng(23), horizon });
    expectSameBatch(parallel, serial);
    // the pool is reusable, and a different seed changes the batch
    const again = await ws.sample({ tasks, rolloutsPerTask: R, policy: spec, rng: new Rng(24), horizon });
    expect(again.rewards).not.toEqual(serial.rewards);
    return serial;
  }

  it('half-cheetah-fwd-back, Gaussian MLP (64, 64)', async () => {
    await compare('half-cheetah-fwd-back', {}, () => mlpSpec(17, 6, [64, 64], 31), 5, 3, 40);
  });

  it('hopper-rand-params: per-task model parameters and early terminations', async () => {
    const b = await compare('hopper-rand-params', {}, () => mlpSpec(11, 3, [32, 32], 32, 0), 5, 3, 80);
    expect(Array.from(b.lengths).some((L) => L < 80)).toBe(true);
  });

  it("hopper-rand-params, 'steps' with per-task policies and Rngs: the blocks run past the horizon until the stop time", async () => {
    const env = await makeEnv('hopper-rand-params');
    const ws = await WorkerSampler.create({ env: 'hopper-rand-params', workers: 2 });
    pools.push(ws);
    const tasks = env.sampleTasks(4, new Rng(3));
    const policies = tasks.map((_, k) => mlpSpec(11, 3, [16], 60 + k, 0));
    const opts = { tasks, rolloutsPerTask: 5, policy: policies, horizon: 40 };
    const serial = sampleMetaBatch(env, { ...opts, rng: tasks.map((_, k) => new Rng(k)) });
    expect(serial.nTraj).toBeGreaterThan(20);
    expectSameBatch(await ws.sample({ ...opts, rng: tasks.map((_, k) => new Rng(k)) }), serial);
    expectSameBatch(await ws.sample({ ...opts, rng: tasks.map((_, k) => new Rng(k)), mode: 'episodes' }), sampleMetaBatch(env, { ...opts, rng: tasks.map((_, k) => new Rng(k)), mode: 'episodes' }));
  });

  it('tabular MDP tasks with the softmax policy', async () => {
    await compare('tabular', { S: 4, A: 3, H: 6 }, () => ({ kind: 'tabular-softmax', S: 4, A: 3, theta: Float64Array.from({ length: 12 }, (_, i) => Math.cos(i)) }), 3, 5, 6);
  });

  it('errors: unknown env, function policy, bad task', async () => {
    await expect(WorkerSampler.create({ env: 'cheetah', workers: 1 })).rejects.toThrow(/sampler worker 0: makeEnv: unknown env 'cheetah'; valid names: point-corner/);
    const ws = await WorkerSampler.create({ env: 'point-goal', workers: 1 });
    pools.push(ws);
    const policy = mlpSpec(2, 2, [4], 1);
    await expect(ws.sample({ tasks: [[0, 1]], rolloutsPerTask: 1, policy: () => undefined, rng: new Rng(0) })).rejects.toThrow(
      'sampler: the worker sampler needs a policy spec (kind + parameters), not a function',
    );
    await expect(ws.sample({ tasks: [[0, 1, 2]], rolloutsPerTask: 1, policy, rng: new Rng(0) })).rejects.toThrow('point-goal: a task is a goal [x, y] of two finite numbers');
    // still usable after a failed request
    const ok = await ws.sample({ tasks: [[0, 1]], rolloutsPerTask: 2, policy, rng: new Rng(0) });
    expect(ok.envSteps).toBe(200);
    expect([ws.shape.obsDim, ws.shape.actDim, ws.shape.horizon]).toEqual([2, 2, 100]);
  });
});

describe('the worker watchdog', () => {
  it('a worker that hangs is stopped after its deadline and sample() fails naming it, instead of hanging training', async () => {
    process.env.METAGRAD_FAULT = 'worker-hang';
    let ws: WorkerSampler;
    try {
      ws = await WorkerSampler.create({ env: 'point-goal', workers: 1, watchdogMs: 500 });
    } finally {
      delete process.env.METAGRAD_FAULT;
    }
    const t0 = performance.now();
    await expect(ws.sample({ tasks: [[0, 1]], rolloutsPerTask: 2, policy: mlpSpec(2, 2, [4], 1), rng: new Rng(0) })).rejects.toThrow(
      /^sampler worker 0 did not answer within 1 s \(1 env × 100 steps\): it is hung, and was stopped$/,
    );
    expect(performance.now() - t0).toBeLessThan(5000);
    await expect(ws.sample({ tasks: [[0, 1]], rolloutsPerTask: 2, policy: mlpSpec(2, 2, [4], 1), rng: new Rng(0) })).rejects.toThrow(/hung/);
    await ws.close();
  });
});

/**
 * The meta-trainer core end to end on point-corner at tiny sizes, in memory (no files): every
 * algorithm runs and hands out well-formed records and checkpoints; a run continued from a checkpoint
 * equals an unbroken one bit for bit; worker sampling equals serial sampling; evaluation adapts by
 * exactly training's code path; the jit-compiled outer steps (the default) equal eager ones bit for bit. (The run directory on top of this is tested in test/cli/rundir.test.ts.)
 */
import { describe, it, expect } from 'vitest';
import {
  type AlgoName, type Checkpoint, type TrainConfig, EVALUATION_ITERATION, algoNames, evaluate, iterationRng, resolveConfig, sampleAndAdapt, setupRun, train,
} from '@metagrad/rl';

import { numbers, tiny } from './tiny.js';

describe('short runs of every algorithm', () => {
  for (const algo of algoNames) {
    it(`${algo}: 2 iterations hand out well-formed records and checkpoints`, async () => {
      const cfg = tiny(algo);
      const seen: [number, Checkpoint][] = [];
      const phases = new Set<string>();
      const { records, checkpoint } = await train(cfg, { hooks: { onIteration: (r, c) => void seen.push([r.iteration, c]), onPhase: (p) => phases.add(p) } });
      expect(seen.map(([i]) => i)).toEqual([0, 1]);
      expect(phases.has('optimization')).toBe(true);
      expect(records).toHaveLength(2);
      expect(checkpoint).toBe(seen[1]![1]);
      for (const [i, r] of records.entries()) {
        expect(r.iteration).toBe(i);
        expect(r.envSteps).toBe((i + 1) * 2 * 4 * 4 * 20); // 2 rounds × 4 tasks × 4 rollouts × 20 steps per iteration
        expect(r.returns).toHaveLength(2);
        for (const x of [...r.returns, r.lossBefore, r.lossAfter, r.innerKL, r.outerKL]) expect(Number.isFinite(x)).toBe(true);
        const logStd = seen[i]![1].params.slice(-2); // flat order ends with log σ
        expect(r.policyStd).toBeCloseTo((Math.exp(logStd[0]!) + Math.exp(logStd[1]!)) / 2, 12);
        expect(r.returns[0]).toBeLessThan(0); // dense reward −‖s − g‖
        expect(r.timings.total).toBeGreaterThanOrEqual(r.timings.sampling + r.timings.optimization);
        const c = seen[i]![1];
        expect([c.version, c.algo, c.env, c.iteration, c.envSteps, c.dtype]).toEqual([1, algo, 'point-corner', i + 1, r.envSteps, 'float64']);
        expect(JSON.parse(JSON.stringify(c))).toEqual(c); // JSON-safe
      }
      expect(checkpoint!.params).toHaveLength(2 * 16 + 16 + 16 * 2 + 2 + 2);
    });
  }

  it('float32 parameters train too (checkpointed values are float32-exact)', async () => {
    const { records, checkpoint } = await train(tiny('promp', { iterations: 1, dtype: 'float32' }));
    expect(records[0]!.lossAfter).toBeLessThan(records[0]!.lossBefore);
    expect(checkpoint!.params.every((x) => Math.fround(x) === x)).toBe(true);
  });

  it('several inner steps sample after each one (returns at steps 0 … 3)', async () => {
    const { records } = await train(tiny('promp', { numInnerGradSteps: 3, iterations: 1 }));
    expect(records[0]!.returns).toHaveLength(4);
    expect(records[0]!.envSteps).toBe(4 * 4 * 4 * 20);
  });

  it('an aborted signal stops between iterations, and the last checkpoint continues the run', async () => {
    const stop = new AbortController();
    const a = await train(tiny('lvc-vpg', { iterations: 3 }), { signal: stop.signal, hooks: { onIteration: () => stop.abort() } });
    expect(a.records).toHaveLength(1);
    const b = await train(tiny('lvc-vpg', { iterations: 3 }), { from: a.checkpoint! });
    const whole = await train(tiny('lvc-vpg', { iterations: 3 }));
    expect([...a.records, ...b.records].map(numbers)).toEqual(whole.records.map(numbers));
  });
});

describe('continuing from a checkpoint', () => {
  for (const [algo, extra] of [
    ['promp', { numInnerGradSteps: 2, adaptiveInnerKLPenalty: true, targetInnerStep: 1e-4 }],
    ['maml-trpo', {}],
    ['dice-vpg', {}],
  ] as [AlgoName, Partial<TrainConfig>][]) {
    it(`${algo}: 2 iterations then continued to 4 equals an unbroken 4-iteration run, bit for bit`, async () => {
      const a = await train(tiny(algo, { ...extra, iterations: 4 }));
      const first = await train(tiny(algo, { ...extra, iterations: 2 }));
      const ck = JSON.parse(JSON.stringify(first.checkpoint)) as Checkpoint; // as if read back from a file
      const b = await train(tiny(algo, { ...extra, iterations: 4 }), { from: ck });
      expect([...first.records, ...b.records].map(numbers)).toEqual(a.records.map(numbers));
      expect(b.checkpoint).toEqual(a.checkpoint);
      // the iterations really differ from each other (a frozen run would also "resume exactly")
      expect(a.records[3]!.returns).not.toEqual(a.records[2]!.returns);
    });
  }

  it('refuses a checkpoint of another run, naming it', async () => {
    const { checkpoint } = await train(tiny('lvc-vpg', { iterations: 1 }));
    await expect(train(tiny('promp', { iterations: 2 }), { from: checkpoint! })).rejects.toThrow(
      'the checkpoint is of lvc-vpg on point-corner, not of this run (promp on point-corner)',
    );
    await expect(train(tiny('lvc-vpg', { iterations: 2 }), { from: { version: 2 } as unknown as Checkpoint })).rejects.toThrow('not a metagrad checkpoint (version 1)');
    await expect(train(tiny('lvc-vpg', { iterations: 2, hidden: [8] }), { from: checkpoint! })).rejects.toThrow(/^the checkpoint has 84 parameters, the policy 44$/);
  });
});

describe('jit (the default) and eager outer steps', () => {
  for (const algo of algoNames) {
    it(`${algo}: 3 iterations with jit equal them with --no-jit bit for bit (records and parameters)${algo === 'promp' ? ', adaptive η retracing' : ''}`, async () => {
      const extra: Partial<TrainConfig> = { iterations: 3, ...(algo === 'promp' ? { adaptiveInnerKLPenalty: true, numInnerGradSteps: 2 } : {}) };
      const compiled = await train(tiny(algo, extra));
      const eager = await train(tiny(algo, { ...extra, jit: false }));
      expect(compiled.records.map(numbers)).toEqual(eager.records.map(numbers));
      expect(compiled.checkpoint!.params).toEqual(eager.checkpoint!.params);
    });
  }
});

describe('sampling on worker threads', () => {
  it('workers: 2 gives the serial run bit for bit', async () => {
    const a = await train(tiny('promp', { iterations: 1 }));
    const b = await train(tiny('promp', { iterations: 1, workers: 2 }));
    expect(b.records.map(numbers)).toEqual(a.records.map(numbers));
  });
});

describe("the reference's sampling ('steps', the default) on a task that terminates", () => {
  const hopper = (extra: Partial<TrainConfig> = {}): TrainConfig =>
    resolveConfig({ algo: 'dice-vpg', env: 'hopper-rand-params', iterations: 2, metaBatchSize: 3, rolloutsPerTask: 2, horizon: 30, hidden: [8], seed: 5, ...extra });

  it('counts the nominal steps per round, trains the same with 2 workers bit for bit, and differs from one episode per rollout', async () => {
    const a = await train(hopper());
    expect(a.records.map((r) => r.envSteps)).toEqual([2 * 3 * 2 * 30, 4 * 3 * 2 * 30]); // 2 rounds (pre, post) of K·R·H per iteration
    const b = await train(hopper({ workers: 2 }));
    expect(b.records.map(numbers)).toEqual(a.records.map(numbers));
    const e = await train(hopper({ sampling: 'episodes' }));
    expect(e.records[0]!.envSteps).toBeLessThan(2 * 3 * 2 * 30); // a random hopper falls before 30 steps
    expect(e.records[0]!.returns).not.toEqual(a.records[0]!.returns);
  });
});

describe('evaluate', () => {
  it("adapts by training's code path: training's records and evaluate's returns both equal sampleAndAdapt at the checkpoint", async () => {
    const cfg = tiny('promp', { numInnerGradSteps: 2 });
    const { checkpoint } = await train(cfg);
    const theta = Float64Array.from(checkpoint!.params);
    const setup = await setupRun(cfg);
    try {
      // training's next iteration (2) from this checkpoint
      const next = await sampleAndAdapt(setup, theta, iterationRng(cfg.seed, 2), { nTasks: cfg.metaBatchSize });
      const resumed = await train({ ...cfg, iterations: 3 }, { from: checkpoint! });
      expect(resumed.records[0]!.returns).toEqual(next.returns);
      // evaluation on fresh tasks with the same code path
      const direct = await sampleAndAdapt(setup, theta, iterationRng(11, EVALUATION_ITERATION), { nTasks: 6 });
      const ev = await evaluate(cfg, checkpoint!, { tasks: 6, seed: 11, keepTrajectories: true });
      expect(ev.returns).toEqual(direct.returns);
      expect(ev.perTask).toEqual(direct.perTask);
      expect(ev.returns).toHaveLength(3);
      expect(ev.perTask).toHaveLength(6);
      expect(ev.perTask[0]).toHaveLength(3);
      expect(ev.returns[2]).toBeCloseTo(ev.perTask.reduce((s, p) => s + p[2]!, 0) / 6, 12);
      // trajectories: per task, per step, rollouts × (horizon + 1) observations of dimension 2
      expect(ev.trajectories).toHaveLength(6);
      expect(ev.trajectories![0]!.steps).toHaveLength(3);
      expect(ev.trajectories![0]!.steps[1]).toHaveLength(4);
      expect(ev.trajectories![0]!.steps[1]![0]).toHaveLength(21);
      expect(ev.trajectories![0]!.steps[1]![0]![0]).toHaveLength(2);
      // the same seed repeats; another seed samples other tasks
      expect((await evaluate(cfg, checkpoint!, { tasks: 6, seed: 11 })).returns).toEqual(ev.returns);
      expect((await evaluate(cfg, checkpoint!, { tasks: 6, seed: 12 })).returns).not.toEqual(ev.returns);
    } finally {
      await setup.sampler.close();
    }
  });
});

describe("the meta-gradient's variance during training (the paper's Fig. 3)", () => {
  it('gradientRelStd: per parameter std over rounds (ddof 0) over |mean| + 1e-8, averaged; the mean std', async () => {
    const { gradientRelStd } = await import('@metagrad/rl');
    const g = [Float64Array.of(1, 0, -2), Float64Array.of(3, 0, -2), Float64Array.of(2, 0, -5)];
    // parameter 0: mean 2, std √(2/3); parameter 1: 0 and 0; parameter 2: mean −3, std √2
    const s0 = Math.sqrt(2 / 3), s2 = Math.sqrt(2);
    const r = gradientRelStd(g);
    expect(r.metaGradRelStd).toBeCloseTo((s0 / (2 + 1e-8) + 0 + s2 / (3 + 1e-8)) / 3, 14);
    expect(r.metaGradStd).toBeCloseTo((s0 + s2) / 3, 14);
    expect(() => gradientRelStd([g[0]!])).toThrow('gradientRelStd: needs at least 2 gradients, got 1');
  });

  it('every n iterations the record carries metaGradRelStd and metaGradStd, and training itself is unchanged bit for bit', async () => {
    const base = tiny('lvc-vpg', { iterations: 3 });
    const plain = await train(base);
    const measured = await train({ ...base, varianceEvery: 2, varianceRounds: 3 });
    expect(measured.records.map(numbers).map((r) => ({ ...r, extra: {} }))).toEqual(plain.records.map(numbers).map((r) => ({ ...r, extra: {} })));
    expect(measured.checkpoint!.params).toEqual(plain.checkpoint!.params);
    const [r0, r1, r2] = measured.records;
    for (const r of [r0!, r2!]) {
      expect(r.extra!['metaGradRelStd']).toBeGreaterThan(0);
      expect(Number.isFinite(r.extra!['metaGradRelStd'])).toBe(true);
      expect(r.extra!['metaGradStd']).toBeGreaterThan(0);
    }
    expect(r1!.extra?.['metaGradRelStd']).toBeUndefined(); // iteration 1 is not a multiple of 2
    // the measurement repeats: the same rounds at the same θ
    const again = await train({ ...base, iterations: 1, varianceEvery: 2, varianceRounds: 3 });
    expect(again.records[0]!.extra!['metaGradRelStd']).toBe(r0!.extra!['metaGradRelStd']);
  });

  it('DiCE-VPG and LVC-VPG both measure; a TRPO or ProMP run asking for it is refused, naming the VPG algorithms', async () => {
    const dice = await train(tiny('dice-vpg', { iterations: 1, varianceEvery: 1, varianceRounds: 2 }));
    expect(dice.records[0]!.extra!['metaGradRelStd']).toBeGreaterThan(0);
    await expect(train(tiny('maml-trpo', { varianceEvery: 1 }))).rejects.toThrow(/varianceEvery: the meta-gradient's variance is measured for the VPG algorithms \(e-maml-vpg, lvc-vpg, dice-vpg\)/);
    await expect(train(tiny('promp', { varianceEvery: 1 }))).rejects.toThrow(/VPG algorithms/);
  });
});

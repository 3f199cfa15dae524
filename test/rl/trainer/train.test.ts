/**
 * The meta-trainer end to end on point-corner at tiny sizes: every algorithm runs and logs well-formed
 * files; a resumed run equals an unbroken one bit for bit; worker sampling equals serial sampling;
 * evaluation adapts by exactly training's code path.
 */
import { describe, it, expect } from 'vitest';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AlgoName, algoNames } from '../../../packages/rl/src/algos/common.js';
import { ConfigError, resolveConfig, type TrainConfig } from '../../../packages/rl/src/trainer/config.js';
import { type IterationRecord, readCheckpoint, train } from '../../../packages/rl/src/trainer/metaTrainer.js';
import { evaluate } from '../../../packages/rl/src/trainer/evaluate.js';
import { EVALUATION_ITERATION, iterationRng, sampleAndAdapt, setupRun } from '../../../packages/rl/src/trainer/adaptation.js';

const fresh = (): string => mkdtempSync(join(tmpdir(), 'metagrad-train-'));

function tiny(algo: AlgoName, extra: Partial<TrainConfig> = {}): TrainConfig {
  return resolveConfig({
    algo, env: 'point-corner', iterations: 2, metaBatchSize: 4, rolloutsPerTask: 4, horizon: 20, hidden: [16], envOptions: { reward: 'dense' }, seed: 7, ...extra,
  });
}

/** A record without its timings (the part that must repeat exactly). */
const numbers = (r: IterationRecord): Omit<IterationRecord, 'timings'> => {
  const { timings: _t, ...rest } = r;
  return rest;
};

describe('short runs of every algorithm', () => {
  for (const algo of algoNames) {
    it(`${algo}: 2 iterations, config.json, log.jsonl, log.csv and checkpoint.json well formed`, async () => {
      const cfg = tiny(algo);
      const dir = fresh();
      const seen: number[] = [];
      const phases = new Set<string>();
      const { records, outDir } = await train(cfg, { outDir: dir, hooks: { onIteration: (r) => seen.push(r.iteration), onPhase: (p) => phases.add(p) } });
      expect(outDir).toBe(dir);
      expect(seen).toEqual([0, 1]);
      expect(phases.has('optimization')).toBe(true);
      expect(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'))).toEqual(cfg);
      const lines = readFileSync(join(dir, 'log.jsonl'), 'utf8').trim().split('\n');
      expect(lines.map((l) => JSON.parse(l) as IterationRecord)).toEqual(records);
      expect(records).toHaveLength(2);
      for (const [i, r] of records.entries()) {
        expect(r.iteration).toBe(i);
        expect(r.envSteps).toBe((i + 1) * 2 * 4 * 4 * 20); // 2 rounds × 4 tasks × 4 rollouts × 20 steps per iteration
        expect(r.returns).toHaveLength(2);
        for (const x of [...r.returns, r.lossBefore, r.lossAfter, r.innerKL, r.outerKL]) expect(Number.isFinite(x)).toBe(true);
        const logStd = i === 1 ? readCheckpoint(dir).params.slice(-2) : null; // flat order ends with log σ
        if (logStd) expect(r.policyStd).toBeCloseTo((Math.exp(logStd[0]!) + Math.exp(logStd[1]!)) / 2, 12);
        expect(r.policyStd).toBeGreaterThan(0);
        expect(r.returns[0]).toBeLessThan(0); // dense reward −‖s − g‖
        expect(r.timings.total).toBeGreaterThanOrEqual(r.timings.sampling + r.timings.optimization);
      }
      const csv = readFileSync(join(dir, 'log.csv'), 'utf8').trim().split('\n');
      expect(csv[0]).toBe('iteration,env_steps,return_0,return_1,loss_before,loss_after,inner_kl,outer_kl,policy_std,time_sampling,time_processing,time_optimization,time_total');
      expect(csv).toHaveLength(3);
      const row = csv[2]!.split(',').map(Number);
      expect(row.slice(0, 4)).toEqual([1, records[1]!.envSteps, ...records[1]!.returns]);
      const ck = readCheckpoint(dir);
      expect(ck.iteration).toBe(2);
      expect(ck.params).toHaveLength(2 * 16 + 16 + 16 * 2 + 2 + 2);
    });
  }

  it('float32 parameters train too (checkpointed values are float32-exact)', async () => {
    const dir = fresh();
    const { records } = await train(tiny('promp', { iterations: 1, dtype: 'float32' }), { outDir: dir });
    expect(records[0]!.lossAfter).toBeLessThan(records[0]!.lossBefore);
    const p = readCheckpoint(dir).params;
    expect(p.every((x) => Math.fround(x) === x)).toBe(true);
  });

  it('several inner steps sample after each one (returns at steps 0 … 3)', async () => {
    const { records } = await train(tiny('promp', { numInnerGradSteps: 3, iterations: 1 }), { outDir: fresh() });
    expect(records[0]!.returns).toHaveLength(4);
    expect(records[0]!.envSteps).toBe(4 * 4 * 4 * 20);
  });
});

describe('resume', () => {
  for (const [algo, extra] of [
    ['promp', { numInnerGradSteps: 2, adaptiveInnerKLPenalty: true, targetInnerStep: 1e-4 }],
    ['maml-trpo', {}],
    ['dice-vpg', {}],
  ] as [AlgoName, Partial<TrainConfig>][]) {
    it(`${algo}: 2 iterations then resumed to 4 equals an unbroken 4-iteration run, bit for bit`, async () => {
      const whole = fresh(), split = fresh();
      const a = await train(tiny(algo, { ...extra, iterations: 4 }), { outDir: whole });
      await train(tiny(algo, { ...extra, iterations: 2 }), { outDir: split });
      const b = await train(tiny(algo, { ...extra, iterations: 4 }), { outDir: split, resume: true });
      expect(b.records.map(numbers)).toEqual(a.records.map(numbers));
      expect(readCheckpoint(split).params).toEqual(readCheckpoint(whole).params);
      expect(readCheckpoint(split).algoState).toEqual(readCheckpoint(whole).algoState);
      expect(readFileSync(join(split, 'log.csv'), 'utf8').split('\n').length).toBe(readFileSync(join(whole, 'log.csv'), 'utf8').split('\n').length);
      // the iterations really differ from each other (a frozen run would also "resume exactly")
      expect(a.records[3]!.returns).not.toEqual(a.records[2]!.returns);
    });
  }

  it('refuses to overwrite a run, and to resume with a different config', async () => {
    const dir = fresh();
    await train(tiny('lvc-vpg', { iterations: 1 }), { outDir: dir });
    await expect(train(tiny('lvc-vpg', { iterations: 1 }), { outDir: dir })).rejects.toThrow(/already holds a run; pass resume: true/);
    await expect(train(tiny('lvc-vpg', { iterations: 2, innerLr: 0.2 }), { outDir: dir, resume: true })).rejects.toThrow(ConfigError);
    await expect(train(tiny('lvc-vpg', { iterations: 2, innerLr: 0.2 }), { outDir: dir, resume: true })).rejects.toThrow(/differs from the saved one in innerLr \(saved 0.1, given 0.2\)/);
  });
});

describe('sampling on worker threads', () => {
  it('workers: 2 gives the serial run bit for bit', async () => {
    const a = await train(tiny('promp', { iterations: 1 }), { outDir: fresh() });
    const b = await train(tiny('promp', { iterations: 1, workers: 2 }), { outDir: fresh() });
    expect(b.records.map(numbers)).toEqual(a.records.map(numbers));
  });
});

describe('evaluate', () => {
  it("adapts by training's code path: training's records and evaluate's returns both equal sampleAndAdapt at the checkpoint", async () => {
    const dir = fresh();
    const cfg = tiny('promp', { numInnerGradSteps: 2 });
    await train(cfg, { outDir: dir });
    const theta = Float64Array.from(readCheckpoint(dir).params);
    const setup = await setupRun(cfg);
    // training's next iteration (2) from this checkpoint
    const next = await sampleAndAdapt(setup, theta, iterationRng(cfg.seed, 2), { nTasks: cfg.metaBatchSize });
    const resumed = await train({ ...cfg, iterations: 3 }, { outDir: dir, resume: true });
    expect(resumed.records[2]!.returns).toEqual(next.returns);
    // evaluation on fresh tasks with the same code path
    const direct = await sampleAndAdapt(setup, Float64Array.from(readCheckpoint(dir).params), iterationRng(11, EVALUATION_ITERATION), { nTasks: 6 });
    const ev = await evaluate(dir, { tasks: 6, seed: 11, keepTrajectories: true });
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
    expect((await evaluate(dir, { tasks: 6, seed: 11 })).returns).toEqual(ev.returns);
    expect((await evaluate(dir, { tasks: 6, seed: 12 })).returns).not.toEqual(ev.returns);
    expect(existsSync(join(dir, 'checkpoint.json'))).toBe(true);
  });
});

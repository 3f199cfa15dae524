/**
 * The run directory (metagrad's rundir.ts) over the trainer: the files a run writes, their formats and
 * metadata; a run stopped and resumed from its directory equals an unbroken one bit for bit; a
 * directory holding a run is not overwritten, and a resumed run must keep its config.
 */
import { describe, it, expect } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, type IterationRecord, type TrainConfig, resolveConfig } from '@metagrad/rl';
import { RUN_FILES, readCheckpoint, readRun, readRunConfig, readRunMeta, trainInDir } from 'metagrad';
import { numbers, tiny } from '../rl/trainer/tiny.js';

const fresh = (): string => mkdtempSync(join(tmpdir(), 'metagrad-rundir-'));

describe('the files of a run directory', () => {
  it('config.json (config and meta), log.jsonl, log.csv and checkpoint.json', async () => {
    const cfg = tiny('promp');
    const dir = fresh();
    const records = await trainInDir(cfg, dir);
    const saved = JSON.parse(readFileSync(join(dir, RUN_FILES.config), 'utf8')) as Record<string, unknown>;
    const { meta, ...rest } = saved;
    expect(rest).toEqual(cfg);
    expect(readRunConfig(dir)).toEqual(cfg);
    const m = readRunMeta(dir)!;
    expect(m).toEqual(meta);
    expect(m.versions).toEqual({ metagrad: '0.2.0', '@metagrad/autograd': '0.2.0', '@metagrad/envs': '0.2.0', '@metagrad/rl': '0.2.0' });
    expect(m.node).toBe(process.version);
    expect(m.commit === null || /^[0-9a-f]{40}(-dirty)?$/.test(m.commit)).toBe(true);
    expect(m.backend.float64).toBe('cpu');
    expect(m.backend.cpuKernel).toBe('wasm-simd');
    expect(Number.isNaN(Date.parse(m.created))).toBe(false);
    const lines = readFileSync(join(dir, RUN_FILES.log), 'utf8').trim().split('\n');
    expect(lines.map((l) => JSON.parse(l) as IterationRecord)).toEqual(records);
    const csv = readFileSync(join(dir, RUN_FILES.csv), 'utf8').trim().split('\n');
    expect(csv[0]).toBe('iteration,env_steps,return_0,return_1,loss_before,loss_after,inner_kl,outer_kl,policy_std,diverged,sim_warnings,time_sampling,time_processing,time_optimization,time_total');
    expect(csv).toHaveLength(3);
    expect(csv[2]!.split(',').map(Number).slice(0, 4)).toEqual([1, records[1]!.envSteps, ...records[1]!.returns]);
    const ck = readCheckpoint(dir);
    expect(ck.iteration).toBe(2);
    expect(ck.params).toHaveLength(2 * 16 + 16 + 16 * 2 + 2 + 2);
    const run = readRun(dir);
    expect([run.algo, run.env, run.seed, run.iterations, run.records.length]).toEqual(['promp', 'point-corner', 7, 2, 2]);
  });
});

describe('resume from a run directory', () => {
  it('2 iterations then resumed to 4 equals an unbroken 4-iteration run: logs and checkpoint', async () => {
    const whole = fresh(), split = fresh();
    const a = await trainInDir(tiny('maml-trpo', { iterations: 4 }), whole);
    await trainInDir(tiny('maml-trpo', { iterations: 2 }), split);
    const meta = readRunMeta(split);
    const b = await trainInDir(tiny('maml-trpo', { iterations: 4 }), split, { resume: true });
    expect(b.map(numbers)).toEqual(a.slice(2).map(numbers));
    expect(readCheckpoint(split)).toEqual(readCheckpoint(whole));
    const strip = (d: string): unknown[] => readRun(d).records.map((r) => ({ ...r, seconds: 0 }));
    expect(strip(split)).toEqual(strip(whole));
    expect(readFileSync(join(split, RUN_FILES.csv), 'utf8').split('\n').length).toBe(readFileSync(join(whole, RUN_FILES.csv), 'utf8').split('\n').length);
    expect(readRunMeta(split)).toEqual(meta); // the first start's meta is kept
  });

  it("a run written before the sampling setting existed reads as 'episodes' and resumes as it was trained", async () => {
    const hopper = (extra: Partial<TrainConfig>): TrainConfig =>
      resolveConfig({ algo: 'lvc-vpg', env: 'hopper-rand-params', metaBatchSize: 2, rolloutsPerTask: 2, horizon: 25, hidden: [8], seed: 3, ...extra });
    const whole = fresh(), old = fresh();
    const a = await trainInDir(hopper({ iterations: 2, sampling: 'episodes' }), whole);
    await trainInDir(hopper({ iterations: 1, sampling: 'episodes' }), old);
    const path = join(old, RUN_FILES.config);
    const { sampling: _dropped, ...before } = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
    writeFileSync(path, JSON.stringify(before)); // as written before the setting existed
    expect(readRunConfig(old).sampling).toBe('episodes');
    const notices: string[] = [];
    const b = await trainInDir(hopper({ iterations: 2 }), old, { resume: true, notice: (l) => notices.push(l) }); // the default is 'steps'
    expect(notices.join('\n')).toMatch(/written before the setting sampling existed: it continues with sampling "episodes"/);
    expect(b.map(numbers)).toEqual(a.slice(1).map(numbers));
    expect(readRunConfig(old).sampling).toBe('episodes');
  });

  it('refuses to overwrite a run, and to resume with a different config', async () => {
    const dir = fresh();
    await trainInDir(tiny('lvc-vpg', { iterations: 1 }), dir);
    await expect(trainInDir(tiny('lvc-vpg', { iterations: 1 }), dir)).rejects.toThrow(/already holds a run; pass resume: true/);
    await expect(trainInDir(tiny('lvc-vpg', { iterations: 2, innerLr: 0.2 }), dir, { resume: true })).rejects.toThrow(ConfigError);
    await expect(trainInDir(tiny('lvc-vpg', { iterations: 2, innerLr: 0.2 }), dir, { resume: true })).rejects.toThrow(/differs from the saved one in innerLr \(saved 0.1, given 0.2\)/);
  });
});

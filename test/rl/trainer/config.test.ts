/**
 * Training configuration: the reference defaults, per-env overrides, and one clear ConfigError per kind
 * of bad input.
 */
import { describe, it, expect } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, algoNames, checkMemory, configKeys, formatBytes, resolveConfig } from '@metagrad/rl';

describe('resolveConfig', () => {
  it('the paper reference config (pro-mp_run_mujoco.py) for ProMP on half-cheetah', () => {
    const c = resolveConfig({ algo: 'promp', env: 'half-cheetah-fwd-back' });
    expect(c).toMatchObject({
      metaBatchSize: 40, rolloutsPerTask: 20, horizon: 100, hidden: [64, 64], innerLr: 0.1, metaLr: 1e-3, numInnerGradSteps: 1,
      numPrompSteps: 5, clipEps: 0.3, targetInnerStep: 0.01, initInnerKLPenalty: 5e-4, adaptiveInnerKLPenalty: false, trpoStepSize: 0.01,
      discount: 0.99, gaeLambda: 1, normalizeAdv: true, dtype: 'float64', iterations: 1001, innerObjective: 'likelihood-ratio', firstOrder: false,
      cgIters: 10, backtrackRatio: 0.8, maxBacktracks: 15, initLogStd: 0, learnStd: true,
    });
    expect(Object.keys(c).sort()).toEqual([...configKeys].sort());
  });

  it('per-env and per-algorithm defaults; explicit fields win; undefined fields are ignored', () => {
    expect(resolveConfig({ algo: 'promp', env: 'ant-rand-dir' }).horizon).toBe(200);
    expect(resolveConfig({ algo: 'promp', env: 'humanoid-rand-dir' }).hidden).toEqual([128, 128]);
    expect(resolveConfig({ algo: 'promp', env: 'hopper-rand-params' })).toMatchObject({ innerLr: 0.05, numPrompSteps: 3, adaptiveInnerKLPenalty: true, initInnerKLPenalty: 1e-3 });
    expect(resolveConfig({ algo: 'promp', env: 'point-corner' }).horizon).toBe(100);
    expect(resolveConfig({ algo: 'maml-trpo', env: 'point-corner' }).innerObjective).toBe('log-likelihood');
    expect(resolveConfig({ algo: 'dice-vpg', env: 'point-corner' }).innerObjective).toBe('dice');
    expect(resolveConfig({ algo: 'promp', env: 'ant-rand-dir', horizon: 50, seed: undefined }).horizon).toBe(50);
    const c = resolveConfig({ algo: 'lvc-vpg', env: 'point-goal', hidden: [8], envOptions: {} });
    expect(resolveConfig(c)).toEqual(c); // idempotent: a saved config.json resolves to itself
    expect(algoNames).toEqual(['promp', 'maml-trpo', 'e-maml-trpo', 'e-maml-vpg', 'lvc-vpg', 'dice-vpg']);
  });

  const bad: [string, Record<string, unknown>, RegExp][] = [
    ['unknown algo, listing the valid ones', { algo: 'ppo', env: 'point-corner' }, /unknown algo 'ppo'; valid algorithms: promp, maml-trpo, e-maml-trpo, e-maml-vpg, lvc-vpg, dice-vpg/],
    ['unknown env, listing the valid ones', { algo: 'promp', env: 'cheetah' }, /unknown env 'cheetah'; valid envs: point-corner, point-goal, point-momentum, half-cheetah-fwd-back/],
    ['the tabular env', { algo: 'promp', env: 'tabular' }, /'tabular' has discrete states and actions/],
    ['a missing algo', { env: 'point-corner' }, /algo is required/],
    ['an unknown key', { algo: 'promp', env: 'point-corner', metaBatch: 3 }, /unknown config key 'metaBatch'; valid keys: algo, env, seed/],
    ['a non-positive size', { algo: 'promp', env: 'point-corner', metaBatchSize: 0 }, /metaBatchSize must be a positive integer, got 0/],
    ['a fractional size', { algo: 'promp', env: 'point-corner', rolloutsPerTask: 2.5 }, /rolloutsPerTask must be a positive integer, got 2.5/],
    ['a string for a number', { algo: 'promp', env: 'point-corner', horizon: '100' }, /horizon must be a positive integer, got '100'/],
    ['a negative learning rate', { algo: 'promp', env: 'point-corner', innerLr: -0.1 }, /^innerLr must be a positive number, got -0.1$/],
    ['a discount above 1', { algo: 'promp', env: 'point-corner', discount: 1.5 }, /^discount must be a number in \[0, 1\], got 1.5$/],
    ['a non-boolean flag', { algo: 'promp', env: 'point-corner', normalizeAdv: 'yes' }, /normalizeAdv must be true or false, got 'yes'/],
    ['a non-boolean learnStd', { algo: 'promp', env: 'point-corner', learnStd: 0 }, /learnStd must be true or false, got 0/],
    ['an unknown dtype', { algo: 'promp', env: 'point-corner', dtype: 'float16' }, /unknown dtype 'float16'; valid values: float64, float32/],
    ['empty hidden layers', { algo: 'promp', env: 'point-corner', hidden: [] }, /hidden must be a non-empty array/],
    ['a bad hidden width', { algo: 'promp', env: 'point-corner', hidden: [64, -1] }, /hidden\[1\] must be a positive integer, got -1/],
    ['a bad seed', { algo: 'promp', env: 'point-corner', seed: -1 }, /^seed must be an integer in \[0, 4294967295\], got -1$/],
    ['zero inner steps', { algo: 'promp', env: 'point-corner', numInnerGradSteps: 0 }, /numInnerGradSteps must be a positive integer/],
    ['a clip range of 1', { algo: 'promp', env: 'point-corner', clipEps: 1 }, /^clipEps must be a number in \(0, 1\), got 1$/],
    ['an unknown inner objective', { algo: 'promp', env: 'point-corner', innerObjective: 'reinforce' }, /unknown innerObjective 'reinforce'; valid values: likelihood-ratio, log-likelihood, dice/],
    ['an unknown env option', { algo: 'promp', env: 'point-corner', envOptions: { horizon: 5 } }, /unknown envOptions key 'horizon'/],
    ['a bad env option value', { algo: 'promp', env: 'point-corner', envOptions: { reward: 'sparse2' } }, /unknown envOptions.reward 'sparse2'/],
    ['too many iterations', { algo: 'promp', env: 'point-corner', iterations: 2_000_000 }, /iterations must be at most 1000000/],
    ['not an object', [] as unknown as Record<string, unknown>, /a config must be an object/],
  ];
  for (const [what, input, msg] of bad)
    it(`rejects ${what}`, () => {
      expect(() => resolveConfig(input as never)).toThrow(ConfigError);
      expect(() => resolveConfig(input as never)).toThrow(msg);
    });
});

describe('the memory check before any allocation', () => {
  it('the reference configurations fit, with a plausible estimate', () => {
    const e = checkMemory(resolveConfig({ algo: 'promp', env: 'half-cheetah-fwd-back' }));
    expect(e.bytes).toBeGreaterThan(50e6);
    expect(e.bytes).toBeLessThan(1e9);
    expect(checkMemory(resolveConfig({ algo: 'maml-trpo', env: 'humanoid-rand-dir' })).bytes).toBeLessThan(8e9);
    expect(formatBytes(1.234e9)).toBe('1.23 GB');
    expect(formatBytes(512)).toBe('512 B');
  });

  it('absurd sizes fail with the settings named and the estimate, not a V8 abort', () => {
    const bad = (over: Record<string, unknown>, message: RegExp): void => {
      const c = resolveConfig({ algo: 'promp', env: 'half-cheetah-fwd-back', ...over });
      expect(() => checkMemory(c)).toThrow(ConfigError);
      expect(() => checkMemory(c)).toThrow(message);
    };
    bad({ metaBatchSize: 100_000_000 }, /^one sampling round's observations \(metaBatchSize 100000000 × rolloutsPerTask 20 × horizon 100 × 18\) would be 3\.60e\+12 numbers, more than the 4\.29e\+9 one array can hold; lower metaBatchSize, rolloutsPerTask, horizon$/);
    bad({ hidden: [100_000, 100_000] }, /^the per-task copies of the widest weight matrix \(hidden 100000,100000, × metaBatchSize 40\) would be 4\.00e\+11 numbers/);
    bad({ horizon: 1_000_000_000 }, /horizon 1000000000/);
    // within one array's limit, but not within the machine: the estimate and the largest part are named
    const c = resolveConfig({ algo: 'promp', env: 'half-cheetah-fwd-back', metaBatchSize: 400, rolloutsPerTask: 200 });
    expect(() => checkMemory(c, 1e9)).toThrow(/^this configuration needs about \d+(\.\d+)? GB of memory, more than the 1\.00 GB available \(80 % of this machine's\); most of it is the samples \(2 rounds × 8,000,000 steps\), \d+(\.\d+)? GB: lower metaBatchSize, rolloutsPerTask, horizon, numInnerGradSteps$/);
  });
});

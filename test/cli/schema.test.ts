/**
 * The config file's JSON Schema: generated from @metagrad/rl's settings table (the one definition of
 * each setting), shipped in the metagrad package as train-config.schema.json, and equivalent to
 * resolveConfig's checks: a JSON Schema validator (ajv) accepts exactly what resolveConfig accepts, setting
 * by setting on values straddling every bound, and in fast-check combinations.
 */
import { describe, it, expect } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { ENV_OPTION_SETTINGS, TRAIN_SETTINGS, algoNames, configKeys, resolveConfig, trainConfigSchema, trainEnvNames } from '@metagrad/rl';

const file = fileURLToPath(new URL('../../packages/cli/train-config.schema.json', import.meta.url));

describe('train-config.schema.json', () => {
  it('is the schema generated from the settings table (UPDATE_SCHEMA=1 rewrites it)', () => {
    const generated = `${JSON.stringify(trainConfigSchema(), null, 2)}\n`;
    if (process.env.UPDATE_SCHEMA === '1') writeFileSync(file, generated);
    expect(readFileSync(file, 'utf8')).toBe(generated);
  });

  it('lists every setting with its help text and default', () => {
    const s = trainConfigSchema() as { properties: Record<string, { description: string; default?: unknown }> };
    for (const k of configKeys) {
      const setting = (TRAIN_SETTINGS as Record<string, { help: string; default: unknown }>)[k]!;
      expect(s.properties[k]!.description).toBe(setting.help);
      expect(s.properties[k]!.default).toEqual(setting.default);
    }
  });

  const ajv = new Ajv2020({ strict: true, allErrors: true });
  const validate = ajv.compile(trainConfigSchema());
  const accepts = (x: Record<string, unknown>): boolean => {
    try {
      resolveConfig(x as never);
      return true;
    } catch {
      return false;
    }
  };

  /** Values straddling every kind and bound of the table: types, 0 and 1, open and closed ends, integer limits. */
  const candidates: unknown[] = [
    -1, 0, 1e-3, 0.3, 0.5, 0.99, 1, 1.5, 2, 2.5, 5, 256, 257, 1e6, 1e6 + 1, 2 ** 32 - 1, 2 ** 32, true, false, null, 'x', '', '1',
    'dice', 'float32', 'sparse', 'dense', 'episodes', [], [64], [0], [3, 4], [2.5], {}, { reward: 'dense' }, { horizon: 5 },
  ];

  it('accepts exactly what resolveConfig accepts: every setting and env option against every candidate value', () => {
    const cases: Record<string, unknown>[] = [];
    for (const k of configKeys) if (k !== 'algo' && k !== 'env') for (const v of candidates) cases.push({ [k]: v });
    for (const k of [...Object.keys(ENV_OPTION_SETTINGS), 'horizon']) for (const v of candidates) cases.push({ envOptions: { [k]: v } });
    cases.push({ metaBatch: 3 }); // not a setting
    let accepted = 0;
    for (const c of cases) {
      const x = { algo: 'promp', env: 'point-corner', ...c };
      expect(validate(x), JSON.stringify(c)).toBe(accepts(x));
      if (accepts(x)) accepted++;
    }
    expect(accepted).toBeGreaterThan(cases.length / 5); // both sides of every bound are exercised
    expect(accepted).toBeLessThan(cases.length * 0.8);
  });

  it('combinations (fast-check): valid values together stay valid, and one bad value fails both', () => {
    const valid = fc.record(Object.fromEntries(configKeys.filter((k) => k !== 'algo' && k !== 'env').map((k) => [
      k, fc.constantFrom(...candidates.filter((v) => accepts({ algo: 'promp', env: 'point-corner', [k]: v }))),
    ])), { requiredKeys: [] });
    fc.assert(fc.property(valid, fc.constantFrom(...algoNames), fc.constantFrom(...trainEnvNames), fc.constantFrom(...configKeys), fc.constantFrom(...candidates),
      (c, algo, env, k, v) => {
        const x = { ...c, algo, env };
        expect(validate(x)).toBe(true);
        expect(accepts(x)).toBe(true);
        const y = { ...x, [k]: v };
        expect(validate(y), JSON.stringify({ [k]: v })).toBe(accepts(y));
      }), { numRuns: 1000 });
  });

  it('rejects unknown algos and envs, like resolveConfig', () => {
    for (const [algo, env] of [['ppo', 'point-corner'], ['promp', 'moon'], ['promp', 'tabular']] as const) {
      expect(validate({ algo, env })).toBe(false);
      expect(accepts({ algo, env })).toBe(false);
    }
  });

  it("accepts a run's config.json, meta included", () => {
    const run = { ...resolveConfig({ algo: 'promp', env: 'point-corner' }), meta: { versions: { metagrad: '0.2.0' } } };
    expect(validate(run)).toBe(true);
  });
});

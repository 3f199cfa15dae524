/**
 * Tabular MDPs: validation errors, the raw arrays, random MDPs, and the MetaEnv dynamics checked
 * against P and R (exact rewards, empirical transition frequencies).
 */
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { Rng } from '@metagrad/autograd';
import { TabularMDP, TabularMetaEnv, makeEnvSync, sameMDP, validateTabularMDP } from '@metagrad/envs';
import type { TabularMDPSpec } from '@metagrad/envs';

const spec: TabularMDPSpec = {
  S: 2, A: 2, H: 3,
  init: [0.25, 0.75],
  P: [[[1, 0], [0.5, 0.5]], [[0.1, 0.9], [0, 1]]],
  R: [[1, -1], [0.5, 2]],
};

describe('TabularMDP', () => {
  it('keeps the raw arrays (nested and flat) for exact analysis', () => {
    const m = new TabularMDP(spec);
    expect([m.S, m.A, m.H]).toEqual([2, 2, 3]);
    expect(m.P).toEqual(spec.P);
    expect(m.R).toEqual(spec.R);
    expect(Array.from(m.initFlat)).toEqual([0.25, 0.75]);
    expect(Array.from(m.pFlat)).toEqual([1, 0, 0.5, 0.5, 0.1, 0.9, 0, 1]);
    expect(Array.from(m.rFlat)).toEqual([1, -1, 0.5, 2]);
    expect(Object.isFrozen(m.P[0]![1])).toBe(true);
    expect(m.observationSpace).toEqual({ kind: 'discrete', n: 2 });
    expect(m.actionSpace).toEqual({ kind: 'discrete', n: 2 });
    expect(m.horizon).toBe(3);
  });

  it('rejects malformed MDPs with clear messages', () => {
    const bad = (patch: Partial<Record<keyof TabularMDPSpec, unknown>>): TabularMDPSpec => ({ ...spec, ...patch }) as TabularMDPSpec;
    expect(() => new TabularMDP(bad({ S: 0 }))).toThrow('TabularMDP: S must be a positive integer, got 0');
    expect(() => new TabularMDP(bad({ H: 1.5 }))).toThrow('TabularMDP: H must be a positive integer, got 1.5');
    expect(() => new TabularMDP(bad({ init: [0.5, 0.6] }))).toThrow('TabularMDP: init must sum to 1, sums to 1.1');
    expect(() => new TabularMDP(bad({ init: [1] }))).toThrow('TabularMDP: init has 1 entries, expected 2');
    expect(() => new TabularMDP(bad({ P: [spec.P[0]] }))).toThrow('TabularMDP: P must have S = 2 rows, got 1');
    expect(() => new TabularMDP(bad({ P: [spec.P[0], [[0.1, 0.9]]] }))).toThrow('TabularMDP: P[1] must have A = 2 rows, got 1');
    expect(() => new TabularMDP(bad({ P: [spec.P[0], [[0.1, 0.9], [-0.5, 1.5]]] }))).toThrow('TabularMDP: P[1][1][0] must be a finite non-negative probability, got -0.5');
    expect(() => new TabularMDP(bad({ P: [spec.P[0], [[0.1, 0.8], [0, 1]]] }))).toThrow('TabularMDP: P[1][0] must sum to 1, sums to 0.9');
    expect(() => new TabularMDP(bad({ R: [[1, NaN], [0, 0]] }))).toThrow('TabularMDP: R[0][1] must be a finite number, got NaN');
    expect(() => validateTabularMDP(bad({ R: [[1, 2, 3], [0, 0]] }))).toThrow('TabularMDP: R[0] must have A = 2 entries, got 3');
  });

  it('steps pay R[s][a] and move with the frequencies of P[s][a]', () => {
    const m = new TabularMDP(spec);
    const rng = new Rng(1);
    const counts = [[[0, 0], [0, 0]], [[0, 0], [0, 0]]];
    let starts1 = 0;
    const N = 20000;
    for (let i = 0; i < N; i++) {
      const s = m.reset(rng)[0]!;
      starts1 += s;
      const a = i % 2;
      const r = m.step(a);
      expect(r.reward).toBe(spec.R[s]![a]);
      expect(r.done).toBe(false);
      counts[s]![a]![r.obs[0]!]! += 1;
    }
    expect(starts1 / N).toBeCloseTo(0.75, 1.6);
    for (let s = 0; s < 2; s++)
      for (let a = 0; a < 2; a++) {
        const n = counts[s]![a]![0]! + counts[s]![a]![1]!;
        expect(Math.abs(counts[s]![a]![1]! / n - spec.P[s]![a]![1]!)).toBeLessThan(0.03);
      }
  });

  it('is a single-task MetaEnv; clones have their own episode state', () => {
    const m = new TabularMDP(spec);
    expect(m.sampleTasks(3, new Rng(0))).toEqual([m, m, m]);
    m.setTask(m);
    m.setTask({ ...spec });
    expect(() => m.setTask({ ...spec, R: [[0, 0], [0, 0]] })).toThrow("tabular: a TabularMDP is a single task; use makeEnv('tabular') for a distribution of random MDPs");
    const c = m.clone();
    expect(c.pFlat).toBe(m.pFlat);
    expect(() => c.step(0)).toThrow('tabular: step() before reset()');
  });

  it('TabularMDP.random: Dirichlet(1) rows, rewards in [0, 1), reproducible', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 0, max: 1e6 }), (S, A, seed) => {
        const m = TabularMDP.random(S, A, 2, new Rng(seed));
        const again = TabularMDP.random(S, A, 2, new Rng(seed));
        expect(sameMDP(m, again)).toBe(true);
        expect(m.rFlat.every((r) => r >= 0 && r < 1)).toBe(true);
        for (let i = 0; i < S * A; i++) expect(m.pFlat.subarray(i * S, (i + 1) * S).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
      }),
      { numRuns: 50 },
    );
    // Dirichlet(1) on 3 states: each coordinate has mean 1/3
    const rng = new Rng(3);
    let sum = 0;
    for (let i = 0; i < 3000; i++) sum += TabularMDP.random(3, 1, 1, rng).init[0]!;
    expect(sum / 3000).toBeCloseTo(1 / 3, 1.5);
  });
});

describe("the 'tabular' env", () => {
  it('tasks are random MDPs of the chosen sizes; setTask accepts their plain data', () => {
    const env = makeEnvSync('tabular', { S: 4, A: 3, H: 5 }) as TabularMetaEnv;
    const tasks = env.sampleTasks(3, new Rng(8));
    expect(tasks.every((t) => t instanceof TabularMDP && t.S === 4 && t.A === 3 && t.H === 5)).toBe(true);
    expect(sameMDP(tasks[0]!, tasks[1]!)).toBe(false);
    const plain = structuredClone({ S: 4, A: 3, H: 5, init: tasks[1]!.init, P: tasks[1]!.P, R: tasks[1]!.R });
    env.setTask(plain);
    expect(sameMDP(env.getTask(), tasks[1]!)).toBe(true);
    expect(() => env.setTask(TabularMDP.random(2, 3, 5, new Rng(0)))).toThrow('tabular: task has S=2, A=3, H=5; this env has S=4, A=3, H=5');
  });

  it('the same seed gives the same trajectory', () => {
    const run = (): number[] => {
      const env = makeEnvSync('tabular');
      const rng = new Rng(21);
      env.setTask(env.sampleTasks(1, rng)[0]!);
      const out = Array.from(env.reset(rng));
      for (let t = 0; t < 20; t++) {
        const r = env.step(rng.int(2));
        out.push(r.obs[0]!, r.reward);
      }
      return out;
    };
    expect(run()).toEqual(run());
  });
});

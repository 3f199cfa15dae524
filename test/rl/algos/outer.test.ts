/**
 * The outer updates: every algorithm lowers its loss on a fixed batch; TRPO's conjugate gradient, its
 * exact Hessian-vector products (against finite differences of the KL gradient), its KL bound and the
 * quadratic model behind the step size; ProMP's inner-KL coefficient rule.
 */
import { describe, it, expect, beforeAll, vi } from 'vitest';
import { Rng, enableGrad, tensor } from '@metagrad/autograd';
import { type AlgoName, algoNames, type MetaBatch } from '@metagrad/rl';
import { metaBatchChunks, chunkedValueAndGrad } from '@metagrad/rl';
import { mamlTrpoObjective } from '@metagrad/rl';
import { ProMP, adaptKLCoeff } from '@metagrad/rl';
import {
  CURVATURE_RESERVE_BYTES, CURVATURE_ROOM, type KeepCurvature, collectGarbage, conjugateGradient, conjugateGradientWithProduct, dot, evaluateObjective, graphBytes, keepWhileMemoryLasts,
  localRunner, trpoLinearization, trpoOps, trpoStep, trpoStepOn,
} from '@metagrad/rl';
import { resolveConfig, type TrainConfig } from '@metagrad/rl';
import { type RunSetup, initialParams, iterationRng, sampleAndAdapt, setupRun } from '@metagrad/rl';
import { allClose } from '../../helpers.js';

/** The brief's tiny setting: 4 tasks × 4 rollouts, horizon 20, hidden [16], point-corner with the dense reward. */
function tiny(algo: AlgoName, extra: Partial<TrainConfig> = {}): TrainConfig {
  return resolveConfig({ algo, env: 'point-corner', metaBatchSize: 4, rolloutsPerTask: 4, horizon: 20, hidden: [16], envOptions: { reward: 'dense' }, seed: 2, ...extra });
}

async function fixedBatch(cfg: TrainConfig): Promise<{ setup: RunSetup; theta: Float64Array; batch: MetaBatch }> {
  const setup = await setupRun(cfg);
  const theta = initialParams(setup);
  const ad = await sampleAndAdapt(setup, theta, iterationRng(cfg.seed, 0), { nTasks: cfg.metaBatchSize });
  return { setup, theta, batch: ad.batch };
}

describe('every algorithm improves its outer loss on a fixed batch', () => {
  for (const algo of algoNames) {
    it(algo, async () => {
      const { setup, theta, batch } = await fixedBatch(tiny(algo));
      const r = setup.algo.optimize(theta, batch);
      expect(Number.isFinite(r.lossBefore) && Number.isFinite(r.lossAfter)).toBe(true);
      expect(r.lossAfter).toBeLessThan(r.lossBefore);
      expect(Array.from(r.theta)).not.toEqual(Array.from(theta));
      if (algo.includes('trpo')) expect(r.extra.accepted).toBe(1);
      // the reported loss after the update is the loss at the returned parameters
      const r2 = setup.algo.optimize(r.theta, batch);
      expect(r2.lossBefore).toBeCloseTo(r.lossAfter, 12);
    });
  }
});

describe('a fixed σ (learnStd false, the reference learn_std=False)', () => {
  for (const algo of algoNames) {
    it(`${algo}: neither the inner steps nor the outer update move log σ; the loss still improves`, async () => {
      const { setup, theta, batch } = await fixedBatch(tiny(algo, { learnStd: false, initLogStd: -0.3 }));
      const A = setup.policy.actDim, n = theta.length;
      // the sampled rounds: every adapted policy kept θ's log σ
      for (const d of batch.steps) expect(Array.from(d.oldParams.logStd.data)).toEqual(new Array(d.K * A).fill(-0.3));
      const r = setup.algo.optimize(theta, batch);
      expect(r.lossAfter).toBeLessThan(r.lossBefore);
      expect(Array.from(r.theta.subarray(n - A))).toEqual(new Array(A).fill(-0.3));
      expect(Array.from(r.theta.subarray(0, n - A))).not.toEqual(Array.from(theta.subarray(0, n - A)));
    });
  }

  it('the chunked gradient is zero on log σ and equal elsewhere to finite differences of the fixed-σ loss', async () => {
    const { setup, theta, batch } = await fixedBatch(tiny('maml-trpo', { learnStd: false, numInnerGradSteps: 2 }));
    const step = setup.algo.innerStep;
    expect(step.learnStd).toBe(false);
    const chunks = metaBatchChunks(batch);
    const loss = mamlTrpoObjective(step, false);
    const { grad } = chunkedValueAndGrad(setup.policy, theta, chunks, (p, b) => loss(p, b).loss);
    const A = setup.policy.actDim, n = theta.length;
    expect(Array.from(grad.subarray(n - A))).toEqual(new Array(A).fill(0));
    const rng = new Rng(5);
    const v = theta.map((_, i) => (i < n - A ? rng.normal() : 0));
    const h = 1e-5;
    const at = (s: number): number => evaluateObjective(setup.policy, theta.map((x, i) => x + s * v[i]!), chunks, loss).loss;
    const fd = (at(h) - at(-h)) / (2 * h);
    expect(Math.abs(dot(grad, v) - fd) / Math.abs(fd)).toBeLessThan(1e-6);
  });
});

describe('TRPO', () => {
  let env: Awaited<ReturnType<typeof fixedBatch>>;
  beforeAll(async () => {
    env = await fixedBatch(tiny('maml-trpo', { innerObjective: 'likelihood-ratio' }));
  });

  it('conjugate gradient solves an SPD system', () => {
    const A = [[4, 1, 0], [1, 3, 1], [0, 1, 2]];
    const Ax = (v: Float64Array): Float64Array => Float64Array.from(A.map((row) => row.reduce((s, a, j) => s + a * v[j]!, 0)));
    const x = conjugateGradient(Ax, Float64Array.of(1, 2, 3), 10);
    allClose(Ax(x), [1, 2, 3], 1e-10);
    const r = conjugateGradientWithProduct(Ax, Float64Array.of(1, 2, 3), 2); // stopped early: A x is still A times its x
    allClose(r.Ax, Ax(r.x), 1e-12);
  });

  it('the Hessian-vector products of the KL (double backward through the inner step) match finite differences of its gradient', () => {
    const { setup, theta, batch } = env;
    const obj = mamlTrpoObjective(setup.algo.innerStep, false);
    const chunks = metaBatchChunks(batch);
    const rng = new Rng(5);
    const at = theta.map((x) => x + 0.02 * rng.normal()); // away from θo, where ∇KL ≠ 0 and the third-order terms matter
    const lin = trpoLinearization(setup.policy, at, chunks, obj, 0);
    const v = theta.map(() => rng.normal());
    const klGrad = (p: Float64Array): Float64Array => chunkedValueAndGrad(setup.policy, p, chunks, (q, b) => obj(q, b).constraint).grad;
    const h = 1e-5;
    const gp = klGrad(at.map((x, i) => x + h * v[i]!)), gm = klGrad(at.map((x, i) => x - h * v[i]!));
    allClose(lin.Hx(v), gp.map((x, i) => (x - gm[i]!) / (2 * h)), 1e-5);
  });

  it('an accepted step respects the KL bound, and the full step sits where the quadratic model puts the bound', () => {
    const { setup, theta, batch } = env;
    const obj = mamlTrpoObjective(setup.algo.innerStep, false);
    const opts = { stepSize: 0.01, cgIters: 10, damping: 0, backtrackRatio: 0.8, maxBacktracks: 15 };
    const r = trpoStep(setup.policy, theta, batch, obj, opts);
    expect(r.accepted).toBe(true);
    const chunks = metaBatchChunks(batch);
    const e = evaluateObjective(setup.policy, r.theta, chunks, obj);
    expect(e.constraint).toBeLessThanOrEqual(0.01);
    expect(e.constraint).toBeCloseTo(r.klAfter, 14);
    expect(e.loss).toBeLessThan(r.lossBefore);
    expect(r.klBefore).toBeLessThan(1e-15);
    // ½ β² dᵀHd = δ: for a small δ the KL of the full step is δ to second order (relative error O(√δ))
    const small = 1e-9;
    const lin = trpoLinearization(setup.policy, theta, chunks, obj, 0);
    const d = conjugateGradient(lin.Hx, lin.grad, 10);
    const beta = Math.sqrt((2 * small) / (dot(d, lin.Hx(d)) + 1e-8));
    const kl = evaluateObjective(setup.policy, theta.map((x, i) => x - beta * d[i]!), chunks, obj).constraint;
    expect(kl / small).toBeGreaterThan(0.98);
    expect(kl / small).toBeLessThan(1.02);
  });

  it('a chunk whose curvature is not kept (short of memory, at the linearization or after its first product) is linearized again at each product: the same step, bit for bit', () => {
    const { setup, theta, batch } = env;
    const obj = mamlTrpoObjective(setup.algo.innerStep, false);
    const chunks = metaBatchChunks(batch, 1); // one task per chunk
    expect(chunks).toHaveLength(4);
    const opts = { stepSize: 0.01, cgIters: 10, damping: 0, backtrackRatio: 0.8, maxBacktracks: 15 };
    const step = (keep: KeepCurvature, compiled = true) => trpoStepOn(localRunner(setup.policy, trpoOps(setup.policy, obj, compiled, keep)), theta, chunks, opts);
    const asked: number[] = [];
    const all = step(() => true);
    const none = step((bytes) => (asked.push(bytes), false));
    let n = 0;
    const some = step(() => n++ % 2 === 0);
    const eager = step(() => true, false);
    // kept at the linearization, given up after the first product (its trace took the memory that was left)
    const later: number[] = [];
    const dropped = step((bytes) => (later.push(bytes), later.length <= 4));
    for (const r of [none, some, eager, dropped]) {
      expect(Array.from(r.theta)).toEqual(Array.from(all.theta));
      expect([r.lossAfter, r.klAfter, r.initialStepSize, r.backtracks]).toEqual([all.lossAfter, all.klAfter, all.initialStepSize, all.backtracks]);
    }
    expect(all.accepted).toBe(true);
    expect(asked).toHaveLength(4); // asked once per chunk, with the size of its recorded graph
    for (const b of asked) expect(b).toBeGreaterThan(10_000);
    // a kept chunk is asked again after its first product, with the same size, and not after that
    expect(later).toEqual([...asked, ...asked]);
  });

  it('keeps curvature while the memory the OS reports leaves the reserve and CURVATURE_ROOM more graphs, garbage collected first; counts a graph\'s storage once per buffer', () => {
    expect(keepWhileMemoryLasts(1e18)).toBe(false);
    const spy = vi.spyOn(process, 'availableMemory');
    try {
      spy.mockReturnValue(CURVATURE_RESERVE_BYTES + 2e9);
      expect(keepWhileMemoryLasts(2e9 / CURVATURE_ROOM - 1)).toBe(true);
      expect(keepWhileMemoryLasts(2e9 / CURVATURE_ROOM + 1)).toBe(false);
      expect(CURVATURE_ROOM).toBeGreaterThanOrEqual(8);
    } finally {
      spy.mockRestore();
    }
    // the decision is taken on live memory: garbage is collected first, and V8's gc is not left global
    expect(collectGarbage()).toBe(true);
    expect('gc' in globalThis).toBe(false);
    const before = process.memoryUsage().arrayBuffers;
    (() => new Float64Array(2 ** 25).fill(1))(); // 256 MiB, dropped at once
    expect(process.memoryUsage().arrayBuffers - before).toBeGreaterThan(2 ** 27);
    collectGarbage();
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(2 ** 24);
    const x = tensor([1, 2, 3]);
    const y = enableGrad(() => x.mul(x).exp()); // x (24 bytes), x·x, exp(x·x); x is read twice
    expect(graphBytes([y, y])).toBe(3 * 24);
    expect(graphBytes([x])).toBe(24);
  });

  it('rejects the step (θ unchanged) when no backtrack satisfies the bound', () => {
    const { setup, theta, batch } = env;
    const obj = mamlTrpoObjective(setup.algo.innerStep, false);
    const r = trpoStep(setup.policy, theta, batch, (p, b) => ({ ...obj(p, b), constraint: obj(p, b).constraint.add(1) }), {
      stepSize: 0.01, cgIters: 10, damping: 0, backtrackRatio: 0.8, maxBacktracks: 3,
    });
    expect(r.accepted).toBe(false);
    expect(Array.from(r.theta)).toEqual(Array.from(theta));
    expect(r.backtracks).toBe(3);
  });
});

describe('ProMP inner KL coefficient', () => {
  it('the reference rule: ÷2 below target/1.5, ×2 above target·1.5', () => {
    expect(adaptKLCoeff(1, 0.001, 0.01)).toBe(0.5);
    expect(adaptKLCoeff(1, 0.1, 0.01)).toBe(2);
    expect(adaptKLCoeff(1, 0.01, 0.01)).toBe(1);
  });

  it('fixed by default; adapted per inner step when adaptiveInnerKLPenalty is set', async () => {
    const cfg = tiny('promp', { numInnerGradSteps: 2, adaptiveInnerKLPenalty: true, initInnerKLPenalty: 1e-3, targetInnerStep: 1 });
    const { setup, theta, batch } = await fixedBatch(cfg);
    const promp = setup.algo as ProMP;
    expect(promp.klCoeffs).toEqual([1e-3, 1e-3]);
    const r = promp.optimize(theta, batch);
    expect(r.innerKL).toBeLessThan(1 / 1.5); // tiny steps: far below the target 1
    expect(promp.klCoeffs).toEqual([5e-4, 5e-4]);
    const f = await fixedBatch(tiny('promp'));
    const fixed = f.setup.algo as ProMP;
    fixed.optimize(f.theta, f.batch);
    expect(fixed.klCoeffs).toEqual([5e-4]);
  });
});

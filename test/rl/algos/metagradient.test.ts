/**
 * The meta-objectives' math, checked against independent references:
 * - the task-batched forward, inner objectives and inner step against per-task graphs built from the
 *   estimators module (GaussianMLPPolicy.logProb, likelihoodRatioObjective, lvc, vpgObjective, dice, innerStep);
 * - the second-order meta-gradient against central finite differences of the loss (inner step included);
 * - second-order minus first-order meta-gradient against α·H·g from the engine's hvp, per task (Eq. 13);
 * - chunked = unchunked; ProMP at θ = θo; E-MAML's term against formulationIITerm.
 */
import { describe, it, expect, beforeAll } from 'vitest';
import { type Tensor, Rng, grad, hvp, noGrad, tensor, treeLeaves } from '@metagrad/autograd';
import {
  dice, formulationIITerm, innerStep, likelihoodRatioObjective, lvc, vpgObjective, type TrajectoryBatch,
} from '@metagrad/rl/estimators';
import type { GaussianMLPParams } from '@metagrad/rl/estimators';
import {
  type InnerObjective, type MetaBatch, type StepBatch, adapt, evalRound, flatOf, formulationIIMetaTerm, taskInnerObjective, taskInnerStep,
  taskParamsRow, broadcastToTasks, outerLikelihoodRatio, toStepBatch,
} from '@metagrad/rl';
import { chunkedValueAndGrad, chunkedValues, metaBatchChunks } from '@metagrad/rl';
import { mamlTrpoObjective } from '@metagrad/rl';
import type { VpgMetaAlgorithm } from '@metagrad/rl';
import { prompLoss } from '@metagrad/rl';
import { resolveConfig } from '@metagrad/rl';
import { type RunSetup, iterationRng, processRound, sampleAndAdapt, setupRun } from '@metagrad/rl';
import { allClose, relErr } from '../../helpers.js';

const ALPHA = 0.3;

/** A small real meta-batch on point-corner (dense reward): 3 tasks × 3 rollouts × 6 steps, policy hidden [5]. */
async function smallBatch(algo: 'maml-trpo' | 'dice-vpg', S = 1, seed = 3): Promise<{ setup: RunSetup; theta: Float64Array; batch: MetaBatch }> {
  const cfg = resolveConfig({
    algo, env: 'point-corner', metaBatchSize: 3, rolloutsPerTask: 3, horizon: 6, hidden: [5], innerLr: ALPHA, numInnerGradSteps: S, seed,
    envOptions: { reward: 'dense' }, initLogStd: -0.5,
  });
  const setup = await setupRun(cfg);
  // a non-trivial θ: the initial weights plus noise on every parameter (biases and log σ too)
  const rng = new Rng(seed + 100);
  const theta = setup.policy.flatten(setup.policy.init(new Rng(seed))).map((x) => x + 0.3 * rng.normal());
  const ad = await sampleAndAdapt(setup, theta, iterationRng(seed, 0), { nTasks: 3 });
  return { setup, theta, batch: ad.batch };
}

/** Task τ of a round as a TrajectoryBatch for the estimators module (per-task step averages). */
function taskBatch(setup: RunSetup, d: StepBatch, t: number, constants: 'advantages' | 'adjustedRewards' = 'advantages'): TrajectoryBatch {
  const s = d.samples, R = s.rowsPerTask, H = s.horizon, n = R * H, { obsDim, actDim } = s;
  const obs = tensor(s.obs.subarray(t * n * obsDim, (t + 1) * n * obsDim), [R, H, obsDim]);
  const actions = tensor(s.actions.subarray(t * n * actDim, (t + 1) * n * actDim), [R, H, actDim]);
  const c = constants === 'advantages' ? s.advantages : s.adjustedRewards!;
  const old = setup.policy.unflatten(taskParamsRow(d.oldParams, t));
  const logpOld = noGrad(() => setup.policy.logProb(old, obs, actions));
  const adv = tensor(c.subarray(t * n, (t + 1) * n), [R, H]);
  return { obs, actions, rewards: adv, advantages: adv, logpOld, mask: tensor(s.mask.subarray(t * n, (t + 1) * n), [R, H]), reduce: 'step' };
}

/**
 * The paper's estimator for each inner objective, per task, through the estimators module: at θ = θo
 * (the batches here are sampled at the θ they are evaluated at) J^LR has LVC's derivatives (Eq. 5, 6) and
 * our DiCE form has DiCE's (Eq. 57), at every order.
 */
function refInner(setup: RunSetup, kind: InnerObjective, p: GaussianMLPParams, b: TrajectoryBatch): Tensor {
  const logp = setup.policy.logProb(p, b.obs, b.actions);
  switch (kind) {
    case 'likelihood-ratio': return lvc(logp, b.advantages, b);
    case 'log-likelihood': return vpgObjective(logp, b.advantages, b);
    case 'dice': return dice(logp, b.rewards, b);
  }
}

/** −mean_τ J^LR_τ(θ'_τ) built per task from the estimators module (θ'_τ = innerStep of estimators.ts, J^LR inner). */
function refMamlLoss(setup: RunSetup, batch: MetaBatch, theta: GaussianMLPParams): Tensor {
  const K = batch.steps[0]!.K;
  let total: Tensor | null = null;
  for (let t = 0; t < K; t++) {
    const pre = taskBatch(setup, batch.steps[0]!, t), post = taskBatch(setup, batch.steps[1]!, t);
    const thetaPrime = innerStep(setup.policy, theta, pre, ALPHA);
    const out = likelihoodRatioObjective(setup.policy.logProb(thetaPrime, post.obs, post.actions), post.logpOld, post.advantages, post);
    total = total ? total.add(out) : out;
  }
  return total!.div(K).neg();
}

const lrStep = { alpha: ALPHA, inner: 'likelihood-ratio' as const };

describe('task-batched policy and inner objectives vs per-task references', () => {
  let env: Awaited<ReturnType<typeof smallBatch>>;
  let diceEnv: Awaited<ReturnType<typeof smallBatch>>;
  beforeAll(async () => {
    env = await smallBatch('maml-trpo');
    diceEnv = await smallBatch('dice-vpg');
  });

  it('log-likelihoods: batched (with the bias folded into the matmul) = GaussianMLPPolicy.logProb per task', () => {
    const { setup, theta, batch } = env;
    const d = batch.steps[1]!;
    const e = noGrad(() => evalRound(d.oldParams, d));
    allClose(d.logpOld, e.logp, 1e-13, 'logpOld');
    for (let t = 0; t < 3; t++) {
      const b = taskBatch(setup, d, t);
      allClose(e.logp.toArray().subarray(t * 18, (t + 1) * 18), b.logpOld.toArray(), 1e-13, `task ${t}`);
    }
    expect(theta.length).toBe(setup.policy.numParams);
  });

  for (const kind of ['likelihood-ratio', 'log-likelihood', 'dice'] as const) {
    it(`inner objective '${kind}' at θo and its inner step θ + α∇J per task = the estimators' (LVC, VPG, DiCE): value, step, and the step's Jacobian`, () => {
      const { setup, theta, batch } = kind === 'dice' ? diceEnv : env;
      const d = batch.steps[0]!;
      const th = setup.policy.unflatten(theta);
      const pK = broadcastToTasks(th, 3);
      const vals = noGrad(() => taskInnerObjective(kind, evalRound(pK, d), d)).toArray();
      const next = noGrad(() => taskInnerStep(pK, d, { alpha: ALPHA, inner: kind }).next);
      for (let t = 0; t < 3; t++) {
        const b = taskBatch(setup, d, t, kind === 'dice' ? 'adjustedRewards' : 'advantages');
        const f = (p: GaussianMLPParams): Tensor => refInner(setup, kind, p, b);
        expect(vals[t]).toBeCloseTo(noGrad(() => f(th)).item(), 12);
        const g = flatOf(treeLeaves(noGrad(() => grad(f)(th))));
        allClose(taskParamsRow(next, t), theta.map((x, i) => x + ALPHA * g[i]!), 1e-12, `${kind} step of task ${t}`);
      }
      // the recorded step is differentiable: d(Σ θ'·v)/dθ = v + α H v, checked per task with hvp of the reference
      const rng = new Rng(7);
      const v = theta.map(() => rng.normal());
      const vK = noGrad(() => broadcastToTasks(setup.policy.unflatten(v), 3));
      const lhs = flatOf(treeLeaves(grad((p: GaussianMLPParams) => {
        const nx = taskInnerStep(broadcastToTasks(p, 3), d, { alpha: ALPHA, inner: kind }).next;
        return treeLeaves(nx).map((x, i) => x.mul(treeLeaves(vK)[i]!).sum()).reduce((a, b) => a.add(b));
      })(th)));
      let Hv = new Float64Array(theta.length);
      for (let t = 0; t < 3; t++) {
        const b = taskBatch(setup, d, t, kind === 'dice' ? 'adjustedRewards' : 'advantages');
        const h = flatOf(treeLeaves(noGrad(() => hvp((p: GaussianMLPParams) => refInner(setup, kind, p, b), th, setup.policy.unflatten(v)))));
        Hv = Hv.map((x, i) => x + h[i]!);
      }
      allClose(lhs, v.map((x, i) => 3 * x + ALPHA * Hv[i]!), 1e-10, `${kind} Jacobian of the inner step`);
    });
  }

  it("MAML's loss −mean_τ J^LR_τ(θ'_τ) and its second-order meta-gradient = per-task graphs from estimators.ts", () => {
    const { setup, theta, batch } = env;
    const th = setup.policy.unflatten(theta);
    const obj = mamlTrpoObjective(lrStep, false);
    const mine = grad((p: GaussianMLPParams) => obj(p, batch).loss)(th);
    const ref = grad((p: GaussianMLPParams) => refMamlLoss(setup, batch, p))(th);
    expect(noGrad(() => obj(th, batch).loss.item())).toBeCloseTo(noGrad(() => refMamlLoss(setup, batch, th).item()), 13);
    allClose(flatOf(treeLeaves(mine)), flatOf(treeLeaves(ref)), 1e-11, 'meta-gradient');
  });
});

describe('second-order meta-gradients', () => {
  let env: Awaited<ReturnType<typeof smallBatch>>;
  beforeAll(async () => {
    env = await smallBatch('maml-trpo');
  });

  it('the meta-gradient matches central finite differences of the loss (inner step recomputed) along random directions', () => {
    const { setup, theta, batch } = env;
    const loss = (p: GaussianMLPParams): Tensor => mamlTrpoObjective(lrStep, false)(p, batch).loss;
    const chunks = metaBatchChunks(batch);
    const { grad: g } = chunkedValueAndGrad(setup.policy, theta, chunks, loss);
    const rng = new Rng(11);
    for (let r = 0; r < 3; r++) {
      const v = theta.map(() => rng.normal());
      const h = 1e-5;
      const at = (s: number): number => chunkedValues(setup.policy, theta.map((x, i) => x + s * v[i]!), chunks, (p, b) => ({ l: mamlTrpoObjective(lrStep, false)(p, b).loss })).l;
      const fd = (at(h) - at(-h)) / (2 * h);
      const an = g.reduce((s, x, i) => s + x * v[i]!, 0);
      expect(Math.abs(an - fd) / Math.abs(fd)).toBeLessThan(1e-6);
    }
  });

  it('second-order minus first-order meta-gradient = −(α/K) Σ_τ ∇²J^inner_τ(θ) ∇θ′J^out_τ(θ′_τ), the α·H term of Eq. 13', () => {
    const { setup, theta, batch } = env;
    const th = setup.policy.unflatten(theta);
    const so = flatOf(treeLeaves(grad((p: GaussianMLPParams) => mamlTrpoObjective(lrStep, false)(p, batch).loss)(th)));
    const fo = flatOf(treeLeaves(grad((p: GaussianMLPParams) => mamlTrpoObjective({ ...lrStep, firstOrder: true }, false)(p, batch).loss)(th)));
    const K = 3;
    const expected = new Float64Array(theta.length);
    for (let t = 0; t < K; t++) {
      const pre = taskBatch(setup, batch.steps[0]!, t), post = taskBatch(setup, batch.steps[1]!, t);
      const inner = (p: GaussianMLPParams): Tensor => likelihoodRatioObjective(setup.policy.logProb(p, pre.obs, pre.actions), pre.logpOld, pre.advantages, pre);
      const thetaPrime = noGrad(() => innerStep(setup.policy, th, pre, ALPHA));
      const gOut = noGrad(() => grad((p: GaussianMLPParams) => likelihoodRatioObjective(setup.policy.logProb(p, post.obs, post.actions), post.logpOld, post.advantages, post))(thetaPrime));
      const Hg = flatOf(treeLeaves(noGrad(() => hvp(inner, th, gOut))));
      for (let i = 0; i < Hg.length; i++) expected[i] -= (ALPHA / K) * Hg[i]!;
    }
    const diff = so.map((x, i) => x - fo[i]!);
    expect(relErr(expected, new Float64Array(expected.length))).toBeGreaterThan(0); // the term is not zero
    allClose(diff, expected, 1e-9, 'SO − FO');
  });

  it('DiCE-VPG: the meta-gradient (through the DiCE inner step) matches finite differences of its loss', async () => {
    const { setup, theta, batch } = await smallBatch('dice-vpg', 1, 4);
    const chunks = metaBatchChunks(batch);
    const f = (p: GaussianMLPParams, b: MetaBatch): Tensor => (setup.algo as VpgMetaAlgorithm).loss(p, b);
    const { grad: g } = chunkedValueAndGrad(setup.policy, theta, chunks, f);
    const rng = new Rng(13);
    const v = theta.map(() => rng.normal());
    const at = (s: number): number => chunkedValues(setup.policy, theta.map((x, i) => x + s * v[i]!), chunks, (p, b) => ({ l: f(p, b) })).l;
    const fd = (at(1e-5) - at(-1e-5)) / 2e-5;
    const an = g.reduce((s, x, i) => s + x * v[i]!, 0);
    expect(Math.abs(an - fd) / Math.abs(fd)).toBeLessThan(1e-6);
  });

  it('two inner steps: the meta-gradient still matches finite differences', async () => {
    const { setup, theta, batch } = await smallBatch('maml-trpo', 2, 5);
    expect(batch.steps.length).toBe(3);
    const chunks = metaBatchChunks(batch);
    const f = (p: GaussianMLPParams, b: MetaBatch): Tensor => mamlTrpoObjective(lrStep, true)(p, b).loss;
    const { grad: g } = chunkedValueAndGrad(setup.policy, theta, chunks, f);
    const rng = new Rng(12);
    const v = theta.map(() => rng.normal());
    const at = (s: number): number => chunkedValues(setup.policy, theta.map((x, i) => x + s * v[i]!), chunks, (p, b) => ({ l: f(p, b) })).l;
    const fd = (at(1e-5) - at(-1e-5)) / 2e-5;
    const an = g.reduce((s, x, i) => s + x * v[i]!, 0);
    expect(Math.abs(an - fd) / Math.abs(fd)).toBeLessThan(1e-6);
  });

  it('a processed round in task chunks (the sampler-side fused forward) = toStepBatch + taskInnerStep on the whole batch', () => {
    const { setup, theta, batch } = env;
    const d = batch.steps[0]!;
    const p = noGrad(() => broadcastToTasks(setup.policy.unflatten(theta), 3));
    const whole = processRound(d.samples, p, lrStep);
    const split = processRound(d.samples, p, lrStep, 1); // one task per chunk
    const plain = toStepBatch(d.samples, p);
    const next = noGrad(() => taskInnerStep(p, plain, lrStep).next);
    for (const r of [whole, split]) {
      allClose(r.step.logpOld, plain.logpOld, 1e-14);
      allClose(r.step.meanOld, plain.meanOld, 1e-14);
      for (const [i, leaf] of treeLeaves(r.next!).entries()) allClose(leaf, treeLeaves(next)[i]!, 1e-13);
    }
    expect(processRound(d.samples, p, null).next).toBeNull();
  });

  it('task chunks give the unchunked value and gradient', () => {
    const { setup, theta, batch } = env;
    const f = (p: GaussianMLPParams, b: MetaBatch): Tensor => prompLoss(p, b, { step: lrStep, clipEps: 0.2, klCoeffs: [0.1] }).loss;
    const whole = chunkedValueAndGrad(setup.policy, theta, metaBatchChunks(batch), f);
    const one = metaBatchChunks(batch, 1);
    expect(one.length).toBe(3);
    const split = chunkedValueAndGrad(setup.policy, theta, one, f);
    expect(split.value).toBeCloseTo(whole.value, 13);
    allClose(split.grad, whole.grad, 1e-12);
  });
});

describe('ProMP and E-MAML terms', () => {
  let env: Awaited<ReturnType<typeof smallBatch>>;
  beforeAll(async () => {
    env = await smallBatch('maml-trpo');
  });

  it('ProMP (Eq. 7) at θ = θo: J^CLIP = J^LR, KL = 0, and the gradient equals that of −J^LR(θ′) (the KL gradient vanishes at θo)', () => {
    const { setup, theta, batch } = env;
    const th = setup.policy.unflatten(theta);
    const opts = { step: lrStep, clipEps: 0.2, klCoeffs: [0.5] };
    const t = noGrad(() => prompLoss(th, batch, opts));
    const lr = noGrad(() => outerLikelihoodRatio(evalRound(adapt(th, batch, lrStep).params[1]!, batch.steps[1]!), batch.steps[1]!));
    expect(t.clipped.item()).toBeCloseTo(lr.item(), 14);
    expect(Math.abs(t.innerKLs[0]!.item())).toBeLessThan(1e-15);
    const gP = flatOf(treeLeaves(grad((p: GaussianMLPParams) => prompLoss(p, batch, opts).loss)(th)));
    const gL = flatOf(treeLeaves(grad((p: GaussianMLPParams) => mamlTrpoObjective(lrStep, false)(p, batch).loss)(th)));
    allClose(gP, gL, 1e-10);
    // away from θo the penalty is positive and grows with η
    const moved = setup.policy.unflatten(theta.map((x, i) => x + 0.05 * Math.sin(i)));
    const kl = noGrad(() => prompLoss(moved, batch, opts).innerKLs[0]!.item());
    expect(kl).toBeGreaterThan(0);
    const l1 = noGrad(() => prompLoss(moved, batch, { ...opts, klCoeffs: [1] }).loss.item());
    const l0 = noGrad(() => prompLoss(moved, batch, { ...opts, klCoeffs: [0] }).loss.item());
    expect(l1 - l0).toBeCloseTo(kl, 12);
  });

  it("E-MAML's batched term = mean over tasks of the estimators' formulationIITerm (Eq. 2, 31)", () => {
    const { setup, theta, batch } = env;
    const th = setup.policy.unflatten(theta);
    const pre = batch.steps[0]!, post = batch.steps[1]!;
    const mine = grad((p: GaussianMLPParams) => formulationIIMetaTerm(evalRound(broadcastToTasks(p, 3), pre), pre, post))(th);
    const ref = grad((p: GaussianMLPParams) => {
      let s: Tensor | null = null;
      for (let t = 0; t < 3; t++) {
        const b = taskBatch(setup, pre, t);
        const term = formulationIITerm(setup.policy.logProb(p, b.obs, b.actions), b, post.standardizedRewardMean.data[t]!);
        s = s ? s.add(term) : term;
      }
      return s!.div(3);
    })(th);
    allClose(flatOf(treeLeaves(mine)), flatOf(treeLeaves(ref)), 1e-12);
  });
});

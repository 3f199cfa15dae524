/**
 * The estimators: hand-computed numbers on a two-step trajectory; J^LR vs LVC at θ = θo; ProMP at θ = θo;
 * the formulation I / II gradient terms; Monte Carlo means against the exact ones within standard errors.
 */
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { Rng, type Tensor, grad, hessian, noGrad, tensor } from '@metagrad/autograd';
import {
  clippedObjective, dice, expectSteps, formulationIITerm, likelihoodRatioObjective, lvc, magicBox, meanKL, prompObjective, rewardToGo,
  vpgObjective, type LogProbPolicy, type Steps, type TrajectoryBatch,
} from '@metagrad/rl/estimators';
import { exactAnalysis, randomTabular, tabularLogProb } from '@metagrad/rl/tabular';
import { sampleTabular, relativeStd, gradientVarianceExperiment } from '@metagrad/rl/tabular';
import { formulationTerms } from '@metagrad/rl/estimators';
import { arbTabular } from '@metagrad/rl/testing';
import { allClose } from '../helpers.js';

/** One state, two actions, π = softmax([0, ln 3]) = (¼, ¾); the trajectory takes a=1 then a=0, rewards 2 then 5. */
const theta0 = tensor([[0, Math.log(3)]]);
const states = tensor([[0, 0]]), actions = tensor([[1, 0]]), rewards = tensor([[2, 5]]);
const steps: Steps = { mask: tensor([[1, 1]]) };
const logp = (t: Tensor): Tensor => tabularLogProb(t, states, actions);
const G = rewardToGo(rewards, steps.mask); // [[7, 5]]

describe('estimators on a two-step trajectory, by hand', () => {
  it('reward-to-go and the magic box', () => {
    expect(G.toNested()).toEqual([[7, 5]]);
    expect(rewardToGo(rewards, steps.mask, 0.5).toNested()).toEqual([[2 + 2.5, 5]]);
    expect(magicBox(tensor([0.3, -2])).toNested()).toEqual([1, 1]);
  });

  it('DiCE (Eq. 57): value 7, gradient (2, −2), Hessian −⅞·[[1, −1], [−1, 1]]', () => {
    const f = (t: Tensor): Tensor => dice(logp(t), rewards, steps);
    expect(f(theta0).item()).toBeCloseTo(7, 14);
    allClose(grad(f)(theta0), [[2, -2]], 1e-14);
    allClose(hessian(f)(theta0).reshape([2, 2]), [-7 / 8, 7 / 8, 7 / 8, -7 / 8], 1e-14);
  });

  it('LVC (Eq. 64): value 12, gradient (2, −2), Hessian [[1, −1], [−1, 1]]', () => {
    const f = (t: Tensor): Tensor => lvc(logp(t), G, steps);
    expect(f(theta0).item()).toBeCloseTo(12, 14);
    allClose(grad(f)(theta0), [[2, -2]], 1e-14);
    allClose(hessian(f)(theta0).reshape([2, 2]), [1, -1, -1, 1], 1e-14);
  });

  it('J^LR (Eq. 6) at θ = θo: value 12 and LVC’s derivatives; J^CLIP: value 12', () => {
    const old = noGrad(() => logp(theta0));
    const f = (t: Tensor): Tensor => likelihoodRatioObjective(logp(t), old, G, steps);
    expect(f(theta0).item()).toBeCloseTo(12, 14);
    allClose(grad(f)(theta0), [[2, -2]], 1e-14);
    allClose(hessian(f)(theta0).reshape([2, 2]), [1, -1, -1, 1], 1e-14);
    expect(clippedObjective(logp(theta0), old, G, steps, 0.2).item()).toBeCloseTo(12, 14);
    // clipping: a ratio of 2 on a positive advantage is capped at 1 + ε
    const clipped = clippedObjective(tensor([[Math.log(2), 0]]), tensor([[0, 0]]), G, steps, 0.2).item();
    expect(clipped).toBeCloseTo(1.2 * 7 + 5, 12);
  });

  it('VPG: value 7 log ¾ + 5 log ¼, gradient (2, −2), Hessian −(9/4)·[[1, −1], [−1, 1]] (no outer-product term)', () => {
    const f = (t: Tensor): Tensor => vpgObjective(logp(t), G, steps);
    expect(f(theta0).item()).toBeCloseTo(7 * Math.log(0.75) + 5 * Math.log(0.25), 13);
    allClose(grad(f)(theta0), [[2, -2]], 1e-14);
    allClose(hessian(f)(theta0).reshape([2, 2]), [-9 / 4, 9 / 4, 9 / 4, -9 / 4], 1e-14);
  });

  it('reductions: trajectory weights and per-step averaging', () => {
    const x = tensor([[1, 2, 3], [4, 5, 0]]);
    const mask = tensor([[1, 1, 1], [1, 1, 0]]);
    expect(expectSteps(x, { mask }).item()).toBe((6 + 9) / 2);
    expect(expectSteps(x, { mask, trajWeights: tensor([0.25, 0.75]) }).item()).toBe(0.25 * 6 + 0.75 * 9);
    expect(expectSteps(x, { mask, reduce: 'step' }).item()).toBe(15 / 5);
    expect(() => expectSteps(tensor([1, 2]), { mask })).toThrow('expectSteps: per-step terms have shape [2] but the mask has [2, 3]');
    expect(() => clippedObjective(x, x, x, { mask }, 0)).toThrow('clipEps must be positive');
  });
});

/** The tabular softmax policy as the estimators see it: obs = state indices. */
const tabularPolicy: LogProbPolicy<Tensor> = {
  logProb: (t, s, a) => tabularLogProb(t, s, a),
  kl: (old, t, s) => {
    const lp0 = old.logSoftmax(-1), lp1 = t.logSoftmax(-1);
    const perState = lp0.exp().mul(lp0.sub(lp1)).sum(1); // KL(π_old(·|s) ‖ π(·|s)), [S]
    return perState.gather(s.reshape([s.size]), 0).reshape([...s.shape]);
  },
};

/** Random MDPs (S ≤ 3, 2 ≤ A ≤ 3, H ≤ 4) with θ, and a seed for sampling from them. */
const mdpArb = fc.tuple(arbTabular.mdp({ S: { max: 3 }, A: { min: 2, max: 3 }, H: { max: 4 } }), fc.nat());

describe('J^LR and ProMP at θ = θo', () => {
  it('J^LR’s first and second derivatives at θ = θo equal LVC’s (random MDPs, sampled batches)', () => {
    fc.assert(
      fc.property(arbTabular.batch({ S: { max: 3 }, A: { min: 2, max: 3 }, H: { max: 4 }, N: 6 }), ({ theta, batch: b, logp, logpOld, returns }) => {
        const lr = (t: Tensor): Tensor => likelihoodRatioObjective(logp(t), logpOld, returns, b.steps);
        const lv = (t: Tensor): Tensor => lvc(logp(t), returns, b.steps);
        allClose(grad(lr)(theta), grad(lv)(theta), 1e-13, 'gradient', 1e-14);
        allClose(hessian(lr)(theta), hessian(lv)(theta), 1e-13, 'hessian', 1e-14);
      }),
      { numRuns: 30, seed: 6 },
    );
  });

  it('ProMP (Eq. 7) at θ = θo without active clipping equals J^LR at the adapted θ′; the KL term is 0 with zero gradient', () => {
    fc.assert(
      fc.property(mdpArb, ([{ mdp, theta: thetaO }, seed]) => {
        const { S, A } = mdp;
        const rng = new Rng(seed + 1);
        const alpha = 0.3, eta = 0.7;
        const mk = (t: Tensor): TrajectoryBatch => {
          const b = sampleTabular(mdp, t, 5, rng);
          return { obs: b.states, actions: b.actions, rewards: b.rewards, advantages: rewardToGo(b.rewards, b.steps.mask), logpOld: noGrad(() => tabularLogProb(t, b.states, b.actions)), ...b.steps };
        };
        const pre = mk(thetaO);
        // θ′o = θo + α∇J^LR(θo); the post batch is sampled there, so its ratios are 1 at θ = θo
        const adapted = noGrad(() => thetaO.add(grad((t: Tensor) => likelihoodRatioObjective(tabularLogProb(t, pre.obs, pre.actions), pre.logpOld, pre.advantages, pre))(thetaO).mul(alpha)));
        const post = mk(adapted);
        const promp = (t: Tensor): Tensor => prompObjective(tabularPolicy, t, thetaO, pre, post, { alpha, eta, clipEps: 0.2 });
        const lrPost = (t: Tensor): Tensor => likelihoodRatioObjective(tabularLogProb(t, post.obs, post.actions), post.logpOld, post.advantages, post);
        allClose(promp(thetaO).item(), lrPost(adapted).item(), 1e-13, 'value');
        const klTerm = (t: Tensor): Tensor => meanKL(tabularPolicy.kl(thetaO, t, pre.obs), pre);
        expect(Math.abs(klTerm(thetaO).item())).toBeLessThan(1e-15);
        expect(grad(klTerm)(thetaO).abs().max().item()).toBeLessThan(1e-15);
        // away from θo the KL is positive and the penalty lowers the objective
        const moved = thetaO.add(0.5);
        expect(klTerm(moved.add(tensor(Array.from({ length: S }, (_, s) => Array.from({ length: A }, (_, a) => (s + 1) * (a - 0.5)))))).item()).toBeGreaterThan(0);
      }),
      { numRuns: 30, seed: 7 },
    );
  });
});

describe('formulation I and II gradient terms (Eq. 1–3, 28–31)', () => {
  it('∇ of the DiCE-style formulation-I surrogate = ∇J_post + ∇J_pre^I; the E-MAML surrogate gives ∇J_post + ∇J_pre^II', () => {
    fc.assert(
      fc.property(mdpArb, ([{ mdp, theta }, seed]) => {
        const rng = new Rng(seed);
        const pre = sampleTabular(mdp, theta, 1, rng), post = sampleTabular(mdp, theta, 1, rng);
        const Rpre = pre.rewards.sum().item(), Rpost = post.rewards.sum().item();
        const lpPre = (t: Tensor): Tensor => tabularLogProb(t, pre.states, pre.actions).sum();
        const lpPost = (t: Tensor): Tensor => tabularLogProb(t, post.states, post.actions).sum();
        const alpha = 0.4;
        const terms = formulationTerms(lpPre, lpPost, Rpre, Rpost, theta, alpha);
        // formulation I: θ′ = θ + α∇θ[□(log π_θ(τ)) R(τ)], outer □(log π_θ′(τ′)) R(τ′)
        const surrogateI = (t: Tensor): Tensor => {
          const tp = t.add(grad((u: Tensor) => magicBox(lpPre(u)).mul(Rpre))(t).mul(alpha));
          return magicBox(lpPost(tp)).mul(Rpost);
        };
        allClose(grad(surrogateI)(theta), terms.post.add(terms.preI), 1e-12, 'formulation I', 1e-14);
        // formulation II: θ′ = θ + α∇θ[log π_θ(τ) R(τ)] (no box), plus α·log π_θ(τ)·R(τ′)
        const surrogateII = (t: Tensor): Tensor => {
          const tp = t.add(grad((u: Tensor) => lpPre(u).mul(Rpre))(t).mul(alpha));
          return magicBox(lpPost(tp)).mul(Rpost).add(formulationIITerm(tabularLogProb(t, pre.states, pre.actions), pre.steps, Rpost).mul(alpha));
        };
        allClose(grad(surrogateII)(theta), terms.post.add(terms.preII), 1e-12, 'formulation II', 1e-14);
        // θ′ is the one-trajectory inner step
        allClose(terms.thetaPrime, theta.add(grad(lpPre)(theta).mul(alpha * Rpre)), 1e-14);
      }),
      { numRuns: 30, seed: 3 },
    );
  });
});

describe('Monte Carlo', () => {
  it('sample means of DiCE and LVC gradients and Hessians converge to the exact ones within 4 standard errors', () => {
    const { mdp, theta } = randomTabular(12, 2, 2, 3);
    const x = exactAnalysis(mdp, theta);
    const N = 4000;
    const b = sampleTabular(mdp, theta, N, new Rng(2026));
    const returns = rewardToGo(b.rewards, b.steps.mask);
    const diceF = (t: Tensor): Tensor => dice(tabularLogProb(t, b.states, b.actions), b.rewards, b.steps);
    const lvcF = (t: Tensor): Tensor => lvc(tabularLogProb(t, b.states, b.actions), returns, b.steps);
    const within = (mc: Tensor, mean: Tensor, variance: Tensor, what: string): void => {
      for (let i = 0; i < mc.size; i++) {
        const se = Math.sqrt(variance.data[i]! / N);
        const z = Math.abs(mc.data[i]! - mean.data[i]!) / (se + 1e-15);
        expect(z, `${what}[${i}]: z = ${z.toFixed(2)}`).toBeLessThan(4);
      }
    };
    within(grad(diceF)(theta).reshape([4]), x.diceGradMean, x.diceGradVar, 'DiCE gradient');
    within(grad(lvcF)(theta).reshape([4]), x.lvcGradMean, x.lvcGradVar, 'LVC gradient');
    within(hessian(diceF)(theta).reshape([4, 4]), x.diceHessianMean, x.diceHessianVar, 'DiCE Hessian');
    within(hessian(lvcF)(theta).reshape([4, 4]), x.lvcHessianMean, x.lvcHessianVar, 'LVC Hessian');
    // and the exact per-trajectory variance agrees with the sample variance (DiCE's Hessian is the noisier one)
    expect(x.diceHessianVar.sum().item()).toBeGreaterThan(x.lvcHessianVar.sum().item());
  });

  it('relativeStd and the Fig. 3 experiment: DiCE meta-gradients are noisier than LVC’s', () => {
    expect(relativeStd([tensor([1, 2]), tensor([3, 2])])).toBeCloseTo(Math.sqrt(2) / 2 / 2, 14);
    expect(() => relativeStd([tensor([1])])).toThrow('needs at least 2 estimates');
    const { mdp, theta } = randomTabular(1, 3, 2, 8);
    const res = gradientVarianceExperiment(mdp, theta, { alpha: 1, batchSizes: [10], nPost: 200, repeats: 60, seed: 1 });
    const [d, l] = [res.find((r) => r.estimator === 'dice')!, res.find((r) => r.estimator === 'lvc')!];
    expect(d.relStd / l.relStd).toBeGreaterThan(1.3);
  });
});

/**
 * MAML-TRPO (Finn et al. 2017; the paper's formulation I, Eq. 4, 8–13): the post-update surrogate
 *
 *   L(θ) = −mean_τ J^LR_τ(θ'_τ),   θ'_τ = θ + α ∇θ J^inner_τ(θ),
 *
 * minimized by a TRPO step under mean_τ D̄_KL(π_θ'o,τ ‖ π_θ'τ) ≤ δ on the post-update trajectories, with
 * the inner step recorded so that ∇L and the KL's Hessian-vector products go through it. The inner
 * objective defaults to the reference's 'log-likelihood' surrogate (maml_run_mujoco.py), whose Hessian
 * lacks the ∇log π ∇log πᵀ term — the missing pre-update credit assignment the paper discusses.
 */
import type { GaussianMLPParams } from '../policies.js';
import type { Tensor } from '@metagrad/autograd';
import {
  type AlgoName, type AlgoSettings, type InnerStepOptions, type MetaAlgorithm, type MetaBatch, type OuterResult,
  adapt, evalRound, formulationIIMetaTerm, klDiagnostics, meanTaskKL, outerLikelihoodRatio,
} from './common.js';
import { type TrpoObjective, type TrpoOptions, trpoStep } from './trpo.js';

/** The MAML-TRPO problem on a meta-batch: loss −mean_τ J^LR_τ(θ') (plus E-MAML's term when asked) and the KL constraint. */
export function mamlTrpoObjective(step: InnerStepOptions, formulationII: boolean): TrpoObjective {
  return (theta: GaussianMLPParams, batch: MetaBatch) => {
    const a = adapt(theta, batch, step);
    const S = batch.steps.length - 1;
    const post = batch.steps[S]!;
    const e = evalRound(a.params[S]!, post);
    let objective: Tensor = outerLikelihoodRatio(e, post);
    if (formulationII) objective = objective.add(formulationIIMetaTerm(a.evals[0]!, batch.steps[0]!, post)); // Eq. 2, 31
    return { loss: objective.neg(), constraint: meanTaskKL(e, post) };
  };
}

/** MAML-TRPO (and, with formulationII, E-MAML-TRPO): one TRPO step per sampled meta-batch. */
export class MamlTrpo implements MetaAlgorithm {
  readonly name: AlgoName;
  readonly innerStep: InnerStepOptions;
  readonly needsDiceRewards: boolean;
  /** The TRPO step's settings, from trpoStepSize, cgIters, cgDamping, backtrackRatio, maxBacktracks. */
  readonly trpo: TrpoOptions;
  private readonly s: AlgoSettings;
  private readonly formulationII: boolean;

  constructor(s: AlgoSettings, formulationII = false) {
    this.s = s;
    this.formulationII = formulationII;
    this.name = formulationII ? 'e-maml-trpo' : 'maml-trpo';
    this.innerStep = { alpha: s.innerLr, inner: s.innerObjective, firstOrder: s.firstOrder, learnStd: s.policy.learnStd };
    this.needsDiceRewards = this.innerStep.inner === 'dice';
    this.trpo = {
      stepSize: s.trpoStepSize, cgIters: s.cgIters, damping: s.cgDamping, backtrackRatio: s.backtrackRatio, maxBacktracks: s.maxBacktracks, chunkElements: s.chunkElements, jit: s.jit,
    };
  }

  optimize(theta: Float64Array, batch: MetaBatch): OuterResult {
    const r = trpoStep(this.s.policy, theta, batch, mamlTrpoObjective(this.innerStep, this.formulationII), this.trpo);
    const { innerKL } = klDiagnostics(this.s.policy, r.theta, batch, this.innerStep, this.s.chunkElements);
    return {
      theta: r.theta, lossBefore: r.lossBefore, lossAfter: r.lossAfter, innerKL, outerKL: r.klAfter,
      extra: { accepted: r.accepted ? 1 : 0, backtracks: r.backtracks, klBefore: r.klBefore },
    };
  }

  state(): Record<string, never> {
    return {};
  }

  restore(): void {}
}

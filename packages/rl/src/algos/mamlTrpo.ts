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
  adapt, evalRound, formulationIIMetaTerm, klSummary, klTermNames, klTerms, meanTaskKL, outerLikelihoodRatio,
} from './common.js';
import { type ChunkOps, type ChunkRunner, localRunner, metaBatchChunks, valuesOn, valuesOp } from './chunks.js';
import { type TrpoObjective, type TrpoOptions, trpoOps, trpoStepOn } from './trpo.js';

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

  /** The chunk ops: the TRPO problem's (trpoOps: linearize, hvp, values) and `kl`, the KL diagnostics at the new θ. */
  readonly ops: ChunkOps;
  /** Where the ops run (s.runner, else this thread). */
  private readonly runner: ChunkRunner;

  constructor(s: AlgoSettings, formulationII = false) {
    this.s = s;
    this.formulationII = formulationII;
    this.name = formulationII ? 'e-maml-trpo' : 'maml-trpo';
    this.innerStep = { alpha: s.innerLr, inner: s.innerObjective, firstOrder: s.firstOrder, learnStd: s.policy.learnStd };
    this.needsDiceRewards = this.innerStep.inner === 'dice';
    this.trpo = {
      stepSize: s.trpoStepSize, cgIters: s.cgIters, damping: s.cgDamping, backtrackRatio: s.backtrackRatio, maxBacktracks: s.maxBacktracks, chunkElements: s.chunkElements, jit: s.jit,
    };
    this.ops = {
      ...trpoOps(s.policy, mamlTrpoObjective(this.innerStep, formulationII), s.jit),
      kl: valuesOp((p, b) => klTerms(p, b, this.innerStep)),
    };
    this.runner = s.runner?.(this.ops) ?? localRunner(s.policy, this.ops);
  }

  optimize(theta: Float64Array, batch: MetaBatch): OuterResult {
    const chunks = metaBatchChunks(batch, this.s.chunkElements);
    const r = trpoStepOn(this.runner, theta, chunks, this.trpo);
    const S = batch.steps.length - 1;
    const { innerKL } = klSummary(valuesOn(this.runner, 'kl', klTermNames(S), r.theta, chunks), S);
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

/**
 * ProMP: Proximal Meta-Policy Search (the paper's Eq. 7 and Algorithm 1).
 *
 *   J^ProMP_T(θ) = J^CLIP_T(θ') − η D̄_KL(π_θo, π_θ),   θ' = θ + α ∇θ J^LR_T(θ)           (Eq. 7)
 *
 * maximized by several Adam steps (numPrompSteps, lr β) on the same sampled data (Algorithm 1, line 10),
 * as the reference's ProMP (meta_algos/pro_mp.py): per inner step k the penalty is η_k times the task-mean
 * KL between the policy that sampled round k and the current θ^k(θ) on round k; the clipped surrogate
 * is on the last round with the adapted θ^S; everything is averaged over the meta-batch. The inner KL
 * coefficients are fixed (the reference's default) or adapted toward targetInnerStep (×2 / ÷2 outside
 * [target/1.5, target·1.5]).
 */
import type { Tensor } from '@metagrad/autograd';
import { type ChunkOps, type ChunkRunner, chunkGradient, gradientOp, localRunner, metaBatchChunks, valueAndGradOn, valuesOn, valuesOp } from './chunks.js';
import type { GaussianMLPParams } from '../policies.js';
import { Adam, type AdamState } from '../optim.js';
import {
  type Adapted, type AlgoSettings, type InnerStepOptions, type MetaAlgorithm, type MetaBatch, type OuterResult, type RoundEval,
  adapt, evalRound, meanTaskKL, perTask,
} from './common.js';

/** The terms of ProMP's loss on a meta-batch. */
export interface PrompTerms {
  /** −mean_τ J^CLIP_τ(θ'_τ) + mean_k η_k KL_k: the loss minimized. */
  loss: Tensor;
  /** mean_τ J^CLIP_τ(θ'_τ). */
  clipped: Tensor;
  /** KL_k = mean_τ D̄_KL(π_old^k ‖ π_θ^k) on round k, for each inner step k. */
  innerKLs: Tensor[];
  /** The adapted parameters θ^0 … θ^S and the inner rounds' evaluations. */
  adapted: Adapted;
  /** evalRound(θ^S, last round). */
  post: RoundEval;
}

/**
 * ProMP's loss (the negated mean over tasks of Eq. 7): −mean_τ J^CLIP_τ(θ^S_τ) + mean_k η_k·KL_k, with
 * J^CLIP = Σ_t min(r_t A_t, clip(r_t, 1 − ε, 1 + ε) A_t) (step average), r_t = π_θ'(a_t|s_t)/π_θ'o(a_t|s_t).
 */
export function prompLoss(
  theta: GaussianMLPParams, batch: MetaBatch, opts: { step: InnerStepOptions; clipEps: number; klCoeffs: readonly number[] },
): PrompTerms {
  const a = adapt(theta, batch, opts.step);
  const S = batch.steps.length - 1;
  const post = batch.steps[S]!;
  const e = evalRound(a.params[S]!, post);
  const ratio = e.logp.sub(post.logpOld).exp(); // π_θ'/π_θ'o
  const A = post.advantages;
  const surr = ratio.mul(A).minimum(ratio.clip(1 - opts.clipEps, 1 + opts.clipEps).mul(A)); // J^CLIP terms
  const clipped = perTask(surr, post.weights).mean();
  const innerKLs: Tensor[] = [];
  let loss = clipped.neg();
  if (S > 0) {
    let penalty: Tensor | null = null;
    for (let k = 0; k < S; k++) {
      const kl = meanTaskKL(a.evals[k]!, batch.steps[k]!); // reuses the inner step's forward pass
      innerKLs.push(kl);
      const term = kl.mul(opts.klCoeffs[k]!);
      penalty = penalty ? penalty.add(term) : term;
    }
    loss = loss.add(penalty!.div(S)); // reduce_mean(η ⊙ KL) over inner steps
  }
  return { loss, clipped, innerKLs, adapted: a, post: e };
}

/** The reference's adaptive coefficient rule: halve below target/1.5, double above target·1.5. */
export function adaptKLCoeff(coeff: number, kl: number, target: number): number {
  if (kl < target / 1.5) return coeff / 2;
  if (kl > target * 1.5) return coeff * 2;
  return coeff;
}

/** ProMP's outer update: numPrompSteps Adam steps on prompLoss, then the diagnostics at the new θ. */
export class ProMP implements MetaAlgorithm {
  readonly name = 'promp' as const;
  readonly innerStep: InnerStepOptions;
  readonly needsDiceRewards: boolean;
  private readonly s: AlgoSettings;
  private readonly adam: Adam;
  /** η_k per inner step. */
  klCoeffs: number[];
  /**
   * The chunk ops: `grad`, the loss's value and gradient with η as argument (compiled unless s.jit is
   * false); `after`, the diagnostics at the new θ (loss, outer KL, inner KLs) with η as argument.
   */
  readonly ops: ChunkOps;
  /** Where the ops run (s.runner, else this thread). */
  private readonly runner: ChunkRunner;

  constructor(s: AlgoSettings) {
    this.s = s;
    this.innerStep = { alpha: s.innerLr, inner: s.innerObjective, firstOrder: s.firstOrder, learnStd: s.policy.learnStd };
    this.needsDiceRewards = this.innerStep.inner === 'dice';
    this.adam = new Adam(s.policy.numParams, { lr: s.metaLr });
    this.klCoeffs = new Array<number>(s.numInnerGradSteps).fill(s.initInnerKLPenalty);
    const step = this.innerStep, clipEps = s.clipEps;
    const gradient = chunkGradient(s.policy, (p, b, klCoeffs: number[]) => prompLoss(p, b, { step, clipEps, klCoeffs }).loss, s.jit);
    this.ops = {
      grad: gradientOp(s.policy, gradient),
      after: valuesOp((p, b, klCoeffs) => {
        const t = prompLoss(p, b, { step, clipEps, klCoeffs: klCoeffs as number[] });
        const r: Record<string, Tensor> = { loss: t.loss, outerKL: meanTaskKL(t.post, b.steps[b.steps.length - 1]!) };
        t.innerKLs.forEach((kl, k) => (r[`kl${k}`] = kl));
        return r;
      }),
    };
    this.runner = s.runner?.(this.ops) ?? localRunner(s.policy, this.ops);
  }

  /** The loss with this instance's settings. */
  loss(theta: GaussianMLPParams, batch: MetaBatch): PrompTerms {
    return prompLoss(theta, batch, { step: this.innerStep, clipEps: this.s.clipEps, klCoeffs: this.klCoeffs });
  }

  optimize(theta0: Float64Array, batch: MetaBatch): OuterResult {
    const theta = theta0.slice();
    const chunks = metaBatchChunks(batch, this.s.chunkElements);
    const S = batch.steps.length - 1;
    let lossBefore = NaN;
    for (let i = 0; i < this.s.numPrompSteps; i++) {
      const { value, grad } = valueAndGradOn(this.runner, 'grad', theta, chunks, this.klCoeffs);
      if (i === 0) lossBefore = value;
      this.adam.step(theta, grad); // θ ← θ + β Adam(∇θ Σ_τ J^ProMP_τ)
    }
    const klNames = Array.from({ length: S }, (_, k) => `kl${k}`);
    const after = valuesOn(this.runner, 'after', ['loss', 'outerKL', ...klNames], theta, chunks, this.klCoeffs);
    const kls = klNames.map((k) => after[k]!);
    if (this.s.adaptiveInnerKLPenalty) this.klCoeffs = this.klCoeffs.map((c, k) => adaptKLCoeff(c, kls[k]!, this.s.targetInnerStep));
    const innerKL = kls.length ? kls.reduce((a, b) => a + b, 0) / kls.length : 0;
    const klCoeff = this.klCoeffs.reduce((a, b) => a + b, 0) / this.klCoeffs.length;
    return { theta, lossBefore, lossAfter: after.loss!, innerKL, outerKL: after.outerKL!, extra: { klCoeffInner: klCoeff } };
  }

  state(): {
    /** The outer Adam optimizer's state. */
    adam: AdamState;
    /** η_k per inner step. */
    klCoeffs: number[];
  } {
    return { adam: this.adam.state(), klCoeffs: [...this.klCoeffs] };
  }

  restore(state: unknown): void {
    const s = state as { adam: AdamState; klCoeffs: number[] };
    if (!s || !Array.isArray(s.klCoeffs) || s.klCoeffs.length !== this.klCoeffs.length) throw new Error('ProMP.restore: malformed state');
    this.adam.restore(s.adam);
    this.klCoeffs = [...s.klCoeffs];
  }
}

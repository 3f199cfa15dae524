/**
 * The vanilla-policy-gradient outer update shared by E-MAML-VPG, LVC-VPG and DiCE-VPG (the reference's
 * MAMLFirstOrderOptimizer): one Adam step (lr 1e-3) per sampled meta-batch on the negated outer objective,
 * whose gradient goes through the recorded inner step (second order unless firstOrder).
 */
import type { Tensor } from '@metagrad/autograd';
import { type ChunkOps, type ChunkRunner, chunkGradient, gradientOp, localRunner, metaBatchChunks, valueAndGradOn, valuesOn, valuesOp } from './chunks.js';
import type { GaussianMLPParams } from '../policies.js';
import { Adam, type AdamState } from '../optim.js';
import {
  type AlgoName, type AlgoSettings, type InnerObjective, type InnerStepOptions, type MetaAlgorithm, type MetaBatch, type OuterResult,
  type Adapted, type RoundEval, adapt, evalRound, meanTaskKL,
} from './common.js';

/** An outer objective to maximize, from the adaptation (θ^0 … θ^S, inner rounds' evaluations), evalRound(θ^S, last round) and the meta-batch. */
export type OuterObjective = (adapted: Adapted, post: RoundEval, batch: MetaBatch) => Tensor;

/** A meta-algorithm whose outer update is one Adam step on −objective. */
export class VpgMetaAlgorithm implements MetaAlgorithm {
  readonly name: AlgoName;
  readonly innerStep: InnerStepOptions;
  readonly needsDiceRewards: boolean;
  private readonly s: AlgoSettings;
  private readonly objective: OuterObjective;
  private readonly adam: Adam;
  /** The chunk ops: `grad`, the loss's value and gradient (compiled unless s.jit is false); `after`, the diagnostics at the new θ. */
  readonly ops: ChunkOps;
  /** Where the ops run (s.runner, else this thread). */
  private readonly runner: ChunkRunner;

  constructor(name: AlgoName, s: AlgoSettings, objective: OuterObjective) {
    this.name = name;
    this.s = s;
    this.objective = objective;
    this.innerStep = { alpha: s.innerLr, inner: s.innerObjective, firstOrder: s.firstOrder, learnStd: s.policy.learnStd };
    this.needsDiceRewards = this.innerStep.inner === 'dice';
    this.adam = new Adam(s.policy.numParams, { lr: s.metaLr });
    this.ops = {
      grad: gradientOp(s.policy, chunkGradient(s.policy, (p, b) => this.loss(p, b), s.jit)),
      after: valuesOp((p, b) => {
        const S = b.steps.length - 1;
        const a = adapt(p, b, this.innerStep);
        const e = evalRound(a.params[S]!, b.steps[S]!);
        const r: Record<string, Tensor> = { loss: this.objective(a, e, b).neg(), outerKL: meanTaskKL(e, b.steps[S]!) };
        for (let k = 0; k < S; k++) r[`kl${k}`] = meanTaskKL(a.evals[k]!, b.steps[k]!);
        return r;
      }),
    };
    this.runner = s.runner?.(this.ops) ?? localRunner(s.policy, this.ops);
  }

  /** The loss −objective(θ) on a meta-batch. */
  loss(theta: GaussianMLPParams, batch: MetaBatch): Tensor {
    const a = adapt(theta, batch, this.innerStep);
    return this.objective(a, evalRound(a.params[a.params.length - 1]!, batch.steps[batch.steps.length - 1]!), batch).neg();
  }

  /** ∇θ of the objective (the negated loss's gradient: the direction the Adam step follows). */
  metaGradient(theta: Float64Array, batch: MetaBatch): Float64Array {
    const { grad } = valueAndGradOn(this.runner, 'grad', theta, metaBatchChunks(batch, this.s.chunkElements), null);
    return grad.map((g) => -g);
  }

  optimize(theta0: Float64Array, batch: MetaBatch): OuterResult {
    const theta = theta0.slice();
    const chunks = metaBatchChunks(batch, this.s.chunkElements);
    const { value, grad } = valueAndGradOn(this.runner, 'grad', theta, chunks, null);
    this.adam.step(theta, grad);
    const S = batch.steps.length - 1;
    const klNames = Array.from({ length: S }, (_, k) => `kl${k}`);
    const after = valuesOn(this.runner, 'after', ['loss', 'outerKL', ...klNames], theta, chunks);
    let inner = 0;
    for (const k of klNames) inner += after[k]!;
    return { theta, lossBefore: value, lossAfter: after.loss!, innerKL: S ? inner / S : 0, outerKL: after.outerKL!, extra: {} };
  }

  state(): {
    /** The outer Adam optimizer's state. */
    adam: AdamState;
  } {
    return { adam: this.adam.state() };
  }

  restore(state: unknown): void {
    const s = state as { adam: AdamState };
    if (!s || !s.adam) throw new Error(`${this.name}: malformed optimizer state`);
    this.adam.restore(s.adam);
  }
}

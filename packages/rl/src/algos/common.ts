/**
 * What every meta-algorithm shares (the paper's Algorithm 1 and Eq. 4 / 6 / 7 pieces), batched over the
 * K tasks of a meta-batch so that each objective is ONE graph with big matmuls:
 *
 * - TaskParams: the Gaussian MLP policy's parameters with a leading task axis (W [K, in, out], ...):
 *   θ broadcast to K copies, or the K adapted parameter sets θ'_τ. The task-batched forward
 *   obs [K, M, obsDim] → mean [K, M, actDim] uses batched matmuls.
 * - StepBatch: one sampling round (pre-update, or after inner step k) of all K tasks as tensors
 *   [K, M] / [K, M, ·], M = rows·horizon (the sampler's rows of each task), with per-step weights that turn a weighted sum into the
 *   reference's per-task step average.
 * - The inner objectives J^inner_τ (J^LR Eq. 6 = LVC Eq. 5 at θo, the log-likelihood surrogate, DiCE
 *   Eq. 57) and the inner step θ'_τ = θ + α ∇θ J^inner_τ(θ) (Eq. 12), recorded so that meta-gradients
 *   differentiate through it (second order), or with the inner gradient held constant (`firstOrder`).
 *   Differentiating Σ_τ J^inner_τ with respect to the broadcast copies gives every task's own gradient
 *   in one backward pass.
 * - The outer surrogates on the post-update round (J^LR at θ′, the VPG surrogate, formulation II's term).
 * Every objective is a mean over tasks, so chunks.ts can evaluate it in task chunks and sum.
 */
import {
  type Tensor, concat, enableGrad, gather, gradients, isGradEnabled, noGrad, tensor, treeLeaves, treeMap, treeUnflatten,
} from '@metagrad/autograd';
import type { ProcessedSamples } from '../advantages.js';
import { gaussianMLPMean } from '@metagrad/envs/policy';
import { DiagGaussian } from '../distributions.js';
import { type ChunkOps, type ChunkRunner, chunkSizes, chunkedValues, maxWidth, metaBatchChunks, sliceTaskParams } from './chunks.js';
import { type GaussianMLPParams, type GaussianMLPPolicy, trainableLeaves } from '../policies.js';
import type { AlgoConfig, AlgoName, InnerObjective } from './settings.js';

export type { AlgoName, InnerObjective };

/** GaussianMLPParams whose leaves carry a leading task axis K (one parameter set per task). */
export type TaskParams = GaussianMLPParams;

/** θ → K copies along a new leading axis (differentiable: the copies' gradients sum back into θ). */
export function broadcastToTasks(theta: GaussianMLPParams, K: number): TaskParams {
  return treeMap((t) => t.expandDims(0).broadcastTo([K, ...t.shape]), theta);
}

/** Number of tasks of TaskParams. */
export function taskCount(p: TaskParams): number {
  return p.logStd.shape[0]!;
}

/** The task-batched policy on one round: its means, log σ and log-likelihoods of the round's actions (recorded). */
export interface RoundEval {
  /** [K, M, actDim] */
  readonly mean: Tensor;
  /** [K, 1, actDim] */
  readonly logStd: Tensor;
  /** [K, M] log π_θτ(a_t|s_t) */
  readonly logp: Tensor;
}

/** Evaluates the per-task parameters p on round d (one forward pass, shared by every term that needs it). */
export function evalRound(p: TaskParams, d: Pick<StepBatch, 'obsAug' | 'actions'>): RoundEval {
  const K = taskCount(p);
  const mean = gaussianMLPMean(p.layers, d.obsAug, true); // [o, 1]·[W_1; b_1]: the first bias folded into the matmul
  const logStd = p.logStd.reshape([K, 1, p.logStd.shape[1]!]);
  return { mean, logStd, logp: DiagGaussian.logLik(d.actions, mean, logStd) };
}

/** KL(π_old,τ(·|s_t) ‖ π_θτ(·|s_t)) on round d's states, [K, M] (the sampling policy's means are cached constants). */
export function roundKL(e: RoundEval, d: StepBatch): Tensor {
  return DiagGaussian.kl(d.meanOld, d.logStdOld, e.mean, e.logStd);
}

/** Task k's parameters flat, in GaussianMLPPolicy.flatten order (for the sampler's policy spec). */
export function taskParamsRow(p: TaskParams, k: number): Float64Array {
  const leaves = treeLeaves(p);
  const n = leaves.reduce((s, t) => s + t.size / t.shape[0]!, 0);
  const out = new Float64Array(n);
  let o = 0;
  for (const t of leaves) {
    const per = t.size / t.shape[0]!;
    out.set(t.data.subarray(k * per, (k + 1) * per), o);
    o += per;
  }
  return out;
}

/** Σ_m x[k, m]·w[k, m] per task: the task's step average when w = mask / (valid steps), [K]. */
export function perTask(x: Tensor, w: Tensor): Tensor {
  return x.mul(w).sum(1);
}

/** One sampling round of the K tasks as tensors; everything but the policy's log-likelihoods is a constant. */
export interface StepBatch {
  /** Number of tasks K. */
  readonly K: number;
  /** Rows of `horizon` steps per task (the sampler's rowsPerTask: R when each row holds one path). */
  readonly rows: number;
  /** Steps per trajectory H (padded). */
  readonly horizon: number;
  /** [K, M, obsDim], M = rows·horizon */
  readonly obs: Tensor;
  /** [K, M, obsDim + 1] the observations with a column of ones (the first layer's bias). */
  readonly obsAug: Tensor;
  /** [K, M, actDim] */
  readonly actions: Tensor;
  /** [K, M] GAE advantages (normalized per task). */
  readonly advantages: Tensor;
  /** [K, M] mask / (valid steps of the task). */
  readonly weights: Tensor;
  /** [K, M] log π_old(a|o) under the parameters that sampled the round. */
  readonly logpOld: Tensor;
  /** The per-task parameters that sampled the round (constants). */
  readonly oldParams: TaskParams;
  /** [K, M, actDim] the sampling policy's means on the round (a constant). */
  readonly meanOld: Tensor;
  /** [K, 1, actDim] the sampling policy's log σ (a constant). */
  readonly logStdOld: Tensor;
  /** [K, rows, horizon] validity mask (DiCE's cumulative log-likelihoods). */
  readonly mask: Tensor;
  /** [K, rows, horizon] DiCE adjusted rewards, or null. */
  readonly adjustedRewards: Tensor | null;
  /**
   * Where rows hold several paths (the 'steps' sampling mode packs a task's paths end to end): per step,
   * the column just before its path's first step (0 at a path that starts a row) and whether there is
   * one, [K, rows, horizon], so that a running sum along a row restarts at every path; null when every
   * row holds one path.
   */
  readonly pathOffsets: {
    /** [K, rows, horizon] the column before the step's path starts (0 where it starts the row). */
    index: Tensor;
    /** [K, rows, horizon] 1 where the step's path does not start its row, else 0. */
    present: Tensor;
  } | null;
  /** [K] per-task mean of the meta-batch-standardized rewards (E-MAML's R(τ′) term). */
  readonly standardizedRewardMean: Tensor;
  /** The processed arrays it was built from (returns, rewards, ...). */
  readonly samples: ProcessedSamples;
}

/** The meta-batch of one iteration: rounds 0 (pre-update) … S (after S inner steps). */
export interface MetaBatch {
  /** steps[k]: round k, sampled with θ^k (k = 0 pre-update, k = S post-update). */
  readonly steps: readonly StepBatch[];
}

/** The round's observations with a ones column [K, M, obsDim + 1] and its actions [K, M, actDim], as constants. */
export function roundInputs(s: ProcessedSamples, dtype: 'float64' | 'float32'): {
  /** [K, M, obsDim + 1] observations with a ones column. */
  obsAug: Tensor;
  /** [K, M, actDim] actions. */
  actions: Tensor;
} {
  const K = s.nTasks, M = s.rowsPerTask * s.horizon, D = s.obsDim;
  const aug = new Float64Array(K * M * (D + 1));
  for (let i = 0; i < K * M; i++) {
    aug.set(s.obs.subarray(i * D, (i + 1) * D), i * (D + 1));
    aug[i * (D + 1) + D] = 1;
  }
  return noGrad(() => ({ obsAug: tensor(aug, [K, M, D + 1], { dtype }), actions: tensor(s.actions, [K, M, s.actDim], { dtype }) }));
}

/** The policy's evaluation on a round, in task chunks (see chunks.ts), with each chunk's parameters; recorded when grad mode is on. */
export function evalRoundChunked(
  p: TaskParams, inputs: { obsAug: Tensor; actions: Tensor }, budget?: number,
): {
  /** The chunks in task order, covering tasks [0, K). */
  chunks: {
    /** First task of the chunk. */
    start: number;
    /** One past its last task. */
    end: number;
    /** The chunk's parameters, tasks [start, end) of p. */
    params: TaskParams;
    /** evalRound(params, the chunk's tasks of the round). */
    eval: RoundEval;
  }[];
} {
  const K = taskCount(p), M = inputs.obsAug.shape[1]!;
  const out: { start: number; end: number; params: TaskParams; eval: RoundEval }[] = [];
  let t0 = 0;
  for (const c of chunkSizes(K, M * Math.max(maxWidth(p), inputs.obsAug.shape[2]!), budget)) {
    const slice = (t: Tensor): Tensor => (c === K ? t : t.slice([t0], [t0 + c]));
    const pc = c === K ? p : noGrad(() => sliceTaskParams(p, t0, t0 + c));
    out.push({ start: t0, end: t0 + c, params: pc, eval: evalRound(pc, noGrad(() => ({ obsAug: slice(inputs.obsAug), actions: slice(inputs.actions) }))) });
    t0 += c;
  }
  return { chunks: out };
}

/**
 * Builds a StepBatch from processed samples and the (constant) per-task parameters that sampled them.
 * `pre` may carry the round's inputs and the sampling policy's evaluation on it, already computed.
 */
export function toStepBatch(
  s: ProcessedSamples, oldParams: TaskParams,
  pre?: { inputs: { obsAug: Tensor; actions: Tensor }; old: { logp: Tensor; mean: Tensor; logStd: Tensor } },
): StepBatch {
  const dtype = oldParams.logStd.dtype;
  const K = s.nTasks, R = s.rowsPerTask, H = s.horizon, M = R * H, D = s.obsDim;
  const inputs = pre?.inputs ?? roundInputs(s, dtype);
  return noGrad(() => {
    const cat = (ts: Tensor[]): Tensor => (ts.length === 1 ? ts[0]! : concat(ts, 0));
    let old = pre?.old;
    if (!old) {
      const parts = evalRoundChunked(oldParams, inputs).chunks.map((c) => c.eval);
      old = { logp: cat(parts.map((e) => e.logp)), mean: cat(parts.map((e) => e.mean)), logStd: cat(parts.map((e) => e.logStd)) };
    }
    return {
      K, rows: R, horizon: H,
      obs: tensor(s.obs, [K, M, D], { dtype }),
      obsAug: inputs.obsAug,
      actions: inputs.actions,
      advantages: tensor(s.advantages, [K, M], { dtype }),
      weights: tensor(s.stepWeights, [K, M], { dtype }),
      oldParams,
      mask: tensor(s.mask, [K, R, H], { dtype }),
      adjustedRewards: s.adjustedRewards ? tensor(s.adjustedRewards, [K, R, H], { dtype }) : null,
      pathOffsets: s.adjustedRewards ? pathOffsets(s, dtype) : null,
      standardizedRewardMean: tensor(s.standardizedRewardMean, [K], { dtype }),
      samples: s,
      logpOld: old.logp.detach(), meanOld: old.mean.detach(), logStdOld: old.logStd.detach(),
    };
  });
}

/** StepBatch.pathOffsets of processed samples: null when no row holds two paths. */
function pathOffsets(s: ProcessedSamples, dtype: 'float64' | 'float32'): { index: Tensor; present: Tensor } | null {
  const H = s.horizon;
  const index = new Float64Array(s.nRows * H), present = new Float64Array(s.nRows * H);
  let packed = false;
  for (let j = 0; j < s.nTraj; j++) {
    const col = s.pathStart[j]! % H;
    if (col === 0) continue;
    packed = true;
    for (let i = s.pathStart[j]!; i < s.pathStart[j]! + s.lengths[j]!; i++) {
      index[i] = col - 1;
      present[i] = 1;
    }
  }
  if (!packed) return null;
  const shape = [s.nTasks, s.rowsPerTask, H];
  return { index: tensor(index, shape), present: tensor(present, shape, { dtype }) };
}

/** J^inner_τ(θ_τ) for every task from the round's evaluation e = evalRound(θ, d), [K] (per-task step averages, as the reference). */
export function taskInnerObjective(kind: InnerObjective, e: RoundEval, d: StepBatch): Tensor {
  switch (kind) {
    case 'likelihood-ratio': // Eq. 6: π_θ/π_θo · A (= LVC, Eq. 5, in every derivative at θo)
      return perTask(e.logp.sub(d.logpOld).exp().mul(d.advantages), d.weights);
    case 'log-likelihood': // log π_θ · A (first-order-correct surrogate)
      return perTask(e.logp.mul(d.advantages), d.weights);
    case 'dice': {
      // Eq. 57: □(Σ_{t'≤t} log π_θ(a_t'|s_t')) · a_t per trajectory, □ written as exp(Σ log π_θ − log π_θo)
      if (!d.adjustedRewards) throw new Error("taskInnerObjective 'dice': the batch has no adjusted rewards (process it with diceRewards)");
      const ratio = e.logp.sub(d.logpOld).reshape([d.K, d.rows, d.horizon]).mul(d.mask);
      let sum = ratio.cumsum(2);
      if (d.pathOffsets) sum = sum.sub(gather(sum, d.pathOffsets.index, 2).mul(d.pathOffsets.present)); // restart at each path
      return perTask(sum.exp().mul(d.adjustedRewards).reshape([d.K, d.rows * d.horizon]), d.weights);
    }
  }
}

/** How the inner step is taken. */
export interface InnerStepOptions {
  /** Inner step size α. */
  alpha: number;
  /** The inner objective J^inner. */
  inner: InnerObjective;
  /** Hold ∇J^inner constant (first-order MAML; tests and ablations only). Default false. */
  firstOrder?: boolean;
  /** Adapt log σ too (default true); false when the policy's σ is fixed (GaussianMLPOptions.learnStd). */
  learnStd?: boolean;
}

/**
 * θ'_τ = θ_τ + α ∇θ_τ J^inner_τ(θ_τ) for every task at once (Eq. 12). When recording (grad mode on and not
 * firstOrder) the backward pass is recorded, so θ' stays differentiable to every order in θ; otherwise
 * the gradient is a constant (inside noGrad the result is a constant too). Also returns the round's
 * evaluation at θ (for KL terms that reuse the forward pass); pass it as `evaluated` when it is already computed.
 */
export function taskInnerStep(p: TaskParams, d: StepBatch, opts: InnerStepOptions, evaluated?: RoundEval): {
  /** θ'_τ for every task. */
  next: TaskParams;
  /** evalRound(p, d), the forward pass at θ. */
  eval: RoundEval;
} {
  const record = isGradEnabled() && !opts.firstOrder;
  const moving = trainableLeaves(p, opts.learnStd);
  const { e, g } = enableGrad(() => {
    const e = evaluated ?? evalRound(p, d); // `evaluated` must be evalRound(p, d), recorded
    return { e, g: gradients(taskInnerObjective(opts.inner, e, d).sum(), moving, { createGraph: record }) };
  });
  const step = new Map(moving.map((t, i) => [t, g[i]!.mul(opts.alpha)]));
  return { next: treeUnflatten(p, treeLeaves(p).map((t) => { const s = step.get(t); return s ? t.add(s) : t; })), eval: e };
}

/** The adapted parameters of a meta-batch and the inner rounds' evaluations. */
export interface Adapted {
  /** θ^0 (θ broadcast to the K tasks), …, θ^S. */
  readonly params: TaskParams[];
  /** evals[k] = evalRound(θ^k, round k) for the inner rounds k < S. */
  readonly evals: RoundEval[];
}

/**
 * The adapted parameters of every inner step: θ^0 = θ broadcast to the K tasks, θ^{k+1} = taskInnerStep(θ^k)
 * on round k (Algorithm 1, with numInnerGradSteps = batch.steps.length − 1).
 */
export function adapt(theta: GaussianMLPParams, batch: MetaBatch, opts: InnerStepOptions): Adapted {
  const K = batch.steps[0]!.K;
  const params: TaskParams[] = [broadcastToTasks(theta, K)];
  const evals: RoundEval[] = [];
  for (let k = 0; k + 1 < batch.steps.length; k++) {
    const { next, eval: e } = taskInnerStep(params[k]!, batch.steps[k]!, opts);
    params.push(next);
    evals.push(e);
  }
  return { params, evals };
}

/** The mean over tasks of D̄_KL(π_old,τ ‖ π_θτ) on a round (step averages), a scalar, from the round's evaluation. */
export function meanTaskKL(e: RoundEval, d: StepBatch): Tensor {
  return perTask(roundKL(e, d), d.weights).mean();
}

/**
 * KL diagnostics after an update: innerKL = mean over inner steps k < S of the task-mean
 * D̄_KL(π_old^k ‖ π_θ^k) on round k; outerKL = the same on the last round (the post-update policies).
 */
export function klDiagnostics(
  policy: GaussianMLPPolicy, theta: Float64Array, batch: MetaBatch, opts: InnerStepOptions, chunkElements?: number,
): {
  /** Mean over the inner rounds k < S of the task-mean KL (0 when S = 0). */
  innerKL: number;
  /** The task-mean KL on the last (post-update) round. */
  outerKL: number;
} {
  return klSummary(chunkedValues(policy, theta, metaBatchChunks(batch, chunkElements), (p, b) => klTerms(p, b, opts)), batch.steps.length - 1);
}

/** klDiagnostics' terms on (a chunk of) a meta-batch: outerKL, then kl0 … kl{S−1}. */
export function klTerms(p: GaussianMLPParams, b: MetaBatch, opts: InnerStepOptions): Record<string, Tensor> {
  const S = b.steps.length - 1;
  const a = adapt(p, b, opts);
  const r: Record<string, Tensor> = { outerKL: meanTaskKL(evalRound(a.params[S]!, b.steps[S]!), b.steps[S]!) };
  for (let k = 0; k < S; k++) r[`kl${k}`] = meanTaskKL(a.evals[k]!, b.steps[k]!);
  return r;
}

/** The names of {@link klTerms} with S inner steps, in its order. */
export function klTermNames(S: number): string[] {
  return ['outerKL', ...Array.from({ length: S }, (_, k) => `kl${k}`)];
}

/** klDiagnostics from the summed {@link klTerms}. */
export function klSummary(v: Record<string, number>, S: number): {
  /** Mean over the inner rounds k < S of the task-mean KL (0 when S = 0). */
  innerKL: number;
  /** The task-mean KL on the last (post-update) round. */
  outerKL: number;
} {
  let inner = 0;
  for (let k = 0; k < S; k++) inner += v[`kl${k}`]!;
  return { innerKL: S > 0 ? inner / S : 0, outerKL: v.outerKL! };
}

export { flatOf, splitLike } from '../optim.js';

/** The result of one outer (meta) update. */
export interface OuterResult {
  /** The new flat parameters. */
  theta: Float64Array;
  /** The loss (negated objective) before the update, on this batch. */
  lossBefore: number;
  /** The loss after the update, on the same batch. */
  lossAfter: number;
  /** Mean over inner steps of the task-mean D̄_KL(π_old^k ‖ π_θ^k) on round k, at the new θ. */
  innerKL: number;
  /** The task-mean D̄_KL on the post-update round, at the new θ. */
  outerKL: number;
  /** Algorithm-specific diagnostics (e.g. TRPO's backtracks, ProMP's KL coefficients). */
  extra: Record<string, number>;
}

/** A meta-algorithm: the inner objective it adapts with, and its outer update (Algorithm 1, line 10). */
export interface MetaAlgorithm {
  /** The algorithm's name. */
  readonly name: AlgoName;
  /** The inner step as the trainer must take it when sampling (the same as inside the meta-objective). */
  readonly innerStep: InnerStepOptions;
  /** Whether the batch needs DiCE's adjusted rewards. */
  readonly needsDiceRewards: boolean;
  /** One outer update from the flat parameters θ on the sampled meta-batch. */
  optimize(theta: Float64Array, batch: MetaBatch): OuterResult;
  /**
   * ∇θ of the meta-objective on the meta-batch, flat, without updating anything (the VPG algorithms,
   * whose update is a step along it; used to measure its variance, the paper's Fig. 3).
   */
  metaGradient?(theta: Float64Array, batch: MetaBatch): Float64Array;
  /**
   * The chunk ops its outer update runs (algos/chunks.ts), by name: what a worker thread holding the same
   * algorithm runs when the trainer spreads the chunks over threads. Without them the update runs in the
   * calling thread.
   */
  readonly ops?: ChunkOps;
  /** JSON-safe state (optimizer moments, KL coefficients) for checkpoints. */
  state(): unknown;
  /** Restores `state()`. */
  restore(state: unknown): void;
}

/** What every algorithm is built with: its settings (algos/settings.ts) and the policy. */
export type AlgoSettings = AlgoConfig & {
  /** The policy π_θ whose flat parameters the algorithm updates. */
  policy: GaussianMLPPolicy;
  /** Element budget of a task chunk's widest tensor (algos/chunks.ts; default 2²¹). */
  chunkElements?: number;
  /**
   * Where the algorithm's chunk ops run, given its op table (default: this thread, {@link localRunner});
   * the trainer passes worker threads here when `threads` > 1. The results are the same bits either way.
   */
  runner?: (ops: ChunkOps) => ChunkRunner;
};

// ---------- outer surrogates on the last round (the post-update trajectories τ′) ----------

/** mean_τ J^LR_τ(θ^S_τ) on the last round from e = evalRound(θ^S, post): Σ_t π_θ'(a_t|s_t)/π_θ'o(a_t|s_t) · A_t (Eq. 6 at θ′). */
export function outerLikelihoodRatio(e: RoundEval, post: StepBatch): Tensor {
  return perTask(e.logp.sub(post.logpOld).exp().mul(post.advantages), post.weights).mean();
}

/** mean_τ Σ_t log π_θ'(a_t|s_t) · A_t on the last round: the vanilla policy-gradient surrogate at θ′. */
export function outerPolicyGradient(e: RoundEval, post: StepBatch): Tensor {
  return perTask(e.logp.mul(post.advantages), post.weights).mean();
}

/**
 * Formulation II's pre-update credit (Eq. 2, 31; E-MAML), batched: mean_τ ⊥R̃_τ · E_t[log π_θ(a_t|s_t)] on
 * the pre-update round (e0 = evalRound(θ, pre)), with R̃_τ the task's mean standardized post-update reward
 * (a constant) — per task the estimators' formulationIITerm. Its gradient is ∇θ log π_θ(τ) R(τ′) (step
 * averages), added to the outer surrogate without Eq. 2's factor α, as the reference's E-MAML term.
 */
export function formulationIIMetaTerm(e0: RoundEval, pre: StepBatch, post: StepBatch): Tensor {
  return perTask(e0.logp, pre.weights).mul(post.standardizedRewardMean).mean();
}

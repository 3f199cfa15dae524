/**
 * Sample processing as the reference's MetaSampleProcessor does it, per task of the meta-batch:
 *   returns      R_t = Σ_{t'≥t} γ^{t'−t} r_t'                               (discount_cumsum)
 *   baseline     b_t = LinearFeatureBaseline fitted on that task's (s_t, t) ↦ R_t
 *   GAE          δ_t = r_t + γ b_{t+1} − b_t (b_H = 0),  A_t = Σ_{t'≥t} (γλ)^{t'−t} δ_t'   (Schulman et al. 2016)
 *   normalized   A_t ← (A_t − mean_task A)/(std_task A + 1e-8)              (normalize_adv, per task)
 * plus the inputs of two algorithms:
 *   E-MAML       r̃_t = (r_t − μ)/(σ + 1e-8) with μ, σ over every valid step of the meta-batch, and its
 *                per-task mean (the reference's adj_avg_rewards, Eq. 2 / 31's R(τ′) standardized)
 *   DiCE         a_t = γ^t r_t − b^time_t, b^time = LinearTimeBaseline fitted on γ^t r_t, normalized per
 *                task (the reference's DiceSampleProcessor adjusted rewards)
 * Statistics are over valid steps only (the reference concatenates unpadded paths).
 */
import type { SampleBatch } from '@metagrad/envs';
import { LinearFeatureBaseline, LinearTimeBaseline } from './baselines.js';

/** out[t] = Σ_{t'≥t} γ^{t'−t} x[t'] for t in [start, start + len) (the reference's discount_cumsum). */
export function discountCumsum(x: Float64Array, start: number, len: number, gamma: number, out: Float64Array): void {
  let acc = 0;
  for (let t = start + len - 1; t >= start; t--) {
    acc = x[t]! + gamma * acc;
    out[t] = acc;
  }
}

/**
 * Generalized advantage estimation on one path of `len` steps at `start`: δ_t = r_t + γ b_{t+1} − b_t with
 * b after the last step taken as 0 (as the reference), A_t = Σ (γλ)^k δ_{t+k}. Writes A into out.
 */
export function gae(rewards: Float64Array, baselines: Float64Array, start: number, len: number, gamma: number, lambda: number, out: Float64Array): void {
  let acc = 0;
  for (let t = start + len - 1; t >= start; t--) {
    const next = t + 1 < start + len ? baselines[t + 1]! : 0;
    const delta = rewards[t]! + gamma * next - baselines[t]!;
    acc = delta + gamma * lambda * acc;
    out[t] = acc;
  }
}

/** (x − mean)/(std + 1e-8) over the entries where mask = 1 in [start, end) (population std); padding stays 0. */
export function normalizeMasked(x: Float64Array, mask: Float64Array, start: number, end: number): void {
  let n = 0, s = 0;
  for (let i = start; i < end; i++) if (mask[i]) { n++; s += x[i]!; }
  if (n === 0) return;
  const mean = s / n;
  let v = 0;
  for (let i = start; i < end; i++) if (mask[i]) v += (x[i]! - mean) ** 2;
  const std = Math.sqrt(v / n);
  for (let i = start; i < end; i++) x[i] = mask[i] ? (x[i]! - mean) / (std + 1e-8) : 0;
}

/** Options of processSamples. */
export interface ProcessOptions {
  /** γ, default 0.99. */
  discount: number;
  /** GAE λ, default 1. */
  gaeLambda: number;
  /** Normalize the advantages per task (the reference's normalize_adv). */
  normalizeAdv: boolean;
  /** Also compute the DiCE adjusted rewards (γ^t r_t − time baseline). */
  diceRewards?: boolean;
}

/** A processed meta-batch: the sampler's arrays plus per-step returns, advantages and weights ([nRows, H] layout, as the batch's steps). */
export interface ProcessedSamples
  extends Pick<SampleBatch, 'nTasks' | 'rolloutsPerTask' | 'rowsPerTask' | 'nRows' | 'nTraj' | 'horizon' | 'obsDim' | 'actDim' | 'obs' | 'actions' | 'pathStart' | 'lengths' | 'taskIndex'> {
  /** [nTraj, H] 1 on valid steps. */
  readonly mask: Float64Array;
  /** [nTraj, H] rewards r_t, 0 on padding. */
  readonly rewards: Float64Array;
  /** Discounted reward-to-go. */
  readonly returns: Float64Array;
  /** The fitted LinearFeatureBaseline's predictions. */
  readonly baselines: Float64Array;
  /** GAE advantages (normalized per task when asked). */
  readonly advantages: Float64Array;
  /** mask / (valid steps of the task): the per-task step average as a weighted sum. */
  readonly stepWeights: Float64Array;
  /** DiCE adjusted rewards (only with diceRewards). */
  readonly adjustedRewards: Float64Array | null;
  /** [nTasks] per-task mean of the meta-batch-standardized rewards (E-MAML's adj_avg_rewards mean). */
  readonly standardizedRewardMean: Float64Array;
  /** [nTasks] average undiscounted return of the task's trajectories (its paths). */
  readonly taskReturns: Float64Array;
  /** Average undiscounted return over all trajectories. */
  readonly averageReturn: number;
  /** Environment steps sampled (the sampler's count). */
  readonly envSteps: number;
}

/** Processes a sampled meta-batch (see the module comment); each task gets its own baseline fit. */
export function processSamples(batch: SampleBatch, opts: ProcessOptions): ProcessedSamples {
  const { nTasks: K, nRows, nTraj, horizon: H, pathStart, lengths } = batch;
  const { discount: gamma, gaeLambda: lambda } = opts;
  const size = nRows * H, taskSteps = batch.rowsPerTask * H;
  const mask = new Float64Array(size);
  for (let i = 0; i < size; i++) mask[i] = batch.mask[i]!;
  const rewards = Float64Array.from(batch.rewards);
  for (let i = 0; i < size; i++) if (!mask[i]) rewards[i] = 0;
  const returns = new Float64Array(size);
  const baselines = new Float64Array(size);
  const advantages = new Float64Array(size);
  const stepWeights = new Float64Array(size);
  const adjustedRewards = opts.diceRewards ? new Float64Array(size) : null;
  const taskReturns = new Float64Array(K);
  const paths = { obs: batch.obs, obsDim: batch.obsDim, horizon: H, lengths, starts: pathStart };
  let total = 0;

  for (let k = 0, j0 = 0; k < K; k++) {
    let j1 = j0; // the task's paths [j0, j1)
    while (j1 < nTraj && batch.taskIndex[j1] === k) j1++;
    const s0 = k * taskSteps, s1 = s0 + taskSteps; // the task's steps
    // 1) discounted returns
    for (let j = j0; j < j1; j++) discountCumsum(rewards, pathStart[j]!, lengths[j]!, gamma, returns);
    // 2) the task's baseline, fitted on its own paths
    const baseline = new LinearFeatureBaseline();
    baseline.fit(paths, j0, j1, returns);
    for (let j = j0; j < j1; j++) baseline.predict(paths, j, baselines);
    // 3) GAE
    for (let j = j0; j < j1; j++) gae(rewards, baselines, pathStart[j]!, lengths[j]!, gamma, lambda, advantages);
    // 4) per-task normalization
    if (opts.normalizeAdv) normalizeMasked(advantages, mask, s0, s1);
    // step weights: the task's step average as a weighted sum
    let count = 0;
    for (let j = j0; j < j1; j++) count += lengths[j]!;
    for (let i = s0; i < s1; i++) stepWeights[i] = count > 0 ? mask[i]! / count : 0;
    // undiscounted returns
    let sum = 0;
    for (let i = s0; i < s1; i++) sum += rewards[i]!;
    taskReturns[k] = j1 > j0 ? sum / (j1 - j0) : 0;
    total += sum;
    // DiCE: γ^t r_t minus a time baseline fitted on it, normalized per task (t counted from each path's start)
    if (adjustedRewards) {
      const disc = new Float64Array(size);
      for (let j = j0; j < j1; j++) for (let t = 0, i = pathStart[j]!, g = 1; t < lengths[j]!; t++, i++, g *= gamma) disc[i] = rewards[i]! * g;
      const tb = new LinearTimeBaseline();
      tb.fit(paths, j0, j1, disc);
      const b = new Float64Array(size);
      for (let j = j0; j < j1; j++) tb.predict(paths, j, b);
      for (let i = s0; i < s1; i++) adjustedRewards[i] = mask[i] ? disc[i]! - b[i]! : 0;
      if (opts.normalizeAdv) normalizeMasked(adjustedRewards, mask, s0, s1);
    }
    j0 = j1;
  }

  // E-MAML: rewards standardized over the whole meta-batch, then averaged per task
  let n = 0, s = 0;
  for (let i = 0; i < size; i++) if (mask[i]) { n++; s += rewards[i]!; }
  const mu = n ? s / n : 0;
  let v = 0;
  for (let i = 0; i < size; i++) if (mask[i]) v += (rewards[i]! - mu) ** 2;
  const sigma = n ? Math.sqrt(v / n) : 0;
  const standardizedRewardMean = new Float64Array(K);
  for (let k = 0; k < K; k++) {
    let acc = 0, c = 0;
    for (let i = k * taskSteps; i < (k + 1) * taskSteps; i++) if (mask[i]) { acc += (rewards[i]! - mu) / (sigma + 1e-8); c++; }
    standardizedRewardMean[k] = c ? acc / c : 0;
  }

  return {
    nTasks: K, rolloutsPerTask: batch.rolloutsPerTask, rowsPerTask: batch.rowsPerTask, nRows, nTraj, horizon: H, obsDim: batch.obsDim, actDim: batch.actDim,
    obs: batch.obs, actions: batch.actions, pathStart, lengths, taskIndex: batch.taskIndex, mask, rewards, returns, baselines, advantages, stepWeights,
    adjustedRewards, standardizedRewardMean, taskReturns, averageReturn: nTraj ? total / nTraj : 0, envSteps: batch.envSteps,
  };
}

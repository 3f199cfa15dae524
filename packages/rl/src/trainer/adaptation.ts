/**
 * The one adaptation code path that training and evaluation share (Algorithm 1, lines 3–9):
 *
 *   sample a batch of tasks T_τ ~ ρ(T)
 *   for k = 0 … S:  sample rolloutsPerTask trajectories of each task with π_θ^k_τ   (θ^0_τ = θ)
 *                   process them (returns, per-task baseline, GAE, normalized advantages)
 *                   if k < S:  θ^{k+1}_τ = θ^k_τ + α ∇ J^inner_τ(θ^k_τ)             (the algorithm's inner step)
 *
 * The inner step is algos/common.ts taskInnerStep, the same function the meta-objectives differentiate
 * through, so meta-test adaptation is exactly training's. Randomness: every iteration draws from its own
 * Rng derived from (seed, iteration) (resuming needs no RNG state); the task draw and each round fork it
 * in a fixed order, one stream per task.
 */
import { type Tensor, Rng, concat, enableGrad, noGrad } from '@metagrad/autograd';
import { type GaussianMLPSpec, type MetaEnv, type SampleBatch, type SimMessages, addSimMessages, envShape, makeEnv } from '@metagrad/envs';
import { type ProcessedSamples, processSamples } from '../advantages.js';
import { GaussianMLPPolicy } from '../policies.js';
import {
  type InnerStepOptions, type MetaAlgorithm, type MetaBatch, type StepBatch, type TaskParams, broadcastToTasks, evalRoundChunked, roundInputs, taskInnerStep,
  taskParamsRow, toStepBatch,
} from '../algos/common.js';
import { makeAlgorithm } from '../algos/index.js';
import { ALGO_SETTINGS, type AlgoConfig } from '../algos/settings.js';
import { concatTaskParams, sliceStep } from '../algos/chunks.js';
import type { TrainConfig } from './config.js';
import { checkMemory } from './memory.js';
import { type TaskSampler, serialTaskSampler, workerTaskSampler } from './sampler.js';
import { type ThreadRunner, threadRunner } from './threads.js';

/** Progress callbacks (see metaTrainer.ts TrainHooks). */
export interface PhaseHooks {
  /** Progress: `phase` names the work under way ('sampling pre-update', 'sampling after inner step k', 'optimization', …), `done` of its `total` steps finished. */
  onPhase?(phase: string, done: number, total: number): void;
}

/** Everything a run needs: the env, the policy, the algorithm and a sampler. */
export interface RunSetup {
  /** The resolved configuration. */
  readonly config: TrainConfig;
  /** The env, built with the config's horizon and envOptions. */
  readonly env: MetaEnv;
  /** The Gaussian MLP policy π_θ. */
  readonly policy: GaussianMLPPolicy;
  /** The meta-algorithm. */
  readonly algo: MetaAlgorithm;
  /** The task sampler (serial, or worker threads when workers > 1); close it when done. */
  readonly sampler: TaskSampler;
  /** Stops the sampler's and the outer update's worker threads. */
  close(): Promise<void>;
}

/**
 * Builds the env (with the config's horizon and envOptions), the policy, the algorithm (its outer update on
 * `threads` threads, started at its first use) and the sampler (workers > 1: worker threads).
 */
export async function setupRun(config: TrainConfig): Promise<RunSetup> {
  checkMemory(config); // absurd sizes end here, with the setting named, before anything is allocated
  const envOptions = { ...config.envOptions, horizon: config.horizon };
  const env = await makeEnv(config.env, envOptions);
  const shape = envShape(env);
  const policyOptions = { obsDim: shape.obsDim, actDim: shape.actDim, hidden: config.hidden, dtype: config.dtype, initLogStd: config.initLogStd, learnStd: config.learnStd };
  const policy = new GaussianMLPPolicy(policyOptions);
  const algoConfig = Object.fromEntries(Object.keys(ALGO_SETTINGS).map((k) => [k, config[k as keyof AlgoConfig]])) as AlgoConfig;
  const threads = config.threads === 0 ? config.workers : config.threads;
  const runners: ThreadRunner[] = [];
  const runner = threads > 1 ? threadRunner({ algo: config.algo, algoConfig, policy: policyOptions }, threads, runners) : undefined;
  const algo = makeAlgorithm(config.algo, { ...algoConfig, policy, runner });
  const sampler = config.workers > 1 ? await workerTaskSampler(config.env, envOptions, config.workers) : serialTaskSampler(env);
  const close = async (): Promise<void> => {
    await Promise.all([sampler.close(), ...runners.map((r) => r.close())]);
  };
  return { config, env, policy, algo, sampler, close };
}

/** The initial parameters of a run: policy.init from Rng(seed), flat. */
export function initialParams(setup: RunSetup): Float64Array {
  return setup.policy.flatten(setup.policy.init(new Rng(setup.config.seed)));
}

/** The iteration stream reserved for evaluation (training iterations stay below it). */
export const EVALUATION_ITERATION = 2 ** 20 - 1;

/** The Rng of iteration `iteration` of a run seeded `seed` (independent of every other iteration's). */
export function iterationRng(seed: number, iteration: number): Rng {
  if (!Number.isInteger(iteration) || iteration < 0 || iteration > EVALUATION_ITERATION) throw new Error(`iterationRng: iteration must be an integer in [0, ${EVALUATION_ITERATION}], got ${iteration}`);
  return new Rng(seed * 2 ** 20 + iteration);
}

/**
 * One processed round as a StepBatch, and (when `inner` is given) the next inner step θ^{k+1} = θ^k +
 * α∇J^inner(θ^k): one forward pass of π_θ^k on the round serves both as the sampling policy's
 * log-likelihoods (constants) and as the inner step's recorded forward (taskInnerStep, per task chunk).
 */
export function processRound(s: ProcessedSamples, p: TaskParams, inner: InnerStepOptions | null, budget?: number): {
  /** The round as tensors, sampled by p. */
  step: StepBatch;
  /** θ^{k+1} (constants), or null without `inner`. */
  next: TaskParams | null;
} {
  const inputs = roundInputs(s, p.logStd.dtype);
  const { chunks } = inner ? enableGrad(() => evalRoundChunked(p, inputs, budget)) : noGrad(() => evalRoundChunked(p, inputs, budget));
  const cat = (ts: Tensor[]): Tensor => (ts.length === 1 ? ts[0]! : concat(ts, 0));
  const old = noGrad(() => ({ logp: cat(chunks.map((c) => c.eval.logp)), mean: cat(chunks.map((c) => c.eval.mean)), logStd: cat(chunks.map((c) => c.eval.logStd)) }));
  const step = toStepBatch(s, p, { inputs, old });
  if (!inner) return { step, next: null };
  const parts = chunks.map((c) => noGrad(() => taskInnerStep(c.params, sliceStep(step, c.start, c.end), inner, c.eval).next));
  return { step, next: noGrad(() => concatTaskParams(parts)) };
}

/** What one sampling-and-adaptation pass produced. */
export interface AdaptationResult {
  /** The K tasks drawn (env.sampleTasks). */
  readonly tasks: unknown[];
  /** Rounds 0 … S as tensors for the outer update. */
  readonly batch: MetaBatch;
  /** The raw sampled rounds 0 … S. */
  readonly rounds: SampleBatch[];
  /** Average undiscounted return of round k (0 = pre-update). */
  readonly returns: number[];
  /** perTask[τ][k]: task τ's average return in round k. */
  readonly perTask: number[][];
  /** Environment steps taken (all rounds). */
  readonly envSteps: number;
  /** diverged[τ]: task τ's episodes whose simulation diverged, over all rounds (each ended early, reported by the env). */
  readonly diverged: number[];
  /** The first divergence's message (names the env and the cause), or null. */
  readonly divergence: string | null;
  /** What the simulator printed while sampling (MuJoCo's warnings), counted, the first kept. */
  readonly simMessages: SimMessages;
  /** The per-task parameters θ^k that sampled round k. */
  readonly params: TaskParams[];
  /** Wall-clock seconds spent per phase. */
  readonly timings: {
    /** Sampling every round (seconds). */
    sampling: number;
    /** Processing, inner steps included (seconds). */
    processing: number;
  };
}

/** Algorithm 1, lines 3–9 (see the module comment), from the flat parameters θ with `rng`. */
export async function sampleAndAdapt(setup: RunSetup, theta: Float64Array, rng: Rng, opts: { nTasks: number; hooks?: PhaseHooks }): Promise<AdaptationResult> {
  const { config, env, policy, algo, sampler } = setup;
  const S = config.numInnerGradSteps;
  const K = opts.nTasks;
  const tasks = env.sampleTasks(K, rng.fork());
  let p: TaskParams = noGrad(() => broadcastToTasks(policy.unflatten(theta), K));
  const steps: StepBatch[] = [], rounds: SampleBatch[] = [], params: TaskParams[] = [];
  const returns: number[] = [];
  const perTask: number[][] = Array.from({ length: K }, () => []);
  let sampling = 0, processing = 0, envSteps = 0;
  const diverged = new Array<number>(K).fill(0);
  let divergence: string | null = null;
  let simMessages: SimMessages = { count: 0, first: null };
  for (let k = 0; k <= S; k++) {
    opts.hooks?.onPhase?.(k === 0 ? 'sampling pre-update' : `sampling after inner step ${k}`, k, S + 1);
    const roundRng = rng.fork();
    const rngs = tasks.map(() => roundRng.fork());
    const specs: GaussianMLPSpec[] = tasks.map((_, t) => ({ kind: 'gaussian-mlp', obsDim: policy.obsDim, actDim: policy.actDim, hidden: [...policy.hidden], params: taskParamsRow(p, t) }));
    let t0 = performance.now();
    const round = await sampler.sample(tasks, specs, rngs, config.rolloutsPerTask, config.horizon, config.sampling);
    sampling += (performance.now() - t0) / 1000;
    t0 = performance.now();
    const processed = processSamples(round, { discount: config.discount, gaeLambda: config.gaeLambda, normalizeAdv: config.normalizeAdv, diceRewards: algo.needsDiceRewards });
    const { step, next } = processRound(processed, p, k < S ? algo.innerStep : null); // θ^{k+1} = θ^k + α∇J^inner(θ^k)
    steps.push(step);
    rounds.push(round);
    params.push(p);
    returns.push(processed.averageReturn);
    processed.taskReturns.forEach((r, t) => perTask[t]!.push(r));
    envSteps += round.envSteps;
    for (const d of round.divergences) diverged[round.taskIndex[d.traj]!]! += 1;
    divergence ??= round.divergences[0]?.message ?? null;
    simMessages = addSimMessages(simMessages, round.simMessages);
    if (next) p = next;
    processing += (performance.now() - t0) / 1000;
  }
  opts.hooks?.onPhase?.('sampling done', S + 1, S + 1);
  return { tasks, batch: { steps }, rounds, returns, perTask, envSteps, diverged, divergence, simMessages, params, timings: { sampling, processing } };
}

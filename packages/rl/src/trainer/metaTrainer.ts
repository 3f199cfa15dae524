/**
 * The meta-trainer (Algorithm 1 for every algorithm): each iteration samples a meta-batch of tasks,
 * samples and adapts (adaptation.ts: pre-update trajectories with θ, inner step(s) θ'_τ = θ + α∇J^inner,
 * post-update trajectories with θ'_τ), then takes the algorithm's outer update and reports the
 * iteration's record and a checkpoint through hooks.
 *
 * The trainer touches no file: where records and checkpoints go is the caller's business (the CLI's run
 * directory, a notebook's array, a browser's IndexedDB). A checkpoint holds the parameters, the
 * algorithm's optimizer state, the iteration count and the cumulative env steps; every iteration's
 * randomness is derived from (seed, iteration), so a run continued from a checkpoint gives exactly the
 * numbers of an unbroken one.
 */
import { type TrainConfig, ConfigError, resolveConfig } from './config.js';
import { type PhaseHooks, type RunSetup, initialParams, iterationRng, sampleAndAdapt, setupRun } from './adaptation.js';
import { Rng } from '@metagrad/autograd';
import { vpgAlgoNames } from '../algos/index.js';

/** One logged iteration. */
export interface IterationRecord {
  /** 0-based iteration index. */
  iteration: number;
  /** Cumulative environment steps (all sampling rounds of all iterations so far, this one included). */
  envSteps: number;
  /** Average undiscounted return at inner step 0 (pre-update) … numInnerGradSteps (post-update). */
  returns: number[];
  /** The algorithm's loss (negated objective) on this batch before the outer update. */
  lossBefore: number;
  /** The same after the outer update. */
  lossAfter: number;
  /** Mean over inner steps of the task-mean KL(π_sampling ‖ π_new) on that step's round, after the update. */
  innerKL: number;
  /** The same on the post-update round (TRPO's constraint value). */
  outerKL: number;
  /** Mean over action dimensions of the pre-update policy's σ = exp(log σ) after the outer update (exploration left). */
  policyStd: number;
  /** diverged[τ]: episodes of task τ whose simulation diverged (ended early with reward 0 at that step), all rounds. */
  diverged: number[];
  /** The first divergence's message (names the env and the cause); absent when none diverged. */
  divergence?: string;
  /** How many lines the simulator printed (MuJoCo's warnings, e.g. "Linesearch objective is not convex"). */
  simWarnings: number;
  /** The first of them; absent when there were none. */
  simWarning?: string;
  /** Wall-clock seconds spent on the iteration's phases. */
  timings: {
    /** Sampling every round (seconds). */
    sampling: number;
    /** Processing the rounds, inner adaptation steps included (seconds). */
    processing: number;
    /** The outer update (seconds). */
    optimization: number;
    /** The whole iteration (seconds). */
    total: number;
  };
  /** Algorithm-specific diagnostics (ProMP klCoeffInner; TRPO accepted, backtracks, klBefore). */
  extra?: Record<string, number>;
}

/** Progress callbacks, and where each finished iteration goes. */
export interface TrainHooks extends PhaseHooks {
  /**
   * Called after every iteration with its record and the checkpoint that continues after it (awaited:
   * a caller that persists both before returning loses at most the iteration in progress on a crash).
   */
  onIteration?(rec: IterationRecord, checkpoint: Checkpoint): void | Promise<void>;
  /** Progress: `phase` names the work under way ('sampling pre-update', 'sampling after inner step k', 'optimization', …), `done` of its `total` steps finished. */
  onPhase?(phase: string, done: number, total: number): void;
}

/** The trainer's state after an iteration: enough to continue the run bit for bit (JSON-safe). */
export interface Checkpoint {
  /** Format version (1). */
  version: 1;
  /** The run's algorithm. */
  algo: string;
  /** The run's env. */
  env: string;
  /** Iterations completed. */
  iteration: number;
  /** Cumulative environment steps of those iterations. */
  envSteps: number;
  /** The parameters' dtype (float32 values are exact in `params`). */
  dtype: 'float64' | 'float32';
  /** Flat policy parameters (GaussianMLPPolicy.flatten order). */
  params: number[];
  /** The algorithm's state (Adam moments, KL coefficients). */
  algoState: unknown;
}

/** Throws naming the problem unless `c` is a checkpoint (version 1) of a run of `config`. */
export function checkCheckpoint(c: unknown, config: { algo: string; env: string }): Checkpoint {
  const k = c as Partial<Checkpoint> | null;
  if (!k || typeof k !== 'object' || k.version !== 1 || !Array.isArray(k.params) || !Number.isInteger(k.iteration) || typeof k.envSteps !== 'number')
    throw new Error('not a metagrad checkpoint (version 1)');
  if (k.params.length === 0 || k.algo !== config.algo || k.env !== config.env)
    throw new Error(`the checkpoint is of ${String(k.algo)} on ${String(k.env)}, not of this run (${config.algo} on ${config.env})`);
  return k as Checkpoint;
}

/**
 * Runs a meta-training run from scratch, or from `opts.from` (a checkpoint of a run with the same
 * config), up to config.iterations; each finished iteration goes to `hooks.onIteration` with its
 * checkpoint. `opts.signal` stops between iterations (the last checkpoint handed out stays valid).
 * Returns the records of the iterations run here and the last checkpoint.
 */
export async function train(
  config: TrainConfig,
  opts: { from?: Checkpoint; hooks?: TrainHooks; signal?: AbortSignal } = {},
): Promise<{
  /** The records of the iterations run by this call. */
  records: IterationRecord[];
  /** The checkpoint after the last iteration (`opts.from` or null when none ran). */
  checkpoint: Checkpoint | null;
}> {
  const cfg = resolveConfig(config);
  const from = opts.from ? checkCheckpoint(opts.from, cfg) : null;
  if (cfg.varianceEvery > 0 && !vpgAlgoNames.includes(cfg.algo))
    throw new ConfigError(`varianceEvery: the meta-gradient's variance is measured for the VPG algorithms (${vpgAlgoNames.join(', ')}), whose update follows it; ${cfg.algo}'s does not`);
  const records: IterationRecord[] = [];
  let checkpoint: Checkpoint | null = from;
  const setup = await setupRun(cfg);
  try {
    let theta: Float64Array;
    let envSteps = 0;
    let start = 0;
    if (from) {
      if (from.params.length !== setup.policy.numParams) throw new Error(`the checkpoint has ${from.params.length} parameters, the policy ${setup.policy.numParams}`);
      theta = Float64Array.from(from.params);
      setup.algo.restore(from.algoState);
      envSteps = from.envSteps;
      start = from.iteration;
    } else theta = initialParams(setup);

    for (let it = start; it < cfg.iterations && !opts.signal?.aborted; it++) {
      const t0 = performance.now();
      const ad = await sampleAndAdapt(setup, theta, iterationRng(cfg.seed, it), { nTasks: cfg.metaBatchSize, hooks: opts.hooks });
      const variance = cfg.varianceEvery > 0 && it % cfg.varianceEvery === 0 ? await metaGradientVariance(setup, theta, cfg, it, opts.hooks) : null;
      opts.hooks?.onPhase?.('optimization', 0, 1);
      const t1 = performance.now();
      const res = setup.algo.optimize(theta, ad.batch); // Algorithm 1, line 10
      const optimization = (performance.now() - t1) / 1000;
      opts.hooks?.onPhase?.('optimization', 1, 1);
      theta = cfg.dtype === 'float32' ? setup.policy.flatten(setup.policy.unflatten(res.theta)) : res.theta; // parameters live in the config's dtype
      envSteps += ad.envSteps;
      const logStd = theta.subarray(theta.length - setup.policy.actDim); // flatten order ends with log σ
      const rec: IterationRecord = {
        iteration: it, envSteps, returns: ad.returns, lossBefore: res.lossBefore, lossAfter: res.lossAfter, innerKL: res.innerKL, outerKL: res.outerKL,
        policyStd: logStd.reduce((a, l) => a + Math.exp(l), 0) / logStd.length,
        diverged: ad.diverged,
        ...(ad.divergence !== null ? { divergence: ad.divergence } : {}),
        simWarnings: ad.simMessages.count,
        ...(ad.simMessages.first !== null ? { simWarning: ad.simMessages.first } : {}),
        timings: { ...ad.timings, optimization, total: (performance.now() - t0) / 1000 },
        extra: variance ? { ...res.extra, ...variance } : res.extra,
      };
      checkpoint = {
        version: 1, algo: cfg.algo, env: cfg.env, iteration: it + 1, envSteps, dtype: cfg.dtype, params: Array.from(theta), algoState: setup.algo.state(),
      };
      records.push(rec);
      await opts.hooks?.onIteration?.(rec, checkpoint);
      // let timers and signal handlers run (Ctrl-C) between iterations: a serial sampler never yields
      await new Promise<void>((resolve) => setTimeout(resolve, 0));
    }
  } finally {
    await setup.close();
  }
  return { records, checkpoint };
}

/**
 * The paper's Fig. 3 statistic at θ (the reference's meta_trainer_gradient_variance.py): the
 * meta-gradient on `varianceRounds` independent sampling rounds (fresh tasks and trajectories each, from
 * a seed space apart from training's, so training's numbers do not change), summarized by
 * {@link gradientRelStd}. Its sampling is not counted in envSteps (a measurement, not training).
 */
async function metaGradientVariance(setup: RunSetup, theta: Float64Array, cfg: TrainConfig, it: number, hooks?: TrainHooks): Promise<GradientVariance> {
  const R = cfg.varianceRounds;
  const source = new Rng(-1 - (cfg.seed * 2 ** 20 + it)); // negative: never a training or evaluation seed
  const grads: Float64Array[] = [];
  for (let r = 0; r < R; r++) {
    hooks?.onPhase?.('gradient variance', r, R);
    const ad = await sampleAndAdapt(setup, theta, source.fork(), { nTasks: cfg.metaBatchSize });
    grads.push(setup.algo.metaGradient!(theta, ad.batch));
  }
  hooks?.onPhase?.('gradient variance', R, R);
  return gradientRelStd(grads);
}

/** What {@link gradientRelStd} reports (and a measured iteration's record carries in `extra`). */
export interface GradientVariance {
  /** Mean over parameters of std/(|mean| + 1e-8) across the rounds: the paper's Fig. 3 statistic. */
  metaGradRelStd: number;
  /** Mean over parameters of the std across the rounds. */
  metaGradStd: number;
}

/**
 * Fig. 3's statistics of gradients g_1 … g_R (flat, one per independent sampling round): per parameter the
 * standard deviation over the rounds (ddof 0, numpy's np.std, as the reference) and |mean|;
 * metaGradRelStd = the mean over parameters of std/(|mean| + 1e-8), metaGradStd = the mean std.
 */
export function gradientRelStd(grads: readonly Float64Array[]): GradientVariance {
  const R = grads.length;
  if (R < 2) throw new Error(`gradientRelStd: needs at least 2 gradients, got ${R}`);
  const n = grads[0]!.length;
  if (grads.some((g) => g.length !== n)) throw new Error('gradientRelStd: the gradients differ in length');
  let rel = 0, sd = 0;
  for (let i = 0; i < n; i++) {
    let mean = 0;
    for (const g of grads) mean += g[i]!;
    mean /= R;
    let v = 0;
    for (const g of grads) v += (g[i]! - mean) ** 2;
    const std = Math.sqrt(v / R);
    rel += std / (Math.abs(mean) + 1e-8);
    sd += std;
  }
  return { metaGradRelStd: rel / n, metaGradStd: sd / n };
}

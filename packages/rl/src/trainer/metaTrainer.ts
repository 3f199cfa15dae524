/**
 * The meta-trainer (Algorithm 1 for every algorithm): each iteration samples a meta-batch of tasks,
 * samples and adapts (adaptation.ts: pre-update trajectories with θ, inner step(s) θ'_τ = θ + α∇J^inner,
 * post-update trajectories with θ'_τ), then takes the algorithm's outer update, logs and checkpoints.
 *
 * A run directory holds config.json (the resolved config), log.jsonl and log.csv (one row per
 * iteration; returns flattened as return_0 … return_S) and checkpoint.json, written atomically (a
 * temporary file renamed over it) after every iteration. The checkpoint holds the parameters, the
 * algorithm's optimizer state, the iteration count and the cumulative env steps; every iteration's
 * randomness is derived from (seed, iteration), so a resumed run gives exactly the numbers of an
 * unbroken one.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync, appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, type ConfigInput, type TrainConfig, resolveConfig } from './config.js';
import { type PhaseHooks, initialParams, iterationRng, sampleAndAdapt, setupRun } from './adaptation.js';

/** One logged iteration. */
export interface IterationRecord {
  /** 0-based iteration index. */
  iteration: number;
  /** Cumulative environment steps (all sampling rounds of all iterations so far, this one included). */
  envSteps: number;
  /** Average undiscounted return at inner step 0 (pre-update) … numInnerGradSteps (post-update). */
  returns: number[];
  /** The algorithm's loss (negated objective) on this batch before and after the outer update. */
  lossBefore: number;
  lossAfter: number;
  /** Mean over inner steps of the task-mean KL(π_sampling ‖ π_new) on that step's round, after the update. */
  innerKL: number;
  /** The same on the post-update round (TRPO's constraint value). */
  outerKL: number;
  /** Mean over action dimensions of the pre-update policy's σ = exp(log σ) after the outer update (exploration left). */
  policyStd: number;
  /** Seconds. processing includes the inner adaptation steps. */
  timings: { sampling: number; processing: number; optimization: number; total: number };
  /** Algorithm-specific diagnostics (ProMP klCoeffInner; TRPO accepted, backtracks, klBefore). */
  extra?: Record<string, number>;
}

/** Progress callbacks. */
export interface TrainHooks extends PhaseHooks {
  onIteration?(rec: IterationRecord): void;
  onPhase?(phase: string, done: number, total: number): void;
}

/** What checkpoint.json holds. */
export interface Checkpoint {
  version: 1;
  algo: string;
  env: string;
  /** Iterations completed. */
  iteration: number;
  envSteps: number;
  dtype: 'float64' | 'float32';
  /** Flat policy parameters (GaussianMLPPolicy.flatten order). */
  params: number[];
  /** The algorithm's state (Adam moments, KL coefficients). */
  algoState: unknown;
}

/** Keys a resumed run may change. */
const RESUMABLE_CHANGES = new Set(['iterations', 'workers']);

/** Writes `text` to `path` atomically: a temporary file in the same directory, renamed over it. */
export function writeFileAtomic(path: string, text: string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

/** The CSV header for S inner steps. */
export function csvHeader(S: number): string {
  const ret = Array.from({ length: S + 1 }, (_, k) => `return_${k}`);
  return ['iteration', 'env_steps', ...ret, 'loss_before', 'loss_after', 'inner_kl', 'outer_kl', 'policy_std', 'time_sampling', 'time_processing', 'time_optimization', 'time_total'].join(',');
}

/** One CSV row of a record. */
export function csvRow(r: IterationRecord): string {
  const t = r.timings;
  return [r.iteration, r.envSteps, ...r.returns, r.lossBefore, r.lossAfter, r.innerKL, r.outerKL, r.policyStd, t.sampling, t.processing, t.optimization, t.total].map(String).join(',');
}

/** Reads checkpoint.json of a run directory; throws naming the problem. */
export function readCheckpoint(dir: string): Checkpoint {
  const path = join(dir, 'checkpoint.json');
  let c: Checkpoint;
  try {
    c = JSON.parse(readFileSync(path, 'utf8')) as Checkpoint;
  } catch (e) {
    throw new Error(`cannot read ${path}: ${(e as Error).message}`);
  }
  if (!c || c.version !== 1 || !Array.isArray(c.params) || !Number.isInteger(c.iteration)) throw new Error(`${path} is not a metagrad checkpoint (version 1)`);
  return c;
}

/** Reads log.jsonl of a run directory ([] when absent). */
export function readLog(dir: string): IterationRecord[] {
  const path = join(dir, 'log.jsonl');
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as IterationRecord);
}

/** Reads config.json of a run directory and validates it. */
export function readRunConfig(dir: string): TrainConfig {
  const path = join(dir, 'config.json');
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new ConfigError(`cannot read ${path}: ${(e as Error).message}`);
  }
  return resolveConfig(raw as ConfigInput);
}

/**
 * Runs (or, with resume, continues) a meta-training run in outDir (see the module comment). A fresh run
 * refuses a directory that already holds one; a resumed run must have the saved config except for
 * iterations and workers (and starts fresh when there is no checkpoint yet). Returns every record of
 * the run (earlier ones read back from log.jsonl when resuming).
 */
export async function train(config: TrainConfig, opts: { outDir: string; resume?: boolean; hooks?: TrainHooks }): Promise<{ records: IterationRecord[]; outDir: string }> {
  const cfg = resolveConfig(config);
  const dir = opts.outDir;
  mkdirSync(dir, { recursive: true });
  const paths = { config: join(dir, 'config.json'), jsonl: join(dir, 'log.jsonl'), csv: join(dir, 'log.csv'), ckpt: join(dir, 'checkpoint.json') };
  const hasCkpt = existsSync(paths.ckpt);
  let ckpt: Checkpoint | null = null;
  let records: IterationRecord[] = [];
  if (opts.resume && hasCkpt) {
    const saved = readRunConfig(dir);
    const diff = (Object.keys(cfg) as (keyof TrainConfig)[]).filter((k) => !RESUMABLE_CHANGES.has(k) && JSON.stringify(saved[k]) !== JSON.stringify(cfg[k]));
    if (diff.length)
      throw new ConfigError(`cannot resume ${dir}: the config differs from the saved one in ${diff.map((k) => `${k} (saved ${JSON.stringify(saved[k])}, given ${JSON.stringify(cfg[k])})`).join(', ')}; only iterations and workers may change`);
    ckpt = readCheckpoint(dir);
    if (ckpt.params.length === 0 || ckpt.algo !== cfg.algo || ckpt.env !== cfg.env) throw new Error(`${paths.ckpt} does not belong to this run`);
    records = readLog(dir).filter((r) => r.iteration < ckpt!.iteration);
  } else if (!opts.resume && (hasCkpt || existsSync(paths.jsonl))) {
    throw new ConfigError(`${dir} already holds a run; pass resume: true to continue it, or choose another directory`);
  }
  writeFileAtomic(paths.config, `${JSON.stringify(cfg, null, 2)}\n`);
  // the logs hold exactly the checkpointed iterations (a crash between log and checkpoint leaves an extra row)
  writeFileAtomic(paths.jsonl, records.map((r) => `${JSON.stringify(r)}\n`).join(''));
  writeFileAtomic(paths.csv, [csvHeader(cfg.numInnerGradSteps), ...records.map(csvRow)].map((l) => `${l}\n`).join(''));

  const setup = await setupRun(cfg);
  try {
    let theta: Float64Array;
    let envSteps = 0;
    let start = 0;
    if (ckpt) {
      if (ckpt.params.length !== setup.policy.numParams) throw new Error(`${paths.ckpt} has ${ckpt.params.length} parameters, the policy ${setup.policy.numParams}`);
      theta = Float64Array.from(ckpt.params);
      setup.algo.restore(ckpt.algoState);
      envSteps = ckpt.envSteps;
      start = ckpt.iteration;
    } else theta = initialParams(setup);

    for (let it = start; it < cfg.iterations; it++) {
      const t0 = performance.now();
      const ad = await sampleAndAdapt(setup, theta, iterationRng(cfg.seed, it), { nTasks: cfg.metaBatchSize, hooks: opts.hooks });
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
        timings: { ...ad.timings, optimization, total: (performance.now() - t0) / 1000 },
        extra: res.extra,
      };
      appendFileSync(paths.jsonl, `${JSON.stringify(rec)}\n`);
      appendFileSync(paths.csv, `${csvRow(rec)}\n`);
      const c: Checkpoint = {
        version: 1, algo: cfg.algo, env: cfg.env, iteration: it + 1, envSteps, dtype: cfg.dtype, params: Array.from(theta), algoState: setup.algo.state(),
      };
      writeFileAtomic(paths.ckpt, JSON.stringify(c));
      records.push(rec);
      opts.hooks?.onIteration?.(rec);
      // let timers and signal handlers run (Ctrl-C) between iterations: a serial sampler never yields
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  } finally {
    await setup.sampler.close();
  }
  return { records, outDir: dir };
}

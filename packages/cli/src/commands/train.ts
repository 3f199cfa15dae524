/**
 * `metagrad train`: one meta-training run (a new one, or `--resume DIR` to continue a stopped one), with a
 * progress bar on stderr and a summary of the run directory and the final returns on stdout.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { resolveConfig, ConfigError, type TrainConfig } from '@metagrad/rl';
import { UsageError, fmt, formatDuration, println, readJson, stamp, type CliIO } from '../io.js';
import { RESUMABLE_FLAGS, shapeFlagsGiven, buildConfig, configOverrides, readConfigFile, resumeOverrides, type TrainFlags } from '../options.js';
import { checkpointIteration, executeRuns, type RunPlan } from '../runs.js';
import { RUN_FILES, checkRunDir, checkUnlocked, checkWritableDir, isFreshDir, isUnstartedRun, readRun, withoutMeta, type RunLog } from '../rundir.js';

/** Flags of `metagrad train`. */
export interface TrainCommandFlags extends TrainFlags {
  /** --repair-log: with --resume, keep a damaged log's valid records instead of stopping. */
  repairLog?: boolean;
  algo?: string;
  env?: string;
  out?: string;
  resume?: string;
  quiet?: boolean;
}

/** Labels for inner steps 0 … K: "pre-update", "step 1", …, "post-update". */
export function stepLabels(K: number): string[] {
  return Array.from({ length: K + 1 }, (_, k) => (k === 0 ? 'pre-update' : k === K ? 'post-update' : `step ${k}`));
}

/** "pre-update 0.12 | step 1 0.40 | post-update 0.55" for a returns vector. */
export function returnsLine(returns: readonly number[]): string {
  const labels = stepLabels(returns.length - 1);
  return returns.map((r, k) => `${labels[k]} ${fmt(r)}`).join(' | ');
}

/**
 * Plans `train`: validates every flag, the config and the run directory (free of another process's
 * lock, writable). A directory whose run stopped before its first iteration finished is started again,
 * by the same command or by --resume. Throws UsageError.
 */
export function planTrain(f: TrainCommandFlags): RunPlan & { notice?: string } {
  if (f.resume !== undefined) {
    const given = [...(['algo', 'env', 'config', 'out'] as const).filter((k) => f[k] !== undefined).map((k) => `--${k}`), ...shapeFlagsGiven(f)];
    if (given.length)
      throw new UsageError(`--resume continues a run with its saved config; only ${RESUMABLE_FLAGS} may be given (got ${given.join(', ')})`);
    const dir = f.resume;
    checkRunDir(dir);
    checkUnlocked(dir);
    const saved = withoutMeta(readJson(join(dir, RUN_FILES.config), 'config') as Record<string, unknown>) as Partial<TrainConfig> & { algo: string; env: string };
    let config: TrainConfig;
    try {
      config = resolveConfig({ ...saved, ...resumeOverrides(f) });
    } catch (e) {
      if (e instanceof ConfigError) throw new UsageError(`${join(dir, RUN_FILES.config)}: ${e.message.split('\n')[0]}`);
      throw e;
    }
    const label = `${config.algo} s${config.seed}`;
    if (!existsSync(join(dir, RUN_FILES.checkpoint))) {
      return { label, config, outDir: dir, mode: 'fresh', done: 0, notice: `no iteration of ${dir} had finished: starting it from the beginning` };
    }
    const done = checkpointIteration(dir);
    if (done >= config.iterations)
      throw new UsageError(`run '${dir}' has already finished (${done} of ${config.iterations} iterations); pass --iterations N with N > ${done} to extend it`);
    return { label, config, outDir: dir, mode: 'resume', done, repairLog: f.repairLog === true };
  }
  const config = buildConfig({ ...readConfigFile(f.config), ...(f.algo !== undefined ? { algo: f.algo } : {}), ...(f.env !== undefined ? { env: f.env } : {}), ...configOverrides(f) });
  const outDir = f.out ?? join('runs', `${config.algo}-${config.env}-s${config.seed}-${stamp()}`);
  checkWritableDir(outDir);
  const label = `${config.algo} s${config.seed}`;
  if (!isFreshDir(outDir)) {
    if (isUnstartedRun(outDir)) {
      checkUnlocked(outDir);
      return { label, config, outDir, mode: 'fresh', done: 0, notice: `${outDir} holds a run that stopped before its first iteration finished: starting it again` };
    }
    throw new UsageError(existsSync(join(outDir, RUN_FILES.checkpoint))
      ? `'${outDir}' already holds a run; continue it with --resume ${outDir} or choose another --out`
      : `'${outDir}' exists and is not empty; choose another --out`);
  }
  return { label, config, outDir, mode: 'fresh', done: 0 };
}

/** Prints what a finished run reached. */
export function printRunSummary(io: CliIO, run: RunLog, seconds: number | null): void {
  const last = run.records.at(-1);
  println(io.stdout, `run directory: ${run.dir}`);
  println(io.stdout, `  ${run.algo} on ${run.env}, seed ${run.seed}: ${run.records.length}/${run.iterations} iterations, ${(last?.envSteps ?? 0).toLocaleString('en-US')} env steps${seconds !== null ? `, ${formatDuration(seconds)}` : ''}`);
  if (last) println(io.stdout, `  returns at the last iteration: ${returnsLine(last.returns)}`);
  println(io.stdout, `  files: ${[RUN_FILES.config, RUN_FILES.log, RUN_FILES.csv, RUN_FILES.checkpoint].filter((f) => existsSync(join(run.dir, f))).join(', ')}`);
}

/** Runs `metagrad train`. */
export async function trainCommand(f: TrainCommandFlags, io: CliIO): Promise<void> {
  const plan = planTrain(f);
  if (plan.notice) println(io.stderr, plan.notice);
  println(io.stderr, `${plan.mode === 'resume' ? `resuming ${plan.outDir} at iteration ${plan.done + 1}` : `training ${plan.config.algo} on ${plan.config.env} (seed ${plan.config.seed}) into ${plan.outDir}`}: ${plan.config.iterations} iterations`);
  const seconds = await executeRuns([plan], io, { quiet: f.quiet });
  printRunSummary(io, readRun(plan.outDir), seconds);
}

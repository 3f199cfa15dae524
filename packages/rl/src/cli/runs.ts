/**
 * Planning and running training runs for the CLI: whether a run directory is new, stopped (resume it)
 * or finished (keep it), and a sequence of runs under one progress bar. Every check happens in
 * `planRun`, so a command validates all its runs before it starts the first.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { type ConfigInput, type TrainConfig, resolveConfig } from '../trainer/config.js';
import { readCheckpoint, train } from '../trainer/metaTrainer.js';
import { UsageError, type CliIO } from './io.js';
import { Progress } from './progress.js';

/** What to do with one run directory. */
export interface RunPlan {
  label: string;
  config: TrainConfig;
  outDir: string;
  /** 'fresh': train from scratch; 'resume': continue from checkpoint.json; 'done': already finished. */
  mode: 'fresh' | 'resume' | 'done';
  /** Iterations already logged. */
  done: number;
}

/** The directory currently being trained (for the Ctrl-C hint). */
export const activeRun: { dir: string | null } = { dir: null };

const hasRun = (dir: string): boolean => existsSync(join(dir, 'checkpoint.json')) || existsSync(join(dir, 'log.jsonl'));

/** True when `dir` does not exist or is an empty directory. */
export function isFreshDir(dir: string): boolean {
  return !existsSync(dir) || readdirSync(dir).length === 0;
}

/** Iterations completed according to DIR/checkpoint.json (UsageError when it is unreadable). */
export function checkpointIteration(dir: string): number {
  try {
    return readCheckpoint(dir).iteration;
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/** The keys of two configs that differ (ignoring iterations and workers, which a resumed run may change). */
export function configDiff(saved: Record<string, unknown>, wanted: TrainConfig): string[] {
  return Object.keys(wanted).filter((k) => k !== 'iterations' && k !== 'workers' && JSON.stringify(saved[k]) !== JSON.stringify((wanted as unknown as Record<string, unknown>)[k]));
}

/**
 * Plans a run of `config` in `outDir` for compare/explore: a new directory is trained, a stopped run of
 * the same config is resumed, a finished one is kept. A directory holding a different run is an error.
 */
export function planReusableRun(label: string, config: TrainConfig, outDir: string): RunPlan {
  if (!existsSync(join(outDir, 'config.json')) || !hasRun(outDir)) return { label, config, outDir, mode: 'fresh', done: 0 };
  let saved: Record<string, unknown>;
  try {
    saved = JSON.parse(readFileSync(join(outDir, 'config.json'), 'utf8')) as Record<string, unknown>;
  } catch {
    throw new UsageError(`'${outDir}/config.json' is not valid JSON; remove the directory or choose another --out`);
  }
  // compare resolved configs, so a run saved before a key existed matches when the key has its default
  let resolved: Record<string, unknown>;
  try {
    resolved = resolveConfig(saved as ConfigInput) as unknown as Record<string, unknown>;
  } catch (e) {
    throw new UsageError(`'${outDir}/config.json' is not a valid run config (${(e as Error).message}); remove the directory or choose another --out`);
  }
  const diff = configDiff(resolved, config);
  if (diff.length) throw new UsageError(`'${outDir}' holds a run with a different ${diff.join(', ')}; choose another --out or remove it`);
  if (!existsSync(join(outDir, 'checkpoint.json'))) return { label, config, outDir, mode: 'fresh', done: 0 };
  const done = checkpointIteration(outDir);
  if (done >= config.iterations) return { label, config, outDir, mode: 'done', done };
  return { label, config, outDir, mode: 'resume', done };
}

/** Runs the plans in order under one progress bar; returns the elapsed seconds. */
export async function executeRuns(plans: readonly RunPlan[], io: CliIO, opts: { quiet?: boolean } = {}): Promise<number> {
  const todo = plans.filter((p) => p.mode !== 'done');
  const total = todo.reduce((a, p) => a + p.config.iterations, 0);
  const progress = new Progress(io, total, todo[0]?.label ?? '', opts.quiet);
  let seconds = 0;
  try {
    for (const p of todo) {
      progress.setLabel(p.label);
      if (p.done) progress.skip(p.done);
      activeRun.dir = p.outDir;
      await train(p.config, { outDir: p.outDir, resume: p.mode === 'resume', hooks: progress.hooks() });
      activeRun.dir = null;
    }
  } finally {
    activeRun.dir = null;
    seconds = progress.stop();
  }
  return seconds;
}

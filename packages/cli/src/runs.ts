/**
 * Planning and running training runs for the CLI: whether a run directory is new, stopped (resume it)
 * or finished (keep it), and a sequence of runs under one progress bar. Every check happens in
 * `planRun`, so a command validates all its runs before it starts the first.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ConfigInput, type TrainConfig, resolveConfig } from '@metagrad/rl';
import { RUN_FILES, configDiff, hasRun, readCheckpoint, releaseStaleLock, trainInDir, withoutMeta } from './rundir.js';
import { UsageError, type CliIO } from './io.js';
import { Progress } from './progress.js';
import type { ChildMessage } from './runChild.js';

/** What to do with one run directory. */
export interface RunPlan {
  /** The progress display's name for the run ("promp s1"). */
  label: string;
  /** The run's resolved config. */
  config: TrainConfig;
  /** The run directory. */
  outDir: string;
  /** 'fresh': train from scratch; 'resume': continue from checkpoint.json; 'done': already finished. */
  mode: 'fresh' | 'resume' | 'done';
  /** Iterations already logged. */
  done: number;
  /** Resume even if log.jsonl is damaged, keeping its valid records (`train --repair-log`). */
  repairLog?: boolean;
}

/** The run directories being trained now, and whether a stop was requested (Ctrl-C). */
export const activeRuns: { dirs: Set<string>; children: Set<ChildProcess>; interrupted: boolean } = {
  dirs: new Set(), children: new Set(), interrupted: false,
};

/**
 * Where runs train when a command does not say: in child processes (`isolate`, what the `metagrad`
 * executable sets, so that Ctrl-C stops a run at once) or in this process (the default for `runCli`
 * called from code, e.g. tests and notebooks). `handlesSignals` is set while a command handles SIGINT
 * itself (`metagrad worker`: it puts its jobs back in the queue), so the executable's handler stands aside.
 */
export const execution: { isolate: boolean; handlesSignals: boolean } = { isolate: false, handlesSignals: false };

/** The error a run ends with when the user interrupted it (the CLI exits 130 without an error line). */
export class InterruptedError extends Error {
  override readonly name = 'InterruptedError';
}

/**
 * Stops every run in progress (Ctrl-C): sends SIGINT to the training processes, waits for them to exit
 * (their last checkpoint is on disk: every file is written atomically), removes the locks they held, and
 * returns one line per run saying what was kept and how to continue. Runs trained in this process
 * cannot be stopped mid-iteration; the CLI always trains in child processes.
 */
export async function interruptRuns(): Promise<string[]> {
  activeRuns.interrupted = true;
  const exits = [...activeRuns.children].map((c) => new Promise<void>((resolve) => {
    if (c.exitCode !== null || c.signalCode !== null) return resolve();
    c.once('exit', () => resolve());
    c.kill('SIGINT');
  }));
  await Promise.all(exits);
  return [...activeRuns.dirs].map((dir) => {
    const ck = existsSync(join(dir, RUN_FILES.checkpoint)) ? readCheckpoint(dir) : null;
    return ck
      ? `${dir}: iterations 1–${ck.iteration} are saved; continue with: metagrad train --resume ${dir}`
      : `${dir}: stopped before its first iteration finished (nothing to keep); the same command starts it again`;
  });
}

/** Iterations completed according to DIR/checkpoint.json (UsageError when it is unreadable). */
export function checkpointIteration(dir: string): number {
  try {
    return readCheckpoint(dir).iteration;
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/**
 * Plans a run of `config` in `outDir` for compare/explore: a new directory is trained, a stopped run of
 * the same config is resumed, a finished one is kept. A directory holding a different run is an error.
 */
export function planReusableRun(label: string, config: TrainConfig, outDir: string): RunPlan {
  if (!existsSync(join(outDir, RUN_FILES.config)) || !hasRun(outDir)) return { label, config, outDir, mode: 'fresh', done: 0 };
  let saved: Record<string, unknown>;
  try {
    saved = withoutMeta(JSON.parse(readFileSync(join(outDir, RUN_FILES.config), 'utf8')) as Record<string, unknown>);
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
  if (!existsSync(join(outDir, RUN_FILES.checkpoint))) return { label, config, outDir, mode: 'fresh', done: 0 };
  const done = checkpointIteration(outDir);
  if (done >= config.iterations) return { label, config, outDir, mode: 'done', done };
  return { label, config, outDir, mode: 'resume', done };
}

/**
 * Runs the plans under one progress bar; returns the elapsed seconds. With `isolate` (what the
 * `metagrad` executable does) or `jobs` > 1, each run trains in a child process, up to `jobs` at a time
 * (one core each: a run's optimization is single-threaded), so Ctrl-C stops a run at once whatever it
 * is computing; otherwise they run in order in this process. The results are the same either way.
 */
export async function executeRuns(plans: readonly RunPlan[], io: CliIO, opts: { quiet?: boolean; jobs?: number; isolate?: boolean } = {}): Promise<number> {
  const todo = plans.filter((p) => p.mode !== 'done');
  const total = todo.reduce((a, p) => a + p.config.iterations, 0);
  const progress = new Progress(io, total, todo[0]?.label ?? '', opts.quiet);
  const jobs = Math.min(opts.jobs ?? 1, todo.length);
  let seconds = 0;
  try {
    if (jobs > 1 || (opts.isolate ?? execution.isolate)) {
      await runInChildren(todo, Math.max(1, jobs), progress);
    } else {
      for (const p of todo) {
        progress.setLabel(p.label);
        if (p.done) progress.skip(p.done);
        activeRuns.dirs.add(p.outDir);
        await trainInDir(p.config, p.outDir, {
          resume: p.mode === 'resume', repairLog: p.repairLog === true, hooks: progress.hooks(),
          notice: (line) => progress.log(line),
        });
        activeRuns.dirs.delete(p.outDir);
      }
    }
  } finally {
    seconds = progress.stop();
  }
  return seconds;
}

/** How to fork runChild from where this module runs (built JavaScript, or TypeScript sources under vitest). */
function childModule(): { path: string; execArgv: string[] } {
  const here = import.meta.url;
  if (here.endsWith('.ts')) return { path: fileURLToPath(new URL('./runChild.ts', here)), execArgv: ['--import', new URL('./ts-boot.mjs', here).href] };
  return { path: fileURLToPath(new URL('./runChild.js', here)), execArgv: [] };
}

/** Trains the plans `jobs` at a time in child processes; on the first failure stops the others (their checkpoints stay) and throws. */
async function runInChildren(todo: readonly RunPlan[], jobs: number, progress: Progress): Promise<void> {
  const live = new Set<ChildProcess>();
  let next = 0;
  let failed = false;
  const lane = async (): Promise<void> => {
    while (next < todo.length && !failed) {
      const p = todo[next++]!;
      if (p.done) progress.skip(p.done);
      await trainInChild(p, progress, live, jobs);
    }
  };
  try {
    await Promise.all(Array.from({ length: jobs }, lane));
  } catch (e) {
    failed = true;
    for (const c of live) c.kill('SIGTERM');
    throw e;
  }
}

/** What a run trained in a child process reports while it trains (see {@link forkTraining}). */
export interface TrainingListeners {
  /** A finished iteration (the record's progress fields). */
  onIteration(rec: ChildIterationRecord): void;
  /** A phase of the current iteration. */
  onPhase(phase: string, done: number, total: number): void;
  /** A line worth telling the user. */
  onNotice(line: string): void;
}

/** The progress fields of an iteration that a training child sends. */
export type ChildIterationRecord = Extract<ChildMessage, { type: 'iteration' }>['rec'];

/** How a training child ended (see {@link forkTraining}). */
export interface TrainingExit {
  /** The child said the run finished and exited with code 0. */
  finished: boolean;
  /** Its exit code, or null when a signal ended it. */
  code: number | null;
  /** The signal that ended it, if any. */
  signal: NodeJS.Signals | null;
  /** The error it reported: its message, whether it is the user's to fix, and the error's name (e.g. RunLockedError). */
  failure: { message: string; usage: boolean; name?: string } | null;
  /** The last lines it wrote to stderr (for an error it could not report). */
  stderr: string;
}

/**
 * The environment of a training child that runs beside `concurrent` − 1 others: each gets an equal share
 * of the cores for its matmuls (METAGRAD_THREADS = ⌊cores / concurrent⌋, at least 1) unless the user set
 * METAGRAD_THREADS. Two runs at once on 2 cores, each splitting its matmuls over 2 threads, took 3–7 %
 * longer per outer step (measured on half-cheetah-fwd-back; the numbers are the same bits either way).
 */
export function childEnv(concurrent: number, env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  if (concurrent <= 1 || env['METAGRAD_THREADS'] !== undefined) return env;
  return { ...env, METAGRAD_THREADS: String(Math.max(1, Math.floor(availableParallelism() / concurrent))) };
}

/**
 * Trains plan `p` in a child process (runChild: the same trainInDir as in-process), calling `on` with its
 * progress; `concurrent` children at once share the cores' matmul threads ({@link childEnv}). Returns the
 * child and a promise of how it ended, which never rejects: a child that could not start ends with code
 * null and the reason in `failure`. The child's run-directory lock is released when it was killed before
 * it could release it.
 */
export function forkTraining(p: RunPlan, on: TrainingListeners, concurrent = 1): { child: ChildProcess; exit: Promise<TrainingExit> } {
  const { path, execArgv } = childModule();
  const child = fork(path, [], { execArgv, env: childEnv(concurrent), stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
  let stderr = '';
  let failure: TrainingExit['failure'] = null;
  let finished = false;
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  child.on('message', (m: ChildMessage) => {
    if (m.type === 'iteration') on.onIteration(m.rec);
    else if (m.type === 'phase') on.onPhase(m.phase, m.done, m.total);
    else if (m.type === 'notice') on.onNotice(m.line);
    else if (m.type === 'done') finished = true;
    else failure = { message: m.message, usage: m.usage, ...(m.name !== undefined ? { name: m.name } : {}) };
  });
  const exit = new Promise<TrainingExit>((resolve) => {
    let started = true;
    child.on('error', (e) => {
      if (child.pid === undefined) {
        started = false;
        resolve({ finished: false, code: null, signal: null, failure: { message: `could not start a training process (${e.message})`, usage: false }, stderr });
      }
    });
    child.on('exit', (code, signal) => {
      releaseStaleLock(p.outDir, child.pid ?? -1); // a child killed mid-run cannot release its own
      if (started) resolve({ finished: finished && code === 0, code, signal, failure, stderr });
    });
  });
  child.send(p);
  return { child, exit };
}

/** One plan in a child process: forwards its progress, resolves when it has finished, rejects with its error. */
async function trainInChild(p: RunPlan, progress: Progress, live: Set<ChildProcess>, concurrent: number): Promise<void> {
  const hooks = progress.hooks();
  const { child, exit } = forkTraining(p, {
    onIteration: (rec) => {
      progress.setLabel(p.label);
      hooks.onIteration(rec);
    },
    onPhase: (phase, done, total) => hooks.onPhase(phase, done, total),
    onNotice: (line) => progress.log(line),
  }, concurrent);
  live.add(child);
  activeRuns.children.add(child);
  activeRuns.dirs.add(p.outDir);
  const { finished, code, signal, failure, stderr } = await exit;
  live.delete(child);
  activeRuns.children.delete(child);
  if (finished) {
    activeRuns.dirs.delete(p.outDir);
    return;
  }
  if (activeRuns.interrupted) throw new InterruptedError(`${p.label} interrupted`);
  activeRuns.dirs.delete(p.outDir);
  if (failure?.usage) throw new UsageError(failure.message);
  if (code === null && signal === null && failure) throw new Error(`${p.label}: ${failure.message}`);
  const why = failure?.message ?? (stderr.trim().split('\n').at(-1) || `exit code ${code ?? signal}`);
  throw new Error(`${p.label} in ${p.outDir} failed: ${why} (finished iterations are kept; rerun to resume)`);
}

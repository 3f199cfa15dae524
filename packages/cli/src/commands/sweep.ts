/**
 * `metagrad sweep`: enqueues the runs of a comparison (--env/--envs × --algos × --seeds, every training
 * setting) on a Redis queue, one BullMQ job per run with a deterministic id, for `metagrad worker`s on any
 * machine to train into a shared directory laid out as `compare`'s. `metagrad sweep status`: the table of
 * the sweep's runs and, with --report, compare's report over the finished ones.
 */
import { join, resolve } from 'node:path';
import { Queue, type Job, type JobType } from 'bullmq';
import type { Redis } from 'ioredis';
import { trainEnvNames } from '@metagrad/rl';
import { UsageError, fmt, parseInteger, parseNameList, println, type CliIO } from '../io.js';
import { planReusableRun, type RunPlan } from '../runs.js';
import { readRunConfig } from '../rundir.js';
import { type CompareFlags, type CompareResult, planCompare, writeCompareReport, writeCompareSummary } from './compare.js';
import {
  QUEUE_NAME, checkQueueUrl, connectOnce, safeUrl, sweepJobId, type SweepJobData, type SweepJobProgress, type SweepJobResult,
} from '../queue.js';

/** Flags of `metagrad sweep`. */
export interface SweepFlags extends CompareFlags {
  /** The Redis URL of the queue. */
  queue?: string;
  /** Attempts per run before it is marked failed. */
  attempts?: string;
  /** Put the sweep's failed runs back in the queue (with their attempts reset), e.g. after fixing what failed them. */
  retryFailed?: boolean;
}

/** One planned sweep run and its job id. */
export interface SweepRun {
  /** The deterministic BullMQ job id. */
  id: string;
  /** The run's plan (its mode says whether the directory already holds the finished run). */
  plan: RunPlan;
  /** The env's report directory. */
  envOut: string;
}

/**
 * Plans a sweep: the runs of `compare` (--env, or --envs with a directory per env) with absolute run
 * directories under --out, each checked as `compare` checks it (a directory holding a different run is an
 * error). Throws UsageError before anything is enqueued.
 */
export function planSweep(f: SweepFlags): { runs: SweepRun[]; out: string; envs: string[] } {
  if (f.out === undefined) throw new UsageError('--out is required: the sweep directory, on storage every worker reaches (a shared file system path)');
  if (f.env !== undefined && f.envs !== undefined) throw new UsageError('give --env for one task or --envs for several, not both');
  const out = resolve(f.out);
  const envs = f.envs !== undefined ? parseNameList('envs', f.envs, trainEnvNames) : [f.env ?? ''];
  if (envs[0] === '') throw new UsageError(`--env or --envs is required (${trainEnvNames.join(', ')})`);
  const runs: SweepRun[] = [];
  for (const env of envs) {
    const envOut = f.envs !== undefined ? join(out, env) : out;
    const { plans } = planCompare({ ...f, env, out: envOut });
    for (const p of plans) runs.push({ id: sweepJobId(p.config, p.outDir), plan: p, envOut });
  }
  return { runs, out, envs };
}

/** The queue on a connection made by {@link connectOnce}; BullMQ does not close a connection it was given. */
function openQueue(redis: Redis): Queue<SweepJobData, SweepJobResult> {
  return new Queue<SweepJobData, SweepJobResult>(QUEUE_NAME, { connection: redis });
}

/**
 * Runs `metagrad sweep`: enqueues every run not in the queue yet (with --retry-failed, also puts its
 * failed runs back, their attempts reset); prints one line per run (its job id and what happened).
 */
export async function sweepCommand(f: SweepFlags, io: CliIO): Promise<void> {
  const url = checkQueueUrl(f.queue);
  const attempts = parseInteger('attempts', f.attempts ?? '2')!;
  const { runs, out } = planSweep(f);
  const redis = await connectOnce(url);
  const queue = openQueue(redis);
  try {
    let added = 0, retried = 0;
    const existing = new Map<string, number>();
    for (const r of runs) {
      const job = await queue.getJob(r.id);
      if (job) {
        const state = await job.getState();
        if (state === 'failed' && f.retryFailed) {
          // a run that failed on its first iteration has no directory to keep; one that failed later resumes from its checkpoint
          const why = (job.failedReason ?? '').split('\n')[0];
          await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
          retried += 1;
          println(io.stdout, `${r.id}  retried (failed: ${why})`);
          continue;
        }
        existing.set(state, (existing.get(state) ?? 0) + 1);
        println(io.stdout, `${r.id}  ${state} (already in the queue)${state === 'failed' && !f.retryFailed ? '; --retry-failed puts it back' : ''}`);
        continue;
      }
      const data: SweepJobData = { label: r.plan.label, config: r.plan.config, outDir: r.plan.outDir, sweep: out };
      // a job with this id added meanwhile (another `sweep`) is kept as it is: BullMQ adds nothing then
      await queue.add(r.plan.label, data, { jobId: r.id, attempts, backoff: { type: 'exponential', delay: 5000 }, removeOnComplete: false, removeOnFail: false });
      added += 1;
      println(io.stdout, `${r.id}  added${r.plan.mode === 'done' ? ' (its directory already holds the finished run)' : ''}`);
    }
    const kept = [...existing].map(([s, n]) => `${n} ${s}`).join(', ');
    println(io.stderr, `sweep ${out}: ${runs.length} runs on ${safeUrl(url)}; ${added} added${retried ? `, ${retried} retried` : ''}${existing.size ? `, ${kept} already in the queue` : ''}. Start workers with: metagrad worker --queue ${safeUrl(url)}`);
  } finally {
    await queue.close();
    await redis.quit();
  }
}

/** Flags of `metagrad sweep status`. */
export interface SweepStatusFlags {
  queue?: string;
  /** Only the jobs of this sweep directory. */
  out?: string;
  /** Also write compare's report over the finished runs (needs --out). */
  report?: boolean;
  /** Final returns average the last n iterations (with --report). */
  last?: string;
  /** Print the rows as JSON instead of a table. */
  json?: boolean;
}

/** One row of `sweep status`. */
export interface SweepStatusRow {
  /** The job id. */
  id: string;
  /** "promp s1". */
  run: string;
  env: string;
  /** BullMQ's state: waiting, active, delayed, completed, failed, … */
  state: string;
  /** Iterations finished (the last progress report, or the result) and of the run. */
  iteration: number;
  iterations: number;
  /** The post-update return (pre-update for algorithms without inner steps) of the last finished iteration, when known. */
  return: number | null;
  /** The worker that trains it or finished it ("host:pid"). */
  worker: string | null;
  /** Attempts made. */
  attempts: number;
  /** The error of a failed run (or of the last failed attempt); for a delayed run, why it waits. */
  error: string | null;
  /** The run directory. */
  dir: string;
  /** When it started and finished (ms since the epoch), when it did. */
  startedAt: number | null;
  finishedAt: number | null;
}

const STATES: JobType[] = ['active', 'waiting', 'prioritized', 'delayed', 'waiting-children', 'completed', 'failed'];

/** The rows of every job (of sweep `out` when given), sorted by env, algorithm and seed. */
export async function sweepRows(queue: Queue<SweepJobData, SweepJobResult>, out?: string): Promise<SweepStatusRow[]> {
  const rows: SweepStatusRow[] = [];
  const seen = new Set<string>(); // a job that changes state between two of the queries below is listed once
  for (const state of STATES) {
    const jobs = (await queue.getJobs([state], 0, -1)) as (Job<SweepJobData, SweepJobResult> | undefined)[];
    for (const job of jobs) {
      if (!job?.id || !job.data?.config || seen.has(job.id)) continue;
      seen.add(job.id);
      if (out !== undefined && job.data.sweep !== out) continue;
      const progress = (typeof job.progress === 'object' ? job.progress : null) as SweepJobProgress | null;
      const result = job.returnvalue ?? null;
      const returns = result?.returns ?? progress?.returns ?? null;
      rows.push({
        id: job.id, run: job.data.label, env: job.data.config.env, state,
        iteration: result?.iterations ?? progress?.iteration ?? 0, iterations: job.data.config.iterations,
        return: returns?.length ? returns[returns.length - 1]! : null,
        worker: result?.worker ?? progress?.worker ?? job.processedBy ?? null,
        attempts: job.attemptsMade, error: job.failedReason || (state === 'delayed' ? progress?.note : undefined) || null, dir: job.data.outDir,
        startedAt: job.processedOn ?? null, finishedAt: job.finishedOn ?? null,
      });
    }
  }
  const key = (r: SweepStatusRow): string => `${r.env}\u0000${r.dir}`;
  return rows.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

/** The rows as an aligned table. */
export function statusTable(rows: readonly SweepStatusRow[]): string[] {
  const head = ['env', 'run', 'state', 'iteration', 'return', 'worker', 'error'];
  const cells = rows.map((r) => [
    r.env, r.run, r.state, `${r.iteration}/${r.iterations}`, r.return === null ? '—' : fmt(r.return),
    r.state === 'active' || r.state === 'completed' ? (r.worker ?? '—') : '—',
    r.error ? r.error.split('\n')[0]! : '',
  ]);
  const w = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  return [head, ...cells].map((c) => c.map((x, i) => (i === c.length - 1 ? x : x.padEnd(w[i]!))).join('  ').trimEnd());
}

/** Runs `metagrad sweep status`. */
export async function sweepStatusCommand(f: SweepStatusFlags, io: CliIO, argv: readonly string[]): Promise<void> {
  const url = checkQueueUrl(f.queue);
  if (f.report && f.out === undefined) throw new UsageError('--report needs --out: the sweep directory the report is written to');
  const out = f.out !== undefined ? resolve(f.out) : undefined;
  if (f.last !== undefined) parseInteger('last', f.last);
  const redis = await connectOnce(url);
  const queue = openQueue(redis);
  let rows: SweepStatusRow[];
  try {
    rows = await sweepRows(queue, out);
  } finally {
    await queue.close();
    await redis.quit();
  }
  const counts = new Map<string, number>();
  for (const r of rows) counts.set(r.state, (counts.get(r.state) ?? 0) + 1);
  const summary = `${rows.length} run${rows.length === 1 ? '' : 's'}${rows.length ? `: ${[...counts].map(([s, n]) => `${n} ${s}`).join(', ')}` : ''}`;
  if (f.json) println(io.stdout, JSON.stringify({ rows, counts: Object.fromEntries(counts) }));
  else {
    for (const l of statusTable(rows)) println(io.stdout, l);
    println(io.stdout, summary);
  }
  if (f.report) await writeSweepReports(rows, out!, f, io, argv);
}

/**
 * compare's report over the finished runs of each env (in the env's directory: the sweep directory with
 * --env, <out>/<env> with --envs), and with several envs compare's summary.md over them.
 */
async function writeSweepReports(rows: readonly SweepStatusRow[], out: string, f: SweepStatusFlags, io: CliIO, argv: readonly string[]): Promise<void> {
  const done = rows.filter((r) => r.state === 'completed');
  if (!done.length) {
    println(io.stderr, 'no finished run yet: no report written');
    return;
  }
  const envs = [...new Set(done.map((r) => r.env))];
  const results: CompareResult[] = [];
  for (const env of envs) {
    const mine = done.filter((r) => r.env === env);
    // the run directories of an env sit in <env dir>/runs/<algo>-s<seed>
    const envOut = resolve(mine[0]!.dir, '..', '..');
    const plans = mine.map((r) => {
      const p = planReusableRun(r.run, readRunConfig(r.dir), r.dir);
      if (p.mode !== 'done') throw new Error(`${r.dir} is marked finished in the queue but holds ${p.done} of ${p.config.iterations} iterations`);
      return p;
    });
    const algos = [...new Set(plans.map((p) => p.config.algo))];
    const seeds = [...new Set(plans.map((p) => p.config.seed))].sort((a, b) => a - b);
    const iters = plans[0]!.config.iterations;
    const lastK = parseInteger('last', f.last ?? String(Math.max(1, Math.round(iters / 10))))!;
    const t0 = Math.min(...mine.map((r) => r.startedAt ?? Infinity)), t1 = Math.max(...mine.map((r) => r.finishedAt ?? 0));
    const r = await writeCompareReport(plans, {
      env, out: envOut, algos, seeds, lastK, command: `metagrad ${argv.join(' ')}`, seconds: Number.isFinite(t0) && t1 > t0 ? (t1 - t0) / 1000 : 0, kept: 0,
    });
    results.push(r);
    println(io.stdout, `wrote ${r.report}`);
  }
  if (envs.length > 1) {
    const { file, curves } = await writeCompareSummary(out, results, `metagrad ${argv.join(' ')}`);
    println(io.stdout, `wrote ${file}`);
    println(io.stdout, `wrote ${curves.png}`);
  }
}

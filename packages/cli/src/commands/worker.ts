/**
 * `metagrad worker`: takes sweep jobs from the Redis queue (BullMQ) and trains each in a child process
 * (runChild, as `compare --jobs` does) into its run directory, resuming from the directory's checkpoint
 * when it has one. It reports each finished iteration to the job (iteration, returns, worker) and
 * finishes the job when the run is done. A worker killed mid-run loses at most the current iteration:
 * its job's lock expires, BullMQ's stalled-job check hands the job to another worker, which resumes from
 * the checkpoint; the run directory's lock keeps two writers apart. SIGTERM or Ctrl-C stops the training
 * children (their last finished iteration is on disk), puts their jobs back in the queue, and exits.
 * While Redis is unreachable the worker waits and reconnects with back-off.
 */
import type { ChildProcess } from 'node:child_process';
import { hostname } from 'node:os';
import { Queue, UnrecoverableError, WaitingError, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { UsageError, fmt, parseInteger, println, type CliIO } from '../io.js';
import { execution, forkTraining, planReusableRun, type RunPlan } from '../runs.js';
import { readRecords } from '../rundir.js';
import { QUEUE_NAME, checkQueueUrl, safeUrl, workerRedisOptions, type SweepJobData, type SweepJobProgress, type SweepJobResult } from '../queue.js';

/** Flags of `metagrad worker`. */
export interface WorkerFlags {
  queue?: string;
  /** Runs trained at the same time (each in its own process). */
  concurrency?: string;
  /** Seconds after which a silent worker's job counts as stalled and goes to another worker. */
  stalledSeconds?: string;
  /** Exit once the queue holds no waiting, delayed or active job. */
  untilEmpty?: boolean;
  quiet?: boolean;
}

/** How often a stalled job may go back to the queue before it is failed (a worker killed mid-run stalls its job once). */
const MAX_STALLED = 5;
/** The longest wait between two attempts to reach Redis (ms). */
const MAX_RECONNECT_DELAY_MS = 10_000;

/** The result of a finished run, from its log. */
function resultOf(dir: string, worker: string): SweepJobResult {
  const recs = readRecords(dir);
  return { iterations: recs.length, returns: recs.at(-1)?.returns ?? [], worker };
}

/** Runs `metagrad worker` until it is stopped (SIGTERM, Ctrl-C) or, with --until-empty, the queue is empty. */
export async function workerCommand(f: WorkerFlags, io: CliIO): Promise<void> {
  const url = checkQueueUrl(f.queue);
  const concurrency = parseInteger('concurrency', f.concurrency ?? '1')!;
  const stalledMs = 1000 * parseInteger('stalled-seconds', f.stalledSeconds ?? '30')!;
  const name = `${hostname()}:${process.pid}`;
  const say = (line: string): void => println(io.stderr, `worker ${name}: ${line}`);

  // Redis down: say so once per outage (and at growing intervals), retry with back-off, say when it is back
  let down = false;
  const connection = new Redis(url, workerRedisOptions(MAX_RECONNECT_DELAY_MS, (attempt, delay) => {
    if (!down || (attempt & (attempt - 1)) === 0) say(`Redis at ${safeUrl(url)} is unreachable; retrying in ${(delay / 1000).toFixed(1)}s (attempt ${attempt})`);
    down = true;
  }));
  connection.on('error', () => {}); // reported by the retry strategy above
  connection.on('ready', () => {
    if (down) say(`reconnected to Redis at ${safeUrl(url)}`);
    down = false;
  });

  const live = new Map<string, ChildProcess>();
  let stopping = false;

  const processor = async (job: Job<SweepJobData, SweepJobResult>, token?: string): Promise<SweepJobResult> => {
    const d = job.data;
    let plan: RunPlan;
    try {
      plan = planReusableRun(d.label, d.config, d.outDir);
    } catch (e) {
      // a directory holding another run, a bad config: retrying cannot help
      if (e instanceof UsageError) throw new UnrecoverableError(e.message);
      throw e;
    }
    const tag = `${job.id} (${d.label} on ${d.config.env})`;
    if (plan.mode === 'done') {
      say(`${tag}: ${d.outDir} already holds the finished run`);
      return resultOf(d.outDir, name);
    }
    say(`took ${tag}: ${plan.mode === 'resume' ? `resuming at iteration ${plan.done + 1}` : 'starting'} of ${plan.config.iterations} in ${d.outDir}`);
    const report = (p: SweepJobProgress): void => void job.updateProgress(p as unknown as object).catch(() => {}); // lost while Redis is down: the next one tells
    report({ iteration: plan.done, iterations: plan.config.iterations, returns: [], worker: name });
    const { child, exit } = forkTraining(plan, {
      onIteration: (rec) => {
        report({ iteration: rec.iteration + 1, iterations: plan.config.iterations, returns: rec.returns, worker: name });
        if (!f.quiet) {
          const post = rec.returns.length > 1 ? `  post ${fmt(rec.returns.at(-1))}` : '';
          say(`${d.label} on ${d.config.env}  it ${rec.iteration + 1}/${plan.config.iterations}  pre ${fmt(rec.returns[0])}${post}`);
        }
      },
      onPhase: () => {},
      onNotice: (line) => say(line),
    }, concurrency);
    live.set(job.id!, child);
    const r = await exit.finally(() => live.delete(job.id!));
    if (r.finished) {
      say(`finished ${tag}`);
      return resultOf(d.outDir, name);
    }
    if (stopping) {
      // stopped by SIGTERM / Ctrl-C: the job goes back to the queue, its checkpoint stays
      await job.moveToWait(token);
      say(`released ${tag}: its finished iterations are kept; another worker resumes it`);
      throw new WaitingError();
    }
    if (r.failure?.name === 'RunLockedError') {
      // another live process trains into the directory (a worker that lost its job's lock, e.g. while
      // Redis was away): try again later without spending an attempt
      say(`${tag}: ${r.failure.message}; trying again in ${stalledMs / 1000}s`);
      report({ iteration: plan.done, iterations: plan.config.iterations, returns: [], worker: name, note: r.failure.message });
      await job.moveToDelayed(Date.now() + stalledMs, token);
      throw new WaitingError();
    }
    const why = r.failure?.message ?? (r.stderr.trim().split('\n').at(-1) || `the training process exited with ${r.code ?? r.signal}`);
    say(`${tag} failed: ${why}`);
    if (r.failure?.usage) throw new UnrecoverableError(why);
    throw new Error(why);
  };

  const worker = new Worker<SweepJobData, SweepJobResult>(QUEUE_NAME, processor, {
    connection, concurrency, name, lockDuration: stalledMs, stalledInterval: stalledMs, maxStalledCount: MAX_STALLED,
  });
  let lastError = '';
  worker.on('error', (e: Error) => {
    // connection errors repeat while Redis is away: the retry strategy reports those
    if (down || e.message === lastError) return;
    lastError = e.message;
    say(`queue error: ${e.message}`);
  });
  worker.on('failed', (job, e) => {
    if (job && job.attemptsMade < (job.opts.attempts ?? 1) && !(e instanceof UnrecoverableError)) say(`${job.id}: attempt ${job.attemptsMade} failed; it goes back to the queue`);
  });

  const queue = f.untilEmpty ? new Queue(QUEUE_NAME, { connection }) : null;
  say(`waiting for jobs on ${safeUrl(url)} (${concurrency} at a time)`);

  await new Promise<void>((resolve) => {
    let timer: NodeJS.Timeout | null = null;
    const stop = (why: string): void => {
      if (stopping) return;
      stopping = true;
      if (timer) clearInterval(timer);
      if (live.size) say(`${why}: stopping ${live.size} run${live.size > 1 ? 's' : ''}; ${live.size > 1 ? 'their' : 'its'} last finished iteration is kept`);
      else say(`${why}: stopping`);
      const closing = worker.close();
      for (const c of live.values()) c.kill('SIGINT');
      closing.then(() => queue?.close()).then(() => connection.quit()).catch(() => connection.disconnect()).finally(() => {
        process.off('SIGTERM', onSignal);
        process.off('SIGINT', onSignal);
        execution.handlesSignals = false;
        resolve();
      });
    };
    const onSignal = (sig: NodeJS.Signals): void => {
      if (stopping) process.exit(130); // a second signal: at once
      stop(sig);
    };
    execution.handlesSignals = true;
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    if (queue) {
      // idle and nothing left for anyone (a stalled job counts as active until it is handed on)
      timer = setInterval(() => {
        if (live.size || down) return;
        queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized').then((c) => {
          if (Object.values(c).every((n) => n === 0) && !live.size) stop('the queue is empty');
        }, () => {});
      }, 1000);
    }
  });
}

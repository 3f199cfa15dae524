/**
 * Sweeps over Redis (BullMQ): what `metagrad sweep`, `metagrad worker` and `metagrad sweep status` share.
 * A sweep is one BullMQ job per run; a job's data is the run's resolved config and its run directory on
 * storage every worker reaches, its id is deterministic (env, algo, seed and a hash of the config and
 * directory), so enqueuing the same sweep twice adds nothing. Only these small messages cross the wire:
 * the logs and checkpoints stay in the run directories.
 */
import { createHash } from 'node:crypto';
import { Redis, type RedisOptions } from 'ioredis';
import { type TrainConfig, sameResultsKeys } from '@metagrad/rl';
import { UsageError } from './io.js';

/** The BullMQ queue every sweep's jobs go to (one Redis database can hold several sweeps: each job names its directory). */
export const QUEUE_NAME = 'metagrad-runs';

/** The data of one sweep job: what a worker needs to train the run. */
export interface SweepJobData {
  /** The progress display's name for the run ("promp s1"). */
  label: string;
  /** The run's resolved config. */
  config: TrainConfig;
  /** The run directory (absolute; on storage every worker reaches). */
  outDir: string;
  /** The sweep's directory (absolute): `sweep status --out` lists the jobs whose sweep it is. */
  sweep: string;
}

/** What a worker reports to a job after each finished iteration (BullMQ's job progress). */
export interface SweepJobProgress {
  /** Iterations finished. */
  iteration: number;
  /** Iterations of the run. */
  iterations: number;
  /** Average returns at inner steps 0 … K of the last finished iteration. */
  returns: number[];
  /** The worker training it: "host:pid". */
  worker: string;
  /** Why the job waits, when a worker put it back to try later (its run directory locked by another process). */
  note?: string;
}

/** What a finished job returns. */
export interface SweepJobResult {
  /** Iterations logged. */
  iterations: number;
  /** Average returns at inner steps 0 … K of the last iteration. */
  returns: number[];
  /** The worker that finished it ("host:pid"). */
  worker: string;
}

/** A JSON text of `v` with the keys of every object sorted, so equal values give equal text. */
function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v !== null && typeof v === 'object')
    return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Record<string, unknown>)[k])}`).join(',')}}`;
  return JSON.stringify(v);
}

/**
 * The job id of a run: `<env>.<algo>.s<seed>.<hash>`, the hash (12 hex digits of SHA-256) over the resolved
 * config and the run directory, so the same run enqueued again has the same id (BullMQ then adds nothing)
 * and the same config in another sweep directory is another job. The settings that change how a run
 * computes, never its numbers (`sameResultsKeys`: workers, threads, jit), are left out of the hash: with
 * other values of them it is the same run.
 */
export function sweepJobId(config: TrainConfig, outDir: string): string {
  const numbers = Object.fromEntries(Object.entries(config).filter(([k]) => !(sameResultsKeys as readonly string[]).includes(k)));
  const hash = createHash('sha256').update(canonicalJson({ config: numbers, outDir })).digest('hex').slice(0, 12);
  return `${config.env}.${config.algo}.s${config.seed}.${hash}`;
}

/** Checks `--queue`: a Redis URL (redis:// or rediss://, with host and optional port and database). Throws UsageError. */
export function checkQueueUrl(raw: string | undefined): string {
  if (raw === undefined) throw new UsageError('--queue is required: the Redis server of the sweep, e.g. redis://localhost:6379');
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`--queue must be a Redis URL like redis://localhost:6379, got '${raw}'`);
  }
  if ((url.protocol !== 'redis:' && url.protocol !== 'rediss:') || url.hostname === '')
    throw new UsageError(`--queue must be a Redis URL like redis://localhost:6379, got '${raw}'`);
  return raw;
}

/** The URL without its password, for messages. */
export function safeUrl(url: string): string {
  const u = new URL(url);
  if (u.password) u.password = '***';
  return u.toString().replace(/\/$/, '');
}

/**
 * Connects to Redis for a command that should fail at once when it is unreachable (`sweep`, `sweep
 * status`): one attempt, then an Error naming the server and the reason.
 */
export async function connectOnce(url: string): Promise<Redis> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 5000, retryStrategy: () => null, enableOfflineQueue: false });
  let lastError = '';
  redis.on('error', (e: Error) => (lastError = e.message)); // reported below, not as an unhandled 'error' event
  try {
    await redis.connect();
  } catch (e) {
    redis.disconnect();
    throw new Error(`cannot reach Redis at ${safeUrl(url)} (${lastError || (e as Error).message}); start it, or check --queue`);
  }
  return redis;
}

/**
 * Redis options for a long-lived worker: it never gives up on a request and reconnects with back-off
 * (0.25 s doubling to at most `maxDelayMs`), calling `onRetry` with the attempt and the delay.
 */
export function workerRedisOptions(maxDelayMs: number, onRetry: (attempt: number, delayMs: number) => void): RedisOptions {
  return {
    maxRetriesPerRequest: null,
    retryStrategy: (times: number) => {
      const delay = Math.min(250 * 2 ** Math.min(times - 1, 16), maxDelayMs);
      onRetry(times, delay);
      return delay;
    },
  };
}

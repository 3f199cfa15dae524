/**
 * The run directory: the one module that knows its files and their formats. A run directory holds
 *
 * - config.json: the resolved TrainConfig, plus `meta` (the metagrad packages' versions, the git commit
 *   when the code runs from a checkout, the Node version and the matmul backend report);
 * - log.jsonl: one IterationRecord per line; log.csv: the same as a table (returns as return_0 … return_K);
 * - checkpoint.json: the trainer's Checkpoint after the last logged iteration;
 * - eval.json, written by `metagrad eval`.
 *
 * Every file is written atomically (a temporary file renamed over it) or appended line by line, the
 * logs before the checkpoint, so a run killed at any moment resumes from its last checkpoint to exactly
 * the logs and checkpoint of an unbroken run. `trainInDir` is the trainer writing into a run directory.
 */
import { execFileSync } from 'node:child_process';
import {
  accessSync, appendFileSync, constants, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, utimesSync, writeFileSync, realpathSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { backendReport, type BackendReport } from '@metagrad/autograd';
import {
  type Checkpoint, type ConfigInput, type IterationRecord, type TrainConfig, type TrainHooks, ConfigError, checkCheckpoint, resolveConfig, sameResultsKeys, train,
} from '@metagrad/rl';
import { UsageError } from './io.js';

/** The files of a run directory. */
export const RUN_FILES = {
  /** The resolved TrainConfig with its `meta` (RunMeta). */
  config: 'config.json',
  /** One IterationRecord per line. */
  log: 'log.jsonl',
  /** The same records as a table. */
  csv: 'log.csv',
  /** The trainer's Checkpoint after the last logged iteration. */
  checkpoint: 'checkpoint.json',
  /** What `metagrad eval` wrote. */
  eval: 'eval.json',
  /** Held while a process trains into the directory: its pid, host and start time (JSON). */
  lock: 'run.lock',
} as const;

/** What config.json records about the code and machine that ran (its `meta` key). */
export interface RunMeta {
  /** Versions of the packages that trained: metagrad (the CLI) and the three libraries. */
  versions: Record<string, string>;
  /** The git commit of the metagrad checkout the CLI ran from ("<sha>" or "<sha>-dirty"), or null when installed from npm. */
  commit: string | null;
  /** process.version. */
  node: string;
  /** The matmul backend report at the start of the run (which kernels, which gpu.js mode). */
  backend: BackendReport;
  /** When the run directory was created (ISO 8601). */
  created: string;
}

const here = fileURLToPath(import.meta.url);

/** The commit of the checkout this module runs from, or null (installed under node_modules, or no git). */
function gitCommit(): string | null {
  let dir: string;
  try {
    dir = dirname(realpathSync(here));
  } catch {
    return null;
  }
  if (dir.split(/[\\/]/).includes('node_modules')) return null;
  try {
    const opts = { cwd: dir, encoding: 'utf8' as const, stdio: ['ignore', 'pipe', 'ignore'] as ['ignore', 'pipe', 'ignore'], timeout: 5000 };
    const sha = execFileSync('git', ['rev-parse', 'HEAD'], opts).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], opts).trim() !== '';
    return /^[0-9a-f]{40}$/.test(sha) ? `${sha}${dirty ? '-dirty' : ''}` : null;
  } catch {
    return null;
  }
}

/** Versions of metagrad and its libraries, read from their package.json files. */
export function packageVersions(): Record<string, string> {
  const req = createRequire(import.meta.url);
  const out: Record<string, string> = {};
  const read = (spec: string): string => (JSON.parse(readFileSync(spec, 'utf8')) as { version: string }).version;
  out.metagrad = read(join(dirname(here), '..', 'package.json'));
  for (const name of ['@metagrad/autograd', '@metagrad/envs', '@metagrad/rl']) out[name] = read(req.resolve(`${name}/package.json`));
  return out;
}

/** The metadata of a run started now. */
export function runMeta(): RunMeta {
  return { versions: packageVersions(), commit: gitCommit(), node: process.version, backend: backendReport(), created: new Date().toISOString() };
}

/** A config as read from a file, without the run metadata (a run's config.json works as --config too). */
export function withoutMeta(raw: Record<string, unknown>): Record<string, unknown> {
  const { meta: _meta, $schema: _schema, ...rest } = raw;
  return rest;
}

/** Writes `text` to `path` atomically: a temporary file in the same directory, renamed over it. */
export function writeFileAtomic(path: string, text: string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, text);
  faultPoint(`before-rename:${path.slice(path.lastIndexOf('/') + 1)}`);
  renameSync(tmp, path);
}

/**
 * Fault injection for the crash tests: when METAGRAD_FAULT names this point (e.g. 'after-log:2', the
 * second time the log is appended to; 'before-rename:checkpoint.json:1'), the process kills itself with
 * SIGKILL there, as a power cut or the OOM killer would; with 'stop@' in front ('stop@after-checkpoint:2')
 * it stops itself (SIGSTOP) there instead, a frozen machine that a test then kills at a known point. A
 * no-op unless that variable is set.
 */
const faultCounts = new Map<string, number>();
function faultPoint(name: string): void {
  const value = process.env.METAGRAD_FAULT;
  if (!value) return;
  const stop = value.startsWith('stop@');
  const want = stop ? value.slice(5) : value;
  const n = (faultCounts.get(name) ?? 0) + 1;
  faultCounts.set(name, n);
  if (want === `${name}:${n}` || (want === name && n === 1)) process.kill(process.pid, stop ? 'SIGSTOP' : 'SIGKILL');
}

/** The CSV header for K inner steps. */
export function csvHeader(K: number): string {
  const ret = Array.from({ length: K + 1 }, (_, k) => `return_${k}`);
  return [
    'iteration', 'env_steps', ...ret, 'loss_before', 'loss_after', 'inner_kl', 'outer_kl', 'policy_std', 'diverged', 'sim_warnings',
    'time_sampling', 'time_processing', 'time_optimization', 'time_total',
  ].join(',');
}

/** One CSV row of a record. */
export function csvRow(r: IterationRecord): string {
  const t = r.timings;
  const diverged = (r.diverged ?? []).reduce((a, b) => a + b, 0); // absent in logs written before 0.2.0
  return [
    r.iteration, r.envSteps, ...r.returns, r.lossBefore, r.lossAfter, r.innerKL, r.outerKL, r.policyStd, diverged, r.simWarnings ?? 0,
    t.sampling, t.processing, t.optimization, t.total,
  ].map(String).join(',');
}

/** A run directory must exist and hold config.json (what `train` writes first); throws a UsageError naming what is wrong. */
export function checkRunDir(dir: string): void {
  if (!existsSync(dir)) throw new UsageError(`run directory '${dir}' does not exist`);
  if (!statSync(dir).isDirectory()) throw new UsageError(`'${dir}' is not a directory`);
  if (!existsSync(join(dir, RUN_FILES.config))) throw new UsageError(`'${dir}' is not a run directory (no ${RUN_FILES.config})`);
}

/**
 * Whether `dir` holds a run with something to keep: a checkpoint. Log rows without a checkpoint after
 * them (a run killed between the two writes) are discarded when the run continues, so a directory whose
 * run stopped before its first checkpoint holds nothing to keep and may be started again.
 */
export function hasRun(dir: string): boolean {
  return existsSync(join(dir, RUN_FILES.checkpoint));
}

/** Throws a UsageError when another live process holds `dir`'s lock. */
export function checkUnlocked(dir: string): void {
  const h = lockHolder(dir);
  if (h) throw new UsageError(lockedMessage(dir, h));
}

/** Throws a UsageError unless `dir` is a directory this process can create or write (not a file, not read-only). */
export function checkWritableDir(dir: string): void {
  if (existsSync(dir)) {
    if (!statSync(dir).isDirectory()) throw new UsageError(`'${dir}' is a file, not a directory; choose another --out`);
    try {
      accessSync(dir, constants.W_OK);
    } catch {
      throw new UsageError(`cannot write to '${dir}' (permission denied); choose another --out`);
    }
    return;
  }
  let parent = dirname(dir);
  while (!existsSync(parent) && dirname(parent) !== parent) parent = dirname(parent);
  if (existsSync(parent) && !statSync(parent).isDirectory()) throw new UsageError(`cannot create '${dir}': '${parent}' is a file`);
  try {
    accessSync(parent, constants.W_OK);
  } catch {
    throw new UsageError(`cannot create '${dir}': '${parent}' is not writable (permission denied)`);
  }
}

/** Whether `dir` holds a run that stopped before its first iteration finished (config.json, no checkpoint). */
export function isUnstartedRun(dir: string): boolean {
  return existsSync(join(dir, RUN_FILES.config)) && !hasRun(dir);
}

/**
 * True when `dir` does not exist, is empty, or holds nothing but a stale lock (a run killed after taking
 * its lock, before it wrote anything else: the same command starts it again).
 */
export function isFreshDir(dir: string): boolean {
  if (!existsSync(dir)) return true;
  const files = readdirSync(dir);
  return files.length === 0 || (files.length === 1 && files[0] === RUN_FILES.lock && lockHolder(dir) === null);
}

/**
 * Settings added after runs were first written, with the value every run written before them was
 * trained with: a config.json without the key reads as that value, so old runs resume bit for bit.
 */
export const LEGACY_SETTINGS: Readonly<Partial<TrainConfig>> = Object.freeze({ sampling: 'episodes' });

/** The settings of LEGACY_SETTINGS that a run's config.json lacks. */
function legacyKeys(raw: Record<string, unknown>): (keyof TrainConfig)[] {
  return (Object.keys(LEGACY_SETTINGS) as (keyof TrainConfig)[]).filter((k) => !(k in raw));
}

/** Reads and validates the TrainConfig of a run directory (its `meta` is left out; settings it predates read as LEGACY_SETTINGS). */
export function readRunConfig(dir: string): TrainConfig {
  const path = join(dir, RUN_FILES.config);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new ConfigError(`cannot read ${path}: ${(e as Error).message}`);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError(`${path} must hold a JSON object`);
  const legacy = Object.fromEntries(legacyKeys(raw as Record<string, unknown>).map((k) => [k, LEGACY_SETTINGS[k]]));
  return resolveConfig({ ...withoutMeta(raw as Record<string, unknown>), ...legacy } as ConfigInput);
}

/** The `meta` of a run's config.json, or null for runs written before it was recorded. */
export function readRunMeta(dir: string): RunMeta | null {
  const raw = JSON.parse(readFileSync(join(dir, RUN_FILES.config), 'utf8')) as { meta?: RunMeta };
  return raw.meta ?? null;
}

/** Reads checkpoint.json of a run directory; throws naming the problem. */
export function readCheckpoint(dir: string, config?: { algo: string; env: string }): Checkpoint {
  const path = join(dir, RUN_FILES.checkpoint);
  let c: unknown;
  try {
    c = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`cannot read ${path}: ${(e as Error).message}`);
  }
  const k = c as Partial<Checkpoint> | null;
  try {
    return checkCheckpoint(c, config ?? { algo: String(k?.algo), env: String(k?.env) });
  } catch (e) {
    throw new Error(`${path}: ${(e as Error).message}`);
  }
}

/** A damaged or incomplete log.jsonl, named by file and line. */
export class RunLogError extends Error {
  /** 'RunLogError'. */
  override readonly name = 'RunLogError';
}

/**
 * The first `n` records of log.jsonl, checked: each line a JSON object whose `iteration` is its index.
 * Lines after them (a crash between log and checkpoint leaves one, possibly cut short) are ignored.
 * Throws RunLogError naming the file and line of the first bad or missing record; with `repair`, keeps
 * the valid lines before it instead and reports the iterations that are missing.
 */
function checkedLog(dir: string, n: number, repair: boolean): { lines: string[]; missing: number } {
  const path = join(dir, RUN_FILES.log);
  const raw = existsSync(path) ? readFileSync(path, 'utf8').split('\n') : [];
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const line = raw[i];
    let problem: string | null = null;
    if (line === undefined || line.trim() === '') problem = `ends after ${i} iteration${i === 1 ? '' : 's'}, but the checkpoint is after iteration ${n}`;
    else {
      let rec: unknown;
      try {
        rec = JSON.parse(line);
      } catch (e) {
        problem = `line ${i + 1} is not valid JSON (${(e as Error).message})`;
      }
      if (problem === null && (rec === null || typeof rec !== 'object' || (rec as { iteration?: unknown }).iteration !== i))
        problem = `line ${i + 1} is not the record of iteration ${i}`;
    }
    if (problem !== null) {
      if (repair) return { lines, missing: n - i };
      throw new RunLogError(`${path}: ${problem}; --repair-log keeps its first ${i} valid record${i === 1 ? '' : 's'} and continues after the checkpoint (iterations ${i}–${n - 1} then have no record)`);
    }
    lines.push(line!);
  }
  return { lines, missing: 0 };
}

/** Rewrites log.jsonl with `lines` and log.csv from them (K inner steps). */
function rewriteLogs(dir: string, lines: readonly string[], K: number): void {
  writeFileAtomic(join(dir, RUN_FILES.log), lines.map((l) => `${l}\n`).join(''));
  const rows = lines.map((l) => csvRow(JSON.parse(l) as IterationRecord));
  writeFileAtomic(join(dir, RUN_FILES.csv), [csvHeader(K), ...rows].map((l) => `${l}\n`).join(''));
}

/** Removes temporary files a killed writer left (`*.tmp-<pid>`); only called with the lock held. */
function removeTempFiles(dir: string): void {
  for (const f of readdirSync(dir)) if (/\.tmp-\d+$/.test(f)) rmSync(join(dir, f), { force: true });
}

/** Who holds a run directory's lock. */
export interface RunLockHolder {
  /** Process id. */
  pid: number;
  /** os.hostname() of its machine. */
  host: string;
  /** When it took the lock (ISO 8601). */
  since: string;
}

/** A run directory that another live process is training into. */
export class RunLockedError extends Error {
  /** 'RunLockedError'. */
  override readonly name = 'RunLockedError';
}

/**
 * Whether process `pid` on this host is running. A zombie is not: a trainer killed together with its
 * supervisor is reparented to PID 1, and in a container whose PID 1 does not reap children it stays a
 * zombie, which `kill(pid, 0)` still finds (seen: a stale lock held by a defunct process).
 */
const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    // /proc/<pid>/stat: "pid (comm) S …", the state after the last ')'
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true; // no /proc (not Linux): kill(pid, 0) is all there is
  }
};

/**
 * How often a lock's holder touches the lock file (its modification time is the holder's sign of life):
 * a timer, and after every iteration.
 */
export const LOCK_HEARTBEAT_MS = 15_000;
/**
 * A lock taken on another host (a worker on another machine, or in another container, over a shared
 * folder) whose file has not been touched for this long is stale: its holder is gone. Generous, since an
 * optimization step can hold the holder's event loop for a while and clocks on two machines differ.
 */
export const LOCK_STALE_MS = 5 * 60_000;

/**
 * The live holder of `dir`'s lock, or null when it is free or stale: its process on this host is gone
 * (e.g. killed with SIGKILL), or, for a lock taken on another host, whose pid cannot be checked, its
 * holder has not touched it for {@link LOCK_STALE_MS}.
 */
export function lockHolder(dir: string, now = Date.now()): RunLockHolder | null {
  const path = join(dir, RUN_FILES.lock);
  let h: RunLockHolder;
  let touched: number;
  try {
    h = JSON.parse(readFileSync(path, 'utf8')) as RunLockHolder;
    touched = statSync(path).mtimeMs;
  } catch {
    return null; // no lock, or one cut short by a crash while it was written
  }
  if (h.host === hostname()) return Number.isInteger(h.pid) && isAlive(h.pid) ? h : null;
  return now - touched < LOCK_STALE_MS ? h : null;
}

/** The message for a locked directory. */
export function lockedMessage(dir: string, h: RunLockHolder): string {
  const elsewhere = h.host !== hostname() ? ` (another host: its lock counts as stale ${LOCK_STALE_MS / 60_000} minutes after its holder last touched it)` : '';
  return `'${dir}' is in use: process ${h.pid} on ${h.host} has been training into it since ${h.since}${elsewhere}; wait for it to finish, or if that process is gone, remove ${join(dir, RUN_FILES.lock)}`;
}

/** A lock taken by {@link lockRunDir}: `release()` gives it up, `touch()` tells others its holder is alive. */
export interface RunLock {
  /** Removes the lock file if this process still holds it; stops the heartbeat. */
  release(): void;
  /** Sets the lock file's modification time to now (also done every {@link LOCK_HEARTBEAT_MS} by a timer). */
  touch(): void;
}

/**
 * Takes the exclusive lock of run directory `dir` for this process (a stale lock, left by a killed
 * process, is taken over); throws RunLockedError naming the holder otherwise. While held, the lock file is
 * touched every {@link LOCK_HEARTBEAT_MS}, so that processes on other hosts see its holder is alive.
 */
export function lockRunDir(dir: string): RunLock {
  const path = join(dir, RUN_FILES.lock);
  const me: RunLockHolder = { pid: process.pid, host: hostname(), since: new Date().toISOString() };
  let taken = false;
  for (let attempt = 0; attempt < 2 && !taken; attempt++) {
    try {
      writeFileSync(path, JSON.stringify(me), { flag: 'wx' }); // exclusive: fails if the file exists
      taken = true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const h = lockHolder(dir);
      if (h) throw new RunLockedError(lockedMessage(dir, h));
      rmSync(path, { force: true }); // stale: its process is gone
    }
  }
  if (!taken) throw new RunLockedError(`'${dir}': another process took its lock at the same moment`);
  const touch = (): void => {
    try {
      const now = new Date();
      utimesSync(path, now, now);
    } catch {
      // removed meanwhile (by hand): nothing to keep alive
    }
  };
  const heartbeat = setInterval(touch, LOCK_HEARTBEAT_MS);
  heartbeat.unref();
  return {
    touch,
    release: () => {
      clearInterval(heartbeat);
      try {
        const h = JSON.parse(readFileSync(path, 'utf8')) as RunLockHolder;
        if (h.pid === me.pid && h.host === me.host) rmSync(path, { force: true });
      } catch {
        // already gone
      }
    },
  };
}

/** Removes `dir`'s lock if it names process `pid` on this host (a supervisor cleaning up after a killed child). */
export function releaseStaleLock(dir: string, pid: number): void {
  try {
    const h = JSON.parse(readFileSync(join(dir, RUN_FILES.lock), 'utf8')) as RunLockHolder;
    if (h.pid === pid && h.host === hostname()) rmSync(join(dir, RUN_FILES.lock), { force: true });
  } catch {
    // no lock
  }
}

/** Options of {@link trainInDir}. */
export interface TrainInDirOptions {
  /** Continue the run saved in the directory from its checkpoint (without one yet, it starts from the beginning). */
  resume?: boolean;
  /** With resume: a damaged or incomplete log.jsonl keeps its valid records instead of stopping (see RunLogError). */
  repairLog?: boolean;
  /** Progress hooks (each iteration's record and checkpoint, after they are on disk). */
  hooks?: TrainHooks;
  /** Stops between iterations. */
  signal?: AbortSignal;
  /** Called with a line worth telling the user (a restart, a repaired log). */
  notice?: (line: string) => void;
}

/**
 * Trains `config` into run directory `dir`, holding its lock (RunLockedError when another live process
 * trains there). A fresh run needs a directory without a run to keep (one that stopped before its
 * first iteration finished is started again); with `resume`, the run saved there continues from its
 * checkpoint (its config must equal `config` except for iterations and the settings that change how it
 * computes, never its numbers: workers, threads, jit; the log is checked
 * first, RunLogError naming a damaged line). Writes config.json with the run's metadata, then after
 * every iteration appends the logs and replaces the checkpoint, so a process killed at any moment leaves
 * a directory that resumes to exactly an unbroken run's files. Returns the records trained here.
 */
export async function trainInDir(config: TrainConfig, dir: string, opts: TrainInDirOptions = {}): Promise<IterationRecord[]> {
  let cfg = resolveConfig(config);
  mkdirSync(dir, { recursive: true });
  const lock = lockRunDir(dir);
  try {
    removeTempFiles(dir);
    const ckptPath = join(dir, RUN_FILES.checkpoint);
    let from: Checkpoint | undefined;
    if (opts.resume && existsSync(ckptPath)) {
      const saved = readRunConfig(dir);
      // a run written before a setting existed continues as it was trained
      const raw = JSON.parse(readFileSync(join(dir, RUN_FILES.config), 'utf8')) as Record<string, unknown>;
      for (const k of legacyKeys(raw))
        if (cfg[k] !== saved[k]) {
          opts.notice?.(`${dir} was written before the setting ${k} existed: it continues with ${k} ${JSON.stringify(saved[k])}, as it was trained`);
          cfg = { ...cfg, [k]: saved[k] };
        }
      const diff = configDiff(saved as unknown as Record<string, unknown>, cfg);
      if (diff.length)
        throw new ConfigError(`cannot resume ${dir}: the config differs from the saved one in ${diff.map((k) => `${k} (saved ${JSON.stringify((saved as unknown as Record<string, unknown>)[k])}, given ${JSON.stringify((cfg as unknown as Record<string, unknown>)[k])})`).join(', ')}; only iterations and the settings that do not change results (${sameResultsKeys.join(', ')}) may change`);
      from = readCheckpoint(dir, cfg);
    } else if (!opts.resume && hasRun(dir)) {
      throw new ConfigError(`${dir} already holds a run; pass resume: true to continue it, or choose another directory`);
    }
    const n = from?.iteration ?? 0;
    const log = checkedLog(dir, n, opts.repairLog === true);
    if (log.missing > 0) opts.notice?.(`repaired ${join(dir, RUN_FILES.log)}: kept ${log.lines.length} valid records; iterations ${log.lines.length}–${n - 1} have no record`);
    const meta = from && existsSync(join(dir, RUN_FILES.config)) ? readRunMeta(dir) : null;
    writeFileAtomic(join(dir, RUN_FILES.config), `${JSON.stringify({ ...cfg, meta: meta ?? runMeta() }, null, 2)}\n`);
    rewriteLogs(dir, log.lines, cfg.numInnerGradSteps);
    const { records } = await train(cfg, {
      ...(from ? { from } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
      hooks: {
        ...opts.hooks,
        onIteration: async (rec, checkpoint) => {
          appendFileSync(join(dir, RUN_FILES.log), `${JSON.stringify(rec)}\n`);
          appendFileSync(join(dir, RUN_FILES.csv), `${csvRow(rec)}\n`);
          faultPoint('after-log');
          writeFileAtomic(ckptPath, JSON.stringify(checkpoint));
          faultPoint('after-checkpoint');
          lock.touch();
          await opts.hooks?.onIteration?.(rec, checkpoint);
        },
      },
    });
    return records;
  } finally {
    lock.release();
  }
}

/**
 * The settings a resumed run may change: iterations (to extend it), and those that change how it
 * computes, never its numbers (`sameResultsKeys`: workers, threads, jit).
 */
export const RESUMABLE_KEYS: readonly (keyof TrainConfig)[] = Object.freeze(['iterations', ...sameResultsKeys]);

/**
 * The keys of two configs that differ, ignoring those a resumed run may change (`RESUMABLE_KEYS`): iterations, and the
 * settings that change how a run computes, never its numbers (`sameResultsKeys`: workers, threads, jit).
 */
export function configDiff(saved: Record<string, unknown>, wanted: TrainConfig): string[] {
  return Object.keys(wanted).filter((k) => !(RESUMABLE_KEYS as readonly string[]).includes(k) && JSON.stringify(saved[k]) !== JSON.stringify((wanted as unknown as Record<string, unknown>)[k]));
}

/** The fields of one logged iteration that the reports use. */
export interface LoggedIteration {
  /** 0-based iteration index. */
  iteration: number;
  /** Environment steps sampled so far (cumulative). */
  envSteps: number;
  /** Average return at inner step 0 (pre-update) … K (post-update). */
  returns: number[];
  /** Mean σ of the pre-update policy after the iteration's update (absent in logs written before it was logged). */
  policyStd?: number;
  /** Wall time of the iteration in seconds (sampling, processing and update). */
  seconds?: number;
  /** The record's numeric diagnostics (log.jsonl only): the algorithm's, and metaGradRelStd / metaGradStd where measured. */
  extra?: Record<string, number>;
}

/** One run directory, read back. */
export interface RunLog {
  /** The run directory. */
  dir: string;
  /** The run's algorithm (config.json). */
  algo: string;
  /** The run's env. */
  env: string;
  /** The run's seed (0 when config.json lacks it). */
  seed: number;
  /** The configured number of iterations (records.length < iterations for a stopped run). */
  iterations: number;
  /** config.json without its `meta` (not validated). */
  config: Record<string, unknown>;
  /** The logged iterations, in order. */
  records: LoggedIteration[];
}

/** An error in the input files (missing run, malformed log), with a one-line message. */
export class RunReadError extends Error {
  /** 'RunReadError'. */
  override readonly name = 'RunReadError';
}

const isRunDir = (dir: string): boolean => existsSync(join(dir, RUN_FILES.config));

/**
 * Expands the paths given to `plot`: a run directory (holding config.json) stands for itself; any other
 * directory stands for the run directories below it (searched three levels deep, sorted: a
 * `compare --envs` directory holds them in <env>/runs/<run>).
 */
export function findRunDirs(paths: readonly string[]): string[] {
  const out: string[] = [];
  for (const p of paths) {
    if (!existsSync(p)) throw new RunReadError(`'${p}' does not exist`);
    if (!statSync(p).isDirectory()) throw new RunReadError(`'${p}' is not a directory`);
    if (isRunDir(p)) {
      out.push(p);
      continue;
    }
    const found: string[] = [];
    const walk = (d: string, depth: number): void => {
      for (const name of readdirSync(d).sort()) {
        const sub = join(d, name);
        if (!statSync(sub).isDirectory()) continue;
        if (isRunDir(sub)) found.push(sub);
        else if (depth > 1) walk(sub, depth - 1);
      }
    };
    walk(p, 3);
    if (!found.length) throw new RunReadError(`'${p}' is not a run directory (no config.json) and holds none`);
    out.push(...found);
  }
  return [...new Set(out)];
}

function parseCsv(text: string): LoggedIteration[] {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  if (!lines.length) return [];
  const head = lines[0]!.split(',').map((s) => s.trim());
  const col = (name: string): number => head.indexOf(name);
  const ret = head.map((h, i) => [h, i] as const).filter(([h]) => /^return_\d+$/.test(h)).sort((a, b) => Number(a[0].slice(7)) - Number(b[0].slice(7)));
  if (col('iteration') < 0 || col('env_steps') < 0 || !ret.length) throw new RunReadError('log.csv lacks the iteration, env_steps or return_k columns');
  return lines.slice(1).map((l) => {
    const c = l.split(',');
    const rec: LoggedIteration = { iteration: Number(c[col('iteration')]), envSteps: Number(c[col('env_steps')]), returns: ret.map(([, i]) => Number(c[i])) };
    if (col('policy_std') >= 0) rec.policyStd = Number(c[col('policy_std')]);
    if (col('time_total') >= 0) rec.seconds = Number(c[col('time_total')]);
    return rec;
  });
}

function checkRecord(r: unknown, where: string): LoggedIteration {
  const o = r as Partial<LoggedIteration>;
  if (!o || typeof o !== 'object' || typeof o.iteration !== 'number' || typeof o.envSteps !== 'number' || !Array.isArray(o.returns) || !o.returns.length)
    throw new RunReadError(`${where}: a record needs iteration, envSteps and returns[]`);
  const rec: LoggedIteration = { iteration: o.iteration, envSteps: o.envSteps, returns: o.returns.map(Number) };
  if (typeof o.policyStd === 'number') rec.policyStd = o.policyStd;
  const t = (r as { timings?: { total?: unknown } }).timings?.total;
  if (typeof t === 'number') rec.seconds = t;
  const extra = (r as { extra?: unknown }).extra;
  if (extra && typeof extra === 'object') {
    const nums = Object.entries(extra as Record<string, unknown>).filter((e): e is [string, number] => typeof e[1] === 'number');
    if (nums.length) rec.extra = Object.fromEntries(nums);
  }
  return rec;
}

/** Reads the iterations logged in a run directory (log.jsonl, else log.csv); [] when none yet. */
export function readRecords(dir: string): LoggedIteration[] {
  const jsonl = join(dir, RUN_FILES.log);
  if (existsSync(jsonl)) {
    const lines = readFileSync(jsonl, 'utf8').split('\n');
    const recs: LoggedIteration[] = [];
    lines.forEach((l, i) => {
      if (l.trim() === '') return;
      let v: unknown;
      try {
        v = JSON.parse(l);
      } catch {
        // A run killed mid-write leaves a partial last line: ignore that one only.
        if (i >= lines.length - 2) return;
        throw new RunReadError(`${jsonl}:${i + 1} is not valid JSON`);
      }
      recs.push(checkRecord(v, `${jsonl}:${i + 1}`));
    });
    return recs;
  }
  const csv = join(dir, RUN_FILES.csv);
  return existsSync(csv) ? parseCsv(readFileSync(csv, 'utf8')) : [];
}

/** Reads a run directory: its config.json (algo, env, seed, iterations) and its logged iterations. */
export function readRun(dir: string): RunLog {
  if (!existsSync(dir)) throw new RunReadError(`run directory '${dir}' does not exist`);
  const cfgPath = join(dir, RUN_FILES.config);
  if (!existsSync(cfgPath)) throw new RunReadError(`'${dir}' is not a run directory (no config.json)`);
  let config: Record<string, unknown>;
  try {
    config = withoutMeta(JSON.parse(readFileSync(cfgPath, 'utf8')) as Record<string, unknown>);
  } catch (e) {
    throw new RunReadError(`${cfgPath} is not valid JSON: ${(e as Error).message}`);
  }
  if (typeof config.algo !== 'string' || typeof config.env !== 'string') throw new RunReadError(`${cfgPath} lacks algo or env`);
  return {
    dir, algo: config.algo, env: config.env, seed: Number(config.seed ?? 0), iterations: Number(config.iterations ?? NaN), config,
    records: readRecords(dir),
  };
}


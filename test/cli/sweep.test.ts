/**
 * Sweeps on Redis (BullMQ): `metagrad sweep` enqueues, `metagrad worker` processes (the real executable
 * from its TypeScript sources) train, `metagrad sweep status` reports. Each test file starts its own
 * redis-server on a free loopback port, without persistence. Checked: 4 tiny point-corner runs through 2
 * workers end with the logs and checkpoints `metagrad train` writes; enqueuing twice adds nothing; a
 * failing run is marked failed with its error while the sweep goes on; a worker killed with SIGKILL
 * mid-run: another one finishes the run to the unbroken run's files; SIGTERM mid-run puts the job back;
 * Redis stopped and restarted while a worker waits: it reconnects and takes the next sweep. Skipped when
 * redis-server is not installed, unless METAGRAD_EXPECT_REDIS=1 (CI) makes it required.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LOCK_STALE_MS, RUN_FILES } from 'metagrad';
import { runInProcess as cli, runSnapshot as snapshot } from './helpers.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BOOT = new URL('../../packages/cli/src/ts-boot.mjs', import.meta.url).href;
const MAIN = join(ROOT, 'packages/cli/src/main.ts');

/** redis-server on PATH (or Debian's path), or null. */
function findRedis(): string | null {
  try {
    return execFileSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' }).trim() || null;
  } catch {
    return existsSync('/usr/bin/redis-server') ? '/usr/bin/redis-server' : null;
  }
}
const REDIS = findRedis();
const EXPECT = process.env.METAGRAD_EXPECT_REDIS === '1';
if (!REDIS && !EXPECT) console.warn('sweep tests skipped: redis-server is not installed (apt-get install redis-server; METAGRAD_EXPECT_REDIS=1 makes them required)');

/** The tiny training settings of every run here (point-corner, 4 tasks × 4 rollouts × 20 steps, hidden 16). */
const SHAPE = ['--meta-batch-size', '4', '--rollouts-per-task', '4', '--horizon', '20', '--hidden', '16'];

const root = mkdtempSync(join(tmpdir(), 'metagrad-sweep-'));
const started: ChildProcess[] = [];

/** A free TCP port on the loopback interface. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** Starts redis-server on `port` (no persistence); resolves when it accepts connections. */
function startRedis(port: number): Promise<ChildProcess> {
  const child = spawn(REDIS!, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] });
  started.push(child);
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`redis-server did not start: ${out}`)), 10_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (/Ready to accept connections/.test(out)) {
        clearTimeout(timer);
        resolve(child);
      }
    });
    child.once('exit', (code) => reject(new Error(`redis-server exited (${code}): ${out}`)));
  });
}

/** Stops a process and waits for it to exit. */
function stop(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill(signal);
  });
}

interface Proc {
  child: ChildProcess;
  /** stdout and stderr so far. */
  output: () => string;
  /** Resolves when `re` appears in the output. */
  waitFor: (re: RegExp, ms?: number) => Promise<void>;
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts the `metagrad` executable from its sources. */
function metagrad(args: readonly string[], env: Record<string, string> = {}): Proc {
  const child = spawn(process.execPath, ['--import', BOOT, MAIN, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  started.push(child);
  let out = '';
  const waiters: { re: RegExp; ok: () => void }[] = [];
  const check = (): void => {
    for (const w of [...waiters]) if (w.re.test(out)) {
      waiters.splice(waiters.indexOf(w), 1);
      w.ok();
    }
  };
  const append = (d: Buffer): void => {
    out += d.toString();
    check();
  };
  child.stdout!.on('data', append);
  child.stderr!.on('data', append);
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return {
    child, done, output: () => out,
    waitFor: (re, ms = 60_000) => new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${re} in:\n${out}`)), ms);
      waiters.push({ re, ok: () => (clearTimeout(timer), resolve()) });
      check();
    }),
  };
}

/** The pid of a child of `parent` once it is stopped (SIGSTOP; state T in /proc), waiting up to 60 s. */
async function stoppedChild(parent: number): Promise<number> {
  const t0 = Date.now();
  while (Date.now() - t0 < 60_000) {
    for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8'); // "pid (comm) state ppid ..."
        const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        if (Number(ppid) === parent && state === 'T') return Number(pid);
      } catch {
        // the process ended while we looked
      }
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no stopped child of ${parent} within 60 s`);
}

/** The same run trained by `metagrad train` (in-process) into `dir`. */
async function trainReference(dir: string, algo: string, seed: number, iterations: number): Promise<ReturnType<typeof snapshot>> {
  const r = await cli('train', '--algo', algo, '--env', 'point-corner', ...SHAPE, '--iterations', String(iterations), '--seed', String(seed), '--out', dir, '-q');
  expect(r.code, r.err).toBe(0);
  return snapshot(dir);
}

interface StatusRow { id: string; run: string; state: string; iteration: number; iterations: number; worker: string | null; error: string | null; dir: string; attempts: number }

/** `sweep status --json` of sweep `out`. */
async function status(queue: string, out: string): Promise<StatusRow[]> {
  const r = await cli('sweep', 'status', '--queue', queue, '--out', out, '--json');
  expect(r.code, r.err).toBe(0);
  return (JSON.parse(r.out) as { rows: StatusRow[] }).rows;
}

let redis: ChildProcess;
let port: number;
let queue: string;

afterAll(async () => {
  await Promise.all(started.map((c) => stop(c, 'SIGKILL')));
  rmSync(root, { recursive: true, force: true });
});

describe.skipIf(!REDIS && !EXPECT)(`metagrad sweep and worker on Redis${!REDIS && !EXPECT ? ' — skipped here: redis-server is not installed' : ''}`, () => {
  beforeAll(async () => {
    expect(REDIS, 'METAGRAD_EXPECT_REDIS=1 but redis-server is not installed').not.toBeNull();
    port = await freePort();
    redis = await startRedis(port);
    queue = `redis://127.0.0.1:${port}`;
  });

  it('4 tiny point-corner runs through 2 worker processes: each run equals `metagrad train`; enqueuing the sweep again adds nothing', async () => {
    const out = join(root, 'four');
    const args = ['sweep', '--queue', queue, '--out', out, '--env', 'point-corner', '--algos', 'promp,lvc-vpg', '--seeds', '2', ...SHAPE, '--iterations', '2'];
    const first = await cli(...args);
    expect(first.code, first.err).toBe(0);
    expect(first.out.trim().split('\n').map((l) => l.split('  ')[1])).toEqual(['added', 'added', 'added', 'added']);
    const ids = first.out.trim().split('\n').map((l) => l.split('  ')[0]!);
    expect(ids).toEqual([...new Set(ids)]);
    for (const id of ids) expect(id).toMatch(/^point-corner\.(promp|lvc-vpg)\.s[12]\.[0-9a-f]{12}$/);
    expect((await status(queue, out)).map((r) => r.state)).toEqual(['waiting', 'waiting', 'waiting', 'waiting']);

    const workers = [metagrad(['worker', '--queue', queue, '--until-empty']), metagrad(['worker', '--queue', queue, '--until-empty'])];
    const ends = await Promise.all(workers.map((w) => w.done));
    for (const [i, e] of ends.entries()) expect(e.code, workers[i]!.output()).toBe(0);
    const rows = await status(queue, out);
    expect(rows.map((r) => r.state)).toEqual(['completed', 'completed', 'completed', 'completed']);
    for (const r of rows) expect([r.iteration, r.iterations]).toEqual([2, 2]);
    for (const r of rows) expect(r.worker).toMatch(/^.+:\d+$/);

    for (const [algo, seed] of [['promp', 1], ['promp', 2], ['lvc-vpg', 1], ['lvc-vpg', 2]] as const) {
      const dir = join(out, 'runs', `${algo}-s${seed}`);
      expect(snapshot(dir), `${algo} s${seed}`).toEqual(await trainReference(join(root, 'reference', `${algo}-s${seed}`), algo, seed, 2));
      expect(existsSync(join(dir, RUN_FILES.lock))).toBe(false);
    }

    const again = await cli(...args);
    expect(again.code, again.err).toBe(0);
    expect(again.out.trim().split('\n').map((l) => l.split('  ')[0])).toEqual(ids);
    expect(again.out).not.toMatch(/added/);
    expect(again.err).toMatch(/0 added, 4 completed already in the queue/);
    expect(await status(queue, out)).toHaveLength(4);

    const report = await cli('sweep', 'status', '--queue', queue, '--out', out, '--report');
    expect(report.code, report.err).toBe(0);
    expect(report.out).toMatch(/4 runs: 4 completed/);
    expect(readFileSync(join(out, 'report.md'), 'utf8')).toMatch(/(promp vs lvc-vpg|lvc-vpg vs promp) on point-corner/);
  }, 240_000);

  it('a failing run is marked failed with its error after its attempts; the sweep goes on (one worker, 2 runs at a time); --retry-failed puts it back', async () => {
    const out = join(root, 'failing');
    const args = ['sweep', '--queue', queue, '--out', out, '--env', 'point-corner', '--algos', 'promp', '--seeds', '2', ...SHAPE, '--iterations', '2', '--attempts', '1'];
    const r = await cli(...args);
    expect(r.code, r.err).toBe(0);
    // a file where the first run's directory goes: its training fails
    mkdirSync(join(out, 'runs'), { recursive: true });
    writeFileSync(join(out, 'runs', 'promp-s1'), 'not a directory');
    const w = metagrad(['worker', '--queue', queue, '--until-empty', '--concurrency', '2']);
    expect((await w.done).code, w.output()).toBe(0);
    expect(w.output()).toMatch(/\(2 at a time\)/);
    const rows = await status(queue, out);
    expect(rows.map((x) => [x.run, x.state])).toEqual([['promp s1', 'failed'], ['promp s2', 'completed']]);
    expect(rows[0]!.error).toMatch(/EEXIST|ENOTDIR|exists|not a directory/);
    const table = await cli('sweep', 'status', '--queue', queue, '--out', out);
    expect(table.out).toMatch(/promp s1 +failed +0\/2 .*(EEXIST|ENOTDIR)/);
    expect(table.out).toMatch(/2 runs: 1 completed, 1 failed|2 runs: 1 failed, 1 completed/);

    // the same sweep again keeps the failed run failed and says how to put it back
    const again = await cli(...args);
    expect(again.out).toMatch(/failed \(already in the queue\); --retry-failed puts it back/);
    // fixed, and put back: it trains to `metagrad train`'s files; the finished run is left alone
    rmSync(join(out, 'runs', 'promp-s1'));
    const retry = await cli(...args, '--retry-failed');
    expect(retry.code, retry.err).toBe(0);
    expect(retry.out).toMatch(/point-corner\.promp\.s1\.[0-9a-f]{12}  retried \(failed: .*(EEXIST|ENOTDIR)/);
    expect(retry.err).toMatch(/0 added, 1 retried, 1 completed already in the queue/);
    const w2 = metagrad(['worker', '--queue', queue, '--until-empty', '-q']);
    expect((await w2.done).code, w2.output()).toBe(0);
    expect((await status(queue, out)).map((x) => [x.state, x.error])).toEqual([['completed', null], ['completed', null]]);
    expect(snapshot(join(out, 'runs', 'promp-s1'))).toEqual(await trainReference(join(root, 'reference', 'promp-s1-failing'), 'promp', 1, 2));
  }, 180_000);

  it('a worker killed with SIGKILL mid-run: another worker resumes the run from its checkpoint to the unbroken run\'s files', async () => {
    const out = join(root, 'killed');
    const r = await cli('sweep', '--queue', queue, '--out', out, '--env', 'point-corner', '--algos', 'promp', '--seeds', '1', '--seed', '3', ...SHAPE, '--iterations', '8');
    expect(r.code, r.err).toBe(0);
    // the machine freezes right after the run's second checkpoint (its training child stops itself there,
    // so the point does not depend on how fast this test reads the progress), then dies: worker and child
    const a = metagrad(['worker', '--queue', queue, '--stalled-seconds', '2'], { METAGRAD_FAULT: 'stop@after-checkpoint:2' });
    const trainer = await stoppedChild(a.child.pid!);
    a.child.kill('SIGKILL');
    process.kill(trainer, 'SIGKILL');
    await a.done;
    const b = metagrad(['worker', '--queue', queue, '--stalled-seconds', '2', '--until-empty']);
    expect((await b.done).code, b.output()).toBe(0);
    expect(b.output()).toMatch(/resuming at iteration 3 of 8/); // after the two iterations the frozen machine checkpointed
    const rows = await status(queue, out);
    expect(rows.map((x) => x.state)).toEqual(['completed']);
    const dir = join(out, 'runs', 'promp-s3');
    expect(snapshot(dir)).toEqual(await trainReference(join(root, 'reference', 'promp-s3-8'), 'promp', 3, 8));
    expect(existsSync(join(dir, RUN_FILES.lock))).toBe(false);
  }, 180_000);

  it('SIGTERM mid-run: the worker puts the job back and exits 0; the next worker finishes it to the unbroken run\'s files', async () => {
    const out = join(root, 'sigterm');
    const r = await cli('sweep', '--queue', queue, '--out', out, '--env', 'point-corner', '--algos', 'promp', '--seeds', '1', '--seed', '3', ...SHAPE, '--iterations', '8');
    expect(r.code, r.err).toBe(0);
    // the training child holds still after its second checkpoint, so that SIGTERM surely lands mid-run
    const a = metagrad(['worker', '--queue', queue], { METAGRAD_FAULT: 'stop@after-checkpoint:2' });
    const trainer = await stoppedChild(a.child.pid!);
    a.child.kill('SIGTERM');
    await a.waitFor(/SIGTERM: stopping 1 run/); // the worker has signalled its child (SIGINT, pending while it is stopped)
    process.kill(trainer, 'SIGCONT');
    const end = await a.done;
    expect(end.code, a.output()).toBe(0);
    expect(a.output()).toMatch(/released .*promp s3/);
    const rows = await status(queue, out);
    expect(rows.map((x) => x.state)).toEqual(['waiting']);
    const b = metagrad(['worker', '--queue', queue, '--until-empty', '-q']);
    expect((await b.done).code, b.output()).toBe(0);
    expect((await status(queue, out)).map((x) => x.state)).toEqual(['completed']);
    const ref = join(root, 'reference', 'promp-s3-8');
    expect(snapshot(join(out, 'runs', 'promp-s3'))).toEqual(existsSync(ref) ? snapshot(ref) : await trainReference(ref, 'promp', 3, 8));
  }, 180_000);

  it('a run locked from another machine waits (no attempt spent) until its lock goes stale, then is taken over', async () => {
    const out = join(root, 'foreign-lock');
    const r = await cli('sweep', '--queue', queue, '--out', out, '--env', 'point-corner', '--algos', 'promp', '--seeds', '1', ...SHAPE, '--iterations', '2', '--attempts', '1');
    expect(r.code, r.err).toBe(0);
    // a worker on another machine took the run's lock and died before writing anything else
    const dir = join(out, 'runs', 'promp-s1'), lock = join(dir, RUN_FILES.lock);
    mkdirSync(dir, { recursive: true });
    writeFileSync(lock, JSON.stringify({ pid: 4242, host: 'another-machine', since: new Date().toISOString() }));
    const w = metagrad(['worker', '--queue', queue, '--stalled-seconds', '2', '--until-empty']);
    await w.waitFor(/is in use: process 4242 on another-machine .*; trying again in 2s/);
    // it goes round delayed → waiting → active → delayed every 2 s; sweep status lists it once and says why it waits
    let rows = await status(queue, out);
    for (let t = 0; t < 50 && rows[0]?.state !== 'delayed'; t++) rows = await status(queue, out);
    expect(rows.map((x) => x.state)).toEqual(['delayed']);
    expect(rows[0]!.error).toMatch(/is in use: process 4242 on another-machine/);
    // its holder never touches it again: once older than LOCK_STALE_MS it is stale
    const old = new Date(Date.now() - LOCK_STALE_MS - 1000);
    utimesSync(lock, old, old);
    expect((await w.done).code, w.output()).toBe(0);
    rows = await status(queue, out);
    expect(rows.map((x) => [x.state, x.attempts, x.error])).toEqual([['completed', 1, null]]);
    expect(snapshot(dir)).toEqual(await trainReference(join(root, 'reference', 'promp-s1-foreign'), 'promp', 1, 2));
    expect(existsSync(lock)).toBe(false);
  }, 120_000);

  it('Redis stopped and restarted while a worker waits: the worker retries, reconnects and trains the next sweep', async () => {
    const p2 = await freePort();
    let r2 = await startRedis(p2);
    const q2 = `redis://127.0.0.1:${p2}`;
    const w = metagrad(['worker', '--queue', q2, '--stalled-seconds', '2', '-q']);
    await w.waitFor(/waiting for jobs/);
    await stop(r2);
    await w.waitFor(/unreachable; retrying in/);
    const down = await cli('sweep', 'status', '--queue', q2);
    expect(down.code).toBe(1);
    expect(down.err).toMatch(/^error: cannot reach Redis at redis:\/\/127\.0\.0\.1:\d+ \(connect ECONNREFUSED[^)]*\); start it, or check --queue\n$/);
    r2 = await startRedis(p2);
    await w.waitFor(/reconnected to Redis/, 30_000);
    const out = join(root, 'restart');
    const r = await cli('sweep', '--queue', q2, '--out', out, '--env', 'point-corner', '--algos', 'promp', '--seeds', '1', ...SHAPE, '--iterations', '2');
    expect(r.code, r.err).toBe(0);
    await w.waitFor(/finished point-corner\.promp\.s1/);
    expect((await status(q2, out)).map((x) => x.state)).toEqual(['completed']);
    w.child.kill('SIGTERM');
    expect((await w.done).code, w.output()).toBe(0);
    await stop(r2);
  }, 120_000);

  it('bad input: one line, exit code 2, nothing enqueued', async () => {
    expect((await cli('sweep', '--out', join(root, 'x'), '--env', 'point-corner')).err).toMatch(/^error: --queue is required/);
    const bad = await cli('sweep', '--queue', 'localhost:6379', '--out', join(root, 'x'), '--env', 'point-corner');
    expect([bad.code, bad.err]).toEqual([2, "error: --queue must be a Redis URL like redis://localhost:6379, got 'localhost:6379'\n"]);
    expect((await cli('sweep', '--queue', queue, '--env', 'point-corner')).err).toMatch(/^error: --out is required/);
    expect((await cli('sweep', '--queue', queue, '--out', join(root, 'x'), '--env', 'nowhere')).code).toBe(2);
    expect((await cli('sweep', 'status', '--queue', queue, '--report')).err).toMatch(/^error: --report needs --out/);
    expect((await cli('worker', '--queue', queue, '--concurrency', '0')).code).toBe(2);
  });
});

/**
 * Nothing lost, nothing stuck. The real `metagrad` executable (run from its TypeScript sources) is
 * killed with SIGKILL at fixed fault points (inside iteration 0, between a log append and its
 * checkpoint, inside the checkpoint's write) and at seeded random times; after each, the same command or
 * `--resume` finishes, and the final logs and checkpoint equal an unbroken run's. Two writers on one run
 * directory: the second is refused. Ctrl-C stops a run within 2 s mid-iteration and says what was kept.
 * Damaged logs are named by file and line, and --repair-log continues.
 */
import { describe, it, expect, beforeAll } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Rng } from '@metagrad/autograd';
import { LOCK_HEARTBEAT_MS, LOCK_STALE_MS, RUN_FILES, RunLockedError, lockHolder, lockRunDir } from 'metagrad';
import { runInProcess as inProcess, runSnapshot as snapshot } from './helpers.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BOOT = new URL('../../packages/cli/src/ts-boot.mjs', import.meta.url).href;
const MAIN = join(ROOT, 'packages/cli/src/main.ts');
const root = mkdtempSync(join(tmpdir(), 'metagrad-reliability-'));

/** The tiny run every crash case trains: 4 iterations of ProMP on point-corner. */
const TINY = ['train', '--algo', 'promp', '--env', 'point-corner', '--meta-batch-size', '4', '--rollouts-per-task', '4', '--horizon', '20', '--hidden', '16', '--iterations', '4', '--seed', '7', '-q'];

interface Ran {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Starts the executable; `detached` makes it a process group of its own, so the group can be killed at once. */
function start(args: readonly string[], env: Record<string, string> = {}, detached = false): { child: ChildProcess; done: Promise<Ran> } {
  const t0 = performance.now();
  const child = spawn(process.execPath, ['--import', BOOT, MAIN, ...args], {
    cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached,
  });
  let stdout = '', stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<Ran>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal, stdout, stderr, ms: performance.now() - t0 })));
  return { child, done };
}

const cli = (args: readonly string[], env: Record<string, string> = {}): Promise<Ran> => start(args, env).done;

const leftovers = (dir: string): string[] => readdirSync(dir).filter((f) => f.includes('.tmp-') || f === RUN_FILES.lock);

let reference: ReturnType<typeof snapshot>;
beforeAll(async () => {
  const dir = join(root, 'unbroken');
  const r = await cli([...TINY, '--out', dir]);
  expect(r.stderr).not.toMatch(/error/);
  expect(r.code).toBe(0);
  reference = snapshot(dir);
  expect(reference.records).toHaveLength(4);
  expect(leftovers(dir)).toEqual([]);
}, 120_000);

describe('kill -9 at any moment: the same command or --resume finishes to the unbroken run', () => {
  const faults: [string, string][] = [
    ['inside iteration 0 (logged, not yet checkpointed)', 'after-log:1'],
    ['inside the write of the second checkpoint (temporary file written, not renamed)', 'before-rename:checkpoint.json:2'],
    ['right after the third checkpoint', 'after-checkpoint:3'],
  ];
  for (const [where, fault] of faults)
    it(`the trainer killed ${where}`, async () => {
      const dir = join(root, `fault-${fault.replace(/\W+/g, '-')}`);
      const killed = await cli([...TINY, '--out', dir], { METAGRAD_FAULT: fault });
      expect(killed.code).not.toBe(0);
      const again = existsSync(join(dir, RUN_FILES.checkpoint))
        ? await cli(['train', '--resume', dir, '-q'])
        : await cli([...TINY, '--out', dir]); // nothing checkpointed: the same command starts it again
      expect(again.stderr).not.toMatch(/error/);
      expect(again.code).toBe(0);
      if (fault === 'after-log:1') expect(again.stderr).toMatch(/stopped before its first iteration finished: starting it again/);
      expect(snapshot(dir)).toEqual(reference);
      expect(leftovers(dir)).toEqual([]);
    }, 120_000);

  it('the whole command (its process group) killed at seeded random times, then --resume until done', async () => {
    const rng = new Rng(42);
    const dir = join(root, 'random-kills');
    const delays = [0.6, 1.2, 1.8].map((lo) => lo + rng.uniform() * 0.6); // seconds after the start of each attempt
    for (const d of delays) {
      const args = existsSync(join(dir, RUN_FILES.config)) ? ['train', '--resume', dir, '-q'] : [...TINY, '--out', dir];
      const { child, done } = start(args, {}, true);
      const timer = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), d * 1000);
      const r = await done;
      clearTimeout(timer);
      if (r.code === 0) break; // finished before the kill
    }
    // as in the loop: once the run directory has its config (even if every kill came before the first
    // checkpoint), the way on is --resume
    const last = existsSync(join(dir, RUN_FILES.config)) ? await cli(['train', '--resume', dir, '-q']) : await cli([...TINY, '--out', dir]);
    expect(last.code === 0 || /has already finished/.test(last.stderr), `exit ${last.code}: ${last.stderr}`).toBe(true);
    expect(snapshot(dir)).toEqual(reference);
  }, 180_000);
});

describe('one writer per run directory', () => {
  it.skipIf(process.platform !== 'linux')('a lock held by a zombie (a killed trainer no one reaped) is stale', async () => {
    const dir = join(root, 'zombie-lock');
    mkdirSync(dir, { recursive: true });
    // sleep 0 exits at once, a child of the exec'd `sleep 3`, which never reaps it: a zombie for 3 s
    const sh = spawn('sh', ['-c', 'sleep 0 & echo $!; exec sleep 3'], { stdio: ['ignore', 'pipe', 'ignore'] });
    const pid = Number(await new Promise<string>((r) => sh.stdout!.once('data', (d: Buffer) => r(d.toString().trim()))));
    await new Promise((r) => setTimeout(r, 200));
    expect(readFileSync(`/proc/${pid}/stat`, 'utf8')).toMatch(/\) Z /);
    writeFileSync(join(dir, RUN_FILES.lock), JSON.stringify({ pid, host: (await import('node:os')).hostname(), since: '2026-01-01T00:00:00Z' }));
    expect(lockHolder(dir)).toBeNull();
    const lock = lockRunDir(dir); // taken over
    expect((JSON.parse(readFileSync(join(dir, RUN_FILES.lock), 'utf8')) as { pid: number }).pid).toBe(process.pid);
    lock.release();
    sh.kill();
  });

  it('a lock taken on another host (a worker elsewhere on a shared folder) is live while its holder touches it, stale once it stops', () => {
    const dir = join(root, 'foreign-lock');
    mkdirSync(dir, { recursive: true });
    const path = join(dir, RUN_FILES.lock);
    const holder = { pid: 4242, host: 'another-machine', since: '2026-01-01T00:00:00Z' };
    writeFileSync(path, JSON.stringify(holder));
    // just touched: live, and a second writer is refused with the holder and the rule in the message
    expect(lockHolder(dir)).toEqual(holder);
    expect(() => lockRunDir(dir)).toThrow(RunLockedError);
    expect(() => lockRunDir(dir)).toThrow(/process 4242 on another-machine .*another host: its lock counts as stale 5 minutes after its holder last touched it/);
    // untouched for a moment less than the limit: still live; for the limit: stale, and taken over
    const now = Date.now();
    const at = (ms: number): void => utimesSync(path, new Date(now - ms), new Date(now - ms));
    at(LOCK_STALE_MS - 5_000);
    expect(lockHolder(dir, now)).toEqual(holder);
    at(LOCK_STALE_MS + 1_000);
    expect(lockHolder(dir, now)).toBeNull();
    const lock = lockRunDir(dir);
    expect(JSON.parse(readFileSync(path, 'utf8'))).toMatchObject({ pid: process.pid });
    // the holder's heartbeat: touch() brings the file's time to now (a timer calls it every LOCK_HEARTBEAT_MS)
    expect(LOCK_HEARTBEAT_MS * 10).toBeLessThan(LOCK_STALE_MS);
    at(60_000);
    lock.touch();
    expect(Math.abs(statSync(path).mtimeMs - Date.now())).toBeLessThan(2_000);
    lock.release();
    expect(existsSync(path)).toBe(false);
  });

  it('a directory holding only a stale lock (killed right after taking it) is started again by the same command', async () => {
    const dir = join(root, 'only-lock');
    mkdirSync(dir, { recursive: true });
    const gone = spawn(process.execPath, ['-e', '']);
    await new Promise((r) => gone.on('exit', r));
    writeFileSync(join(dir, RUN_FILES.lock), JSON.stringify({ pid: gone.pid, host: (await import('node:os')).hostname(), since: '2026-01-01T00:00:00Z' }));
    const r = await cli([...TINY, '--out', dir]);
    expect(r.code, r.stderr).toBe(0);
    expect(snapshot(dir)).toEqual(reference);
  }, 60_000);

  it('a second process on the same directory is refused while the first trains; a stale lock (killed holder) is taken over', async () => {
    const dir = join(root, 'locked');
    const first = start([...TINY, '--iterations', '100', '--out', dir]); // several seconds
    for (let t = 0; t < 200 && !existsSync(join(dir, RUN_FILES.lock)); t++) await new Promise((r) => setTimeout(r, 50));
    expect(existsSync(join(dir, RUN_FILES.lock))).toBe(true);
    const second = await cli(['train', '--resume', dir, '--iterations', '100', '-q']);
    expect(second.code).toBe(2);
    expect(second.stderr).toMatch(new RegExp(`^error: '${dir}' is in use: process \\d+ on .* has been training into it since .*; wait for it to finish, or if that process is gone, remove ${dir}/run.lock\\n$`));
    const a = await first.done;
    expect(a.code).toBe(0);
    const iterations = readFileSync(join(dir, RUN_FILES.log), 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { iteration: number }).iteration);
    expect(iterations).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(leftovers(dir)).toEqual([]);
    // a lock whose process is gone (kill -9) does not block the next writer
    const gone = spawn(process.execPath, ['-e', '']);
    await new Promise((r) => gone.on('exit', r));
    writeFileSync(join(dir, RUN_FILES.lock), JSON.stringify({ pid: gone.pid, host: (await import('node:os')).hostname(), since: '2026-01-01T00:00:00Z' }));
    const third = await cli(['train', '--resume', dir, '--iterations', '101', '-q']);
    expect(third.code).toBe(0);
    expect(leftovers(dir)).toEqual([]);
  }, 120_000);
});

describe('Ctrl-C', () => {
  /** About 5 s per iteration on 2 cores: half-cheetah, 10 tasks × 15 rollouts × 100 steps. */
  const SLOW = ['train', '--algo', 'promp', '--env', 'half-cheetah-fwd-back', '--meta-batch-size', '10', '--rollouts-per-task', '15', '--horizon', '100', '--hidden', '32,32', '--iterations', '5'];

  it('stops within 2 s in the middle of an iteration, keeps the finished ones and says how to continue; the run then resumes', async () => {
    const dir = join(root, 'ctrl-c');
    const run = start([...SLOW, '--out', dir]);
    let stderr = '';
    run.child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    for (let t = 0; t < 1200 && !/ it 1 \(/.test(stderr); t++) await new Promise((r) => setTimeout(r, 100));
    expect(stderr).toMatch(/ it 1 \(/); // iteration 1 finished
    const iterationSeconds = Number(/(\d+\.\d)s\/it/.exec(stderr)![1]);
    await new Promise((r) => setTimeout(r, 1000)); // inside iteration 2
    const t0 = performance.now();
    run.child.kill('SIGINT'); // the parent only (a terminal's Ctrl-C signals the whole group)
    const r = await run.done;
    const latency = (performance.now() - t0) / 1000;
    expect(r.code).toBe(130);
    expect(latency).toBeLessThan(2);
    expect(iterationSeconds).toBeGreaterThan(2 * latency); // the stop did not wait for the iteration to end
    expect(r.stderr).toContain(`${dir}: iterations 1–1 are saved; continue with: metagrad train --resume ${dir}`);
    expect(leftovers(dir)).toEqual([]);
    const resumed = await cli(['train', '--resume', dir, '--iterations', '2', '-q']);
    expect(resumed.code).toBe(0);
    expect(readFileSync(join(dir, RUN_FILES.log), 'utf8').trim().split('\n')).toHaveLength(2);
  }, 180_000);

  it('during the first iteration: says nothing was kept, and the same command starts over', async () => {
    const dir = join(root, 'ctrl-c-first');
    const run = start([...SLOW, '--iterations', '1', '--out', dir]);
    for (let t = 0; t < 300 && !existsSync(join(dir, RUN_FILES.lock)); t++) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 500));
    run.child.kill('SIGINT');
    const r = await run.done;
    expect(r.code).toBe(130);
    expect(r.stderr).toContain(`${dir}: stopped before its first iteration finished (nothing to keep); the same command starts it again`);
    expect(r.stderr).not.toContain('--resume');
    const again = await cli([...SLOW, '--iterations', '1', '--out', dir, '-q']);
    expect(again.code).toBe(0);
  }, 180_000);
});

describe('damaged files and small things, in-process', () => {
  const base = ['train', '--algo', 'lvc-vpg', '--env', 'point-corner', '--meta-batch-size', '2', '--rollouts-per-task', '2', '--horizon', '5', '--hidden', '4', '-q'];

  it('a damaged log.jsonl is named by file and line; --repair-log keeps its valid records and continues', async () => {
    const cases: [string, (lines: string[]) => string, RegExp, number][] = [
      ['a garbage line', (l) => [l[0], 'not json', l[2]].join('\n'), /log\.jsonl: line 2 is not valid JSON/, 1],
      ['a file cut in the middle of a line', (l) => `${l[0]}\n${l[1]!.slice(0, 20)}`, /log\.jsonl: line 2 is not valid JSON/, 1],
      ['a record of the wrong iteration', (l) => [l[0], l[0], l[2]].join('\n'), /log\.jsonl: line 2 is not the record of iteration 1/, 1],
      ['missing rows', (l) => l[0]!, /log\.jsonl: ends after 1 iteration, but the checkpoint is after iteration 3/, 1],
    ];
    for (const [what, damage, message, kept] of cases) {
      const dir = join(root, `damaged-${what.replace(/\W+/g, '-')}`);
      expect((await inProcess(...base, '--iterations', '3', '--out', dir)).code).toBe(0);
      const lines = readFileSync(join(dir, RUN_FILES.log), 'utf8').trim().split('\n');
      writeFileSync(join(dir, RUN_FILES.log), `${damage(lines)}\n`);
      const r = await inProcess('train', '--resume', dir, '--iterations', '4');
      expect(r.code, what).toBe(2);
      expect(r.err, what).toMatch(message);
      expect(r.err, what).toMatch(/--repair-log keeps its first 1 valid record and continues/);
      const repaired = await inProcess('train', '--resume', dir, '--iterations', '4', '--repair-log');
      expect(repaired.code, what).toBe(0);
      expect(repaired.err, what).toMatch(/repaired .*log\.jsonl: kept 1 valid records; iterations 1–2 have no record/);
      const its = readFileSync(join(dir, RUN_FILES.log), 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { iteration: number }).iteration);
      expect(its, what).toEqual([0, 3]);
      expect(kept).toBe(1);
    }
  });

  it('--out naming a file, a null config, a truncated checkpoint under eval, leftover temporary files', async () => {
    const file = join(root, 'a-file');
    writeFileSync(file, 'x');
    const a = await inProcess(...base, '--out', file);
    expect([a.code, a.err]).toEqual([2, `error: '${file}' is a file, not a directory; choose another --out\n`]);
    const b = await inProcess(...base, '--out', join(file, 'run'));
    expect([b.code, b.err]).toEqual([2, `error: cannot create '${join(file, 'run')}': '${file}' is a file\n`]);
    writeFileSync(join(root, 'null.json'), 'null');
    const c = await inProcess('train', '--config', join(root, 'null.json'), '--out', join(root, 'nullrun'));
    expect([c.code, c.err]).toEqual([2, `error: config file '${join(root, 'null.json')}' must hold a JSON object, got null\n`]);
    const dir = join(root, 'truncated-ckpt');
    expect((await inProcess(...base, '--iterations', '1', '--out', dir)).code).toBe(0);
    const ck = readFileSync(join(dir, RUN_FILES.checkpoint), 'utf8');
    writeFileSync(join(dir, RUN_FILES.checkpoint), ck.slice(0, ck.length / 2));
    const e = await inProcess('eval', dir);
    expect(e.code).toBe(2);
    expect(e.err).toMatch(/^error: cannot read .*checkpoint\.json: /);
    const t = await inProcess('train', '--resume', dir, '--iterations', '2');
    expect(t.code).toBe(2);
    writeFileSync(join(dir, RUN_FILES.checkpoint), ck);
    writeFileSync(join(dir, `${RUN_FILES.checkpoint}.tmp-99999`), '{');
    expect((await inProcess('train', '--resume', dir, '--iterations', '2')).code).toBe(0);
    expect(leftovers(dir)).toEqual([]);
  });
});

describe('diverging simulations', () => {
  it("are counted per task in log.jsonl, log.csv and the progress line; MuJoCo's warnings are captured into the log, not printed", async () => {
    const dir = join(root, 'diverging');
    writeFileSync(join(root, 'unstable.json'), JSON.stringify({ envOptions: { logScaleLimit: 60 } })); // masses and damping × 1.5^±60
    const writes: string[] = [];
    const realWrite = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      writes.push(String(chunk));
      return (realWrite as (c: string | Uint8Array, ...r: unknown[]) => boolean)(chunk, ...rest);
    }) as typeof process.stdout.write;
    let r: Awaited<ReturnType<typeof inProcess>>;
    try {
      r = await inProcess('train', '--algo', 'promp', '--env', 'hopper-rand-params', '--config', join(root, 'unstable.json'), '--meta-batch-size', '4',
        '--rollouts-per-task', '2', '--horizon', '40', '--hidden', '8', '--iterations', '1', '--out', dir);
    } finally {
      process.stdout.write = realWrite;
    }
    expect(r.code).toBe(0);
    const rec = JSON.parse(readFileSync(join(dir, RUN_FILES.log), 'utf8').trim()) as { diverged: number[]; divergence?: string; simWarnings: number; simWarning?: string };
    expect(rec.diverged).toHaveLength(4);
    const total = rec.diverged.reduce((a, b) => a + b, 0);
    expect(total).toBeGreaterThan(0);
    expect(rec.divergence).toMatch(/^hopper-rand-params: simulation diverged at t=/);
    expect(rec.simWarnings).toBeGreaterThan(0);
    expect(rec.simWarning).toMatch(/^WARNING: /);
    const csv = readFileSync(join(dir, RUN_FILES.csv), 'utf8').trim().split('\n');
    const head = csv[0]!.split(',');
    expect(Number(csv[1]!.split(',')[head.indexOf('diverged')])).toBe(total);
    expect(Number(csv[1]!.split(',')[head.indexOf('sim_warnings')])).toBe(rec.simWarnings);
    expect(r.err).toMatch(new RegExp(`diverged ${total}`));
    expect(writes.join('')).not.toMatch(/WARNING|Linesearch/); // nothing of MuJoCo's reached this process's stdout
    expect(r.out).not.toMatch(/WARNING/);
  }, 60_000);
});

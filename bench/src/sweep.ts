/**
 * `npm run bench:sweep`: issue #18's target. The same 4 runs (point-corner, ProMP and LVC-VPG × 2 seeds,
 * 5 iterations of the default settings) trained by `compare --jobs 2`, then by `sweep` + 2 `worker`s
 * (`--until-empty`) + `sweep status --report`, on a redis-server of its own on a free loopback port;
 * wall-clock times of the whole commands, alternating the order each repeat, and a check that both
 * ways give the same logs (less their timings) and the same checkpoints.
 *
 *   npx tsc -b && npm run bench:sweep             # ~4 min on 2 cores (2 repeats); needs redis-server
 *   node bench/dist/sweep.js --repeats 3 --iterations 5
 *
 * Writes bench/results/sweep.json (one row per way and repeat, and the ratio of the medians).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BenchResult, machine, median, sig, writeResults } from './results.js';

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const REPEATS = Number(arg('repeats') ?? 2);
const ITERATIONS = arg('iterations') ?? '5';
const CLI = fileURLToPath(new URL('../../packages/cli/bin/metagrad.js', import.meta.url));
const RUNS = ['promp-s1', 'promp-s2', 'lvc-vpg-s1', 'lvc-vpg-s2'];
const SWEEP = ['--env', 'point-corner', '--algos', 'promp,lvc-vpg', '--seeds', '2', '--iterations', ITERATIONS];

/** Runs `metagrad …args` to its end; throws on a non-zero exit. */
function metagrad(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    c.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    c.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`metagrad ${args.join(' ')} exited with ${code}:\n${err}`))));
  });
}

/** A free TCP port on the loopback interface. */
function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** A run directory's log without its timings, and its checkpoint, as one text to compare. */
function runText(dir: string): string {
  const log = readFileSync(path.join(dir, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => ({ ...(JSON.parse(l) as object), timings: null }));
  return JSON.stringify(log) + readFileSync(path.join(dir, 'checkpoint.json'), 'utf8');
}

const seconds = async (work: () => Promise<void>): Promise<number> => {
  const t0 = performance.now();
  await work();
  return (performance.now() - t0) / 1000;
};

const port = await freePort();
const redis: ChildProcess = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
redis.on('error', (e) => {
  console.error(`cannot start redis-server (${e.message}): install it (Debian: apt-get install redis-server)`);
  process.exit(1);
});
await new Promise((r) => setTimeout(r, 500));
const queue = `redis://127.0.0.1:${port}`;
const dir = mkdtempSync(path.join(os.tmpdir(), 'metagrad-sweep-bench-'));
const times: Record<'compare' | 'sweep', number[]> = { compare: [], sweep: [] };
const rows: BenchResult[] = [];
const MACHINE = machine(), DATE = new Date().toISOString();
try {
  for (let rep = 0; rep < REPEATS; rep++) {
    const cmpOut = path.join(dir, `compare-${rep}`), swOut = path.join(dir, `sweep-${rep}`);
    const ways = {
      compare: () => metagrad(['compare', ...SWEEP, '--jobs', '2', '--out', cmpOut, '-q']),
      sweep: async () => {
        await metagrad(['sweep', '--queue', queue, '--out', swOut, ...SWEEP]);
        await Promise.all([0, 1].map(() => metagrad(['worker', '--queue', queue, '--until-empty', '-q'])));
        await metagrad(['sweep', 'status', '--queue', queue, '--out', swOut, '--report']);
      },
    };
    const order = rep % 2 === 0 ? (['compare', 'sweep'] as const) : (['sweep', 'compare'] as const);
    for (const way of order) {
      const s = await seconds(ways[way]);
      times[way].push(s);
      console.log(`repeat ${rep + 1}: ${way === 'compare' ? 'compare --jobs 2' : 'sweep + 2 workers + status --report'}: ${s.toFixed(1)} s`);
      rows.push({
        suite: 'sweep', work: way, dtype: 'float64', backend: 'cpu', mode: null, median_ms: null, gflops: null, steps_per_s: null, rel_err: null,
        machine: MACHINE, date: DATE, repeat: rep + 1, seconds: sig(s), runs: RUNS.length, iterations: Number(ITERATIONS), env: 'point-corner',
      });
    }
    for (const r of RUNS)
      if (runText(path.join(cmpOut, 'runs', r)) !== runText(path.join(swOut, 'runs', r))) throw new Error(`${r}: the sweep's run differs from compare's`);
    console.log(`repeat ${rep + 1}: the 4 runs' logs (less timings) and checkpoints are equal both ways`);
  }
} finally {
  redis.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
}
const ratio = median(times.sweep) / median(times.compare);
console.log(`medians: compare --jobs 2 ${median(times.compare).toFixed(1)} s, sweep ${median(times.sweep).toFixed(1)} s; sweep / compare = ${ratio.toFixed(3)} (target ≤ 1.10); load average ${os.loadavg().map((x) => x.toFixed(1)).join(', ')}`);
rows.push({
  suite: 'sweep', work: 'sweep / compare', dtype: 'float64', backend: 'cpu', mode: null, median_ms: null, gflops: null, steps_per_s: null, rel_err: null,
  machine: MACHINE, date: DATE, ratio: sig(ratio), compare_median_s: sig(median(times.compare)), sweep_median_s: sig(median(times.sweep)), repeats: REPEATS,
});
console.log(`wrote ${writeResults('sweep', rows)}`);

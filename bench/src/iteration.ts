/**
 * `npm run bench:iteration`: the reference training iteration split into its phases, for ProMP and
 * MAML-TRPO: the default (outer steps compiled with `jit`, their task chunks on 2 threads, as many as the
 * sampler's workers), on one thread (`--threads 1`), and eager on one thread (`--no-jit --threads 1`). The reference
 * configuration on half-cheetah-fwd-back: 40 tasks × 20 rollouts × 100 steps per sampling round, (64, 64)
 * policy, 5 ProMP steps, 2 sampler workers, float64 — each run through the `metagrad train` CLI into a
 * temporary run directory, the timings read back from its log.csv (sampling, processing, outer step).
 *
 *   npx tsc -b && npm run bench:iteration        # ~5 min on 2 cores
 *   node bench/dist/iteration.js --promp-iterations 3 --trpo-iterations 2
 *
 * Writes bench/results/iteration.json (one row per algorithm, mode and iteration).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BenchResult, machine, sig, writeResults } from './results.js';

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const ITERS = { promp: Number(arg('promp-iterations') ?? 3), 'maml-trpo': Number(arg('trpo-iterations') ?? 2) };
const CLI = fileURLToPath(new URL('../../packages/cli/bin/metagrad.js', import.meta.url));

/** The rows of a log.csv as objects (the run directory's own format: a header line, then numbers). */
function readLog(file: string): Record<string, string>[] {
  const [head, ...lines] = readFileSync(file, 'utf8').trim().split('\n');
  const keys = head!.split(',');
  return lines.map((l) => Object.fromEntries(l.split(',').map((v, i) => [keys[i]!, v])));
}

const rows: BenchResult[] = [];
const dir = mkdtempSync(path.join(os.tmpdir(), 'metagrad-iteration-'));
const MACHINE = machine(), DATE = new Date().toISOString();
try {
  const MODES = { jit: { threads: 2, flags: [] }, 'jit-1-thread': { threads: 1, flags: ['--threads', '1'] }, 'eager-1-thread': { threads: 1, flags: ['--no-jit', '--threads', '1'] } } as const;
  for (const algo of ['promp', 'maml-trpo'] as const)
    for (const [mode, { threads, flags }] of Object.entries(MODES)) {
      const out = path.join(dir, `${algo}-${mode}`);
      const argv = [CLI, 'train', '--algo', algo, '--env', 'half-cheetah-fwd-back', '--iterations', String(ITERS[algo]), '--workers', '2', '--out', out, ...flags];
      console.log(`metagrad ${argv.slice(1).join(' ')}`);
      const r = spawnSync(process.execPath, argv, { stdio: ['ignore', 'ignore', 'inherit'] });
      if (r.status !== 0) throw new Error(`metagrad train (${algo}, ${mode}) exited with ${r.status ?? r.signal}`);
      for (const x of readLog(path.join(out, 'log.csv'))) {
        const t = (k: string): number => sig(Number(x[k]), 4);
        rows.push({
          suite: 'iteration', work: algo, dtype: 'float64', backend: 'cpu', mode, median_ms: null, gflops: null, steps_per_s: null, rel_err: null,
          machine: MACHINE, date: DATE, iteration: Number(x['iteration']), total_s: t('time_total'), sampling_s: t('time_sampling'),
          processing_s: t('time_processing'), optimization_s: t('time_optimization'), env: 'half-cheetah-fwd-back', workers: 2, threads,
        });
        console.log(`  iteration ${x['iteration']}: ${t('time_total')} s (sampling ${t('time_sampling')}, processing ${t('time_processing')}, outer step ${t('time_optimization')})`);
      }
    }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
console.log(`wrote ${writeResults('iteration', rows)}`);

/**
 * Memory check: 1000 repetitions of meta_grad (float64), eager and then jit-compiled, must not grow the
 * process's resident set by more than 50 MB each. RSS is read after a 20-call warm-up and a full GC (so the baseline already holds the
 * JIT code and the steady-state heap), and again after the repetitions and a GC. A leak — the tape kept
 * alive by a global, a cache that never evicts, Buffers that are never released — shows up as growth
 * proportional to the repetitions; the heap and external (typed-array) figures tell which.
 *
 *   npx tsc -b bench && node --expose-gc bench/dist/memory.js [--reps 1000]
 *
 * Writes bench/results/memory.json. Exit code 1 when the growth exceeds the limit.
 */
import { backendReport, setBackend } from '@metagrad/autograd';
import { makeWorkload } from './workloads.js';
import { type BenchResult, machine, median, sig, writeResults } from './results.js';

const LIMIT_MB = 50;
const WARMUP = 20;
const i = process.argv.indexOf('--reps');
const REPS = i >= 0 ? Number(process.argv[i + 1]) : 1000;
const MB = 1024 * 1024;

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) console.log('warning: global.gc is not exposed (run with node --expose-gc); RSS is read without a forced GC');
const collect = (): void => {
  if (gc) {
    gc();
    gc();
  }
};

setBackend('cpu'); // float64 always runs on cpu; explicit so the check never depends on the environment
const w = makeWorkload('float64');
const fmt = (m: NodeJS.MemoryUsage): string =>
  `rss ${(m.rss / MB).toFixed(1)} MB, heapUsed ${(m.heapUsed / MB).toFixed(1)} MB, external ${(m.external / MB).toFixed(1)} MB, arrayBuffers ${(m.arrayBuffers / MB).toFixed(1)} MB`;

/** REPS calls of `call` after WARMUP; the RSS growth between a GC after the warm-up and a GC after the calls. */
function measure(work: string, call: () => unknown): BenchResult & { ok: boolean } {
  for (let r = 0; r < WARMUP; r++) call();
  collect();
  const before = process.memoryUsage();
  let peakRss = before.rss;
  const times: number[] = [];
  const samples: { rep: number; rss_mb: number }[] = [];
  for (let r = 1; r <= REPS; r++) {
    const t0 = performance.now();
    call();
    times.push(performance.now() - t0);
    if (r % 50 === 0) {
      const m = process.memoryUsage();
      peakRss = Math.max(peakRss, m.rss);
      samples.push({ rep: r, rss_mb: sig(m.rss / MB, 4) });
    }
  }
  collect();
  const after = process.memoryUsage();
  const growth = (after.rss - before.rss) / MB;
  console.log(`${work} (float64, ${backendReport().cpuThreads} matmul thread(s)) × ${REPS} after ${WARMUP} warm-up calls${gc ? ' and a full GC' : ''}`);
  console.log(`  before: ${fmt(before)}`);
  console.log(`  after:  ${fmt(after)}`);
  console.log(`  peak RSS sampled every 50 reps: ${(peakRss / MB).toFixed(1)} MB; median ${work} ${median(times).toFixed(1)} ms`);
  console.log(`  RSS every 50 reps (MB): ${samples.map((x) => x.rss_mb).join(' ')}`);
  const ok = growth <= LIMIT_MB;
  console.log(`RSS growth: ${growth.toFixed(1)} MB (limit ${LIMIT_MB} MB): ${ok ? 'ok' : 'EXCEEDED'}\n`);
  return {
    ok,
    suite: 'memory', work, dtype: 'float64', backend: 'cpu', mode: null,
    median_ms: sig(median(times), 4), gflops: null, steps_per_s: null, rel_err: null,
    machine: machine(), date: new Date().toISOString(), threads: backendReport().cpuThreads,
    reps: REPS, rss_growth_mb: sig(growth, 3), rss_before_mb: sig(before.rss / MB, 4), rss_after_mb: sig(after.rss / MB, 4),
    peak_rss_mb: sig(peakRss / MB, 4), heap_used_growth_mb: sig((after.heapUsed - before.heapUsed) / MB, 3),
    external_growth_mb: sig((after.external - before.external) / MB, 3), gc_exposed: gc !== undefined, limit_mb: LIMIT_MB,
  };
}

// eager, then compiled (jit's planned buffers are allocated once, at the first replay, inside the warm-up)
const rows = [measure('meta_grad', () => w.metaGrad()), measure('meta_grad_jit', () => w.metaGradJit())];
const file = writeResults('memory', rows.map(({ ok: _ok, ...r }) => r));
console.log(`wrote ${file}`);
if (rows.some((r) => !r.ok)) process.exitCode = 1;

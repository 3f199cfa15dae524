/**
 * `npm run bench`: second-order autodiff on a Gaussian MLP policy (20 → 64 → 64 → 6, N = 2000) and square
 * matmuls, in float64 and float32, timed with benny (benchmark.js underneath). Before any timing, the
 * answers are checked: the Hessian-vector product against central finite differences of the inner
 * gradient (float64) and against the float64 result (float32), both gradients against directional
 * finite differences, and a few matmul entries against float64 dot products, so a fast wrong answer
 * cannot pass unnoticed.
 *
 * Each dtype is timed in its own child process, alternating over rounds (2 in a full run) whose samples
 * are pooled, once per matmul thread count (METAGRAD_THREADS = 1, and every core: `--threads 1,2`). The engine's matmul kernels are shared between
 * Float64Array and Float32Array; once V8 has seen both, they stay polymorphic and run ~25% slower
 * (measured on meta_grad). A process per dtype times what a program using one dtype gets;
 * `--same-process` times both in this process instead, to see that cost.
 *
 *   npx tsc -b bench && node bench/dist/autodiff.bench.js      # full run, ~3 min on 2 cores
 *   node bench/dist/autodiff.bench.js --rounds 3               # more rounds (default 2; 1 in quick mode)
 *   BENCH_QUICK=1 node bench/dist/autodiff.bench.js            # few samples, < 1 min
 *
 * Writes bench/results/autodiff.json (one flat object per result; medians in ms). Exit code 1 when a
 * correctness check fails (the timings are still written, with the errors in rel_err).
 */
import b from 'benny';
import type { CaseResult } from 'benny/lib/internal/common-types.js';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Tensor, backendReport, setBackend } from '@metagrad/autograd';
import {
  type Workload, type WorkloadData, directionalRelErr, frozenMetaObjective, frozenPreBatch, hvpByFiniteDifferences,
  matmulNoGrad, matmulOperands, matmulSpotErr, naiveHvpByFiniteDifferences, treeRelErr, workloadData, workloadFromData,
} from './workloads.js';
import { type DType, type PolicyParams, ALPHA, BATCH, lrObjective, metaObjective, paramCount } from './policy.js';
import { type BenchResult, machine, median, sig, writeResults } from './results.js';

const QUICK = process.env['BENCH_QUICK'] === '1';
/** benchmark.js sampling: a sample repeats the case until it lasts minTime (≥ 50 ms); sampling stops
 *  after maxTime seconds once minSamples are in. Quick mode trades precision for a run under a minute. */
const CASES = QUICK ? { minSamples: 3, maxTime: 0.3 } : { minSamples: 10, maxTime: 3 };
const MATMUL_CASES = QUICK ? { minSamples: 2, maxTime: 0.1 } : { minSamples: 4, maxTime: 3 };
/** Rounds of (float64 process, float32 process); samples are pooled, so slow drift on a shared machine
 *  lands on both dtypes rather than on whichever ran during it. `--rounds N` overrides. */
const ROUNDS = Math.max(1, Math.floor(Number(arg('rounds') ?? (QUICK ? 1 : 2))));
const DTYPES: readonly DType[] = ['float64', 'float32'];
const SIZES = [256, 1024] as const;
/** Matmul thread counts timed (METAGRAD_THREADS of each child): one core, and every core. `--threads 1,2` overrides. */
const THREADS = (arg('threads') ?? [...new Set([1, Math.min(os.availableParallelism(), 8)])].join(',')).split(',').map(Number);

/** Targets of the issue on the 2-core machine (medians, ms). */
const TARGETS: Record<string, number> = { 'inner_grad/float64': 20, 'meta_grad/float64': 100, 'meta_grad/float32': 50 };
/** A check fails above these: float64 vs finite differences, float32 vs float64, matmul entries. */
const TOL = { fd64: 1e-6, vs64: 1e-3, matmul64: 1e-12, matmul32: 1e-5 };

// Every row is the cpu backend (its wasm SIMD kernels): float32 matmuls stay there even where 'auto' would send
// large ones to a hardware GPU (the backends side by side: bench/dist/matmul-backends.js, `npm run bench:matmul`).
setBackend('cpu');

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

// ---------- timing (in a child process per dtype, or here with --same-process) ----------

/** One timed case in one process: benchmark.js's samples (seconds per call) and benny's own median. */
interface Timing { work: string; dtype: DType; threads?: number; samples_s: number[]; benny_median_ms: number }

let sink: unknown; // results go here so no call can be optimized away

type Timed = { work: string; call: (w: Workload) => unknown };
const AUTODIFF: readonly Timed[] = [
  { work: 'inner_grad', call: (w) => w.innerGrad() },
  { work: 'meta_grad', call: (w) => w.metaGrad() },
  { work: 'hvp', call: (w) => w.hvp() },
  { work: 'hvp_transform', call: (w) => w.hvpTransform() },
  { work: 'objective', call: (w) => w.objective() },
  { work: 'jvp', call: (w) => w.jvp() },
  { work: 'hvp_forward', call: (w) => w.hvpForward() },
  { work: 'inner_grad_jit', call: (w) => w.innerGradJit() },
  { work: 'meta_grad_jit', call: (w) => w.metaGradJit() },
  { work: 'hvp_jit', call: (w) => w.hvpJit() },
  { work: 'hvp_jit_at', call: (w) => w.hvpJitAt() },
];

/** benny suites for `dtypes`: the autodiff calls, then the matmuls. benny's median is seconds per call. */
async function timeSuites(data: WorkloadData, dtypes: readonly DType[]): Promise<Timing[]> {
  const out: Timing[] = [];
  const onCycle = (r: CaseResult): undefined => {
    const [work, dtype] = r.name.split(' ') as [string, DType];
    // benchmark.js: each sample is the mean time of one batch of calls, in seconds
    const ms = median(r.details.sampleResults) * 1e3;
    out.push({ work, dtype, samples_s: [...r.details.sampleResults], benny_median_ms: r.details.median * 1e3 });
    console.log(`  ${r.name.padEnd(26)} median ${ms.toFixed(ms < 10 ? 3 : 1).padStart(8)} ms  (benny: ${r.ops.toFixed(2)} ops/s ±${r.margin}%, ${r.samples} samples)`);
    return undefined;
  };
  for (const dtype of dtypes) {
    const w = workloadFromData(data, dtype);
    await b.suite(
      `autodiff (${dtype})`,
      ...AUTODIFF.map((t) => b.add(`${t.work} ${dtype}`, () => { sink = t.call(w); })),
      b.configure({ cases: CASES }),
      b.cycle(onCycle),
      b.complete(),
    );
    await b.suite(
      `matmul (${dtype})`,
      ...SIZES.map((n) => {
        const [x, y] = matmulOperands(n, dtype);
        return b.add(`matmul_${n} ${dtype}`, () => { sink = matmulNoGrad(x, y); });
      }),
      b.configure({ cases: MATMUL_CASES }),
      b.cycle(onCycle),
      b.complete(),
    );
  }
  void sink;
  return out;
}

/** Times one dtype in a fresh node process with `threads` matmul threads; the inputs go through a JSON file. */
function timeInChild(dataFile: string, dtype: DType, threads: number, dir: string, round: number): Timing[] {
  const outFile = path.join(dir, `timings-${dtype}-${threads}-${round}.json`);
  const self = fileURLToPath(import.meta.url);
  console.log(`\n[${dtype}, ${threads} thread${threads > 1 ? 's' : ''}]`);
  const r = spawnSync(process.execPath, [self, '--timing-child', dtype, '--data', dataFile, '--out', outFile], {
    stdio: 'inherit', env: { ...process.env, METAGRAD_THREADS: String(threads) },
  });
  if (r.status !== 0) throw new Error(`the ${dtype} timing process exited with ${r.status ?? r.signal}`);
  return (JSON.parse(readFileSync(outFile, 'utf8')) as Timing[]).map((t) => ({ ...t, threads }));
}

// ---------- correctness, before timing ----------

interface Check { check: string; dtype: DType; rel_err: number; tol: number | null; ok: string }

/** Runs every check in this process; returns the rel_err to store with each hvp row, and whether all passed. */
function runChecks(data: WorkloadData): { hvpErr: Record<string, number>; ok: boolean } {
  const checks: Check[] = [];
  let ok = true;
  const record = (check: string, dtype: DType, err: number, tol: number | null): number => {
    const status = tol === null ? 'info' : err <= tol ? 'ok' : 'FAIL';
    if (status === 'FAIL' || Number.isNaN(err)) ok = false;
    checks.push({ check, dtype, rel_err: sig(err, 3), tol, ok: status });
    return err;
  };
  const H = 1e-5;
  const w64 = workloadFromData(data, 'float64'), w32 = workloadFromData(data, 'float32');
  const hvp64 = w64.hvp();
  const fd = hvpByFiniteDifferences(w64, H);
  const hvpErr: Record<string, number> = {
    'hvp/float64': record(`hvp = ∇(∇J·v) vs central FD of ∇J along v (h = ${H})`, 'float64', treeRelErr(hvp64, fd), TOL.fd64),
    'hvp_transform/float64': record('hvp() transform vs central FD', 'float64', treeRelErr(w64.hvpTransform(), fd), TOL.fd64),
  };
  record('hvp vs central FD at h = 1e-6 (O(h²): expect ~100× smaller)', 'float64', treeRelErr(hvp64, hvpByFiniteDifferences(w64, 1e-6)), TOL.fd64);
  record('naive FD (⊥log π re-stopped at θ ± hv) vs hvp: expected to differ', 'float64', treeRelErr(naiveHvpByFiniteDifferences(w64, H), hvp64), null);
  hvpErr['hvp_forward/float64'] = record('hvp forward over reverse (jvp of the gradient) vs central FD', 'float64', treeRelErr(w64.hvpForward(), fd), TOL.fd64);
  record('hvp forward over reverse vs reverse over reverse', 'float64', treeRelErr(w64.hvpForward(), w64.hvpTransform()), 1e-12);
  hvpErr['hvp/float32'] = record('hvp vs float64 hvp', 'float32', treeRelErr(w32.hvp(), hvp64), TOL.vs64);
  hvpErr['hvp_transform/float32'] = record('hvp() transform vs float64 hvp', 'float32', treeRelErr(w32.hvpTransform(), hvp64), TOL.vs64);

  const inner64 = w64.innerGrad(), meta64 = w64.metaGrad();
  // jit: the compiled calls give the eager bits (traced at the first call, checked on a replay)
  for (const w of [w64, w32]) {
    const pairs = [
      ['inner_grad_jit', 'inner_grad', w.innerGrad, w.innerGradJit], ['meta_grad_jit', 'meta_grad', w.metaGrad, w.metaGradJit],
      ['hvp_jit', 'hvp', w.hvp, w.hvpJit], ['hvp_jit_at', 'hvp_transform (θ closed over, folded)', w.hvpTransform, w.hvpJitAt],
    ] as const;
    for (const [work, name, eager, compiled] of pairs) {
      compiled();
      const err = treeRelErr(compiled(), eager());
      hvpErr[`${work}/${w.dtype}`] = record(`${name} with jit (replayed) vs eager: identical bits expected`, w.dtype, err, 0);
    }
  }
  const frozen = frozenPreBatch(w64);
  record(`inner_grad·v vs directional FD of J^LR, ⊥ frozen at θ (h = ${H})`, 'float64',
    directionalRelErr((p) => lrObjective(p, frozen), inner64, w64, w64.v, H), TOL.fd64);
  record(`meta_grad·v vs directional FD of J^LR(θ'), ⊥ frozen at θ (h = ${H})`, 'float64',
    directionalRelErr(frozenMetaObjective(w64), meta64, w64, w64.v, H), TOL.fd64);
  record('naive FD of meta objective (⊥ re-stopped at θ ± hv): expected to differ', 'float64',
    directionalRelErr((p) => metaObjective(p, w64.pre, w64.post, ALPHA), meta64, w64, w64.v, H), null);
  record('inner_grad vs float64', 'float32', treeRelErr(w32.innerGrad(), inner64), TOL.vs64);
  record('meta_grad vs float64', 'float32', treeRelErr(w32.metaGrad(), meta64), TOL.vs64);

  for (const n of SIZES)
    for (const dtype of DTYPES) {
      const [x, y]: [Tensor, Tensor] = matmulOperands(n, dtype);
      record(`matmul_${n}: 5 entries vs float64 dot products`, dtype, matmulSpotErr(x, y, matmulNoGrad(x, y)), dtype === 'float64' ? TOL.matmul64 : TOL.matmul32);
    }
  console.log('Correctness, checked before timing (rel_err = ‖x − ref‖₂/‖ref‖₂, or |x − ref|/|ref| for directional and matmul checks):');
  console.table(checks);
  if (!ok) console.log('\nA CORRECTNESS CHECK FAILED: the timings below are of a wrong answer.\n');
  return { hvpErr, ok };
}

// ---------- main ----------

async function main(): Promise<void> {
  const childDtype = arg('timing-child') as DType | undefined;
  if (childDtype) {
    const data = JSON.parse(readFileSync(arg('data')!, 'utf8')) as WorkloadData;
    writeFileSync(arg('out')!, JSON.stringify(await timeSuites(data, [childDtype])));
    return;
  }

  const MACHINE = machine();
  const DATE = new Date().toISOString();
  const sameProcess = process.argv.includes('--same-process');
  const data = workloadData(BATCH);
  console.log(
    `metagrad autodiff bench${QUICK ? ' (BENCH_QUICK=1: few samples)' : ''}: Gaussian MLP policy 20 → 64 → 64 → 6, ` +
      `${paramCount(workloadFromData(data, 'float64').params)} parameters, batches of N = ${BATCH}, α = ${ALPHA}; ${MACHINE}; ` +
      `node ${process.version}; matmul backend: float64 ${backendReport().float64}, float32 ${backendReport().float32}; ` +
      `${sameProcess ? 'both dtypes timed in one process' : 'each dtype timed in its own process'}\n`,
  );
  const { hvpErr, ok } = runChecks(data);

  let timings: Timing[] = [];
  if (sameProcess) timings = await timeSuites(data, DTYPES);
  else {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'metagrad-bench-'));
    const dataFile = path.join(dir, 'workload.json');
    writeFileSync(dataFile, JSON.stringify(data));
    for (let round = 1; round <= ROUNDS; round++) {
      if (ROUNDS > 1) console.log(`\n--- round ${round} of ${ROUNDS} ---`);
      for (const threads of THREADS) for (const dtype of DTYPES) timings.push(...timeInChild(dataFile, dtype, threads, dir, round));
    }
    rmSync(dir, { recursive: true, force: true });
  }

  // Units check: our median of benchmark.js's samples is benny's details.median (seconds per call).
  for (const t of timings) {
    const mine = median(t.samples_s) * 1e3;
    if (Math.abs(mine - t.benny_median_ms) > 1e-9 * mine) console.log(`warning: ${t.work} ${t.dtype}: our median ${mine} ms vs benny's ${t.benny_median_ms} ms`);
  }

  // Pool the samples of every round: the median of all of them is the figure reported.
  const pooled = new Map<string, { work: string; dtype: DType; threads: number; samples: number[]; roundMedians: number[] }>();
  for (const t of timings) {
    const threads = t.threads ?? backendReport().cpuThreads;
    const key = `${t.work}/${t.dtype}/${threads}`;
    const e = pooled.get(key) ?? { work: t.work, dtype: t.dtype, threads, samples: [], roundMedians: [] };
    e.samples.push(...t.samples_s.map((x) => x * 1e3));
    e.roundMedians.push(median(t.samples_s) * 1e3);
    pooled.set(key, e);
  }
  const rows: BenchResult[] = [...pooled.values()].map((t) => {
    const n = t.work.startsWith('matmul_') ? Number(t.work.slice('matmul_'.length)) : null;
    const med = median(t.samples);
    return {
      suite: n === null ? 'autodiff' : 'matmul', work: t.work, dtype: t.dtype, backend: 'cpu', mode: null,
      median_ms: sig(med, 4), gflops: n === null ? null : sig((2 * n ** 3) / (med * 1e6), 4),
      steps_per_s: null, rel_err: hvpErr[`${t.work}/${t.dtype}`] === undefined ? null : sig(hvpErr[`${t.work}/${t.dtype}`]!, 3),
      machine: MACHINE, date: DATE, threads: t.threads, min_ms: sig(Math.min(...t.samples), 4), samples: t.samples.length,
      round_medians_ms: t.roundMedians.map((x) => sig(x, 4)).join(' '), same_process: sameProcess,
    };
  });
  const file = writeResults('autodiff', rows);

  const one = THREADS[0]!;
  const ms = (w: string, d: DType, th = one): number => rows.find((r) => r.work === w && r.dtype === d && r.threads === th)?.median_ms ?? NaN;
  console.log(`\nResults (medians; written to ${file}):`);
  console.table(
    rows.map((r) => {
      const target = TARGETS[`${r.work}/${r.dtype}`];
      return {
        work: r.work, dtype: r.dtype, threads: r.threads, 'median ms': r.median_ms, 'min ms': r.min_ms, 'per-round medians': r.round_medians_ms, 'GFLOP/s': r.gflops, rel_err: r.rel_err, samples: r.samples,
        'f64 time / f32 time': r.dtype === 'float32' ? sig(ms(r.work, 'float64', r.threads as number) / ms(r.work, 'float32', r.threads as number), 3) : '',
        [`time / ${one} thread`]: r.threads === one ? '' : sig(r.median_ms! / ms(r.work, r.dtype!, one), 3),
        target: target === undefined ? '' : `≤ ${target} ms: ${r.median_ms! <= target ? 'met' : 'MISSED'}`,
      };
    }),
  );
  const ratio = (a: string, c: string, d: DType): string => (ms(a, d) / ms(c, d)).toFixed(2);
  console.log(
    `Ratios in this run (${one} thread): meta_grad / inner_grad = ${ratio('meta_grad', 'inner_grad', 'float64')} (float64), ${ratio('meta_grad', 'inner_grad', 'float32')} (float32); ` +
      `eager / jit: inner_grad ${ratio('inner_grad', 'inner_grad_jit', 'float64')}, meta_grad ${ratio('meta_grad', 'meta_grad_jit', 'float64')}, hvp ${ratio('hvp', 'hvp_jit', 'float64')}, hvp_transform / hvp_jit_at ${ratio('hvp_transform', 'hvp_jit_at', 'float64')}, hvp_jit / hvp_jit_at ${ratio('hvp_jit', 'hvp_jit_at', 'float64')} (float64), ` +
      `meta_grad ${ratio('meta_grad', 'meta_grad_jit', 'float32')} (float32); hvp / inner_grad = ${ratio('hvp', 'inner_grad', 'float64')}; hvp / hvp_transform = ${ratio('hvp', 'hvp_transform', 'float64')}; hvp_forward / hvp_transform = ${ratio('hvp_forward', 'hvp_transform', 'float64')}; jvp / objective = ${ratio('jvp', 'objective', 'float64')} (float64).`,
  );
  if (!ok) {
    console.log('\nA CORRECTNESS CHECK FAILED (see the table at the top).');
    process.exitCode = 1;
  }
}

await main();

/**
 * `npm run bench:matmul`: the float32 matmul backends side by side, in one run, through the engine's public
 * path (a tensor matmul under noGrad, routed by setBackend / setGpujsMode), timed with benny:
 *
 * - square matmuls 256, 1024, 2048 in GFLOP/s on backend cpu with its WebAssembly SIMD kernel, on backend
 *   cpu with the plain-JS kernel (METAGRAD_CPU_KERNEL=js), and on backend gpujs in every gpu.js mode that
 *   can run here (webasm, cpu, and headlessgl when an X display is there: `xvfb-run -a`);
 * - the `meta_grad` workload in float32 (Gaussian MLP 20 → 64 → 64 → 6, N = 2000, second order through an
 *   inner step; bench/src/policy.ts) with every matmul on the cpu backend, then forced onto gpujs in each mode.
 *
 * Answers are checked on the output of the timed calls themselves: a few entries of each product against
 * float64 dot products (rel_err = |c − ref|/Σ|a·b|, tolerance 1e-5), and each meta-gradient against the
 * cpu backend's float32 meta-gradient (wasm-simd kernel; ‖g − ref‖₂/‖ref‖₂, tolerance 1e-3, the float32 vs
 * float64 tolerance of the autodiff bench); the cpu row's own error is against float64 (rel_err_f64 on
 * every meta_grad row). A failed check sets exit code 1; the timings are still written.
 *
 * The cpu kernel is chosen once per process (METAGRAD_CPU_KERNEL), so the JS-kernel rows run in one child
 * process and everything else in another; both see float32 only, so V8 keeps the shared element-wise code
 * monomorphic (see autodiff.bench.ts). The parent builds the inputs and the float64 reference, then prints
 * the mode report, a table and the ratios, and writes bench/results/matmul-backends.json.
 *
 * Timing: each case is one benny case (benchmark.js underneath), run as a deferred (async) case so that
 * benchmark.js does not add an untimed pretest call to every sample; benny calls each case once while the
 * suite is built, which is the warm-up (and compiles the gpu.js kernels; `first_call_ms`). Cases of
 * ≥ 2·1024³ flops off the wasm kernel take seconds per call and get 3 samples; the others ≥ 5 samples and up
 * to 1.5 s more. Whole run ≈ 4–4.5 min on 2 cores (248 s and 260 s measured). On a machine without a GPU, headlessgl renders on Mesa
 * llvmpipe, which uses its own threads (LP_NUM_THREADS, default one per core), while the wasm and webasm
 * kernels run on one thread.
 *
 * `npm run bench:gpu` is the same script as `--suite gpu`: square sizes 256 … 4096, the GPU-API modes and
 * webasm against the cpu backend's wasm kernel (no JS kernel, no gpu.js cpu mode), results in
 * bench/results/gpu.json. Every row names the adapter it ran on (the webgpu adapter, the GL renderer, the
 * CPU). A size is skipped for a path when the previous size's call predicts (×8 per doubling) more than
 * `--max-call-s` seconds per call (default 20), so software GPUs (SwiftShader, llvmpipe) stop early and
 * say so. gpu.js's webgpu mode needs a Vulkan driver: the machine's, or `METAGRAD_VULKAN_ICD=swiftshader`
 * for Chromium's software one.
 *
 *   npx tsc -b && xvfb-run -a node bench/dist/matmul-backends.js
 *   METAGRAD_VULKAN_ICD=swiftshader npm run bench:gpu
 *   node bench/dist/matmul-backends.js --sizes 256,1024 --modes webasm,cpu --js-max 1024 --gpujs-cpu-max 256
 *   BENCH_QUICK=1 node bench/dist/matmul-backends.js      # sizes 256 and 1024, few samples
 */
import b from 'benny';
import type { CaseResult, Options } from 'benny/lib/internal/common-types.js';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type GpuInfo, type Tensor, backendReport, cpuKernel, setBackend, treeLeaves } from '@metagrad/autograd';
import { disposeGpujs, gpujsInfo, installGpujs, probeWebgpu, setGpujsMode } from '@metagrad/autograd/gpujs';
import { type WorkloadData, matmulNoGrad, matmulOperands, matmulSpotErr, workloadData, workloadFromData } from './workloads.js';
import { type PolicyParams, ALPHA, BATCH, paramCount } from './policy.js';
import { type BenchResult, machine, median, sig, writeResults } from './results.js';

const QUICK = process.env['BENCH_QUICK'] === '1';
/** Every gpu.js 2.24 mode; each is tried, and the ones that cannot run here are reported with the reason. */
const GPUJS_MODES = ['headlessgl', 'webgl2', 'webgl', 'webgpu', 'webasm', 'cpu'] as const;
/** benchmark.js sampling (minSamples, then maxTime seconds more). Heavy: seconds per call. */
const LIGHT: Options = QUICK ? { minSamples: 3, maxTime: 0.2 } : { minSamples: 5, maxTime: 1.5 };
const HEAVY: Options = QUICK ? { minSamples: 2, maxTime: 0 } : { minSamples: 3, maxTime: 0 };
const META: Options = QUICK ? { minSamples: 3, maxTime: 0.2 } : { minSamples: 6, maxTime: 1.5 };
/** Tolerances: matmul entries vs float64 dot products; meta_grad vs the cpu backend's float32 result. */
const TOL = { matmul: 1e-5, meta: 1e-3 };

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const list = (s: string): string[] => s.split(',').map((x) => x.trim()).filter(Boolean);

/** 'matmul' (bench:matmul, every kernel and mode) or 'gpu' (bench:gpu: 256 … 4096, GPU modes and webasm vs cpu wasm). */
const SUITE = arg('suite') ?? 'matmul';
if (SUITE !== 'matmul' && SUITE !== 'gpu') throw new Error(`--suite must be matmul or gpu, got ${SUITE}`);
const GPU = SUITE === 'gpu';
const SIZES = list(arg('sizes') ?? (QUICK ? '256,1024' : GPU ? '256,512,1024,2048,4096' : '256,1024,2048')).map(Number);
const MODES = list(arg('modes') ?? (GPU ? 'webgpu,headlessgl,webgl2,webasm' : GPUJS_MODES.join(',')));
/** Largest predicted seconds per call of a size for a path (from its previous size, ×8 per doubling). */
const MAX_CALL_S = Number(arg('max-call-s') ?? (GPU ? 20 : Infinity));
/** Largest square size timed with the JS kernel and with gpu.js's cpu mode (both ~1–2 GFLOP/s here). */
const JS_MAX = Number(arg('js-max') ?? 2048);
const GPUJS_CPU_MAX = Number(arg('gpujs-cpu-max') ?? 2048);

// ---------- child: timing in one process per cpu kernel ----------

type Kernel = 'wasm-simd' | 'js';

/** One timed case as a child reports it. */
interface CaseOut {
  work: string;
  backend: 'cpu' | 'gpujs';
  mode: string | null;
  kernel: Kernel | null;
  /** benchmark.js samples, seconds per call. */
  samples_s: number[];
  /** The first call (benny's warm-up while building the suite; compiles gpu.js kernels), ms. */
  first_call_ms: number;
  /** matmul: spot-check error of the last timed output vs float64 dot products. */
  rel_err: number | null;
  /** meta_grad: the last timed gradient, leaves flattened in treeLeaves order. */
  grad: number[] | null;
  /** backendReport().float32 while the case ran. */
  route: string;
  renderer: string | null;
  /** What computed: the webgpu adapter, the GL renderer, or the CPU model. */
  adapter: string;
  software: boolean | null;
}

interface ChildOut { lines: string[]; cases: CaseOut[] }

interface Timed {
  name: string;
  run: () => unknown;
  options: Options;
  /** Turns the last output into the check fields. */
  finish: (last: unknown) => Pick<CaseOut, 'rel_err' | 'grad'>;
  meta: Omit<CaseOut, 'samples_s' | 'first_call_ms' | 'rel_err' | 'grad'>;
}

let sink: unknown;
const flatGrad = (g: PolicyParams): number[] => treeLeaves(g).flatMap((t) => Array.from(t.data));

/** Times `cases` as one benny suite; every case keeps its first-call time and last output. */
async function timeSuite(title: string, cases: Timed[]): Promise<CaseOut[]> {
  const state = cases.map(() => ({ calls: 0, first: NaN, last: undefined as unknown }));
  const results = new Map<string, CaseResult>();
  await b.suite(
    title,
    ...cases.map((c, i) => {
      const st = state[i]!;
      // async: benny runs it as a deferred benchmark.js case (no untimed pretest call per sample)
      return b.add(c.name, async () => {
        if (st.calls++ === 0) {
          const t0 = performance.now();
          st.last = c.run();
          st.first = performance.now() - t0;
        } else st.last = c.run();
        sink = st.last;
      }, c.options);
    }),
    b.cycle((r: CaseResult) => {
      results.set(r.name, r);
      const ms = median(r.details.sampleResults) * 1e3;
      const st = state[cases.findIndex((c) => c.name === r.name)]!;
      console.log(`  ${r.name.padEnd(34)} median ${ms.toFixed(ms < 10 ? 2 : 1).padStart(8)} ms  (${r.samples} samples, first call ${st.first.toFixed(0)} ms)`);
      return undefined;
    }),
    b.complete(() => undefined),
  );
  void sink;
  return cases.map((c, i) => {
    const r = results.get(c.name);
    if (!r) throw new Error(`benny returned no result for ${c.name}`);
    return { ...c.meta, samples_s: [...r.details.sampleResults], first_call_ms: state[i]!.first, ...c.finish(state[i]!.last) };
  });
}

/**
 * The sizes worth timing on the current path: one untimed call per size, ascending; a size whose call is
 * predicted (from the previous size's, ×(n/prev)³) to take over MAX_CALL_S is skipped with the larger ones.
 */
function affordable(sizes: number[], label: string, say: (s: string) => void): number[] {
  if (!Number.isFinite(MAX_CALL_S)) return sizes;
  const kept: number[] = [];
  let prev: { n: number; s: number } | null = null;
  for (const n of [...sizes].sort((x, y) => x - y)) {
    const predicted = prev ? prev.s * (n / prev.n) ** 3 : 0;
    if (predicted > MAX_CALL_S) {
      say(`  ${label}: matmul_${n} and larger skipped: ${predicted.toFixed(0)} s per call predicted from matmul_${prev!.n} (--max-call-s ${MAX_CALL_S})`);
      break;
    }
    const [x, y] = matmulOperands(n, 'float32');
    const t0 = performance.now();
    matmulNoGrad(x, y);
    prev = { n, s: (performance.now() - t0) / 1e3 };
    kept.push(n);
  }
  return kept;
}

function matmulCases(sizes: number[], label: string, meta: Timed['meta'], heavy: (n: number) => boolean): Timed[] {
  return sizes.map((n) => {
    const [x, y] = matmulOperands(n, 'float32');
    return {
      name: `matmul_${n} ${label}`,
      run: () => matmulNoGrad(x, y),
      options: heavy(n) ? HEAVY : LIGHT,
      finish: (last) => ({ rel_err: matmulSpotErr(x, y, last as Tensor), grad: null }),
      meta: { ...meta, work: `matmul_${n}` },
    };
  });
}

function metaCase(data: WorkloadData, label: string, meta: Timed['meta']): Timed {
  const w = workloadFromData(data, 'float32');
  return {
    name: `meta_grad ${label}`,
    run: () => w.metaGrad(),
    options: META,
    finish: (last) => ({ rel_err: null, grad: flatGrad(last as PolicyParams) }),
    meta: { ...meta, work: 'meta_grad' },
  };
}

async function child(kind: 'wasm' | 'js', data: WorkloadData): Promise<ChildOut> {
  const lines: string[] = [];
  const say = (s: string): void => { lines.push(s); console.log(s); };
  const out: CaseOut[] = [];

  setBackend('cpu');
  const kernel = cpuKernel();
  const label = `cpu/${kernel}`;
  say(`backend cpu, kernel ${kernel} (METAGRAD_CPU_KERNEL=${process.env['METAGRAD_CPU_KERNEL'] || '(unset)'}): float32 matmuls → ${backendReport().float32}`);
  const cpuMeta = { backend: 'cpu' as const, mode: null, kernel, route: backendReport().float32, renderer: null, software: null, adapter: `CPU: ${machine()}`, work: '' };
  const sizes = affordable(kind === 'js' ? SIZES.filter((n) => n <= JS_MAX) : SIZES, label, say);
  // the JS kernel runs ~2.5 GFLOP/s here: its 1024 and 2048 products take ~1 s and ~8 s per call
  out.push(...(await timeSuite(label, [
    ...matmulCases(sizes, label, cpuMeta, (n) => kernel === 'js' && n >= 1024),
    metaCase(data, label, cpuMeta),
  ])));
  if (kind === 'js') return { lines, cases: out };

  installGpujs();
  const probe = await probeWebgpu();
  say(`webgpu probe: ${probe.reason}`);
  say(`gpu.js auto: ${gpujsInfo().reason}`);
  for (const mode of MODES) {
    let info: GpuInfo;
    try {
      info = setGpujsMode(mode);
      setBackend('gpujs');
    } catch (e) {
      say(`gpu.js ${mode}: not run: ${e instanceof Error ? e.message : String(e)}`);
      continue;
    }
    const route = backendReport().float32;
    say(`gpu.js ${mode}: ran: ${info.reason}`);
    say(`  float32 matmuls → ${route}`);
    const adapter = info.mode === 'webasm' || info.mode === 'cpu'
      ? `CPU: ${machine()}`
      : `${info.renderer ?? 'unknown renderer'} (${info.software ? 'software' : 'hardware'})`;
    const gmeta = { backend: 'gpujs' as const, mode: info.mode, kernel: null, route, renderer: info.renderer, software: info.software, adapter, work: '' };
    const glabel = `gpujs/${info.mode}`;
    const s = affordable(mode === 'cpu' ? SIZES.filter((n) => n <= GPUJS_CPU_MAX) : SIZES, glabel, say);
    out.push(...(await timeSuite(glabel, [
      ...matmulCases(s, glabel, gmeta, (n) => n >= 1024),
      metaCase(data, glabel, gmeta),
    ])));
    // the mode that was asked for is the one that ran (matmulGpujs throws if gpu.js fell back to cpu)
    if (gpujsInfo().mode !== info.mode) throw new Error(`gpu.js mode changed from ${info.mode} to ${gpujsInfo().mode} while timing`);
    setBackend('cpu');
  }
  disposeGpujs();
  return { lines, cases: out };
}

// ---------- parent: inputs, reference, report ----------

/** ‖a − ref‖₂/‖ref‖₂ in float64. */
function relErr(a: readonly number[], ref: readonly number[]): number {
  let num = 0, den = 0;
  for (let i = 0; i < ref.length; i++) {
    num += (a[i]! - ref[i]!) ** 2;
    den += ref[i]! ** 2;
  }
  return Math.sqrt(num) / Math.sqrt(den);
}

function runChild(kind: 'wasm' | 'js', dataFile: string, dir: string): ChildOut | null {
  const outFile = path.join(dir, `child-${kind}.json`);
  const self = fileURLToPath(import.meta.url);
  const r = spawnSync(process.execPath, [self, ...process.argv.slice(2), '--child', kind, '--data', dataFile, '--out', outFile], {
    stdio: 'inherit', env: { ...process.env, METAGRAD_CPU_KERNEL: kind === 'js' ? 'js' : 'wasm' },
  });
  if (r.status !== 0) {
    console.log(`the ${kind} timing process exited with ${r.status ?? r.signal}: its rows are missing`);
    return null;
  }
  return JSON.parse(readFileSync(outFile, 'utf8')) as ChildOut;
}

/** The table's short name of a rel_err reference. */
const SHORT_REF = (ref: string): string => (ref.startsWith('float64 dot') ? 'f64 dots' : ref.startsWith('float64') ? 'f64 grad' : `f32 grad ${ref.split(' on ')[1] ?? ''}`);

const pathOf = (r: { backend: string; mode: string | null; kernel?: unknown }): string =>
  r.backend === 'cpu' ? `cpu/${String(r.kernel)}` : `gpujs/${r.mode ?? '?'}`;

async function main(): Promise<void> {
  const kind = arg('child') as 'wasm' | 'js' | undefined;
  if (kind) {
    const data = JSON.parse(readFileSync(arg('data')!, 'utf8')) as WorkloadData;
    writeFileSync(arg('out')!, JSON.stringify(await child(kind, data)));
    return;
  }

  const MACHINE = machine();
  const DATE = new Date().toISOString();
  const t0 = performance.now();
  const data = workloadData(BATCH);
  const ref64 = flatGrad(workloadFromData(data, 'float64').metaGrad());
  console.log(
    `metagrad ${GPU ? 'bench:gpu' : 'matmul backends'}${QUICK ? ' (BENCH_QUICK=1)' : ''}: float32 square matmuls ${SIZES.join(', ')} ` +
      `${GPU ? `(sizes over ${MAX_CALL_S} s per call skipped)` : `(cpu/js up to ${JS_MAX}, gpujs/cpu up to ${GPUJS_CPU_MAX})`} and meta_grad (Gaussian MLP 20 → 64 → 64 → 6, ` +
      `${paramCount(workloadFromData(data, 'float64').params)} parameters, N = ${BATCH}, α = ${ALPHA}); ${MACHINE}; node ${process.version}; ` +
      `DISPLAY=${process.env['DISPLAY'] ?? '(unset)'}; LP_NUM_THREADS=${process.env['LP_NUM_THREADS'] ?? `(unset: llvmpipe uses ${os.cpus().length} threads)`}\n`,
  );

  const dir = mkdtempSync(path.join(os.tmpdir(), 'metagrad-mm-'));
  const dataFile = path.join(dir, 'workload.json');
  writeFileSync(dataFile, JSON.stringify(data));
  const children = GPU ? [runChild('wasm', dataFile, dir)] : [runChild('js', dataFile, dir), runChild('wasm', dataFile, dir)];
  rmSync(dir, { recursive: true, force: true });
  const cases = children.flatMap((c) => c?.cases ?? []);
  const lines = children.flatMap((c) => c?.lines ?? []);

  // meta_grad checks: the cpu backend's float32 gradient (wasm-simd kernel) is the reference of the others
  const cpuRef = cases.find((c) => c.work === 'meta_grad' && c.backend === 'cpu' && c.kernel === 'wasm-simd')
    ?? cases.find((c) => c.work === 'meta_grad' && c.backend === 'cpu');
  let ok = true;
  const rows: BenchResult[] = cases.map((c) => {
    const n = c.work.startsWith('matmul_') ? Number(c.work.slice('matmul_'.length)) : null;
    const med = median(c.samples_s) * 1e3;
    let relErrVal: number | null, ref: string, errF64: number | null = null;
    if (n !== null) {
      relErrVal = c.rel_err;
      ref = 'float64 dot products (5 entries)';
      if (!(relErrVal! <= TOL.matmul)) ok = false;
    } else {
      errF64 = relErr(c.grad!, ref64);
      if (c === cpuRef) {
        relErrVal = errF64;
        ref = 'float64 meta_grad';
        if (!(errF64 <= TOL.meta)) ok = false;
      } else {
        relErrVal = cpuRef ? relErr(c.grad!, cpuRef.grad!) : NaN;
        ref = `float32 meta_grad on ${cpuRef ? pathOf(cpuRef) : '(missing)'}`;
        if (!(relErrVal <= TOL.meta)) ok = false;
      }
    }
    return {
      suite: GPU ? 'gpu' : 'matmul-backends', work: c.work, dtype: 'float32', backend: c.backend, mode: c.mode,
      median_ms: sig(med, 4), gflops: n === null ? null : sig((2 * n ** 3) / (med * 1e6), 4), steps_per_s: null,
      rel_err: relErrVal === null ? null : sig(relErrVal, 3), machine: MACHINE, date: DATE, kernel: c.kernel,
      rel_err_ref: ref, rel_err_f64: errF64 === null ? null : sig(errF64, 3),
      min_ms: sig(Math.min(...c.samples_s) * 1e3, 4), samples: c.samples_s.length, first_call_ms: sig(c.first_call_ms, 4),
      vs_best: null, route: c.route, renderer: c.renderer, software: c.software, adapter: c.adapter,
    };
  });
  const works = [...new Set(rows.map((r) => r.work))].sort((x, y) => (x === 'meta_grad' ? 1 : y === 'meta_grad' ? -1 : Number(x.slice(7)) - Number(y.slice(7))));
  const best = new Map(works.map((w) => [w, Math.min(...rows.filter((r) => r.work === w).map((r) => r.median_ms!))]));
  for (const r of rows) r['vs_best'] = sig(r.median_ms! / best.get(r.work)!, 3);
  rows.sort((x, y) => works.indexOf(x.work) - works.indexOf(y.work) || x.median_ms! - y.median_ms!);
  const file = writeResults(GPU ? 'gpu' : 'matmul-backends', rows);

  console.log('\nModes (as reported while timing):');
  for (const l of lines) console.log(`  ${l}`);
  console.log(`\nResults (medians, float32; written to ${file}):`);
  console.table(rows.map((r) => ({
    work: r.work, path: pathOf(r), 'median ms': r.median_ms, 'min ms': r.min_ms, 'GFLOP/s': r.gflops ?? '',
    rel_err: r.rel_err === null ? '' : r.rel_err.toExponential(2), 'rel_err vs': SHORT_REF(r.rel_err_ref as string),
    'rel_err vs f64': r.rel_err_f64 === null ? '' : (r.rel_err_f64 as number).toExponential(2),
    samples: r.samples, 'first call ms': r.first_call_ms, '× best': r['vs_best'],
    ...(GPU ? { adapter: String(r['adapter']).slice(0, 60) } : {}),
  })));
  console.log('Ratios in this run (median of the path / median of the fastest path for that work):');
  for (const w of works) {
    const rs = rows.filter((r) => r.work === w);
    console.log(`  ${w}: fastest ${pathOf(rs[0]!)} (${rs[0]!.median_ms} ms); ${rs.slice(1).map((r) => `${pathOf(r)} ${r['vs_best']}×`).join(', ')}`);
  }
  const ms = (w: string, p: string): number => rows.find((r) => r.work === w && pathOf(r) === p)?.median_ms ?? NaN;
  const pairs = (a: string, c: string): string => works.map((w) => `${w} ${sig(ms(w, a) / ms(w, c), 3)}×`).filter((s) => !s.includes('NaN')).join(', ');
  if (!GPU) console.log(`  cpu/js ÷ cpu/wasm-simd: ${pairs('cpu/js', 'cpu/wasm-simd')}`);
  for (const m of MODES) {
    const p = `gpujs/${m}`;
    if (rows.some((r) => pathOf(r) === p)) console.log(`  ${p} ÷ cpu/wasm-simd: ${pairs(p, 'cpu/wasm-simd')}`);
  }
  console.log(`\nTotal ${((performance.now() - t0) / 1e3).toFixed(0)} s.`);
  if (!ok || children.includes(null)) {
    console.log(!ok ? `\nA CORRECTNESS CHECK FAILED (rel_err above ${TOL.matmul} for a matmul or ${TOL.meta} for meta_grad).` : '\nA timing process failed.');
    process.exitCode = 1;
  }
}

await main();

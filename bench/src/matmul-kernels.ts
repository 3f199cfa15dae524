/**
 * GFLOP/s of the WebAssembly SIMD matmul kernels (packages/autograd/src/kernels/wasm) against the plain-JS
 * loop they fall back to (an i-p-j loop with the reduction unrolled by four, or row-by-row dot products
 * when B is transposed), for the policy-sized shapes and square sizes, in float64 and float32.
 *
 *   npm run build && node bench/dist/matmul-kernels.js [--dtypes f64,f32] [--square 256,1024,2048] [--js-max 1024]
 *
 * Each timing is the median of ≥ 9 samples after 3 warm-up calls; a sample repeats the call until it
 * spans ≥ 5 ms. Square products above --js-max are not timed in JS (a 2048³ float64 JS product takes
 * ~10 s). Each dtype runs in its own child process so the JS loop's element accesses stay monomorphic
 * (one typed-array kind per process), which is the fairest baseline. Other processes share this
 * machine's cores, so absolute numbers drift between runs: compare the ratio column, measured in the
 * same process and moments apart.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  matmulF32, matmulF64, matmulJs, wasmSimdAvailable,
} from '@metagrad/autograd/kernels';

type DT = 'f64' | 'f32';
type Arr = Float64Array | Float32Array;

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1]! : fallback;
}

/** One benchmarked product: out[m×n] = op(A)·op(B). */
interface Shape {
  label: string;
  m: number;
  k: number;
  n: number;
  transA: boolean;
  transB: boolean;
}

const POLICY: Shape[] = [
  { label: '[2000×20]·[20×64]', m: 2000, k: 20, n: 64, transA: false, transB: false },
  { label: '[2000×64]·[64×64]', m: 2000, k: 64, n: 64, transA: false, transB: false },
  { label: '[2000×64]·[64×6]', m: 2000, k: 64, n: 6, transA: false, transB: false },
  { label: '[2000×64]·[64×64]ᵀ', m: 2000, k: 64, n: 64, transA: false, transB: true },
  { label: '[2000×6]·[64×6]ᵀ', m: 2000, k: 6, n: 64, transA: false, transB: true },
  { label: '[2000×64]ᵀ·[2000×64]', m: 64, k: 2000, n: 64, transA: true, transB: false },
  { label: '[2000×20]ᵀ·[2000×64]', m: 20, k: 2000, n: 64, transA: true, transB: false },
  { label: '[2000×64]ᵀ·[2000×6]', m: 64, k: 2000, n: 6, transA: true, transB: false },
];

function fill(arr: Arr, seed: number): Arr {
  let s = seed;
  for (let i = 0; i < arr.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    arr[i] = s / 2 ** 32 - 0.5;
  }
  return arr;
}

/** Seconds per call of `run` (median and best): ≥ `samples` samples of ≥ 5 ms each after 3 warm-up calls. */
function time(run: () => void, samples: number): { median: number; best: number } {
  for (let i = 0; i < 3; i++) run();
  const t0 = performance.now();
  run();
  const once = Math.max(performance.now() - t0, 1e-3);
  const reps = Math.max(1, Math.ceil(5 / once));
  const per: number[] = [];
  for (let s = 0; s < samples; s++) {
    const start = performance.now();
    for (let r = 0; r < reps; r++) run();
    per.push((performance.now() - start) / reps);
  }
  per.sort((x, y) => x - y);
  return { median: per[per.length >> 1]! / 1e3, best: per[0]! / 1e3 };
}

/** Max |x − y| / max |y|. */
function relErr(x: Arr, y: Arr): number {
  let num = 0, den = 0;
  for (let i = 0; i < y.length; i++) {
    num = Math.max(num, Math.abs(x[i]! - y[i]!));
    den = Math.max(den, Math.abs(y[i]!));
  }
  return num / (den || 1);
}

function benchDtype(dt: DT, shapes: Shape[], jsMax: number, samples: number): void {
  const make = (n: number): Arr => (dt === 'f64' ? new Float64Array(n) : new Float32Array(n));
  const wasm = dt === 'f64'
    ? (a: Arr, b: Arr, c: Arr, s: Shape): void => matmulF64(a as Float64Array, b as Float64Array, c as Float64Array, s.m, s.k, s.n, s.transA, s.transB)
    : (a: Arr, b: Arr, c: Arr, s: Shape): void => matmulF32(a as Float32Array, b as Float32Array, c as Float32Array, s.m, s.k, s.n, s.transA, s.transB);
  for (const s of shapes) {
    const a = fill(make(s.m * s.k), 1), b = fill(make(s.k * s.n), 2);
    const cw = make(s.m * s.n), cj = make(s.m * s.n);
    const flop = 2 * s.m * s.k * s.n;
    const gf = (sec: number): string => (flop / sec / 1e9).toFixed(1);
    const tw = time(() => wasm(a, b, cw, s), samples);
    let js = '—', ratio = '—', err = '—';
    if (s.m * s.k * s.n <= jsMax ** 3) {
      const tj = time(() => matmulJs(a, b, cj, s.m, s.k, s.n, s.transA, s.transB), samples);
      js = `${gf(tj.median)} / ${gf(tj.best)}`;
      ratio = `${(tj.median / tw.median).toFixed(1)}×`;
      err = relErr(cw, cj).toExponential(1);
    }
    const row = [dt, s.label.padEnd(22), `${gf(tw.median)} / ${gf(tw.best)}`.padStart(11), js.padStart(11), ratio.padStart(7), err.padStart(9)];
    console.log(`| ${row.join(' | ')} |`);
  }
}

const self = fileURLToPath(import.meta.url);
const child = arg('child', '');
const square = arg('square', '256,1024,2048').split(',').filter(Boolean).map(Number);
const jsMax = Number(arg('js-max', '1024'));
const samples = Math.max(9, Number(arg('samples', '9')));

if (child) {
  const shapes: Shape[] = [
    ...POLICY,
    ...square.map((n) => ({ label: `${n}×${n}·${n}×${n}`, m: n, k: n, n, transA: false, transB: false })),
  ];
  benchDtype(child as DT, shapes, jsMax, samples);
} else {
  console.log(`wasm SIMD: ${wasmSimdAvailable()}, node ${process.version}, ${new Date().toISOString()}`);
  console.log('GF/s as median / best sample; wasm/JS is the ratio of medians; rel. diff = max|wasm − JS| / max|JS|');
  console.log('| dtype | shape                  | wasm GF/s   | JS GF/s     | wasm/JS | rel. diff |');
  console.log('|-------|------------------------|------------:|------------:|--------:|----------:|');
  for (const dt of arg('dtypes', 'f64,f32').split(',')) {
    const args = [self, '--child', dt, '--square', square.join(','), '--js-max', String(jsMax), '--samples', String(samples)];
    process.stdout.write(execFileSync(process.execPath, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }));
  }
}

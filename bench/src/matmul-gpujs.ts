/**
 * GFLOP/s of the gpu.js float32 matmul (packages/autograd/src/kernels/gpujs) per mode and size:
 * median of N timed calls after one warm-up call (which compiles and caches the kernels).
 *
 *   npm run build && node bench/dist/matmul-gpujs.js [--sizes 256,1024,2048] [--modes cpu,webasm,headlessgl] [--reps 5]
 *   xvfb-run -a node bench/dist/matmul-gpujs.js      # headlessgl needs an X display
 *
 * Modes that cannot run here are reported with the reason and skipped.
 */
import {
  gpujsInfo, setGpujsMode, matmulGpujs, disposeGpujs,
} from '../../packages/autograd/dist/kernels/gpujs/index.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1]! : fallback;
}

const sizes = arg('sizes', '256,1024,2048').split(',').map(Number);
const modes = arg('modes', 'headlessgl,webasm,cpu').split(',');
const reps = Math.max(5, Number(arg('reps', '5')));

function fill(len: number, seed: number): Float32Array {
  const x = new Float32Array(len);
  let s = seed;
  for (let i = 0; i < len; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    x[i] = s / 2 ** 32 - 0.5;
  }
  return x;
}

/** Spot-checks a few entries of C = A·B against float64. */
function spotError(a: Float32Array, b: Float32Array, c: Float32Array, n: number): number {
  let worst = 0;
  for (const [i, j] of [[0, 0], [n - 1, n - 1], [n >> 1, 3 % n], [7 % n, n >> 2]] as const) {
    let s = 0;
    let t = 0;
    for (let p = 0; p < n; p++) {
      s += a[i * n + p]! * b[p * n + j]!;
      t += Math.abs(a[i * n + p]! * b[p * n + j]!);
    }
    worst = Math.max(worst, Math.abs(c[i * n + j]! - s) / t);
  }
  return worst;
}

const rows: string[] = [];
console.log(`auto: ${gpujsInfo().reason}`);
for (const mode of modes) {
  let reason: string;
  try {
    reason = setGpujsMode(mode).reason;
  } catch (e) {
    console.log(`\n${mode}: skipped (${e instanceof Error ? e.message : String(e)})`);
    continue;
  }
  console.log(`\n${mode}: ${reason}`);
  for (const n of sizes) {
    const a = fill(n * n, 1);
    const b = fill(n * n, 2);
    const c = new Float32Array(n * n);
    let t0 = performance.now();
    matmulGpujs(a, b, c, 1, n, n, n, false, false);
    const first = performance.now() - t0;
    const times: number[] = [];
    for (let r = 0; r < reps; r++) {
      t0 = performance.now();
      matmulGpujs(a, b, c, 1, n, n, n, false, false);
      times.push(performance.now() - t0);
    }
    times.sort((x, y) => x - y);
    const med = times[times.length >> 1]!;
    const gflops = (2 * n * n * n) / (med * 1e6);
    const err = spotError(a, b, c, n);
    const row = `${mode.padEnd(10)} ${String(n).padStart(5)}  ${gflops.toFixed(2).padStart(7)} GFLOP/s  median ${med.toFixed(1).padStart(8)} ms  first call ${first.toFixed(0).padStart(6)} ms  rel.err ${err.toExponential(1)}`;
    console.log(row);
    rows.push(row);
  }
}
console.log(`\nmode        size   GFLOP/s (median of ${reps} after warm-up)`);
for (const r of rows) console.log(r);
disposeGpujs();

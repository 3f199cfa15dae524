/**
 * WebAssembly SIMD matmul for float64 and float32 typed arrays.
 *
 *   matmulF64(a, b, out, m, k, n, transA, transB)   // out[m×n] = op(A)·op(B)
 *
 * Files: ./emitter.ts writes wasm binaries; ./gemm.ts generates the kernels with it (packing, the
 * 4×8 f32 / 4×4 f64 register-blocked micro-kernel, compaction; the design is described there);
 * ./driver.ts owns the instance and memory and runs the cache-blocking loops; ./jsloops.ts is the
 * plain-JS fallback.
 *
 * The module is generated and compiled synchronously at the first call above the JS threshold
 * (~10 ms once). V8 first runs it in its baseline compiler and swaps in optimized code after some
 * use, so the first few large calls are up to ~4× slower than the steady state (measured 1024³ f32:
 * 10 GFLOP/s on the first call, 35–45 from the second or third on).
 */
import { DEFAULT_BLOCKING, WasmGemm, worthSplitting } from './driver.js';
import { DEFAULT_GEMM_CONFIG } from './gemm.js';
import { FunctionBuilder, ModuleBuilder } from './emitter.js';
import { type FloatArray, matmulJs } from './jsloops.js';
import { wasmApi } from './wasmapi.js';
import { availableCores, startGemmThreads, threadsAvailable } from './threads.js';
import { envSetting } from '../../settings.js';

export { WasmGemm, DEFAULT_BLOCKING, THREAD_MIN_FLOPS, THREAD_MIN_K, worthSplitting, type Blocking, type GemmBlocking, type GemmThreads } from './driver.js';
export { startGemmThreads, threadsAvailable } from './threads.js';
export { DEFAULT_GEMM_CONFIG, buildGemmModule, type GemmModuleConfig, type TileConfig, type KernelType } from './gemm.js';
export { matmulJs, type FloatArray } from './jsloops.js';

/**
 * Below this many multiply-adds per output row (k·n) the plain-JS loop is used: the wasm path's fixed
 * cost (~0.2 µs: a few calls, copies, packing) outweighs its speed on tiny products (measured crossover,
 * steady state: 4×4×4 JS 1.5× faster, 5×5×5 even, 6×6×6 wasm 1.2× faster, 8×8×8 wasm 2.6× (f64) / 3.4×
 * (f32)). The choice depends on k·n only, never on the number of rows m, and both kernels sum each
 * output over k in an order that does not depend on m, so a row's result is the same bits whatever
 * batch it is computed in (the samplers rely on this: a worker's share of a batch acts as the whole).
 */
export const JS_THRESHOLD: {
  /** The float64 crossover, in multiply-adds per row (k·n). */
  readonly f64: number;
  /** The float32 crossover, in multiply-adds per row (k·n). */
  readonly f32: number;
} = { f64: 64, f32: 64 };

let simd: boolean | undefined;
/** The instance on private memory: every product one thread computes. */
let gemm: WasmGemm | null | undefined;
/**
 * The instance on shared memory with its worker threads, made at the first product that is split. Kept
 * apart because copying operands into and out of shared memory is slower (TypedArray.set on a
 * SharedArrayBuffer copies word by word: measured 1.2× on a [2000×64]·[64×64] float64 product).
 */
let shared: WasmGemm | null = null;
/** Threads for large matmuls (the calling thread included); null until first read. */
let threads: number | null = null;
let pool: ReturnType<typeof startGemmThreads> | null = null;

function parseThreads(v: string | undefined): number {
  if (v === undefined) return threadsAvailable() ? Math.min(availableCores(), 8) : 1;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`METAGRAD_THREADS must be a positive integer, got '${v}'`);
  return threadsAvailable() ? n : 1;
}

/**
 * Threads the cpu backend's large matmuls run on, the calling thread included: METAGRAD_THREADS, by
 * default every core Node reports (up to 8); always 1 in a browser. Each matmul large enough to pay for it
 * (`worthSplitting`) is split into one block of C's tiles per thread; the bits of the result do not
 * depend on the count.
 */
export function cpuThreads(): number {
  if (threads === null) threads = parseThreads(envSetting('METAGRAD_THREADS'));
  return threads;
}

/**
 * Sets the number of threads for large matmuls (1: the calling thread only). Throws on a count that is
 * not a positive integer, or above 1 where threads cannot run (a browser, Node < 20.16).
 */
export function setCpuThreads(n: number): number {
  if (!Number.isInteger(n) || n < 1) throw new Error(`setCpuThreads: the count must be a positive integer, got ${String(n)}`);
  if (n > 1 && !threadsAvailable()) throw new Error('setCpuThreads: worker threads are not available here (they need Node ≥ 20.16; a browser runs matmuls on one thread)');
  if (n !== cpuThreads()) {
    pool?.close();
    pool = null;
    shared = null;
    threads = n;
  }
  return n;
}

/** True when this Node has WebAssembly SIMD (it does on Node 20); kernels fall back to JS otherwise. */
export function wasmSimdAvailable(): boolean {
  if (simd === undefined) {
    try {
      // (func $probe (local $v v128) (local.set $v (f32x4.add (v128.const 0) (v128.const 0))))
      const f = new FunctionBuilder('probe', []);
      f.v128Zero().v128Zero().f32x4Add().localSet(f.local('v128', 'v'));
      simd = wasmApi !== undefined && wasmApi.validate(new ModuleBuilder().add(f).toBytes());
    } catch {
      simd = false;
    }
  }
  return simd === true;
}

/**
 * The kernel instance for a product: the private one, or (a product worth splitting, with more than one
 * thread) the shared one with its threads; both made at first use; null when wasm SIMD is
 * unavailable. A module that fails to compile where SIMD is available is a bug in ./gemm.ts, so that
 * error is not swallowed.
 */
function instance(t: 'f32' | 'f64', m: number, k: number, n: number): WasmGemm | null {
  if (gemm === undefined) gemm = wasmSimdAvailable() ? new WasmGemm(DEFAULT_GEMM_CONFIG, DEFAULT_BLOCKING) : null;
  if (!gemm || cpuThreads() < 2 || !worthSplitting(t, m, k, n)) return gemm;
  if (!shared) {
    shared = new WasmGemm(DEFAULT_GEMM_CONFIG, DEFAULT_BLOCKING, true);
    pool = startGemmThreads(shared, cpuThreads() - 1);
    shared.useThreads(pool);
  }
  return shared;
}

function isDim(x: number): boolean {
  return Number.isInteger(x) && x >= 0;
}

function check(kernel: string, a: FloatArray, b: FloatArray, out: FloatArray, m: number, k: number, n: number): void {
  if (!isDim(m) || !isDim(k) || !isDim(n)) {
    throw new Error(`${kernel}: sizes must be non-negative integers, got m=${m} k=${k} n=${n}`);
  }
  if (a.length < m * k) throw new Error(`${kernel}: a has ${a.length} elements, needs m·k = ${m}·${k} = ${m * k}`);
  if (b.length < k * n) throw new Error(`${kernel}: b has ${b.length} elements, needs k·n = ${k}·${n} = ${k * n}`);
  if (out.length < m * n) throw new Error(`${kernel}: out has ${out.length} elements, needs m·n = ${m}·${n} = ${m * n}`);
}

function matmul(t: 'f32' | 'f64', kernel: string, a: FloatArray, b: FloatArray, out: FloatArray, m: number, k: number, n: number, transA: boolean, transB: boolean): void {
  check(kernel, a, b, out, m, k, n);
  if (m === 0 || n === 0) return;
  if (k === 0) {
    out.fill(0, 0, m * n);
    return;
  }
  if (k * n >= JS_THRESHOLD[t]) {
    const g = instance(t, m, k, n);
    if (g && g.run(t, a, b, out, m, k, n, transA, transB)) return;
  }
  matmulJs(a, b, out, m, k, n, transA, transB);
}

/**
 * out[m×n] = op(A)·op(B) in float64, where op(A) is [m×k] (A stored [k×m] row-major when transA) and
 * op(B) is [k×n] (B stored [n×k] when transB). Row-major, contiguous from index 0 of each array (which
 * may be subarray views; only the first m·k, k·n elements are read); overwrites out[0, m·n) and
 * nothing else. k = 0 zero-fills; m = 0 or n = 0 writes nothing. `out` must not overlap `a` or `b`.
 * Throws when a size is not a non-negative integer or an array is too short.
 */
export function matmulF64(a: Float64Array, b: Float64Array, out: Float64Array, m: number, k: number, n: number, transA: boolean, transB: boolean): void {
  matmul('f64', 'matmulF64', a, b, out, m, k, n, transA, transB);
}

/**
 * out[m×n] = op(A)·op(B) in float32 (products and sums in float32 SIMD lanes), same conventions as
 * {@link matmulF64}.
 */
export function matmulF32(a: Float32Array, b: Float32Array, out: Float32Array, m: number, k: number, n: number, transA: boolean, transB: boolean): void {
  matmul('f32', 'matmulF32', a, b, out, m, k, n, transA, transB);
}

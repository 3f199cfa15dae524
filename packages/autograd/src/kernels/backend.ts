/**
 * The kernel backend for matrix products: the one place that decides which implementation runs a
 * matmul, so every matmul in a forward or backward pass (at any order) goes through the same choice.
 *
 * - `cpu`: WebAssembly SIMD kernels (./wasm: packed, register-blocked, cache-blocked GEMM), with the
 *   plain JS loops of ./matmul.ts where wasm SIMD is missing or when METAGRAD_CPU_KERNEL=js.
 * - `gpujs`: gpu.js kernels, float32 only; float64 matmuls always stay on cpu. They live behind the
 *   subpath `@metagrad/autograd/gpujs` (gpu.js is an optional peer dependency), whose `installGpujs()`
 *   plugs them in here; the engine itself never loads gpu.js.
 *
 * The setting is 'auto' (default; env METAGRAD_BACKEND, read at first use, overrides), 'cpu' or
 * 'gpujs'. In 'auto', a float32 matmul of at least GPUJS_MIN_FLOPS goes to gpu.js only when it is
 * installed and its live mode is a hardware GPU (probed once, lazily); webasm, gpu.js's cpu mode and
 * software GL (Mesa llvmpipe) never count as a GPU.
 */
import { type Data, type UnaryOp, unary } from './cpu.js';
import { matmulJs } from './matmul.js';
import { cpuThreads, matmulF32, matmulF64, wasmSimdAvailable } from './wasm/index.js';
import { vmath } from './wasm/vmath.js';
import { envSetting } from '../settings.js';

/**
 * The matmul backend setting: 'auto' (the default: gpu.js for large float32 products when it runs on a
 * hardware GPU, else cpu), 'cpu' (wasm SIMD or JS kernels), or 'gpujs' (every float32 matmul on gpu.js).
 */
export type BackendSetting = 'auto' | 'cpu' | 'gpujs';

/** The real gpu.js 2.24 backend names. */
export type GpuMode = 'headlessgl' | 'webgl2' | 'webgl' | 'webgpu' | 'webasm' | 'cpu';

/** What `gpujsInfo()` and `setGpujsMode()` (from `@metagrad/autograd/gpujs`) report. */
export interface GpuInfo {
  /** true when a gpu.js mode is live and its matmul can run. */
  available: boolean;
  /** The live gpu.js mode, or null when none is. */
  mode: GpuMode | null;
  /** true for the GPU-API backends (webgpu, headlessgl, webgl, webgl2); false for the webasm/cpu fallbacks. */
  isGpu: boolean;
  /**
   * true when the arithmetic runs on the CPU: cpu/webasm, a GL backend whose driver is a software
   * rasterizer (Mesa llvmpipe under Xvfb), and webgpu on a software Vulkan (SwiftShader, lavapipe). A GL
   * backend on an unrecognized driver reads false.
   */
  software: boolean;
  /** The WebGPU adapter (vendor | architecture | device | description), or the GL driver or renderer as far as it can be told, else null. */
  renderer: string | null;
  /** One line: why this mode is live and what the others lack. */
  reason: string;
}

/** The float32 matmul kernels a GPU subpath plugs in (`installGpujs()` from `@metagrad/autograd/gpujs`). */
export interface GpuMatmul {
  /** The live mode and why. Never throws. */
  info(): GpuInfo;
  /** out = op(A)·op(B) for `batch` consecutive [m×k]·[k×n] products (see matmulInto). */
  matmul(a: Float32Array, b: Float32Array, out: Float32Array, batch: number, m: number, k: number, n: number, transA: boolean, transB: boolean): void;
}

/** Smallest 2·m·k·n (per call, all batches) that 'auto' sends to a hardware GPU. */
export const GPUJS_MIN_FLOPS = 2 * 256 ** 3;

const NOT_INSTALLED = "the gpujs backend is not installed: call installGpujs() from '@metagrad/autograd/gpujs' first (gpu.js is an optional peer dependency: npm install gpu.js)";

/** The setting; null until first needed, then read from METAGRAD_BACKEND (default 'auto'). */
let setting: BackendSetting | null = null;
/** The installed GPU kernels, or null. */
let gpu: GpuMatmul | null = null;
/** In 'auto': whether the installed gpu.js runs on a hardware GPU (null until probed). */
let autoGpu: boolean | null = null;

function currentSetting(): BackendSetting {
  if (setting === null) setting = parseSetting(envSetting('METAGRAD_BACKEND'));
  return setting;
}

function parseSetting(v: string | undefined): BackendSetting {
  if (v === undefined) return 'auto';
  if (v === 'auto' || v === 'cpu' || v === 'gpujs') return v;
  throw new Error(`METAGRAD_BACKEND must be auto, cpu or gpujs, got '${v}'`);
}

/** Plugs in GPU matmul kernels (called by installGpujs; not part of the root entry). */
export function installGpuMatmul(kernels: GpuMatmul): void {
  gpu = kernels;
  autoGpu = null;
}

/** What `backendReport()` tells. */
export interface BackendReport {
  /** The setting: auto, cpu or gpujs. */
  setting: BackendSetting;
  /** Which backend a large float32 matmul uses under this setting, and why, in one line. */
  float32: string;
  /** float64 matmuls always run on cpu. */
  float64: 'cpu';
  /** The cpu backend's matmul kernel. */
  cpuKernel: 'wasm-simd' | 'js';
  /** Threads the cpu backend's large matmuls run on (METAGRAD_THREADS, `setCpuThreads`; 1 with the js kernel). */
  cpuThreads: number;
  /** The gpu.js report (mode, whether it is a GPU or software, why), or null when gpu.js is not installed or not probed. */
  gpujs: GpuInfo | null;
}

/**
 * Chooses the matmul backend. 'gpujs' throws naming what is missing when gpu.js is not installed
 * (see `installGpujs` in `@metagrad/autograd/gpujs`) or cannot run here; 'auto' and 'cpu' always
 * succeed. Returns the new report.
 */
export function setBackend(name: BackendSetting): BackendReport {
  if (name !== 'auto' && name !== 'cpu' && name !== 'gpujs') throw new Error(`setBackend: unknown backend '${String(name)}' (use 'auto', 'cpu' or 'gpujs')`);
  if (name === 'gpujs') {
    if (!gpu) throw new Error(`setBackend('gpujs'): ${NOT_INSTALLED}`);
    const info = gpu.info();
    if (!info.available) throw new Error(`setBackend('gpujs'): gpu.js cannot run here: ${info.reason}`);
  }
  setting = name;
  return backendReport();
}

/** The current setting, which backend float32 matmuls use and why, and the gpu.js mode report. */
export function backendReport(): BackendReport {
  const now = currentSetting();
  const info = now !== 'cpu' && gpu ? gpu.info() : null;
  let float32: string;
  if (now === 'cpu') float32 = 'cpu (forced)';
  else if (now === 'gpujs') float32 = info ? `gpujs in mode ${info.mode} (forced)${info.software ? ', which computes on the CPU' : ''}` : `gpujs (forced), but ${NOT_INSTALLED}`;
  else if (!info) float32 = "cpu (no GPU backend installed; installGpujs() from '@metagrad/autograd/gpujs' adds gpu.js)";
  else if (info.available && info.isGpu && !info.software)
    float32 = `gpujs (${info.mode}, hardware GPU) for matmuls of ≥ ${GPUJS_MIN_FLOPS} flops, cpu below`;
  else float32 = `cpu (gpu.js has no hardware GPU here: ${info.mode ?? 'none'}, ${info.software ? 'software' : 'unavailable'})`;
  return { setting: now, float32, float64: 'cpu', cpuKernel: cpuKernel(), cpuThreads: useWasm() ? cpuThreads() : 1, gpujs: info };
}

function useGpujs(out: Data, flops: number): GpuMatmul | null {
  if (!(out instanceof Float32Array)) return null;
  const now = currentSetting();
  if (now === 'cpu') return null;
  if (now === 'gpujs') {
    if (!gpu) throw new Error(`METAGRAD_BACKEND=gpujs: ${NOT_INSTALLED}`);
    return gpu;
  }
  if (!gpu || flops < GPUJS_MIN_FLOPS) return null;
  if (autoGpu === null) {
    const info = gpu.info();
    autoGpu = info.available && info.isGpu && !info.software;
  }
  return autoGpu ? gpu : null;
}

/**
 * out[t] = op(A[t])·op(B[t]) for t < nb, with A[t] at aOffs[t], B[t] at bOffs[t] and out[t] at t·m·n.
 * op(A) is [m×k] (A stored [k×m] when transA), op(B) is [k×n] (B stored [n×k] when transB).
 */
export function matmulInto(
  a: Data, aOffs: readonly number[], b: Data, bOffs: readonly number[], out: Data,
  nb: number, m: number, k: number, n: number, transA: boolean, transB: boolean,
): void {
  const g = useGpujs(out, 2 * nb * m * k * n);
  if (g) {
    const A = a as Float32Array, B = b as Float32Array, C = out as Float32Array;
    const consecutive = aOffs.every((o, t) => o === t * m * k) && bOffs.every((o, t) => o === t * k * n);
    if (consecutive) g.matmul(A, B, C, nb, m, k, n, transA, transB);
    else
      for (let t = 0; t < nb; t++)
        g.matmul(A.subarray(aOffs[t]!, aOffs[t]! + m * k), B.subarray(bOffs[t]!, bOffs[t]! + k * n), C.subarray(t * m * n, (t + 1) * m * n), 1, m, k, n, transA, transB);
    return;
  }
  if (useWasm()) {
    for (let t = 0; t < nb; t++) {
      const A = a.subarray(aOffs[t]!, aOffs[t]! + m * k), B = b.subarray(bOffs[t]!, bOffs[t]! + k * n), C = out.subarray(t * m * n, (t + 1) * m * n);
      if (C instanceof Float64Array) matmulF64(A as Float64Array, B as Float64Array, C, m, k, n, transA, transB);
      else matmulF32(A as Float32Array, B as Float32Array, C, m, k, n, transA, transB);
    }
    return;
  }
  for (let t = 0; t < nb; t++) matmulJs(a, aOffs[t]!, b, bOffs[t]!, out, t * m * n, m, k, n, transA, transB);
}

/**
 * out[i] = op(x[i]): exp and tanh by the WebAssembly SIMD kernels of ./wasm/vmath.ts (within a few ulps
 * of Math.exp / Math.tanh, 2–4× faster) whenever the cpu backend runs wasm, at every size, so an element
 * gets the same bits whatever array it is in; the other ops, and all of them under
 * METAGRAD_CPU_KERNEL=js, by the JS loops of ./cpu.ts.
 */
export function unaryInto(op: UnaryOp, x: Data, out: Data): void {
  if ((op === 'exp' || op === 'tanh') && useWasm()) vmath(op, x, out);
  else unary(op, x, out);
}

let wasmOn: boolean | null = null;
/** Whether the cpu backend runs the wasm SIMD kernels (not when METAGRAD_CPU_KERNEL=js or SIMD is missing). */
function useWasm(): boolean {
  if (wasmOn === null) {
    const v = envSetting('METAGRAD_CPU_KERNEL');
    if (v !== undefined && v !== 'wasm' && v !== 'js') throw new Error(`METAGRAD_CPU_KERNEL must be wasm or js, got '${v}'`);
    wasmOn = v !== 'js' && wasmSimdAvailable();
  }
  return wasmOn;
}

/** The cpu backend's matmul kernel: 'wasm-simd' or 'js'. */
export function cpuKernel(): 'wasm-simd' | 'js' {
  return useWasm() ? 'wasm-simd' : 'js';
}

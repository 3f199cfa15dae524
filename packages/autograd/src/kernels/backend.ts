/**
 * The kernel backend for matrix products: the one place that decides which implementation runs a
 * matmul, so every matmul in a forward or backward pass (at any order) goes through the same choice.
 *
 * - `cpu`: WebAssembly SIMD kernels (./wasm: packed, register-blocked, cache-blocked GEMM), with the
 *   plain JS loops of ./matmul.ts where wasm SIMD is missing or when METAGRAD_CPU_KERNEL=js.
 * - `gpujs`: gpu.js kernels (./gpujs), float32 only; float64 matmuls always stay on cpu.
 *
 * The setting is 'auto' (default; env METAGRAD_BACKEND overrides), 'cpu' or 'gpujs'. In 'auto', a float32
 * matmul of at least GPUJS_MIN_FLOPS goes to gpu.js only when its live mode is a hardware GPU (probed once,
 * lazily); webasm, gpu.js's cpu mode and software GL (Mesa llvmpipe) never count as a GPU.
 */
import type { Data } from './cpu.js';
import { matmulJs } from './matmul.js';
import { matmulF32, matmulF64, wasmSimdAvailable } from './wasm/index.js';
import { type GpuInfo, gpujsInfo, matmulGpujs } from './gpujs/index.js';

export type BackendSetting = 'auto' | 'cpu' | 'gpujs';

/** Smallest 2·m·k·n (per call, all batches) that 'auto' sends to a hardware GPU. */
export const GPUJS_MIN_FLOPS = 2 * 256 ** 3;

let setting: BackendSetting = parseSetting(process.env.METAGRAD_BACKEND);
/** In 'auto': whether gpu.js runs on a hardware GPU (null until probed). */
let autoGpu: boolean | null = null;

function parseSetting(v: string | undefined): BackendSetting {
  if (v === undefined || v === '') return 'auto';
  if (v === 'auto' || v === 'cpu' || v === 'gpujs') return v;
  throw new Error(`METAGRAD_BACKEND must be auto, cpu or gpujs, got '${v}'`);
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
  /** The gpu.js report (mode, whether it is a GPU or software, why), or null when gpu.js was never probed. */
  gpujs: GpuInfo | null;
}

/**
 * Chooses the matmul backend. 'gpujs' throws naming what is missing when gpu.js cannot run here;
 * 'auto' and 'cpu' always succeed. Returns the new report.
 */
export function setBackend(name: BackendSetting): BackendReport {
  if (name !== 'auto' && name !== 'cpu' && name !== 'gpujs') throw new Error(`setBackend: unknown backend '${String(name)}' (use 'auto', 'cpu' or 'gpujs')`);
  if (name === 'gpujs') {
    const info = gpujsInfo();
    if (!info.available) throw new Error(`setBackend('gpujs'): gpu.js cannot run here: ${info.reason}`);
  }
  setting = name;
  return backendReport();
}

/** The current setting, which backend float32 matmuls use and why, and the gpu.js mode report. */
export function backendReport(): BackendReport {
  const probed = setting !== 'cpu';
  const info = probed ? gpujsInfo() : null;
  let float32: string;
  if (setting === 'cpu') float32 = 'cpu (forced)';
  else if (setting === 'gpujs') float32 = `gpujs in mode ${info!.mode} (forced)${info!.software ? ', which computes on the CPU' : ''}`;
  else if (info && info.available && info.isGpu && !info.software)
    float32 = `gpujs (${info.mode}, hardware GPU) for matmuls of ≥ ${GPUJS_MIN_FLOPS} flops, cpu below`;
  else float32 = `cpu (gpu.js has no hardware GPU here: ${info ? `${info.mode ?? 'none'}, ${info.software ? 'software' : 'unavailable'}` : 'not probed'})`;
  return { setting, float32, float64: 'cpu', cpuKernel: cpuKernel(), gpujs: info };
}

function useGpujs(out: Data, flops: number): boolean {
  if (!(out instanceof Float32Array) || setting === 'cpu') return false;
  if (setting === 'gpujs') return true;
  if (flops < GPUJS_MIN_FLOPS) return false;
  if (autoGpu === null) {
    const info = gpujsInfo();
    autoGpu = info.available && info.isGpu && !info.software;
  }
  return autoGpu;
}

/**
 * out[t] = op(A[t])·op(B[t]) for t < nb, with A[t] at aOffs[t], B[t] at bOffs[t] and out[t] at t·m·n.
 * op(A) is [m×k] (A stored [k×m] when transA), op(B) is [k×n] (B stored [n×k] when transB).
 */
export function matmulInto(
  a: Data, aOffs: readonly number[], b: Data, bOffs: readonly number[], out: Data,
  nb: number, m: number, k: number, n: number, transA: boolean, transB: boolean,
): void {
  if (useGpujs(out, 2 * nb * m * k * n)) {
    const A = a as Float32Array, B = b as Float32Array, C = out as Float32Array;
    const consecutive = aOffs.every((o, t) => o === t * m * k) && bOffs.every((o, t) => o === t * k * n);
    if (consecutive) matmulGpujs(A, B, C, nb, m, k, n, transA, transB);
    else
      for (let t = 0; t < nb; t++)
        matmulGpujs(A.subarray(aOffs[t]!, aOffs[t]! + m * k), B.subarray(bOffs[t]!, bOffs[t]! + k * n), C.subarray(t * m * n, (t + 1) * m * n), 1, m, k, n, transA, transB);
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

let wasmOn: boolean | null = null;
/** Whether the cpu backend runs the wasm SIMD kernels (not when METAGRAD_CPU_KERNEL=js or SIMD is missing). */
function useWasm(): boolean {
  if (wasmOn === null) {
    const v = process.env.METAGRAD_CPU_KERNEL;
    if (v !== undefined && v !== '' && v !== 'wasm' && v !== 'js') throw new Error(`METAGRAD_CPU_KERNEL must be wasm or js, got '${v}'`);
    wasmOn = v !== 'js' && wasmSimdAvailable();
  }
  return wasmOn;
}

/** The cpu backend's matmul kernel: 'wasm-simd' or 'js'. */
export function cpuKernel(): 'wasm-simd' | 'js' {
  return useWasm() ? 'wasm-simd' : 'js';
}

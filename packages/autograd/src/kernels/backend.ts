/**
 * The kernel backend for matrix products: the one place that decides which implementation runs a
 * matmul, so every matmul in a forward or backward pass (at any order) goes through the same choice.
 *
 * - `cpu`: plain JS loops (./matmul.ts), the portable reference.
 * - `gpujs`: gpu.js kernels (./gpujs), float32 only; float64 matmuls always stay on cpu.
 *
 * The setting is 'auto' (default; env METAGRAD_BACKEND overrides), 'cpu' or 'gpujs'. In 'auto', a float32
 * matmul of at least GPUJS_MIN_FLOPS goes to gpu.js only when its live mode is a hardware GPU (probed once,
 * lazily); webasm, gpu.js's cpu mode and software GL (Mesa llvmpipe) never count as a GPU.
 */
import type { Data } from './cpu.js';
import { matmulJs } from './matmul.js';
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
  return { setting, float32, float64: 'cpu', gpujs: info };
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
  for (let t = 0; t < nb; t++) matmulJs(a, aOffs[t]!, b, bOffs[t]!, out, t * m * n, m, k, n, transA, transB);
}

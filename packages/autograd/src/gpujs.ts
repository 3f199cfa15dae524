/**
 * @metagrad/autograd/gpujs: float32 matmul kernels on gpu.js, for every matmul of a forward or
 * backward pass at any order. gpu.js is an optional peer dependency (`npm install gpu.js`); the root
 * entry never loads it. `installGpujs()` plugs the kernels into the engine's backend, after which
 * `setBackend('gpujs')` forces them and `setBackend('auto')` uses them where gpu.js runs on a hardware
 * GPU. Which gpu.js mode is live (headlessgl, webgl2, webgl, webasm, cpu) and whether it is software is
 * always reported, never hidden.
 *
 * ```ts
 * import { setBackend } from '@metagrad/autograd';
 * import { installGpujs, gpujsInfo } from '@metagrad/autograd/gpujs';
 * installGpujs();            // or installGpujs({ mode: 'webgl2' })
 * setBackend('gpujs');       // every float32 matmul on gpu.js
 * gpujsInfo().reason;        // e.g. "webgl2: WebGL context available; webgpu: ..."
 * ```
 *
 * @module
 */
import { type BackendReport, backendReport, installGpuMatmul } from './kernels/backend.js';
import { gpujsInfo, matmulGpujs, setGpujsMode } from './kernels/gpujs/index.js';

export { gpujsInfo, setGpujsMode, disposeGpujs, matmulGpujs } from './kernels/gpujs/index.js';
export { probeWebgpu } from './kernels/gpujs/probe.js';
export type { WebgpuProbe } from './kernels/gpujs/probe.js';
export type { GpuInfo, GpuMode, BackendReport } from './kernels/backend.js';

/** Options of {@link installGpujs}. */
export interface InstallGpujsOptions {
  /**
   * The gpu.js mode to make live first ('headlessgl' | 'webgl2' | 'webgl' | 'webasm' | 'cpu', 'gpu'
   * for the first GL mode that works, or 'auto', the default: METAGRAD_GPUJS_MODE in Node, else
   * gpu.js's own order). Throws naming what is missing when that mode cannot run here.
   */
  mode?: string;
}

/**
 * Plugs the gpu.js matmul kernels into the engine's backend and returns its report. Afterwards
 * `setBackend('gpujs')` sends every float32 matmul to gpu.js, and `setBackend('auto')` (the default)
 * does so for large products when the live mode is a hardware GPU. Calling it again is harmless.
 */
export function installGpujs(opts: InstallGpujsOptions = {}): BackendReport {
  if (opts.mode !== undefined) setGpujsMode(opts.mode);
  installGpuMatmul({ info: gpujsInfo, matmul: matmulGpujs });
  return backendReport();
}

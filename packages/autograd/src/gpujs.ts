/**
 * @metagrad/autograd/gpujs: float32 matmul kernels on gpu.js, for every matmul of a forward or
 * backward pass at any order. gpu.js is an optional peer dependency (`npm install gpu.js`); the root
 * entry never loads it. `installGpujs()` plugs the kernels into the engine's backend, after which
 * `setBackend('gpujs')` forces them and `setBackend('auto')` uses them where gpu.js runs on a hardware
 * GPU. Which gpu.js mode is live (webgpu, headlessgl, webgl2, webgl, webasm, cpu), on which adapter or
 * renderer, and whether it is software is always reported, never hidden. In Node, webgpu runs on Dawn
 * (the optional `webgpu` package) on the machine's Vulkan driver, or the one `METAGRAD_VULKAN_ICD`
 * names (`swiftshader` for Chromium's software driver).
 *
 * ```ts
 * import { setBackend } from '@metagrad/autograd';
 * import { installGpujs, gpujsInfo } from '@metagrad/autograd/gpujs';
 * installGpujs();            // or installGpujs({ mode: 'webgpu' })
 * setBackend('gpujs');       // every float32 matmul on gpu.js
 * gpujsInfo().reason;        // e.g. "webgl2: WebGL context available; webgpu: ..."
 * ```
 *
 * @module
 */
import { type BackendReport, backendReport, installGpuMatmul } from './kernels/backend.js';
import { gpujsInfo, matmulGpujs, setGpujsMode } from './kernels/gpujs/index.js';

export { gpujsInfo, setGpujsMode, disposeGpujs, matmulGpujs, serveWebgpu, connectWebgpu } from './kernels/gpujs/index.js';
export type { WebgpuPort } from './kernels/gpujs/index.js';
export { probeWebgpu } from './kernels/gpujs/probe.js';
export type { WebgpuProbe } from './kernels/gpujs/probe.js';
export type { GpuInfo, GpuMode, BackendReport } from './kernels/backend.js';

/** Options of {@link installGpujs}. */
export interface InstallGpujsOptions {
  /**
   * The gpu.js mode to make live first ('webgpu' | 'headlessgl' | 'webgl2' | 'webgl' | 'webasm' | 'cpu',
   * 'gpu' for the first GPU-API mode that works, or 'auto', the default: METAGRAD_GPUJS_MODE in Node,
   * else webgpu on a hardware adapter, else gpu.js's own order). Throws naming what is missing when that
   * mode cannot run here.
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

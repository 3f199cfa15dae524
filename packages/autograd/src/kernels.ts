/**
 * @metagrad/autograd/kernels: the cpu backend's matmul kernels on raw typed arrays, for benchmarks and
 * kernel-level tests. `matmulF64` / `matmulF32` compute out[m×n] = op(A)·op(B) (row-major; op is the
 * transpose when its flag is set) with WebAssembly SIMD kernels emitted by the engine itself, and fall
 * back to the plain JS loops of `matmulJs` where wasm SIMD is missing. `vmath('exp' | 'tanh', x, out)` is the
 * SIMD exp and tanh that the exp and tanh ops run on. Tensors never need these: every
 * `matmul` goes through them already.
 *
 * @module
 */
export {
  matmulF32, matmulF64, matmulJs, wasmSimdAvailable, WasmGemm, JS_THRESHOLD, DEFAULT_BLOCKING, DEFAULT_GEMM_CONFIG, buildGemmModule,
  THREAD_MIN_FLOPS, THREAD_MIN_K, worthSplitting, startGemmThreads, threadsAvailable, cpuThreads, setCpuThreads,
} from './kernels/wasm/index.js';
export { vmath, buildVmathModule, type VmathOp } from './kernels/wasm/vmath.js';
export type { GemmThreads, Blocking, GemmBlocking, GemmModuleConfig, TileConfig, KernelType, FloatArray } from './kernels/wasm/index.js';

/**
 * The plain-JS matmul used by the wasm module where WebAssembly SIMD is missing and for tiny products,
 * where copying into wasm memory costs more than the arithmetic: the engine's own loops
 * (../matmul.ts), with every array read from index 0.
 */
import { matmulJs as matmulLoops } from '../matmul.js';

/** Either float array type. */
export type FloatArray = Float64Array | Float32Array;

/**
 * out[m×n] = op(A)·op(B), all row-major and contiguous from index 0; A stored [k×m] when transA, B stored
 * [n×k] when transB. Overwrites out[0, m·n). `out` must not overlap `a` or `b`.
 */
export function matmulJs<T extends FloatArray>(a: T, b: T, out: T, m: number, k: number, n: number, transA: boolean, transB: boolean): void {
  matmulLoops(a, 0, b, 0, out, 0, m, k, n, transA, transB);
}

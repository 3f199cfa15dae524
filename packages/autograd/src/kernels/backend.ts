/**
 * The kernel backend for matrix products: the one place that decides which implementation runs a
 * matmul. `cpu` is plain JS or WebAssembly SIMD on typed arrays; further backends plug in here.
 */
import type { Data } from './cpu.js';
import { matmulJs } from './matmul.js';

/**
 * out[t] = op(A[t])·op(B[t]) for t < nb, with A[t] at aOffs[t], B[t] at bOffs[t] and out[t] at t·m·n.
 * op(A) is [m×k] (A stored [k×m] when transA), op(B) is [k×n] (B stored [n×k] when transB).
 */
export function matmulInto(
  a: Data, aOffs: readonly number[], b: Data, bOffs: readonly number[], out: Data,
  nb: number, m: number, k: number, n: number, transA: boolean, transB: boolean,
): void {
  for (let t = 0; t < nb; t++) matmulJs(a, aOffs[t]!, b, bOffs[t]!, out, t * m * n, m, k, n, transA, transB);
}

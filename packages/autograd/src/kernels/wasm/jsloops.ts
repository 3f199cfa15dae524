/**
 * Plain-JS matmul loops: the fallback when WebAssembly SIMD is missing and the fast path for tiny
 * products, where copying into wasm memory costs more than the arithmetic. Loop orders keep the
 * innermost loop unit-stride where the layout allows it; sums accumulate in float64 (JS numbers).
 */

/** Either float array type. */
export type FloatArray = Float64Array | Float32Array;

/**
 * out[m×n] = op(A)·op(B), all row-major and contiguous from index 0; A stored [k×m] when transA, B stored
 * [n×k] when transB. Overwrites out[0, m·n). `out` must not overlap `a` or `b`.
 */
export function matmulJs<T extends FloatArray>(a: T, b: T, out: T, m: number, k: number, n: number, transA: boolean, transB: boolean): void {
  if (!transB) {
    // Row i of C accumulates op(A)[i][p] · B[p][:] (B rows are unit-stride).
    const sa = transA ? 1 : k; // stride of op(A) along i
    const sp = transA ? m : 1; // stride of op(A) along p
    for (let i = 0; i < m; i++) {
      const c = i * n;
      for (let j = 0; j < n; j++) out[c + j] = 0;
      const ai = i * sa;
      let p = 0;
      for (; p + 3 < k; p += 4) {
        const x0 = a[ai + p * sp]!, x1 = a[ai + (p + 1) * sp]!, x2 = a[ai + (p + 2) * sp]!, x3 = a[ai + (p + 3) * sp]!;
        const b0 = p * n, b1 = b0 + n, b2 = b1 + n, b3 = b2 + n;
        for (let j = 0; j < n; j++) out[c + j] = out[c + j]! + x0 * b[b0 + j]! + x1 * b[b1 + j]! + x2 * b[b2 + j]! + x3 * b[b3 + j]!;
      }
      for (; p < k; p++) {
        const x0 = a[ai + p * sp]!;
        const b0 = p * n;
        for (let j = 0; j < n; j++) out[c + j] = out[c + j]! + x0 * b[b0 + j]!;
      }
    }
  } else {
    // C[i][j] = dot(op(A) row i, B row j): B stored [n×k] is unit-stride along p.
    const sa = transA ? 1 : k;
    const sp = transA ? m : 1;
    for (let i = 0; i < m; i++) {
      const ai = i * sa;
      const c = i * n;
      for (let j = 0; j < n; j++) {
        const bj = j * k;
        let s = 0;
        for (let p = 0; p < k; p++) s += a[ai + p * sp]! * b[bj + p]!;
        out[c + j] = s;
      }
    }
  }
}

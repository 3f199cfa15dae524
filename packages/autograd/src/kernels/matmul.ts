/**
 * Plain-JS matmul kernels, the portable fallback: out[m×n] = op(A)·op(B) on row-major data at offsets.
 * Loop orders keep the innermost loop unit-stride and unroll the reduction by four so each output row
 * is loaded and stored a quarter as often. The WebAssembly SIMD kernels (./wasm) replace these where
 * available; these remain the reference and the path for tiny products.
 */
import type { Data } from './cpu.js';

/** C = A·B. A [m×k] at ao, B [k×n] at bo, C [m×n] at co. */
function nn(A: Data, ao: number, B: Data, bo: number, C: Data, co: number, m: number, k: number, n: number): void {
  for (let i = 0; i < m; i++) {
    const c = co + i * n;
    const a = ao + i * k;
    for (let j = 0; j < n; j++) C[c + j] = 0;
    let p = 0;
    for (; p + 3 < k; p += 4) {
      const a0 = A[a + p]!, a1 = A[a + p + 1]!, a2 = A[a + p + 2]!, a3 = A[a + p + 3]!;
      const b0 = bo + p * n, b1 = b0 + n, b2 = b1 + n, b3 = b2 + n;
      for (let j = 0; j < n; j++) C[c + j]! += a0 * B[b0 + j]! + a1 * B[b1 + j]! + a2 * B[b2 + j]! + a3 * B[b3 + j]!;
    }
    for (; p < k; p++) {
      const a0 = A[a + p]!;
      const b0 = bo + p * n;
      for (let j = 0; j < n; j++) C[c + j]! += a0 * B[b0 + j]!;
    }
  }
}

/** C = A·Bᵀ. A [m×k], B stored [n×k]: row-by-row dot products, four output columns at a time. */
function nt(A: Data, ao: number, B: Data, bo: number, C: Data, co: number, m: number, k: number, n: number): void {
  for (let i = 0; i < m; i++) {
    const a = ao + i * k;
    const c = co + i * n;
    let j = 0;
    for (; j + 3 < n; j += 4) {
      const b0 = bo + j * k, b1 = b0 + k, b2 = b1 + k, b3 = b2 + k;
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (let p = 0; p < k; p++) {
        const av = A[a + p]!;
        s0 += av * B[b0 + p]!;
        s1 += av * B[b1 + p]!;
        s2 += av * B[b2 + p]!;
        s3 += av * B[b3 + p]!;
      }
      C[c + j] = s0;
      C[c + j + 1] = s1;
      C[c + j + 2] = s2;
      C[c + j + 3] = s3;
    }
    for (; j < n; j++) {
      const b0 = bo + j * k;
      let s = 0;
      for (let p = 0; p < k; p++) s += A[a + p]! * B[b0 + p]!;
      C[c + j] = s;
    }
  }
}

/** C = Aᵀ·B. A stored [k×m], B [k×n]: rank-1 updates of C, four at a time. */
function tn(A: Data, ao: number, B: Data, bo: number, C: Data, co: number, m: number, k: number, n: number): void {
  for (let t = 0; t < m * n; t++) C[co + t] = 0;
  let p = 0;
  for (; p + 3 < k; p += 4) {
    const a0 = ao + p * m, a1 = a0 + m, a2 = a1 + m, a3 = a2 + m;
    const b0 = bo + p * n, b1 = b0 + n, b2 = b1 + n, b3 = b2 + n;
    for (let i = 0; i < m; i++) {
      const x0 = A[a0 + i]!, x1 = A[a1 + i]!, x2 = A[a2 + i]!, x3 = A[a3 + i]!;
      const c = co + i * n;
      for (let j = 0; j < n; j++) C[c + j]! += x0 * B[b0 + j]! + x1 * B[b1 + j]! + x2 * B[b2 + j]! + x3 * B[b3 + j]!;
    }
  }
  for (; p < k; p++) {
    const a0 = ao + p * m, b0 = bo + p * n;
    for (let i = 0; i < m; i++) {
      const x0 = A[a0 + i]!;
      const c = co + i * n;
      for (let j = 0; j < n; j++) C[c + j]! += x0 * B[b0 + j]!;
    }
  }
}

/** C = Aᵀ·Bᵀ = (B·A)ᵀ, through a temporary (rare in practice). */
function tt(A: Data, ao: number, B: Data, bo: number, C: Data, co: number, m: number, k: number, n: number): void {
  const tmp = new (C.constructor as { new (n: number): Data })(n * m);
  nn(B, bo, A, ao, tmp, 0, n, k, m);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) C[co + i * n + j] = tmp[j * m + i]!;
}

/** out[co…] = op(A)·op(B) for one matrix pair, in plain JS. */
export function matmulJs(A: Data, ao: number, B: Data, bo: number, C: Data, co: number, m: number, k: number, n: number, transA: boolean, transB: boolean): void {
  if (!transA && !transB) nn(A, ao, B, bo, C, co, m, k, n);
  else if (!transA && transB) nt(A, ao, B, bo, C, co, m, k, n);
  else if (transA && !transB) tn(A, ao, B, bo, C, co, m, k, n);
  else tt(A, ao, B, bo, C, co, m, k, n);
}

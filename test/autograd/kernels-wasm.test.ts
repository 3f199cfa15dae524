/**
 * WebAssembly SIMD matmul kernels (packages/autograd/src/kernels/wasm): every shape, edge and
 * transpose form against a float64 triple loop, subarray views, zero sizes and size validation.
 *
 * Tolerance is per element and scale-aware: |C − ref| ≤ tol · Σ_p |op(A)_ip · op(B)_pj|, with tol
 * 1e-12 for float64 and 1e-5 for float32 (whose inputs are exactly representable in float64, so the
 * reference is the exact product up to float64 rounding).
 */
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import {
  matmulF32, matmulF64, matmulJs, wasmSimdAvailable, WasmGemm, JS_THRESHOLD, DEFAULT_BLOCKING, DEFAULT_GEMM_CONFIG,
} from '@metagrad/autograd/kernels';

type DT = 'f64' | 'f32';
type Arr = Float64Array | Float32Array;

/** Deterministic pseudo-random values in [-1, 1). */
function fill(arr: Arr, seed: number): Arr {
  let s = seed >>> 0 || 1;
  for (let i = 0; i < arr.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    arr[i] = s / 2 ** 31 - 1;
  }
  return arr;
}

const make = (dt: DT, n: number): Arr => (dt === 'f64' ? new Float64Array(n) : new Float32Array(n));

/** Reference product in float64 plus Σ|a·b| per element (the error scale). */
function reference(a: Arr, b: Arr, m: number, k: number, n: number, ta: boolean, tb: boolean): { c: Float64Array; scale: Float64Array } {
  const c = new Float64Array(m * n);
  const scale = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0, t = 0;
      for (let p = 0; p < k; p++) {
        const x = (ta ? a[p * m + i] : a[i * k + p])!;
        const y = (tb ? b[j * k + p] : b[p * n + j])!;
        s += x * y;
        t += Math.abs(x * y);
      }
      c[i * n + j] = s;
      scale[i * n + j] = t;
    }
  }
  return { c, scale };
}

function mm(dt: DT, a: Arr, b: Arr, out: Arr, m: number, k: number, n: number, ta: boolean, tb: boolean): void {
  if (dt === 'f64') matmulF64(a as Float64Array, b as Float64Array, out as Float64Array, m, k, n, ta, tb);
  else matmulF32(a as Float32Array, b as Float32Array, out as Float32Array, m, k, n, ta, tb);
}

/** Index of the first element outside tolerance, or -1. */
function firstBad(dt: DT, got: Arr, ref: { c: Float64Array; scale: Float64Array }): number {
  const tol = dt === 'f64' ? 1e-12 : 1e-5;
  for (let i = 0; i < ref.c.length; i++) {
    if (!(Math.abs(got[i]! - ref.c[i]!) <= tol * ref.scale[i]! + 1e-300)) return i;
  }
  return -1;
}

/** Runs one product (fresh arrays, out pre-filled with NaN) and checks it. */
function check(dt: DT, m: number, k: number, n: number, ta: boolean, tb: boolean, seed = m * 131 + k * 17 + n): void {
  const a = fill(make(dt, m * k), seed);
  const b = fill(make(dt, k * n), seed + 7);
  const out = make(dt, m * n).fill(NaN);
  mm(dt, a, b, out, m, k, n, ta, tb);
  const ref = reference(a, b, m, k, n, ta, tb);
  const bad = firstBad(dt, out, ref);
  if (bad >= 0) {
    expect.fail(`${dt} m=${m} k=${k} n=${n} transA=${ta} transB=${tb}: out[${bad}] = ${out[bad]}, expected ${ref.c[bad]}`);
  }
}

const forms: Array<[boolean, boolean]> = [[false, false], [false, true], [true, false], [true, true]];
const dts: DT[] = ['f64', 'f32'];

describe('wasm matmul kernels', () => {
  it('has WebAssembly SIMD on this Node', () => {
    expect(wasmSimdAvailable()).toBe(true);
  });

  // Edges: 1-row/1-col, k=1, sizes around the 4×8 / 4×4 tiles, the JS threshold, and the KC (256),
  // MC (64 f64, 128 f32) and unrolled-loop boundaries.
  const shapes: Array<[number, number, number]> = [
    [1, 1, 1], [1, 1, 7], [7, 1, 1], [1, 9, 1], [2, 3, 4], [3, 1, 5], [4, 4, 4], [4, 8, 8], [5, 5, 5],
    [8, 8, 8], [9, 7, 9], [3, 17, 13], [13, 2, 11], [16, 16, 16], [17, 33, 9], [1, 64, 64], [64, 64, 1],
    [64, 1, 64], [31, 20, 64], [33, 64, 6], [65, 7, 3], [129, 5, 10], [6, 257, 5], [37, 300, 19],
    [130, 513, 9], [70, 70, 70], [3, 5, 2100],
  ];
  for (const dt of dts) {
    for (const [ta, tb] of forms) {
      it(`${dt} transA=${ta} transB=${tb}: edge shapes match the float64 triple loop`, () => {
        for (const [m, k, n] of shapes) check(dt, m, k, n, ta, tb);
      });
    }
  }

  it('policy-sized products in every form and both dtypes', () => {
    for (const dt of dts) {
      check(dt, 200, 20, 64, false, false);
      check(dt, 200, 64, 6, false, false);
      check(dt, 200, 64, 64, false, true); // dX = dY·Wᵀ
      check(dt, 64, 200, 64, true, false); // dW = Xᵀ·dY (reduction over the batch)
      check(dt, 20, 300, 64, true, false);
    }
  });

  it('random shapes, forms and dtypes (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 48 }), fc.integer({ min: 1, max: 48 }), fc.integer({ min: 1, max: 48 }),
        fc.boolean(), fc.boolean(), fc.constantFrom<DT>('f64', 'f32'), fc.integer(),
        (m, k, n, ta, tb, dt, seed) => {
          check(dt, m, k, n, ta, tb, seed);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('zero sizes: m=0 or n=0 write nothing, k=0 zero-fills out', () => {
    for (const dt of dts) {
      const out = make(dt, 6).fill(5);
      mm(dt, make(dt, 0), make(dt, 6), out, 0, 2, 3, false, false);
      mm(dt, make(dt, 8), make(dt, 0), out, 4, 2, 0, false, true);
      expect(Array.from(out)).toEqual([5, 5, 5, 5, 5, 5]);
      mm(dt, make(dt, 0), make(dt, 0), out, 2, 0, 3, true, false);
      expect(Array.from(out)).toEqual([0, 0, 0, 0, 0, 0]);
      mm(dt, make(dt, 0), make(dt, 0), make(dt, 0), 0, 0, 0, false, false);
    }
  });

  it('subarray views with byteOffset; writes exactly out[0, m·n)', () => {
    for (const dt of dts) {
      for (const [m, k, n] of [[5, 3, 2], [37, 41, 29]] as const) {
        for (const [ta, tb] of forms) {
          const ab = fill(make(dt, m * k + 11), 3);
          const bb = fill(make(dt, k * n + 5), 4);
          const ob = make(dt, m * n + 9).fill(-7);
          const a = ab.subarray(3, 3 + m * k);
          const b = bb.subarray(5); // longer than k·n: only the first k·n are read
          const out = ob.subarray(4, 4 + m * n + 2); // longer than m·n: the tail is left alone
          expect(a.byteOffset).toBeGreaterThan(0);
          mm(dt, a, b, out, m, k, n, ta, tb);
          const bad = firstBad(dt, out, reference(a, b, m, k, n, ta, tb));
          expect(bad).toBe(-1);
          expect(Array.from(ob.subarray(0, 4))).toEqual([-7, -7, -7, -7]);
          expect(Array.from(ob.subarray(4 + m * n))).toEqual([-7, -7, -7, -7, -7]);
        }
      }
    }
  });

  it('NaN and Infinity stay in their rows and columns (zero padding does not leak)', () => {
    for (const dt of dts) {
      const m = 7, k = 5, n = 9;
      const a = fill(make(dt, m * k), 1), b = fill(make(dt, k * n), 2);
      a[2 * k + 1] = NaN; // row 2 of A
      b[3 * n + 8] = Infinity; // column 8 of B (the last, in a padded panel)
      const out = make(dt, m * n);
      mm(dt, a, b, out, m, k, n, false, false);
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < n; j++) {
          const v = out[i * n + j]!;
          if (i === 2) expect(v).toBeNaN();
          else if (j === 8) expect(Number.isFinite(v)).toBe(false);
          else expect(Number.isFinite(v)).toBe(true);
        }
      }
    }
  });

  it('grows memory for a larger product and keeps working at small sizes afterwards', () => {
    check('f32', 300, 300, 300, false, false);
    check('f64', 260, 270, 250, true, true);
    check('f64', 9, 9, 9, false, false);
    check('f32', 700, 40, 700, false, true);
  });

  it('other tile shapes, tiny blocks and in-place (unpacked) operands give the same results', () => {
    expect(DEFAULT_GEMM_CONFIG.f32.nr % 4).toBe(0);
    expect(DEFAULT_BLOCKING.f64.kc).toBeGreaterThan(0);
    const tiles = { f32: { mr: 3, nr: 12 }, f64: { mr: 5, nr: 6 } };
    const gemms = [
      new WasmGemm(tiles, {
        f32: { kc: 7, mc: 10, nc: 25, directA: 0, directB: 0 },
        f64: { kc: 5, mc: 11, nc: 13, directA: 0, directB: 0 },
      }),
      new WasmGemm(tiles, {
        f32: { kc: 7, mc: 10, nc: 25, directA: Infinity, directB: Infinity },
        f64: { kc: 5, mc: 11, nc: 13, directA: Infinity, directB: Infinity },
      }),
      new WasmGemm(DEFAULT_GEMM_CONFIG, {
        f32: { ...DEFAULT_BLOCKING.f32, directA: Infinity, directB: Infinity },
        f64: { ...DEFAULT_BLOCKING.f64, directA: Infinity, directB: Infinity },
      }),
    ];
    for (const g of gemms) {
      for (const dt of dts) {
        for (const [ta, tb] of forms) {
          for (const [m, k, n] of [[1, 1, 1], [23, 19, 31], [40, 33, 27], [7, 300, 5]] as const) {
            const a = fill(make(dt, m * k), m + k), b = fill(make(dt, k * n), n);
            const out = make(dt, m * n).fill(NaN);
            expect(g.run(dt, a, b, out, m, k, n, ta, tb)).toBe(true);
            expect(firstBad(dt, out, reference(a, b, m, k, n, ta, tb))).toBe(-1);
          }
        }
      }
    }
  });

  it('a row does not depend on the batch: row i of an m-row product has the same bits for every m (both kernels, every form)', () => {
    for (const dt of dts)
      for (const [ta, tb] of forms)
        for (const [k, n] of [[2, 3], [32, 2], [11, 32], [17, 6], [64, 64], [300, 5]] as const) {
          const M = 9;
          const a = fill(make(dt, M * k), k + n), b = fill(make(dt, k * n), n);
          // op(A) for the first m rows: with transA, A is stored [k×m], so take those columns
          const rowsOf = (m: number): Arr => {
            if (!ta) return a.subarray(0, m * k);
            const t = make(dt, k * m);
            for (let p = 0; p < k; p++) for (let i = 0; i < m; i++) t[p * m + i] = a[p * M + i]!;
            return t;
          };
          const full = make(dt, M * n);
          mm(dt, rowsOf(M), b, full, M, k, n, ta, tb);
          for (let m = 1; m < M; m++) {
            const out = make(dt, m * n);
            mm(dt, rowsOf(m), b, out, m, k, n, ta, tb);
            expect(Array.from(out), `${dt} ${ta}${tb} k=${k} n=${n} m=${m}`).toEqual(Array.from(full.subarray(0, m * n)));
          }
        }
  });

  it('the JS fallback agrees with the reference in every form', () => {
    expect(JS_THRESHOLD.f64).toBeGreaterThan(0);
    for (const dt of dts) {
      for (const [ta, tb] of forms) {
        const [m, k, n] = [6, 5, 7];
        const a = fill(make(dt, m * k), 11), b = fill(make(dt, k * n), 12);
        const out = make(dt, m * n);
        matmulJs(a, b, out, m, k, n, ta, tb);
        expect(firstBad(dt, out, reference(a, b, m, k, n, ta, tb))).toBe(-1);
      }
    }
  });

  it('rejects bad sizes with a message naming the kernel and sizes', () => {
    const a = new Float64Array(6), b = new Float64Array(12), out = new Float64Array(8);
    expect(() => matmulF64(a, b, out, 2, 3, 4, false, false)).not.toThrow();
    expect(() => matmulF64(a, b, out, 3, 3, 4, false, false)).toThrow('matmulF64: a has 6 elements, needs m·k = 3·3 = 9');
    expect(() => matmulF64(a, b, out, 2, 3, 5, false, false)).toThrow('matmulF64: b has 12 elements, needs k·n = 3·5 = 15');
    expect(() => matmulF64(a, new Float64Array(15), out, 2, 3, 5, false, false)).toThrow(
      'matmulF64: out has 8 elements, needs m·n = 2·5 = 10',
    );
    const f = new Float32Array(4);
    expect(() => matmulF32(f, f, f, -1, 2, 2, false, false)).toThrow('matmulF32: sizes must be non-negative integers, got m=-1 k=2 n=2');
    expect(() => matmulF32(f, f, f, 2, 1.5, 2, false, false)).toThrow('matmulF32: sizes must be non-negative integers');
    expect(() => matmulF32(f, f, f, 2, 2, NaN, true, true)).toThrow('matmulF32: sizes must be non-negative integers');
  });
});

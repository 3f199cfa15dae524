/**
 * Matmuls split over worker threads (kernels/wasm/threads.ts): the result has the same bits with 1, 2
 * and 3 threads, for row splits and column splits, every transpose form, both dtypes and odd sizes;
 * gradients through threaded matmuls equal the single-threaded ones; the count is validated.
 */
import { afterAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { backendReport, cpuThreads, grad, matmul, noGrad, randn, setCpuThreads, sum, tanh, type Tensor } from '@metagrad/autograd';
import {
  DEFAULT_BLOCKING, DEFAULT_GEMM_CONFIG, THREAD_MIN_FLOPS, WasmGemm, matmulF64, startGemmThreads, threadsAvailable, wasmSimdAvailable, worthSplitting,
} from '@metagrad/autograd/kernels';

const initial = cpuThreads();
afterAll(() => {
  setCpuThreads(initial);
});

const withThreads = <T>(n: number, f: () => T): T => {
  setCpuThreads(n);
  return f();
};

describe.skipIf(!wasmSimdAvailable() || !threadsAvailable())('matmul on worker threads', () => {
  it('same bits with 1, 2 and 3 threads: row and column splits, transposes, both dtypes (fast-check shapes)', () => {
    fc.assert(fc.property(
      fc.integer({ min: 1, max: 300 }), fc.integer({ min: 1, max: 200 }), fc.integer({ min: 1, max: 300 }),
      fc.boolean(), fc.boolean(), fc.constantFrom('float64', 'float32'), fc.integer({ min: 0, max: 1000 }),
      (m, k, n, tA, tB, dtype, seed) => {
        const a = randn(tA ? [k, m] : [m, k], seed, { dtype }), b = randn(tB ? [n, k] : [k, n], seed + 1, { dtype });
        const f = (): Tensor => noGrad(() => matmul(tA ? a.T : a, tB ? b.T : b));
        const one = withThreads(1, f), two = withThreads(2, f), three = withThreads(3, f);
        expect(two.data).toEqual(one.data);
        expect(three.data).toEqual(one.data);
      }), { numRuns: 40 });
    // and products that are surely split, in both dtypes and every transpose form (above THREAD_MIN_FLOPS)
    for (const dtype of ['float64', 'float32'] as const)
      for (const [tA, tB] of [[false, false], [true, false], [false, true], [true, true]] as const) {
        const [m, k, n] = [301, 257, 509];
        expect(worthSplitting(dtype === 'float64' ? 'f64' : 'f32', m, k, n)).toBe(true);
        const a = randn(tA ? [k, m] : [m, k], 3, { dtype }), b = randn(tB ? [n, k] : [k, n], 4, { dtype });
        const f = (): Tensor => noGrad(() => matmul(tA ? a.T : a, tB ? b.T : b));
        expect(withThreads(2, f).data).toEqual(withThreads(1, f).data);
      }
  });

  it('a product worth splitting is handed to the workers (tall, wide, odd), a small or shallow one is not; the report counts the threads', () => {
    const g = new WasmGemm(DEFAULT_GEMM_CONFIG, DEFAULT_BLOCKING, true);
    const real = startGemmThreads(g, 2);
    let starts = 0;
    g.useThreads({ workers: 2, start: (w, job) => { starts++; real.start(w, job); }, wait: (w) => real.wait(w) });
    try {
      // tall (rows split), wide (columns split), odd, small, and large but shallow (k < THREAD_MIN_K)
      for (const [m, k, n] of [[4000, 64, 64], [64, 64, 4000], [197, 131, 389], [20, 20, 20], [4000, 16, 200]] as const) {
        const a = randn([m, k], 5).data as Float64Array, b = randn([k, n], 6).data as Float64Array;
        const want = new Float64Array(m * n), got = new Float64Array(m * n);
        matmulF64(a, b, want, m, k, n, false, false);
        const before = starts;
        expect(g.run('f64', a, b, got, m, k, n, false, false)).toBe(true);
        expect(got).toEqual(want);
        expect(starts - before).toBe(worthSplitting('f64', m, k, n) ? 2 : 0);
        expect(worthSplitting('f64', m, k, n)).toBe(2 * m * k * n >= THREAD_MIN_FLOPS.f64 && k >= 32);
      }
    } finally {
      real.close();
    }
    setCpuThreads(2);
    expect(backendReport().cpuThreads).toBe(2);
  });

  it('second-order gradients through threaded matmuls equal the single-threaded ones bit for bit', () => {
    const W = randn([64, 64], 1), x = randn([2000, 64], 2); // [2000×64]·[64×64]: split on 2 threads
    expect(worthSplitting('f64', 2000, 64, 64)).toBe(true);
    const f = (w: Tensor): Tensor => sum(tanh(x.matmul(w)).square());
    const hv = (): Float64Array => grad((w: Tensor) => sum(grad(f)(w).mul(W)))(W).data as Float64Array;
    expect(withThreads(2, hv)).toEqual(withThreads(1, hv));
  });

  it('refuses a count that is not a positive integer', () => {
    expect(() => setCpuThreads(0)).toThrow(/positive integer/);
    expect(() => setCpuThreads(1.5)).toThrow(/positive integer/);
  });
});

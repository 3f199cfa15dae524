/**
 * The WebAssembly SIMD exp and tanh (packages/autograd/src/kernels/wasm/vmath.ts) against Math.exp and
 * Math.tanh: within 4 units in the last place on edge cases (±0, ±∞, NaN, the overflow and subnormal
 * ends of exp, where tanh reaches 1) and on random arguments over the whole range; float32 equal to
 * Math.f(x) rounded to float32; every length across the chunk boundary; an element's bits do not depend
 * on the array it is in; and the exp and tanh ops run on it.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { vmath, wasmSimdAvailable } from '@metagrad/autograd/kernels';
import { exp, noGrad, tanh, tensor } from '@metagrad/autograd';

const MATH = { exp: Math.exp, tanh: Math.tanh } as const;
const OPS = ['exp', 'tanh'] as const;

/** |a − b| in units of the last place of b (subnormal spacing below the normal range); 0 for equal or both NaN. */
function ulps(a: number, b: number): number {
  if (Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b))) return 0;
  if (!Number.isFinite(a) || !Number.isFinite(b)) return Infinity;
  const e = Math.max(Math.floor(Math.log2(Math.abs(b) || Number.MIN_VALUE)), -1022);
  return Math.abs(a - b) / 2 ** (e - 52);
}

const EDGES = [
  0, -0, Infinity, -Infinity, NaN, 1, -1, 0.5, -0.5, 1e-300, -1e-300, 5e-324, 1e-17, -1e-8, 1e-3,
  0.34657359027997264, -0.34657359027997264, 0.6931471805599453, 709.78, 709.7827128933839, 709.79, 710, 800,
  -708.39, -708.4, -720, -745.13, -745.1332191019411, -745.14, -746, -800, 18.5, 19.06, 20, 20.5, -20, 40, 1e300, -1e300,
];

describe.skipIf(!wasmSimdAvailable())('vmath: SIMD exp and tanh', () => {
  for (const op of OPS) {
    it(`${op}: edge cases within 2 ulps of Math.${op}, specials exact`, () => {
      const x = Float64Array.from(EDGES), out = new Float64Array(x.length);
      vmath(op, x, out);
      EDGES.forEach((v, i) => {
        const want = MATH[op](v);
        if (!Number.isFinite(want) || want === 0 || Number.isNaN(want)) expect(Object.is(out[i], want) || (Number.isNaN(out[i]!) && Number.isNaN(want)), `${op}(${v}) = ${out[i]}, want ${want}`).toBe(true);
        else expect(ulps(out[i]!, want), `${op}(${v}) = ${out[i]}, want ${want}`).toBeLessThanOrEqual(2);
      });
    });

    it(`${op}: random arguments within 4 ulps of Math.${op} (float64), equal to its float32 rounding (float32)`, () => {
      fc.assert(fc.property(
        fc.array(fc.oneof(fc.double({ min: -800, max: 800, noNaN: true }), fc.double({ min: -3, max: 3, noNaN: true }), fc.double({ min: -1e-6, max: 1e-6, noNaN: true })), { minLength: 1, maxLength: 300 }),
        (xs) => {
          const x = Float64Array.from(xs), out = new Float64Array(x.length);
          vmath(op, x, out);
          xs.forEach((v, i) => expect(ulps(out[i]!, MATH[op](v)), `${op}(${v})`).toBeLessThanOrEqual(4));
          const x32 = Float32Array.from(xs), o32 = new Float32Array(x32.length);
          vmath(op, x32, o32);
          x32.forEach((v, i) => {
            const want = Math.fround(MATH[op](v));
            // float64 → float32 twice rounded can differ by one float32 ulp in rare ties
            if (!Number.isFinite(want) || want === 0) expect(Object.is(o32[i], want), `${op}(${v}) f32 = ${o32[i]}, want ${want}`).toBe(true);
            else expect(Math.abs(o32[i]! - want), `${op}(${v}) f32`).toBeLessThanOrEqual(Math.max(Math.abs(want) * 2 ** -23, 2 ** -149));
          });
        }), { numRuns: 200 });
    });

    it(`${op}: every length across the chunk boundary, in place too; an element's bits do not depend on its array`, () => {
      for (const n of [0, 1, 2, 5, 6, 7, 6143, 6144, 6145, 12289, 20000]) {
        const x = new Float64Array(n).map((_, i) => Math.sin(i * 1.3) * 5);
        const out = new Float64Array(n);
        vmath(op, x, out);
        for (let i = 0; i < n; i++) expect(ulps(out[i]!, MATH[op](x[i]!))).toBeLessThanOrEqual(4);
        const inPlace = x.slice();
        vmath(op, inPlace, inPlace);
        expect(inPlace).toEqual(out);
        if (n > 10) {
          const part = new Float64Array(n - 7);
          vmath(op, x.subarray(7), part);
          expect(part).toEqual(out.subarray(7));
        }
      }
    });
  }

  it('refuses arrays of different types or lengths', () => {
    expect(() => vmath('exp', new Float64Array(3), new Float32Array(3))).toThrow(/same type and length/);
    expect(() => vmath('tanh', new Float64Array(3), new Float64Array(4))).toThrow(/same type and length/);
  });

  it('the exp and tanh ops run on it (same bits) in both dtypes', () => {
    for (const dtype of ['float64', 'float32'] as const) {
      const x = tensor([[-3, -0.25, 0], [1e-9, 0.7, 12]], undefined, { dtype });
      for (const [op, f] of [['exp', exp], ['tanh', tanh]] as const) {
        const want = dtype === 'float64' ? new Float64Array(6) : new Float32Array(6);
        vmath(op, x.data, want);
        expect(noGrad(() => f(x)).data).toEqual(want);
      }
    }
  });
});

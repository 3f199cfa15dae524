/**
 * exp and tanh over typed arrays in WebAssembly SIMD (two float64 lanes), written with ./emitter.ts.
 * V8's Math.exp and Math.tanh are fdlibm ports called once per element (measured 12 and 20 ns per
 * element on 128,000 values); these run both lanes of a v128 through one polynomial, ~4 ns per element
 * with the copies in and out (2.8× faster for exp, 4.7× for tanh).
 *
 * Both functions share one argument reduction (Cody–Waite, as fdlibm's exp):
 *
 *   y = k·ln2 + r,  k = nearest(y·log₂e),  r = (y − k·ln2_hi) − k·ln2_lo,  |r| ≤ ½ln2
 *   p = expm1(r) = r + r²(1/2! + r(1/3! + … + r/13!))         (Taylor; the first dropped term,
 *                                                              r¹⁴/14!, is < 2·10⁻¹⁷ relative to r)
 *   exp(y)   = 2^k·(1 + p)                   (2^k applied as 2^⌊k/2⌋·2^(k−⌊k/2⌋), so the subnormal
 *                                             and overflow ends round once, in the last multiply)
 *   expm1(y) = 2^k·p + (2^k − 1)             (y ≥ 0 here; exact for k = 0, one rounding otherwise)
 *   tanh(x)  = sign(x)·expm1(2|x|)/(expm1(2|x|) + 2)     (|x| clamped to 20, where tanh rounds to 1)
 *
 * The results are within a few units in the last place of Math.exp / Math.tanh (tested on edge
 * cases and random arguments over the whole range), NaN in gives NaN out, ±0 and ±∞ come out as the
 * Math functions give them. float32 arrays are widened to float64, computed the same way and rounded
 * once to float32, as the JS loops do (`Math.exp(x)` stored into a Float32Array).
 *
 * Every element is computed by the same instructions whatever the array's length or its position in
 * it, so a row of a batch gets the same bits in a batch of any size (the samplers rely on that).
 *
 *   vmath('tanh', x, out)        // out[i] = tanh(x[i]); x and out of the same type and length
 */
import { FunctionBuilder, type Local, ModuleBuilder } from './emitter.js';
import type { FloatArray } from './jsloops.js';
import { type WasmMemory, wasmApi } from './wasmapi.js';

/** The functions this module vectorizes. */
export type VmathOp = 'exp' | 'tanh';

const LOG2E = 1.4426950408889634;
/** ln 2 split so that k·LN2_HI is exact for |k| < 2²⁰ (fdlibm's split: the low 32 bits of LN2_HI are 0). */
const LN2_HI = 6.93147180369123816490e-1;
const LN2_LO = 1.90821492927058770002e-10;
/** 1/n! for n = 2 … 13: the Taylor coefficients of expm1 after the linear term. */
const INV_FACT = Array.from({ length: 12 }, (_, i) => {
  let f = 1;
  for (let n = 2; n <= i + 2; n++) f *= n;
  return 1 / f;
});
const SIGN = 0x8000000000000000n;
/** 1.5·2⁵²: adding and subtracting it rounds to an integer (|v| < 2⁵¹). */
const ROUND = 6755399441055744;

/** Elements per copy into the module's memory: 48 KiB of float64 (a multiple of a group's 2·G), so a chunk stays in L2. */
const CHUNK = 6144;

/**
 * The kernels work on G vectors at once, each stage emitted for all G before the next: the Horner
 * chain is 24 dependent operations, and interleaving G independent chains lets the CPU overlap them
 * (one vector at a time measured 6.5 ns per element, latency-bound).
 */
const G = 3;

/** Per-vector locals of one group: x (the argument), y, k, r, n1, n2, s. */
interface Regs { x: Local; y: Local; k: Local; r: Local; n1: Local; n2: Local; s: Local }

/** Pushes a constant (float64 or int64 lanes, both lanes equal). */
type Konst = (v: number | bigint) => void;

/** Fresh locals for vector i of a group. */
function regs(f: FunctionBuilder, i: number): Regs {
  const v = (name: string): Local => f.local('v128', `${name}${i}`);
  return { x: v('x'), y: v('y'), k: v('k'), r: v('r'), n1: v('n1_'), n2: v('n2_'), s: v('s') };
}

/** Emits `step(regs)` for every vector of the group. */
function each(g: readonly Regs[], step: (v: Regs) => void): void {
  for (const v of g) step(v);
}

/**
 * For each vector: k = nearest(y·log₂e) (integral float64 lanes), then r = expm1(y − k·ln2) in place
 * of r. k is rounded by adding and subtracting 1.5·2⁵² (the default rounding is to nearest, ties to
 * even, as f64x2.nearest).
 */
function reduceAndPoly(f: FunctionBuilder, K: Konst, g: readonly Regs[]): void {
  each(g, ({ y, k }) => { f.localGet(y); K(LOG2E); f.f64x2Mul(); K(ROUND); f.f64x2Add(); K(ROUND); f.f64x2Sub().localSet(k); });
  each(g, ({ y, k, r }) => {
    f.localGet(y).localGet(k); K(LN2_HI); f.f64x2Mul().f64x2Sub();
    f.localGet(k); K(LN2_LO); f.f64x2Mul().f64x2Sub().localSet(r);
  });
  // q = Σ c_i r^i with c_i = 1/(i+2)!, i < 12, by Estrin's scheme (depth 5 instead of Horner's 12):
  // pairs c_2j + c_2j+1·r, then pairs of pairs with r², then with r⁴, r⁸
  const c = INV_FACT;
  const pair = (r: Local, j: number): void => {
    f.localGet(r); K(c[2 * j + 1]!); f.f64x2Mul(); K(c[2 * j]!); f.f64x2Add();
  };
  each(g, ({ r, n1 }) => f.localGet(r).localGet(r).f64x2Mul().localSet(n1)); // n1 = r²
  each(g, ({ r, n1, n2, s }) => {
    pair(r, 0); pair(r, 1); f.localGet(n1).f64x2Mul().f64x2Add(); // b0 = p0 + p1 r²
    pair(r, 2); pair(r, 3); f.localGet(n1).f64x2Mul().f64x2Add(); // b1 = p2 + p3 r²
    f.localGet(n1).localGet(n1).f64x2Mul().localTee(n2).f64x2Mul().f64x2Add(); // b0 + b1 r⁴ (n2 = r⁴)
    pair(r, 4); pair(r, 5); f.localGet(n1).f64x2Mul().f64x2Add(); // b2 = p4 + p5 r²
    f.localGet(n2).localGet(n2).f64x2Mul().f64x2Mul().f64x2Add().localSet(s); // + b2 r⁸
  });
  // p = r + r²·q
  each(g, ({ r, n1, s }) => f.localGet(s).localGet(n1).f64x2Mul().localGet(r).f64x2Add().localSet(r));
}

/**
 * Pushes 2^n for the integral float64 lanes of `n` (−1022 ≤ n ≤ 1023): n + 1.5·2⁵² holds n in its low
 * mantissa bits, so (bits + 1023) << 52 are the bits of 2^n.
 */
function pow2(f: FunctionBuilder, K: Konst, n: Local): void {
  f.localGet(n); K(ROUND); f.f64x2Add(); K(1023n); f.i64x2Add().i32Const(52).i64x2Shl();
}

/** y = exp(x) for each vector. */
function emitExp(f: FunctionBuilder, K: Konst, g: readonly Regs[]): void {
  // exp rounds to ∞ above 709.79 and to 0 below −745.14: clamping there changes nothing, and keeps
  // k within the two-step scaling's range. min/max propagate NaN.
  each(g, ({ x, y }) => { f.localGet(x); K(710); f.f64x2Min(); K(-746); f.f64x2Max().localSet(y); });
  reduceAndPoly(f, K, g);
  each(g, ({ k, n1, n2 }) => {
    f.localGet(k); K(0.5); f.f64x2Mul().f64x2Floor().localSet(n2); // ⌊k/2⌋
    f.localGet(k).localGet(n2).f64x2Sub().localSet(n1); // k − ⌊k/2⌋
  });
  each(g, ({ y, r, n1, n2 }) => {
    f.localGet(r); K(1); f.f64x2Add(); // 1 + p
    pow2(f, K, n2);
    f.f64x2Mul();
    pow2(f, K, n1);
    f.f64x2Mul().localSet(y);
  });
}

/** y = tanh(x) for each vector. */
function emitTanh(f: FunctionBuilder, K: Konst, g: readonly Regs[]): void {
  // y = 2·min(|x|, 20) ∈ [0, 40]
  each(g, ({ x, y }) => { f.localGet(x).f64x2Abs(); K(20); f.f64x2Min().localTee(y).localGet(y).f64x2Add().localSet(y); });
  reduceAndPoly(f, K, g);
  each(g, ({ x, y, k, r, s }) => {
    pow2(f, K, k);
    f.localSet(s); // s = 2^k, 0 ≤ k ≤ 58
    // em = s·p + (s − 1)
    f.localGet(s).localGet(r).f64x2Mul().localGet(s); K(1); f.f64x2Sub().f64x2Add().localSet(y);
    // |tanh| = em / (em + 2), then x's sign bit
    f.localGet(y).localGet(y); K(2); f.f64x2Add().f64x2Div();
    f.localGet(x); K(SIGN); f.v128And().v128Or().localSet(y);
  });
}

/**
 * `<op>_<t>(ptr, groups)`: in place over `groups` groups of G pairs of elements at byte address `ptr`
 * (a float64 pair is 16 bytes, a float32 pair 8: widened, computed, narrowed).
 */
function emitKernel(op: VmathOp, t: 'f64' | 'f32'): FunctionBuilder {
  const body = op === 'exp' ? emitExp : emitTanh;
  // A dry run lists the constants the body uses; each is then set once in a local before the loop
  // (V8 materializes a v128.const with two or three instructions at every use).
  const used: Array<number | bigint> = [];
  const dry = new FunctionBuilder('dry', []);
  body(dry, (v) => {
    if (!used.includes(v)) used.push(v);
  }, [regs(dry, 0)]);

  const f = new FunctionBuilder(`${op}_${t}`, [['ptr', 'i32'], ['groups', 'i32']]);
  const ptr = f.param('ptr'), groups = f.param('groups');
  const end = f.local('i32', 'end');
  const consts = new Map(used.map((v) => [v, f.local('v128', `c${String(v)}`)]));
  for (const [v, l] of consts) (typeof v === 'bigint' ? f.i64x2Const(v) : f.f64x2Const(v)).localSet(l);
  const K: Konst = (v) => f.localGet(consts.get(v)!);
  const g = Array.from({ length: G }, (_, i) => regs(f, i));
  const step = t === 'f64' ? 16 : 8;
  f.localGet(groups).i32Eqz();
  f.if();
  f.return();
  f.end();
  f.localGet(ptr).localGet(groups).i32Const(G * step).i32Mul().i32Add().localSet(end);
  const top = f.loop();
  g.forEach(({ x }, i) => {
    if (t === 'f64') f.localGet(ptr).v128Load(i * step).localSet(x);
    else f.localGet(ptr).v128Load64Zero(i * step).f64x2PromoteLowF32x4().localSet(x);
  });
  body(f, K, g);
  g.forEach(({ y }, i) => {
    f.localGet(ptr).localGet(y);
    if (t === 'f64') f.v128Store(i * step);
    else f.f32x4DemoteF64x2Zero().v128Store64Lane(i * step, 0);
  });
  f.localGet(ptr).i32Const(G * step).i32Add().localTee(ptr).localGet(end).i32Ne().brIf(top);
  f.end();
  return f;
}

/** The module: exp and tanh for float64 and float32, on one imported memory. */
export function buildVmathModule(): Uint8Array {
  const mod = new ModuleBuilder().importMemory({ module: 'env', field: 'memory', minPages: 1 });
  for (const op of ['exp', 'tanh'] as const) for (const t of ['f64', 'f32'] as const) mod.add(emitKernel(op, t));
  return mod.toBytes();
}

type Kernel = (ptr: number, pairs: number) => void;

/** One instance of the module with its one-page memory; arrays pass through it a chunk at a time. */
class WasmVmath {
  private readonly fns: Record<string, Kernel>;
  private readonly f64: Float64Array;
  private readonly f32: Float32Array;

  constructor() {
    const api = wasmApi!;
    const memory: WasmMemory = new api.Memory({ initial: 1, maximum: 1 });
    const instance = new api.Instance(new api.Module(buildVmathModule()), { env: { memory } });
    this.fns = instance.exports as Record<string, Kernel>;
    this.f64 = new Float64Array(memory.buffer, 0, CHUNK);
    this.f32 = new Float32Array(memory.buffer, 0, CHUNK);
  }

  run(op: VmathOp, x: FloatArray, out: FloatArray): void {
    const f64 = x instanceof Float64Array;
    const k = this.fns[`${op}_${f64 ? 'f64' : 'f32'}`]!, view = f64 ? this.f64 : this.f32;
    const n = x.length;
    for (let i = 0; i < n; i += CHUNK) {
      const c = Math.min(CHUNK, n - i);
      view.set(c === n ? x : x.subarray(i, i + c));
      k(0, Math.ceil(c / (2 * G)));
      out.set(c === CHUNK ? view : view.subarray(0, c), i);
    }
  }
}

let instance: WasmVmath | undefined;

/**
 * out[i] = op(x[i]) with the SIMD kernels above. `x` and `out` have the same type and length (they may
 * be the same array). Requires WebAssembly SIMD (see `wasmSimdAvailable`).
 */
export function vmath(op: VmathOp, x: FloatArray, out: FloatArray): void {
  if (out.length !== x.length || (x instanceof Float64Array) !== (out instanceof Float64Array))
    throw new Error(`vmath: x and out must have the same type and length, got ${x.constructor.name}(${x.length}) and ${out.constructor.name}(${out.length})`);
  (instance ??= new WasmVmath()).run(op, x, out);
}

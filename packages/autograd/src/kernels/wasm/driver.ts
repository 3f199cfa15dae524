/**
 * Runs the kernels of ./gemm.ts: owns one wasm instance and its growable memory, lays out the operands,
 * and drives the three outer blocking loops (a handful of wasm calls per matmul).
 *
 * Memory layout per call (byte offsets, each region 64-byte aligned):
 *
 *   [ packed A block MC×KC | packed B block KC×NC | A copy m·k | B copy k·n | C padded mPad×nPad ]
 *
 * A and B are copied in with one TypedArray.set each, in their stored layout; the pack functions read
 * them through byte strides, so transposition costs nothing extra. C is padded to whole MR×NR tiles,
 * compacted in place to m×n when n is not a multiple of NR, and copied out with one set.
 * Memory only grows (to the largest problem seen); no allocation per call in the steady state.
 */
import { buildGemmModule, DEFAULT_GEMM_CONFIG, type GemmExports, type GemmModuleConfig, type KernelType } from './gemm.js';
import type { FloatArray } from './jsloops.js';
import { type WasmMemory, wasmApi } from './wasmapi.js';

/** Cache-blocking sizes of one element type, in elements. */
export interface Blocking {
  /** Reduction depth per packed block (KC). */
  kc: number;
  /** Rows of op(A) per packed block (MC); rounded down to a multiple of MR. */
  mc: number;
  /** Columns of op(B) per packed block (NC); rounded down to a multiple of NR. */
  nc: number;
  /** Read op(A) = Aᵀ in place, unpacked, when op(B) has at most this many NR-wide panels. */
  directA: number;
  /** Read op(B) = B in place, unpacked, when op(A) has at most this many MR-tall panels. */
  directB: number;
}

/** Blocking for both element types. */
export interface GemmBlocking {
  /** float32 block sizes. */
  f32: Blocking;
  /** float64 block sizes. */
  f64: Blocking;
}

/**
 * Block sizes for the development machine (AMD EPYC, 2 cores): a KC×NR panel of B stays in L1 while
 * it sweeps the MC×KC block of A. KC 128–512 and MC 32–2048 measured within noise of each other on
 * the benchmark shapes. In-place operands: Aᵀ unpacked when n ≤ 2·NR measured 1.3× faster on
 * [2000×64]ᵀ·[2000×6] and neutral at n = 64; B unpacked when m ≤ 8·MR measured 1.1× faster for
 * m = 20, neutral at m = 64, and 0.8× (256³) to 0.5× (1024³) for large m.
 */
export const DEFAULT_BLOCKING: GemmBlocking = {
  f32: { kc: 256, mc: 128, nc: 2048, directA: 2, directB: 8 },
  f64: { kc: 256, mc: 64, nc: 2048, directA: 2, directB: 8 },
};

const PAGE = 65536;
/** Largest memory the driver will lay out; beyond it (i32 byte offsets) callers fall back to JS. */
const MAX_BYTES = 0x7fff0000;

const align64 = (x: number): number => Math.ceil(x / 64) * 64;
const roundUp = (x: number, q: number): number => Math.ceil(x / q) * q;

/** One instantiated gemm module with its memory. */
export class WasmGemm {
  /** The module's linear memory (grows on demand). */
  readonly memory: WasmMemory;
  private readonly fns: GemmExports;
  private buffer: ArrayBuffer;
  private f32: Float32Array;
  private f64: Float64Array;

  /**
   * Compiles and instantiates synchronously. Throws when this engine lacks WebAssembly SIMD.
   * @param config  micro-tile shapes
   * @param blocking  cache-block sizes
   */
  constructor(
    readonly config: GemmModuleConfig = DEFAULT_GEMM_CONFIG,
    readonly blocking: GemmBlocking = DEFAULT_BLOCKING,
  ) {
    const api = wasmApi;
    if (!api) throw new Error('WasmGemm: this engine has no WebAssembly');
    const module = new api.Module(buildGemmModule(config));
    this.memory = new api.Memory({ initial: 16 });
    const instance = new api.Instance(module, { env: { memory: this.memory } });
    this.fns = instance.exports as unknown as GemmExports;
    this.buffer = this.memory.buffer;
    this.f32 = new Float32Array(this.buffer);
    this.f64 = new Float64Array(this.buffer);
  }

  /** Grows memory to at least `bytes` and refreshes the views. */
  private reserve(bytes: number): void {
    const have = this.memory.buffer.byteLength;
    if (bytes > have) this.memory.grow(Math.ceil((bytes - have) / PAGE));
    if (this.memory.buffer !== this.buffer) {
      this.buffer = this.memory.buffer;
      this.f32 = new Float32Array(this.buffer);
      this.f64 = new Float64Array(this.buffer);
    }
  }

  /**
   * out[m×n] = op(A)·op(B) for m, k, n ≥ 1 on already-validated arrays (see ./index.ts).
   * Returns false, computing nothing, when the problem does not fit in 32-bit wasm memory.
   */
  run(t: KernelType, a: FloatArray, b: FloatArray, out: FloatArray, m: number, k: number, n: number, transA: boolean, transB: boolean): boolean {
    const { mr: MR, nr: NR } = this.config[t];
    const blk = this.blocking[t];
    const E = t === 'f32' ? 4 : 8;
    const KC = Math.max(1, blk.kc);
    const MC = Math.max(MR, Math.floor(blk.mc / MR) * MR);
    const NC = Math.max(NR, Math.floor(blk.nc / NR) * NR);
    const mPad = roundUp(m, MR), nPad = roundUp(n, NR);
    const kcMax = Math.min(k, KC), mcMax = Math.min(mPad, MC), ncMax = Math.min(nPad, NC);

    const GUARD = align64(Math.max(MR, NR) * E); // zeroed bytes after each operand copy
    const apOff = 0;
    const bpOff = align64(apOff + mcMax * kcMax * E);
    // A and B copies are each followed by a zeroed guard: a panel read in place (below) runs up to
    // MR−1 (NR−1) elements past the end of its last row.
    const aOff = align64(bpOff + kcMax * ncMax * E);
    const bOff = align64(aOff + m * k * E + GUARD);
    const cOff = align64(bOff + k * n * E + GUARD);
    const end = cOff + mPad * nPad * E;
    if (end > MAX_BYTES) return false;
    try {
      this.reserve(end);
    } catch {
      return false; // the engine refused to grow memory: let the caller fall back to JS
    }

    const view = t === 'f32' ? this.f32 : this.f64;
    view.set(a.length === m * k ? a : a.subarray(0, m * k), aOff / E);
    view.fill(0, aOff / E + m * k, (aOff + m * k * E + GUARD) / E);
    view.set(b.length === k * n ? b : b.subarray(0, k * n), bOff / E);
    view.fill(0, bOff / E + k * n, (bOff + k * n * E + GUARD) / E);

    // Byte strides of op(A) element (i, p) and op(B) element (p, j) in the copies.
    const aW = transA ? E : k * E, aP = transA ? m * E : E;
    const bW = transB ? k * E : E, bP = transB ? E : n * E;
    // Aᵀ stored [k×m] already holds MR consecutive rows of op(A) per reduction step, and B stored [k×n]
    // NR consecutive columns: gebp can read them in place when packing would not pay for itself,
    // i.e. when the block is swept by few panels of the other operand.
    const directA = transA && nPad / NR <= blk.directA;
    const directB = !transB && mPad / MR <= blk.directB;
    const f = this.fns;
    const packA = t === 'f32' ? f.packA_f32 : f.packA_f64;
    const packB = t === 'f32' ? f.packB_f32 : f.packB_f64;
    const gebp = t === 'f32' ? f.gebp_f32 : f.gebp_f64;
    const ldc = nPad * E;

    for (let jc = 0; jc < nPad; jc += NC) {
      const nc = Math.min(NC, nPad - jc);
      for (let pc = 0; pc < k; pc += KC) {
        const kc = Math.min(KC, k - pc);
        let bp = bpOff, bStep = NR * E, bPanel = kc * NR * E;
        if (directB) {
          bp = bOff + pc * bP + jc * E;
          bStep = bP;
          bPanel = NR * E;
        } else {
          packB(bOff + pc * bP + jc * bW, bW, bP, Math.min(nc, n - jc), kc, bpOff);
        }
        for (let ic = 0; ic < mPad; ic += MC) {
          const mc = Math.min(MC, mPad - ic);
          let ap = apOff, aStep = MR * E, aPanel = kc * MR * E;
          if (directA) {
            ap = aOff + pc * aP + ic * E;
            aStep = aP;
            aPanel = MR * E;
          } else {
            packA(aOff + ic * aW + pc * aP, aW, aP, Math.min(mc, m - ic), kc, apOff);
          }
          gebp(mc / MR, nc / NR, kc, ap, aStep, aPanel, bp, bStep, bPanel, cOff + ic * ldc + jc * E, ldc, pc > 0 ? 1 : 0);
        }
      }
    }

    if (nPad !== n) f.compact(cOff, m, n * E, ldc);
    out.set(view.subarray(cOff / E, cOff / E + m * n));
    return true;
  }
}

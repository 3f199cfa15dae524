/**
 * Runs the kernels of ./gemm.ts: owns one wasm instance and its growable memory, lays out the operands,
 * and drives the three outer blocking loops (a handful of wasm calls per matmul).
 *
 * Memory layout per call (byte offsets, each region 64-byte aligned):
 *
 *   [ per thread: packed A block MC×KC, packed B block KC×NC | A copy m·k | B copy k·n | C padded mPad×nPad ]
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
/** The most pages a shared memory may grow to (its maximum must be declared up front). */
const MAX_PAGES = Math.floor(MAX_BYTES / PAGE);
/**
 * Below this many flops (2mkn) a matmul runs on the calling thread alone. A split pays for the workers'
 * wake-up (tens of µs), the copies into shared memory and kernels ~20 % slower on shared memory
 * (measured); float32 products, twice as fast, need twice the work. Measured on 2 cores: [2000×64]·[64×64]
 * float64 0.67× the one-thread time on two, float32 1.05×; 1024³ float32 0.54×.
 */
export const THREAD_MIN_FLOPS: {
  /** float64: 2·2000·64·64. */
  readonly f64: number;
  /** float32: 2·256³. */
  readonly f32: number;
} = { f64: 2 * 2000 * 64 * 64, f32: 2 * 256 ** 3 };
/** Nor below this reduction depth k: the copies of A and C outweigh the arithmetic ([2000×20]·[20×64] was 1.3× slower split). */
export const THREAD_MIN_K = 32;

/** Whether op(A)[m×k]·op(B)[k×n] of type `t` is worth splitting over threads. */
export function worthSplitting(t: KernelType, m: number, k: number, n: number): boolean {
  return 2 * m * k * n >= THREAD_MIN_FLOPS[t] && k >= THREAD_MIN_K;
}

const align64 = (x: number): number => Math.ceil(x / 64) * 64;
const roundUp = (x: number, q: number): number => Math.ceil(x / q) * q;

/**
 * The slots of a job: one rectangle of C = op(A)·op(B) for {@link gemmLoops}, as 32-bit integers so it
 * crosses to a worker thread through shared memory. Byte addresses and strides.
 */
const J = {
  f64: 0, m: 1, k: 2, n: 3, aOff: 4, bOff: 5, cOff: 6, aW: 7, aP: 8, bW: 9, bP: 10, ldc: 11,
  directA: 12, directB: 13, i0: 14, i1: 15, j0: 16, j1: 17, apOff: 18, bpOff: 19,
  MR: 20, NR: 21, KC: 22, MC: 23, NC: 24, E: 25, length: 26,
} as const;

/**
 * The three blocking loops over rows [i0, i1) and columns [j0, j1) of the padded C (tile-aligned), with
 * this rectangle's own packing buffers. Self-contained (no free variables: slots are literal indices, as
 * in `J`), so a worker thread runs this same source through `Function.prototype.toString`.
 */
export function gemmLoops(fns: GemmExports, p: Int32Array): void {
  const f64 = p[0] === 1, m = p[1]!, k = p[2]!, n = p[3]!, aOff = p[4]!, bOff = p[5]!, cOff = p[6]!;
  const aW = p[7]!, aP = p[8]!, bW = p[9]!, bP = p[10]!, ldc = p[11]!, directA = p[12] === 1, directB = p[13] === 1;
  const i0 = p[14]!, i1 = p[15]!, j0 = p[16]!, j1 = p[17]!, apOff = p[18]!, bpOff = p[19]!;
  const MR = p[20]!, NR = p[21]!, KC = p[22]!, MC = p[23]!, NC = p[24]!, E = p[25]!;
  const packA = f64 ? fns.packA_f64 : fns.packA_f32;
  const packB = f64 ? fns.packB_f64 : fns.packB_f32;
  const gebp = f64 ? fns.gebp_f64 : fns.gebp_f32;
  for (let jc = j0; jc < j1; jc += NC) {
    const nc = Math.min(NC, j1 - jc);
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
      for (let ic = i0; ic < i1; ic += MC) {
        const mc = Math.min(MC, i1 - ic);
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
}

/** The parts of `[0, tiles)` for `parts` threads, as tile counts: as even as whole tiles allow. */
function splitTiles(tiles: number, parts: number): number[] {
  const out: number[] = [];
  for (let t = 0, at = 0; t < parts; t++) {
    const next = Math.round(((t + 1) * tiles) / parts);
    out.push(next - at);
    at = next;
  }
  return out;
}

/** Worker threads that run rectangles of a matmul on the module's shared memory. */
export interface GemmThreads {
  /** Worker threads (the calling thread is one more). */
  readonly workers: number;
  /** Starts rectangle `p` on worker `w` (returns at once). */
  start(w: number, p: Int32Array): void;
  /** Blocks until worker `w` has finished its rectangle; throws what it threw. */
  wait(w: number): void;
}

/** One instantiated gemm module with its memory. */
export class WasmGemm {
  /** The module's linear memory (grows on demand; shared when threads run on it). */
  readonly memory: WasmMemory;
  /** The compiled module (for worker threads to instantiate on the same memory). */
  readonly module: object;
  private readonly fns: GemmExports;
  private buffer: ArrayBuffer;
  private f32: Float32Array;
  private f64: Float64Array;
  private threads: GemmThreads | null = null;
  private readonly job = new Int32Array(J.length);

  /**
   * Compiles and instantiates synchronously. Throws when this engine lacks WebAssembly SIMD.
   * @param config  micro-tile shapes
   * @param blocking  cache-block sizes
   * @param shared  a shared memory (so worker threads can run on it; see {@link WasmGemm.useThreads})
   */
  constructor(
    readonly config: GemmModuleConfig = DEFAULT_GEMM_CONFIG,
    readonly blocking: GemmBlocking = DEFAULT_BLOCKING,
    readonly shared = false,
  ) {
    const api = wasmApi;
    if (!api) throw new Error('WasmGemm: this engine has no WebAssembly');
    this.module = new api.Module(buildGemmModule(config, shared ? MAX_PAGES : undefined));
    this.memory = new api.Memory(shared ? { initial: 16, maximum: MAX_PAGES, shared: true } : { initial: 16 });
    const instance = new api.Instance(this.module, { env: { memory: this.memory } });
    this.fns = instance.exports as unknown as GemmExports;
    this.buffer = this.memory.buffer;
    this.f32 = new Float32Array(this.buffer);
    this.f64 = new Float64Array(this.buffer);
  }

  /** Splits large matmuls over `threads` (null: the calling thread only). The memory must be shared. */
  useThreads(threads: GemmThreads | null): void {
    if (threads && !this.shared) throw new Error('WasmGemm: threads need a module built on shared memory');
    this.threads = threads && threads.workers > 0 ? threads : null;
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
   *
   * With threads, C's tiles are split into one rectangle per thread (rows when op(A) has at least as
   * many MR-tall panels as op(B) has NR-wide ones, else columns), each packed and computed as the whole
   * would be: every element of C comes out with the same bits however many threads run.
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
    const mTiles = mPad / MR, nTiles = nPad / NR;
    const parts = this.threads && worthSplitting(t, m, k, n) ? Math.min(this.threads.workers + 1, Math.max(mTiles, nTiles)) : 1;

    const GUARD = align64(Math.max(MR, NR) * E); // zeroed bytes after each operand copy
    // per part: its packed A block and packed B block
    const packBytes = align64(mcMax * kcMax * E) + align64(kcMax * ncMax * E);
    // A and B copies are each followed by a zeroed guard: a panel read in place (below) runs up to
    // MR−1 (NR−1) elements past the end of its last row.
    const aOff = parts * packBytes;
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
    const directA = transA && nTiles <= blk.directA;
    const directB = !transB && mTiles <= blk.directB;
    const p = this.job;
    p[J.f64] = t === 'f64' ? 1 : 0; p[J.m] = m; p[J.k] = k; p[J.n] = n;
    p[J.aOff] = aOff; p[J.bOff] = bOff; p[J.cOff] = cOff; p[J.aW] = aW; p[J.aP] = aP; p[J.bW] = bW; p[J.bP] = bP;
    p[J.ldc] = nPad * E; p[J.directA] = directA ? 1 : 0; p[J.directB] = directB ? 1 : 0;
    p[J.i0] = 0; p[J.i1] = mPad; p[J.j0] = 0; p[J.j1] = nPad; p[J.apOff] = 0; p[J.bpOff] = align64(mcMax * kcMax * E);
    p[J.MR] = MR; p[J.NR] = NR; p[J.KC] = KC; p[J.MC] = MC; p[J.NC] = NC; p[J.E] = E;

    if (parts === 1) gemmLoops(this.fns, p);
    else {
      const threads = this.threads!;
      const byRows = mTiles >= nTiles;
      const sizes = splitTiles(byRows ? mTiles : nTiles, parts);
      const jobs: Int32Array[] = [];
      for (let w = 0, at = 0; w < parts; w++) {
        const q = p.slice();
        const lo = at * (byRows ? MR : NR), hi = (at + sizes[w]!) * (byRows ? MR : NR);
        at += sizes[w]!;
        if (byRows) { q[J.i0] = lo; q[J.i1] = hi; } else { q[J.j0] = lo; q[J.j1] = hi; }
        q[J.apOff] = w * packBytes;
        q[J.bpOff] = w * packBytes + align64(mcMax * kcMax * E);
        jobs.push(q);
      }
      for (let w = 1; w < parts; w++) threads.start(w - 1, jobs[w]!);
      let err: unknown = null;
      try {
        gemmLoops(this.fns, jobs[0]!);
      } catch (e) {
        err = e;
      }
      for (let w = 1; w < parts; w++) threads.wait(w - 1);
      if (err) throw err;
    }

    if (nPad !== n) this.fns.compact(cOff, m, n * E, nPad * E);
    out.set(view.subarray(cOff / E, cOff / E + m * n));
    return true;
  }
}

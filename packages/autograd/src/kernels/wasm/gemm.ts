/**
 * The matmul kernels, written with ./emitter.ts. Layout follows the GotoBLAS/BLIS scheme:
 *
 *   C[m×n] = op(A)[m×k] · op(B)[k×n]
 *   for jc (NC columns) · for pc (KC of the reduction) · pack B block · for ic (MC rows) · pack A block ·
 *     gebp: for each NR-wide panel of B · for each MR-tall panel of A · MR×NR micro-tile
 *
 * The outer three loops and the memory layout live in ./driver.ts (a handful of calls per matmul);
 * the module exports the pieces that do O(size) work:
 *
 *  - `packA_<t>` / `packB_<t>` (t = f32 | f64): copy a block of op(A) / op(B) into panels of MR (NR)
 *    values per reduction step, so the micro-kernel reads both operands at unit stride. Element (w, p)
 *    of the block (w = row of op(A) or column of op(B), p = reduction index) is read at
 *    `src + w·strideW + p·strideP` (byte strides), which covers both storage orders of each operand:
 *    a vector copy when the W values of a step are contiguous, an in-register lanes×lanes transpose
 *    when the rows are (i8x16.shuffle unpack network), a scalar gather otherwise. Rows past the end of
 *    the matrix are zero-filled: they only feed padding rows/columns of C, which are discarded, but
 *    uninitialised memory could hold subnormals, which are slow.
 *  - `gebp_<t>`: the macro-kernel. Its micro-kernel keeps an MR×NR tile of C in MR·NR/lanes v128
 *    locals; each reduction step loads NR/lanes vectors of B, broadcasts MR values of A
 *    (v128.load32_splat / load64_splat) and does MR·NR/lanes multiply-adds (mul + add: relaxed-SIMD
 *    fused multiply-add is not available in Node 20 without flags). C is padded to whole tiles by the
 *    caller, so every tile is full. Operand strides are run-time arguments, so an operand whose
 *    storage already has the panel layout can be used without packing (see emitGebp).
 *  - `compact`: squeezes the padded C (row pitch ≥ n) into a dense m×n matrix in place.
 *
 * Shown as WAT, one reduction step of the f32 4×8 micro-kernel is:
 *
 *   (local.set $b0 (v128.load offset=0 (local.get $pb)))
 *   (local.set $b1 (v128.load offset=16 (local.get $pb)))
 *   (local.set $a (v128.load32_splat offset=0 (local.get $pa)))
 *   (local.set $c0_0 (f32x4.add (local.get $c0_0) (f32x4.mul (local.get $a) (local.get $b0))))
 *   (local.set $c0_1 (f32x4.add (local.get $c0_1) (f32x4.mul (local.get $a) (local.get $b1))))
 *   (local.set $a (v128.load32_splat offset=4 (local.get $pa)))
 *   … rows 1..3 likewise …
 *   (local.set $pa (i32.add (local.get $pa) (local.get $aStep)))
 *   (local.set $pb (i32.add (local.get $pb) (local.get $bStep)))
 *   (br_if $steps (i32.ne (local.get $pa) (local.get $paEnd)))
 */
import { FunctionBuilder, type Local, ModuleBuilder } from './emitter.js';

/** Element type of a kernel family. */
export type KernelType = 'f32' | 'f64';

/** Micro-tile shape of one element type. */
export interface TileConfig {
  /** Rows of the micro-tile (rows of op(A) per packed panel). */
  mr: number;
  /** Columns of the micro-tile (columns of op(B) per packed panel); a multiple of the lane count. */
  nr: number;
}

/** Everything the module generator needs. */
export interface GemmModuleConfig {
  /** Tile shape for float32 kernels. */
  f32: TileConfig;
  /** Tile shape for float64 kernels. */
  f64: TileConfig;
}

/**
 * The shapes measured fastest on the development machine (AMD EPYC, Node 20 / V8 11.3), with 8
 * accumulator registers. Larger tiles (6×8, 4×12, 3×16 in f32; 6×4, 4×6, 3×8 in f64) measured 30–50 %
 * slower, presumably from spills (V8 allocates only xmm0–xmm14 on x64), and so did unrolling the
 * reduction loop 2, 4 or 8 times with constant offsets (an earlier version of this generator).
 */
export const DEFAULT_GEMM_CONFIG: GemmModuleConfig = {
  f32: { mr: 4, nr: 8 },
  f64: { mr: 4, nr: 4 },
};

interface TypeOps {
  bytes: number;
  lanes: number;
  load(f: FunctionBuilder, offset: number): void;
  store(f: FunctionBuilder, offset: number): void;
  splat(f: FunctionBuilder, offset: number): void;
  add(f: FunctionBuilder): void;
  mul(f: FunctionBuilder): void;
}

const OPS: Record<KernelType, TypeOps> = {
  f32: {
    bytes: 4, lanes: 4,
    load: (f, o) => f.f32Load(o), store: (f, o) => f.f32Store(o), splat: (f, o) => f.v128Load32Splat(o),
    add: (f) => f.f32x4Add(), mul: (f) => f.f32x4Mul(),
  },
  f64: {
    bytes: 8, lanes: 2,
    load: (f, o) => f.f64Load(o), store: (f, o) => f.f64Store(o), splat: (f, o) => f.v128Load64Splat(o),
    add: (f) => f.f64x2Add(), mul: (f) => f.f64x2Mul(),
  },
};

/** `x += by` for an i32 local, `by` a constant or a local. */
function addTo(f: FunctionBuilder, x: Local, by: number | Local): void {
  f.localGet(x);
  if (typeof by === 'number') f.i32Const(by);
  else f.localGet(by);
  f.i32Add().localSet(x);
}

const bytes = (from: number, n: number): number[] => Array.from({ length: n }, (_, i) => from + i);
/** i8x16.shuffle patterns (second operand's bytes are 16–31). */
const UNPACK_LO32 = [...bytes(0, 4), ...bytes(16, 4), ...bytes(4, 4), ...bytes(20, 4)];
const UNPACK_HI32 = [...bytes(8, 4), ...bytes(24, 4), ...bytes(12, 4), ...bytes(28, 4)];
const UNPACK_LO64 = [...bytes(0, 8), ...bytes(16, 8)];
const UNPACK_HI64 = [...bytes(8, 8), ...bytes(24, 8)];

/** `(local.set $out (i8x16.shuffle pattern (local.get $x) (local.get $y)))`. */
function shuffle(f: FunctionBuilder, out: Local, x: Local, y: Local, pattern: readonly number[]): void {
  f.localGet(x).localGet(y).i8x16Shuffle(pattern).localSet(out);
}

/**
 * Transposes the lanes×lanes block held in v[0..lanes) in place (v[r] = row r on entry, column r on
 * exit), using tmp as scratch. f32: the usual 4×4 unpack network; f64: one 2×2 unpack.
 */
function transpose(f: FunctionBuilder, t: KernelType, v: Local[], tmp: Local[]): void {
  if (t === 'f64') {
    shuffle(f, tmp[0]!, v[0]!, v[1]!, UNPACK_LO64);
    shuffle(f, v[1]!, v[0]!, v[1]!, UNPACK_HI64);
    f.localGet(tmp[0]!).localSet(v[0]!);
    return;
  }
  shuffle(f, tmp[0]!, v[0]!, v[1]!, UNPACK_LO32); // a0 b0 a1 b1
  shuffle(f, tmp[1]!, v[2]!, v[3]!, UNPACK_LO32); // c0 d0 c1 d1
  shuffle(f, tmp[2]!, v[0]!, v[1]!, UNPACK_HI32); // a2 b2 a3 b3
  shuffle(f, tmp[3]!, v[2]!, v[3]!, UNPACK_HI32); // c2 d2 c3 d3
  shuffle(f, v[0]!, tmp[0]!, tmp[1]!, UNPACK_LO64); // a0 b0 c0 d0
  shuffle(f, v[1]!, tmp[0]!, tmp[1]!, UNPACK_HI64); // a1 b1 c1 d1
  shuffle(f, v[2]!, tmp[2]!, tmp[3]!, UNPACK_LO64); // a2 b2 c2 d2
  shuffle(f, v[3]!, tmp[2]!, tmp[3]!, UNPACK_HI64); // a3 b3 c3 d3
}

/**
 * packA_<t> / packB_<t>(src, strideW, strideP, nValid, kc, dst): packs `nValid` rows (w) × `kc`
 * reduction steps (p) into ceil(nValid/W) panels of kc·W contiguous values, zero-padding the last.
 * Byte addresses and strides; nValid ≥ 1 and kc ≥ 1.
 */
function emitPack(t: KernelType, which: 'A' | 'B', W: number): FunctionBuilder {
  const T = OPS[t];
  const E = T.bytes;
  const f = new FunctionBuilder(`pack${which}_${t}`, [
    ['src', 'i32'], ['strideW', 'i32'], ['strideP', 'i32'], ['nValid', 'i32'], ['kc', 'i32'], ['dst', 'i32'],
  ]);
  const src = f.param('src'), strideW = f.param('strideW'), strideP = f.param('strideP');
  const nValid = f.param('nValid'), kc = f.param('kc'), dst = f.param('dst');
  const rem = f.local('i32', 'rem');
  const s = f.local('i32', 's');
  const d = f.local('i32', 'd');
  const dEnd = f.local('i32', 'dEnd');
  const panelBytes = f.local('i32', 'panelBytes');
  const w = f.local('i32', 'w');
  const row = f.local('i32', 'row');
  const dMain = f.local('i32', 'dMain');
  const rowv: Local[] = [];
  const tmpv: Local[] = [];
  for (let r = 0; r < T.lanes; r++) {
    rowv.push(f.local('v128', `row${r}`));
    tmpv.push(f.local('v128', `tmp${r}`));
  }
  // sw[j] = j·strideW, the byte offset of the j-th row of the panel.
  const sw: Local[] = [];
  for (let j = 1; j < W; j++) {
    const l = f.local('i32', `sw${j}`);
    f.localGet(strideW).i32Const(j).i32Mul().localSet(l);
    sw.push(l);
  }
  f.localGet(kc).i32Const(W * E).i32Mul().localSet(panelBytes);
  f.localGet(nValid).localSet(rem);

  const panels = f.loop();
  {
    f.localGet(rem).i32Const(W).i32GeS().if();
    {
      // Full panel. d runs over the panel, s over the reduction index.
      f.localGet(src).localSet(s);
      f.localGet(dst).localGet(panelBytes).i32Add().localSet(dEnd);
      f.localGet(strideW).i32Const(E).i32Eq().if();
      {
        // The W values of one reduction step are contiguous in the source: vector copies.
        const top = f.loop();
        let o = 0;
        for (; o + 16 <= W * E; o += 16) f.localGet(dst).localGet(s).v128Load(o).v128Store(o);
        for (; o < W * E; o += E) {
          f.localGet(dst).localGet(s);
          T.load(f, o);
          T.store(f, o);
        }
        addTo(f, s, strideP);
        addTo(f, dst, W * E);
        f.localGet(dst).localGet(dEnd).i32Ne().brIf(top);
        f.end();
      }
      f.else();
      {
        const L = T.lanes;
        if (W % L === 0) {
          // Rows contiguous along p (strideP = E): transpose L×L blocks in registers, L steps at a time.
          f.localGet(strideP).i32Const(E).i32Eq().if();
          f.localGet(dst).localGet(kc).i32Const(-L).i32And().i32Const(W * E).i32Mul().i32Add().localSet(dMain);
          f.localGet(dst).localGet(dMain).i32Ne().if();
          const top = f.loop();
          for (let g = 0; g < W; g += L) {
            for (let r = 0; r < L; r++) {
              f.localGet(s);
              if (g + r > 0) f.localGet(sw[g + r - 1]!).i32Add();
              f.v128Load(0).localSet(rowv[r]!);
            }
            transpose(f, t, rowv, tmpv);
            for (let q = 0; q < L; q++) f.localGet(dst).localGet(rowv[q]!).v128Store((q * W + g) * E);
          }
          addTo(f, s, L * E);
          addTo(f, dst, L * W * E);
          f.localGet(dst).localGet(dMain).i32Ne().brIf(top);
          f.end();
          f.end();
          f.end();
        }
        // Strided gather of the remaining steps: W rows read in parallel, each sequentially.
        f.localGet(dst).localGet(dEnd).i32Ne().if();
        const top = f.loop();
        for (let j = 0; j < W; j++) {
          f.localGet(dst).localGet(s);
          if (j > 0) f.localGet(sw[j - 1]!).i32Add();
          T.load(f, 0);
          T.store(f, j * E);
        }
        addTo(f, s, strideP);
        addTo(f, dst, W * E);
        f.localGet(dst).localGet(dEnd).i32Ne().brIf(top);
        f.end();
        f.end();
      }
      f.end();
    }
    f.else();
    {
      // Last, partial panel: zero it, then copy the rem valid rows one at a time.
      f.localGet(dst).i32Const(0).localGet(panelBytes).memoryFill();
      f.i32Const(0).localSet(w);
      f.localGet(src).localSet(row);
      const rows = f.loop();
      {
        f.localGet(row).localSet(s);
        f.localGet(dst).localGet(w).i32Const(E).i32Mul().i32Add().localSet(d);
        f.localGet(d).localGet(panelBytes).i32Add().localSet(dEnd);
        const steps = f.loop();
        f.localGet(d).localGet(s);
        T.load(f, 0);
        T.store(f, 0);
        addTo(f, s, strideP);
        addTo(f, d, W * E);
        f.localGet(d).localGet(dEnd).i32Ne().brIf(steps);
        f.end();
        addTo(f, row, strideW);
        addTo(f, w, 1);
        f.localGet(w).localGet(rem).i32LtS().brIf(rows);
      }
      f.end();
      addTo(f, dst, panelBytes);
    }
    f.end();
    // Next panel: W rows further in the source.
    f.localGet(src).localGet(strideW).i32Const(W).i32Mul().i32Add().localSet(src);
    f.localGet(rem).i32Const(W).i32Sub().localTee(rem).i32Const(0).i32GtS().brIf(panels);
  }
  f.end();
  return f;
}

/**
 * gebp_<t>(mPanels, nPanels, kc, ap, aStep, aPanel, bp, bStep, bPanel, c, ldc, accumulate):
 * C[mPanels·MR × nPanels·NR] (byte pitch ldc) = (or +=, when accumulate ≠ 0) A block · B block.
 *
 * Element (r, p) of the i-th A panel (r < MR, p < kc) is read at ap + i·aPanel + p·aStep + r·E, and
 * element (p, v) of the j-th B panel at bp + j·bPanel + p·bStep + v·E: for packed blocks
 * aStep = MR·E, aPanel = kc·MR·E (likewise for B), but an operand already stored with MR (NR)
 * consecutive values per reduction step (op(A) = Aᵀ, or op(B) = B) can be passed in place, with
 * aStep its row pitch and aPanel = MR·E. kc ≥ 1, mPanels ≥ 1, nPanels ≥ 1.
 */
function emitGebp(t: KernelType, cfg: TileConfig): FunctionBuilder {
  const T = OPS[t];
  const E = T.bytes;
  const { mr: MR, nr: NR } = cfg;
  const NV = NR / T.lanes;
  if (!Number.isInteger(NV) || NV < 1) throw new Error(`gemm: nr=${NR} is not a multiple of ${T.lanes} lanes`);
  if (!Number.isInteger(MR) || MR < 1) throw new Error(`gemm: bad mr=${MR}`);

  const f = new FunctionBuilder(`gebp_${t}`, [
    ['mPanels', 'i32'], ['nPanels', 'i32'], ['kc', 'i32'],
    ['ap', 'i32'], ['aStep', 'i32'], ['aPanel', 'i32'],
    ['bp', 'i32'], ['bStep', 'i32'], ['bPanel', 'i32'],
    ['c', 'i32'], ['ldc', 'i32'], ['accumulate', 'i32'],
  ]);
  const P = (n: string): Local => f.param(n);
  const mPanels = P('mPanels'), nPanels = P('nPanels'), kc = P('kc'), ap = P('ap'), aStep = P('aStep');
  const aPanel = P('aPanel'), bp = P('bp'), bStep = P('bStep'), bPanel = P('bPanel'), c = P('c'), ldc = P('ldc');
  const accumulate = P('accumulate');
  const apEnd = f.local('i32', 'apEnd'); // ap + mPanels·aPanel
  const bpEnd = f.local('i32', 'bpEnd'); // bp + nPanels·bPanel
  const aSpan = f.local('i32', 'aSpan'); // kc·aStep
  const tileStep = f.local('i32', 'tileStep'); // MR·ldc
  const paPanel = f.local('i32', 'paPanel');
  const pbPanel = f.local('i32', 'pbPanel');
  const cCol = f.local('i32', 'cCol');
  const cTile = f.local('i32', 'cTile');
  const pa = f.local('i32', 'pa');
  const pb = f.local('i32', 'pb');
  const paEnd = f.local('i32', 'paEnd');
  const crow = f.local('i32', 'crow');
  const acc: Local[][] = [];
  for (let r = 0; r < MR; r++) {
    acc.push([]);
    for (let v = 0; v < NV; v++) acc[r]!.push(f.local('v128', `c${r}_${v}`));
  }
  const bv: Local[] = [];
  for (let v = 0; v < NV; v++) bv.push(f.local('v128', `b${v}`));
  const av = f.local('v128', 'a');

  f.localGet(kc).localGet(aStep).i32Mul().localSet(aSpan);
  f.localGet(ldc).i32Const(MR).i32Mul().localSet(tileStep);
  f.localGet(ap).localGet(mPanels).localGet(aPanel).i32Mul().i32Add().localSet(apEnd);
  f.localGet(bp).localGet(nPanels).localGet(bPanel).i32Mul().i32Add().localSet(bpEnd);

  f.localGet(bp).localSet(pbPanel);
  f.localGet(c).localSet(cCol);
  const jr = f.loop();
  {
    f.localGet(ap).localSet(paPanel);
    f.localGet(cCol).localSet(cTile);
    const ir = f.loop();
    {
      // Load or zero the accumulators.
      f.localGet(accumulate).if();
      f.localGet(cTile).localSet(crow);
      for (let r = 0; r < MR; r++) {
        for (let v = 0; v < NV; v++) f.localGet(crow).v128Load(v * 16).localSet(acc[r]![v]!);
        if (r + 1 < MR) addTo(f, crow, ldc);
      }
      f.else();
      for (let r = 0; r < MR; r++) for (let v = 0; v < NV; v++) f.v128Zero().localSet(acc[r]![v]!);
      f.end();

      // The micro-kernel: one reduction step per iteration (unrolling measured slower).
      f.localGet(paPanel).localTee(pa).localGet(aSpan).i32Add().localSet(paEnd);
      f.localGet(pbPanel).localSet(pb);
      const steps = f.loop();
      for (let v = 0; v < NV; v++) f.localGet(pb).v128Load(v * 16).localSet(bv[v]!);
      for (let r = 0; r < MR; r++) {
        f.localGet(pa);
        T.splat(f, r * E);
        f.localSet(av);
        for (let v = 0; v < NV; v++) {
          f.localGet(acc[r]![v]!).localGet(av).localGet(bv[v]!);
          T.mul(f);
          T.add(f);
          f.localSet(acc[r]![v]!);
        }
      }
      addTo(f, pa, aStep);
      addTo(f, pb, bStep);
      f.localGet(pa).localGet(paEnd).i32Ne().brIf(steps);
      f.end();

      // Store the tile.
      f.localGet(cTile).localSet(crow);
      for (let r = 0; r < MR; r++) {
        for (let v = 0; v < NV; v++) f.localGet(crow).localGet(acc[r]![v]!).v128Store(v * 16);
        if (r + 1 < MR) addTo(f, crow, ldc);
      }
      addTo(f, cTile, tileStep);
      addTo(f, paPanel, aPanel);
      f.localGet(paPanel).localGet(apEnd).i32Ne().brIf(ir);
    }
    f.end();
    addTo(f, pbPanel, bPanel);
    addTo(f, cCol, NR * E);
    f.localGet(pbPanel).localGet(bpEnd).i32Ne().brIf(jr);
  }
  f.end();
  return f;
}

/** compact(c, rows, dstPitch, srcPitch): moves row i from c + i·srcPitch to c + i·dstPitch (bytes), in place. */
function emitCompact(): FunctionBuilder {
  const f = new FunctionBuilder('compact', [['c', 'i32'], ['rows', 'i32'], ['dstPitch', 'i32'], ['srcPitch', 'i32']]);
  const c = f.param('c'), rows = f.param('rows'), dstPitch = f.param('dstPitch'), srcPitch = f.param('srcPitch');
  const i = f.local('i32', 'i');
  const d = f.local('i32', 'd');
  const s = f.local('i32', 's');
  f.i32Const(1).localSet(i);
  f.localGet(c).localGet(dstPitch).i32Add().localSet(d);
  f.localGet(c).localGet(srcPitch).i32Add().localSet(s);
  f.localGet(rows).i32Const(1).i32GtS().if();
  const top = f.loop();
  f.localGet(d).localGet(s).localGet(dstPitch).memoryCopy();
  addTo(f, d, dstPitch);
  addTo(f, s, srcPitch);
  addTo(f, i, 1);
  f.localGet(i).localGet(rows).i32LtS().brIf(top);
  f.end();
  f.end();
  return f;
}

/** Exports of an instantiated gemm module (byte addresses and strides throughout). */
export interface GemmExports {
  packA_f32(src: number, strideW: number, strideP: number, nValid: number, kc: number, dst: number): void;
  packB_f32(src: number, strideW: number, strideP: number, nValid: number, kc: number, dst: number): void;
  gebp_f32(mPanels: number, nPanels: number, kc: number, ap: number, aStep: number, aPanel: number, bp: number, bStep: number, bPanel: number, c: number, ldc: number, accumulate: number): void;
  packA_f64(src: number, strideW: number, strideP: number, nValid: number, kc: number, dst: number): void;
  packB_f64(src: number, strideW: number, strideP: number, nValid: number, kc: number, dst: number): void;
  gebp_f64(mPanels: number, nPanels: number, kc: number, ap: number, aStep: number, aPanel: number, bp: number, bStep: number, bPanel: number, c: number, ldc: number, accumulate: number): void;
  compact(c: number, rows: number, dstPitch: number, srcPitch: number): void;
}

/**
 * The module binary: imports `env.memory` and exports `packA_<t>` / `packB_<t>` (panel packing), `gebp_<t>`
 * (the macro-kernel) for t = f32 | f64, and `compact` (squeezes the tile-padded C to m×n), all on byte addresses.
 * With `sharedMaxPages` the memory import is shared (for worker threads), with that maximum.
 */
export function buildGemmModule(cfg: GemmModuleConfig = DEFAULT_GEMM_CONFIG, sharedMaxPages?: number): Uint8Array {
  const mod = new ModuleBuilder().importMemory(
    sharedMaxPages === undefined ? { module: 'env', field: 'memory', minPages: 1 } : { module: 'env', field: 'memory', minPages: 1, maxPages: sharedMaxPages, shared: true },
  );
  for (const t of ['f32', 'f64'] as const) {
    const tile = cfg[t];
    mod.add(emitPack(t, 'A', tile.mr));
    mod.add(emitPack(t, 'B', tile.nr));
    mod.add(emitGebp(t, tile));
  }
  mod.add(emitCompact());
  return mod.toBytes();
}

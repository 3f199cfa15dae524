/**
 * A small WebAssembly binary emitter: just enough of the format (sections, LEB128, structured control
 * flow, scalar, bulk-memory and 128-bit SIMD instructions) to write the hand-designed matmul kernels
 * in ./gemm.ts as readable TypeScript instead of an opaque blob.
 *
 * Every instruction method appends its encoding and returns `this`, so a kernel reads like the WAT
 * text it produces, one instruction per call:
 *
 *   f.localGet(pa).v128Load32Splat(4).localGet(b0).f32x4Mul()   ;; (f32x4.mul (v128.load32_splat offset=4 (pa)) (b0))
 *
 * Control flow uses label objects instead of raw relative depths: `const top = f.loop()` and later
 * `f.brIf(top)`; the emitter computes the depth. Reference: WebAssembly Core Specification 2.0,
 * chapter 5 (binary format), and the fixed-width SIMD proposal for the 0xFD opcodes.
 */

/** A WebAssembly value type. */
export type ValType = 'i32' | 'i64' | 'f32' | 'f64' | 'v128';

const VALTYPE: Record<ValType, number> = { i32: 0x7f, i64: 0x7e, f32: 0x7d, f64: 0x7c, v128: 0x7b };

/** Appends unsigned LEB128. */
function pushU32(out: number[], v: number): void {
  let x = v >>> 0;
  do {
    let byte = x & 0x7f;
    x >>>= 7;
    if (x !== 0) byte |= 0x80;
    out.push(byte);
  } while (x !== 0);
}

/** Appends signed LEB128 of a 32-bit integer. */
function pushS32(out: number[], v: number): void {
  let x = v | 0;
  for (;;) {
    const byte = x & 0x7f;
    x >>= 7;
    const done = (x === 0 && (byte & 0x40) === 0) || (x === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return;
  }
}

/** Appends a name: its UTF-8 length then bytes. */
function pushName(out: number[], s: string): void {
  const b = new TextEncoder().encode(s);
  pushU32(out, b.length);
  for (const x of b) out.push(x);
}

/** A local variable (or parameter) of a function under construction. */
export interface Local {
  /** Index in the function's local space (parameters first). */
  readonly index: number;
  /** Its type. */
  readonly type: ValType;
  /** Name, for the `name` custom section and debugging. */
  readonly name: string;
}

/** A branch target: the block, loop or if that pushed it. */
export interface Label {
  /** Control-stack height with this label on top. */
  readonly height: number;
}

/**
 * One function's body under construction. Parameters are declared at creation, locals with
 * {@link FunctionBuilder.local}; instructions are appended in order.
 */
export class FunctionBuilder {
  /** Parameters, in order. */
  readonly params: readonly Local[];
  private readonly locals: Local[] = [];
  private readonly code: number[] = [];
  private height = 0;

  /**
   * @param name  export name (and debug name)
   * @param params  parameter names and types
   * @param results  result types
   */
  constructor(
    readonly name: string,
    params: ReadonlyArray<readonly [string, ValType]>,
    readonly results: readonly ValType[] = [],
  ) {
    this.params = params.map(([n, t], index) => ({ index, type: t, name: n }));
  }

  /** Declares a new local of the given type. */
  local(type: ValType, name: string): Local {
    const l: Local = { index: this.params.length + this.locals.length, type, name };
    this.locals.push(l);
    return l;
  }

  /** The parameter called `name`. */
  param(name: string): Local {
    const p = this.params.find((q) => q.name === name);
    if (!p) throw new Error(`emitter: ${this.name} has no parameter ${name}`);
    return p;
  }

  /** Names of all parameters and locals in index order, for the name section. */
  localNames(): readonly string[] {
    return [...this.params, ...this.locals].map((l) => l.name);
  }

  /** The encoded body (locals then code then `end`). Fails when blocks are left open. */
  body(): number[] {
    if (this.height !== 0) throw new Error(`emitter: ${this.name} has ${this.height} unclosed block(s)`);
    const out: number[] = [];
    // Run-length encode the local declarations by type.
    const runs: Array<[number, ValType]> = [];
    for (const l of this.locals) {
      const last = runs[runs.length - 1];
      if (last && last[1] === l.type) last[0]++;
      else runs.push([1, l.type]);
    }
    pushU32(out, runs.length);
    for (const [count, t] of runs) {
      pushU32(out, count);
      out.push(VALTYPE[t]);
    }
    for (const b of this.code) out.push(b);
    out.push(0x0b);
    return out;
  }

  private op(...bytes: number[]): this {
    for (const b of bytes) this.code.push(b);
    return this;
  }

  private simd(opcode: number): this {
    this.code.push(0xfd);
    pushU32(this.code, opcode);
    return this;
  }

  private memarg(alignLog2: number, offset: number): this {
    if (offset < 0 || !Number.isInteger(offset)) throw new Error(`emitter: bad memory offset ${offset}`);
    pushU32(this.code, alignLog2);
    pushU32(this.code, offset);
    return this;
  }

  // ---- control flow ----

  /** `block` (empty block type); returns its label (a branch to it exits the block). */
  block(): Label {
    this.op(0x02, 0x40);
    return { height: ++this.height };
  }

  /** `loop` (empty block type); returns its label (a branch to it restarts the loop). */
  loop(): Label {
    this.op(0x03, 0x40);
    return { height: ++this.height };
  }

  /** `if` (empty block type) on the i32 on the stack; returns its label. */
  if(): Label {
    this.op(0x04, 0x40);
    return { height: ++this.height };
  }

  /** `else` of the innermost `if`. */
  else(): this {
    return this.op(0x05);
  }

  /** `end` of the innermost block, loop or if. */
  end(): this {
    if (this.height === 0) throw new Error(`emitter: ${this.name}: end without block`);
    this.height--;
    return this.op(0x0b);
  }

  private depth(l: Label): number {
    const d = this.height - l.height;
    if (d < 0) throw new Error(`emitter: ${this.name}: branch to a closed label`);
    return d;
  }

  /** `br` to a label. */
  br(l: Label): this {
    this.op(0x0c);
    pushU32(this.code, this.depth(l));
    return this;
  }

  /** `br_if` to a label. */
  brIf(l: Label): this {
    this.op(0x0d);
    pushU32(this.code, this.depth(l));
    return this;
  }

  /** `return`. */
  return(): this {
    return this.op(0x0f);
  }

  // ---- variables and constants ----

  /** `local.get`. */
  localGet(l: Local): this {
    this.op(0x20);
    pushU32(this.code, l.index);
    return this;
  }

  /** `local.set`. */
  localSet(l: Local): this {
    this.op(0x21);
    pushU32(this.code, l.index);
    return this;
  }

  /** `local.tee`. */
  localTee(l: Local): this {
    this.op(0x22);
    pushU32(this.code, l.index);
    return this;
  }

  /** `i32.const`. */
  i32Const(v: number): this {
    this.op(0x41);
    pushS32(this.code, v);
    return this;
  }

  /** `v128.const` with all bits zero. */
  v128Zero(): this {
    this.simd(0x0c);
    for (let i = 0; i < 16; i++) this.code.push(0);
    return this;
  }

  // ---- i32 arithmetic and comparisons ----

  /** `i32.add`. */ i32Add(): this { return this.op(0x6a); }
  /** `i32.sub`. */ i32Sub(): this { return this.op(0x6b); }
  /** `i32.mul`. */ i32Mul(): this { return this.op(0x6c); }
  /** `i32.and`. */ i32And(): this { return this.op(0x71); }
  /** `i32.shl`. */ i32Shl(): this { return this.op(0x74); }
  /** `i32.eqz`. */ i32Eqz(): this { return this.op(0x45); }
  /** `i32.eq`. */ i32Eq(): this { return this.op(0x46); }
  /** `i32.ne`. */ i32Ne(): this { return this.op(0x47); }
  /** `i32.lt_u`. */ i32LtU(): this { return this.op(0x49); }
  /** `i32.lt_s`. */ i32LtS(): this { return this.op(0x48); }
  /** `i32.gt_s`. */ i32GtS(): this { return this.op(0x4a); }
  /** `i32.ge_u`. */ i32GeU(): this { return this.op(0x4f); }
  /** `i32.ge_s`. */ i32GeS(): this { return this.op(0x4e); }

  // ---- scalar memory ----

  /** `f32.load offset`. */ f32Load(offset = 0): this { return this.op(0x2a).memarg(2, offset); }
  /** `f64.load offset`. */ f64Load(offset = 0): this { return this.op(0x2b).memarg(3, offset); }
  /** `f32.store offset`. */ f32Store(offset = 0): this { return this.op(0x38).memarg(2, offset); }
  /** `f64.store offset`. */ f64Store(offset = 0): this { return this.op(0x39).memarg(3, offset); }

  /** `memory.copy` (dst, src, len on the stack). */
  memoryCopy(): this {
    this.op(0xfc);
    pushU32(this.code, 10);
    return this.op(0x00, 0x00);
  }

  /** `memory.fill` (dst, byte value, len on the stack). */
  memoryFill(): this {
    this.op(0xfc);
    pushU32(this.code, 11);
    return this.op(0x00);
  }

  // ---- SIMD (0xFD prefix) ----

  /** `v128.load offset`. */ v128Load(offset = 0): this { return this.simd(0x00).memarg(4, offset); }
  /** `v128.load32_splat offset`: one f32 broadcast to all four lanes. */
  v128Load32Splat(offset = 0): this { return this.simd(0x09).memarg(2, offset); }
  /** `v128.load64_splat offset`: one f64 broadcast to both lanes. */
  v128Load64Splat(offset = 0): this { return this.simd(0x0a).memarg(3, offset); }
  /** `v128.store offset`. */ v128Store(offset = 0): this { return this.simd(0x0b).memarg(4, offset); }
  /**
   * `i8x16.shuffle lanes`: byte i of the result is byte lanes[i] of the concatenation (first, second)
   * of the two operands (0–15 first, 16–31 second).
   */
  i8x16Shuffle(lanes: readonly number[]): this {
    if (lanes.length !== 16 || lanes.some((x) => !Number.isInteger(x) || x < 0 || x > 31)) {
      throw new Error(`emitter: bad shuffle lanes ${lanes.join(',')}`);
    }
    this.simd(0x0d);
    for (const x of lanes) this.code.push(x);
    return this;
  }
  /** `v128.load64_zero offset`: 8 bytes into the low half, the high half zeroed. */
  v128Load64Zero(offset = 0): this { return this.simd(0x5d).memarg(3, offset); }
  /** `v128.store64_lane offset lane`: stores the 8-byte lane `lane` (0 or 1). */
  v128Store64Lane(offset: number, lane: 0 | 1): this {
    this.simd(0x5b).memarg(3, offset);
    this.code.push(lane);
    return this;
  }
  /** `v128.const` of two float64 lanes (`b` defaults to `a`: a splat constant). */
  f64x2Const(a: number, b = a): this {
    this.simd(0x0c);
    const bytes = new Uint8Array(new Float64Array([a, b]).buffer);
    for (const x of bytes) this.code.push(x);
    return this;
  }
  /** `v128.const` of two int64 lanes (`b` defaults to `a`). */
  i64x2Const(a: bigint, b = a): this {
    this.simd(0x0c);
    const bytes = new Uint8Array(new BigInt64Array([a, b]).buffer);
    for (const x of bytes) this.code.push(x);
    return this;
  }
  /** `f32x4.add`. */ f32x4Add(): this { return this.simd(0xe4); }
  /** `f32x4.mul`. */ f32x4Mul(): this { return this.simd(0xe6); }
  /** `f64x2.add`. */ f64x2Add(): this { return this.simd(0xf0); }
  /** `f64x2.sub`. */ f64x2Sub(): this { return this.simd(0xf1); }
  /** `f64x2.mul`. */ f64x2Mul(): this { return this.simd(0xf2); }
  /** `f64x2.div`. */ f64x2Div(): this { return this.simd(0xf3); }
  /** `f64x2.min` (NaN if either lane is NaN). */ f64x2Min(): this { return this.simd(0xf4); }
  /** `f64x2.max` (NaN if either lane is NaN). */ f64x2Max(): this { return this.simd(0xf5); }
  /** `f64x2.abs`. */ f64x2Abs(): this { return this.simd(0xec); }
  /** `f64x2.neg`. */ f64x2Neg(): this { return this.simd(0xed); }
  /** `f64x2.floor`. */ f64x2Floor(): this { return this.simd(0x75); }
  /** `f64x2.nearest`: round to the nearest integer, ties to even. */ f64x2Nearest(): this { return this.simd(0x94); }
  /** `f64x2.promote_low_f32x4`: the two low float32 lanes widened. */ f64x2PromoteLowF32x4(): this { return this.simd(0x5f); }
  /** `f32x4.demote_f64x2_zero`: both lanes narrowed into the two low float32 lanes, the high two zero. */ f32x4DemoteF64x2Zero(): this { return this.simd(0x5e); }
  /** `i32x4.trunc_sat_f64x2_s_zero`: both lanes to int32 (saturating) in the two low lanes. */ i32x4TruncSatF64x2SZero(): this { return this.simd(0xfc); }
  /** `i64x2.extend_low_i32x4_s`: the two low int32 lanes sign-extended. */ i64x2ExtendLowI32x4S(): this { return this.simd(0xc7); }
  /** `i64x2.add`. */ i64x2Add(): this { return this.simd(0xce); }
  /** `i64x2.sub`. */ i64x2Sub(): this { return this.simd(0xd1); }
  /** `i64x2.shl` (shift count an i32 on the stack). */ i64x2Shl(): this { return this.simd(0xcb); }
  /** `i64x2.shr_s` (shift count an i32 on the stack). */ i64x2ShrS(): this { return this.simd(0xcc); }
  /** `v128.and`. */ v128And(): this { return this.simd(0x4e); }
  /** `v128.andnot`: first & ~second. */ v128AndNot(): this { return this.simd(0x4f); }
  /** `v128.or`. */ v128Or(): this { return this.simd(0x50); }
}

/** A function to put in a module, optionally exported under its name. */
interface ModuleFunction {
  fn: FunctionBuilder;
  exported: boolean;
}

/** Limits of an imported linear memory, in 64 KiB pages. */
export interface MemoryImport {
  /** Import module name. */
  module: string;
  /** Import field name. */
  field: string;
  /** Minimum size in pages. */
  minPages: number;
  /** Maximum size in pages, if any. */
  maxPages?: number;
  /** Shared memory (requires maxPages). */
  shared?: boolean;
}

/**
 * A module: one imported memory and a list of functions (each exported under its name when asked).
 * Function types are deduplicated; a `name` custom section names functions and locals, so profiles
 * and V8 stack traces show `gebp_f32` rather than `wasm-function[3]`.
 */
export class ModuleBuilder {
  private memory: MemoryImport | null = null;
  private readonly functions: ModuleFunction[] = [];

  /** Imports the module's linear memory. */
  importMemory(m: MemoryImport): this {
    this.memory = m;
    return this;
  }

  /** Adds a function; exported under its name unless `exported` is false. */
  add(fn: FunctionBuilder, exported = true): this {
    this.functions.push({ fn, exported });
    return this;
  }

  /** The complete binary. */
  toBytes(): Uint8Array {
    const out: number[] = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
    const section = (id: number, content: number[]): void => {
      out.push(id);
      pushU32(out, content.length);
      for (const b of content) out.push(b);
    };

    // Type section: deduplicated signatures.
    const sigKeys: string[] = [];
    const sigs: number[][] = [];
    const typeOf = this.functions.map(({ fn }) => {
      const s: number[] = [0x60];
      pushU32(s, fn.params.length);
      for (const p of fn.params) s.push(VALTYPE[p.type]);
      pushU32(s, fn.results.length);
      for (const r of fn.results) s.push(VALTYPE[r]);
      const key = s.join(',');
      let i = sigKeys.indexOf(key);
      if (i < 0) {
        i = sigKeys.length;
        sigKeys.push(key);
        sigs.push(s);
      }
      return i;
    });
    const types: number[] = [];
    pushU32(types, sigs.length);
    for (const s of sigs) types.push(...s);
    section(1, types);

    // Import section: the memory.
    if (this.memory) {
      const m = this.memory;
      const imp: number[] = [];
      pushU32(imp, 1);
      pushName(imp, m.module);
      pushName(imp, m.field);
      imp.push(0x02);
      if (m.shared && m.maxPages === undefined) throw new Error('emitter: a shared memory needs maxPages');
      imp.push(m.maxPages === undefined ? 0x00 : m.shared ? 0x03 : 0x01);
      pushU32(imp, m.minPages);
      if (m.maxPages !== undefined) pushU32(imp, m.maxPages);
      section(2, imp);
    }

    // Function section: type index of each function.
    const funcs: number[] = [];
    pushU32(funcs, typeOf.length);
    for (const t of typeOf) pushU32(funcs, t);
    section(3, funcs);

    // Export section.
    const exps: number[] = [];
    const exported = this.functions.map((f, i) => [f, i] as const).filter(([f]) => f.exported);
    pushU32(exps, exported.length);
    for (const [f, i] of exported) {
      pushName(exps, f.fn.name);
      exps.push(0x00);
      pushU32(exps, i);
    }
    section(7, exps);

    // Code section.
    const code: number[] = [];
    pushU32(code, this.functions.length);
    for (const { fn } of this.functions) {
      const body = fn.body();
      pushU32(code, body.length);
      for (const b of body) code.push(b);
    }
    section(10, code);

    // Custom "name" section: function names (subsection 1) and local names (subsection 2).
    const names: number[] = [];
    pushName(names, 'name');
    const fnNames: number[] = [];
    pushU32(fnNames, this.functions.length);
    this.functions.forEach(({ fn }, i) => {
      pushU32(fnNames, i);
      pushName(fnNames, fn.name);
    });
    names.push(1);
    pushU32(names, fnNames.length);
    names.push(...fnNames);
    const localNames: number[] = [];
    pushU32(localNames, this.functions.length);
    this.functions.forEach(({ fn }, i) => {
      pushU32(localNames, i);
      const ln = fn.localNames();
      pushU32(localNames, ln.length);
      ln.forEach((n, j) => {
        pushU32(localNames, j);
        pushName(localNames, n);
      });
    });
    names.push(2);
    pushU32(names, localNames.length);
    names.push(...localNames);
    section(0, names);

    return Uint8Array.from(out);
  }
}

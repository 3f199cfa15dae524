/**
 * `jit(f)`: f traced once per input signature into a list of primitives, then replayed.
 *
 * The first call with a given signature (the pytree structure, shapes and dtypes of the arguments) runs
 * f eagerly while every primitive the engine applies is recorded (trace.ts), including those of any
 * transform inside f: `jit(grad(f))` records the forward and the backward pass, to any order. Later calls
 * with that signature replay the record: no JavaScript of f, no tape, no VJP rules, no shape checks, only
 * the kernels. Primitives of constants only (values f closes over, and what is made from them alone)
 * are not recorded: the traced call's results are constants of the program (`fold`), so
 * `jit(v => hvp(f, θ, v))` replays only the work that depends on v. Chains of elementwise primitives are
 * fused into one generated loop each (below), so their intermediates never go to memory.
 *
 * Replayed results are the eager results bit for bit: every kernel is the eager one, and a fused loop
 * evaluates each primitive's own expression (cpu.ts's tables) in the same order, rounding to float32
 * after each primitive in float32 as the eager ops do.
 *
 * As in JAX, f must be a function of its arguments through the engine's ops: values it closes over are
 * constants of the trace (a tensor created inside f, randn included, is baked in), and Python-style
 * control flow on values (`if (x.item() > 0)`) is fixed by the traced call. Its outputs are constants:
 * take derivatives inside (`jit(grad(f))`), not of a jitted function (`gradients` of one throws, saying so). Called on vmap tracers, inside a
 * jvp, or while another function is being traced, a jitted function runs f as it is.
 */
import { treeLeaves, treeUnflatten, type Params } from './autodiff.js';
import { BatchTracer } from './batching.js';
import { isCheckFinite, tangentScopes } from './graph.js';
import { unaryInto } from './kernels/backend.js';
import { BINARY_EXPR, type BinaryOp, type Data, type DType, UNARY_EXPR, alloc, firstNonFinite, offerBuffer } from './kernels/cpu.js';
import { rules, type Primitive, type Rule } from './primitives.js';
import { fmtShape, shapeEq, sizeOf } from './shape.js';
import { dtypeOf as dtypeOfData } from './kernels/cpu.js';
import { Tensor } from './tensor.js';
import { isTracing, jitOutputs, withRecorder } from './trace.js';

/** Options of {@link jit}. */
export interface JitOptions {
  /** Fuse chains of elementwise primitives into single loops. Default true. */
  fuse?: boolean;
  /**
   * Fold constants: a primitive whose inputs are all constants (values f closes over, or made from them
   * only) is computed once, by the traced call, and its result kept as a constant of the program instead
   * of being recomputed on every replay. `jit(v => hvp(f, θ, v))` with θ closed over then replays only
   * the work that depends on v. Default true.
   */
  fold?: boolean;
  /**
   * How many signatures' programs to keep (each holds its planned buffers); the least recently used is
   * dropped beyond it, and traced again if it comes back. Default 8.
   */
  cacheSize?: number;
}

/** How a fused loop reads one of its inputs, for an output of `rows` × `inner` elements (inner = last axis). */
type Read = 'full' | 'scalar' | 'row' | 'col';

/** One primitive of the program: `out` = prim(ins; params). */
interface OpStep {
  kind: 'op';
  prim: Primitive;
  params: unknown;
  ins: number[];
  out: number;
  /** The planned buffer offered to the primitive's output allocation, or -1 (see planBuffers). */
  buffer?: number;
}

/** A fused chain: one generated loop from its inputs to its output. */
interface FusedStep {
  kind: 'fused';
  run: (out: Data, rows: number, inner: number, red: Data | null, ...ins: Data[]) => void;
  ins: number[];
  out: number;
  shape: number[];
  dtype: DType;
  rows: number;
  inner: number;
  /** The primitives fused, in order (for describe()). */
  prims: Primitive[];
  /** exp or tanh of the loop's result, in place, when the chain ends with one (they run on their own kernels). */
  epilogue: 'exp' | 'tanh' | null;
  /** The planned buffer the output is written to on every replay, or -1 for a fresh one (see planBuffers). */
  buffer: number;
  /**
   * A sum of the chain's result computed in the same loop: over every axis but the last ('cols', one sum
   * per column) or over the last ('rows'), into slot `out`, in the order eager `sum` adds them.
   */
  reduce: { kind: 'cols' | 'rows'; out: number; shape: number[] } | null;
}

type Step = OpStep | FusedStep;

/** A traced program: slots 0…nArgs−1 are the argument leaves, then the constants, then each step's output. */
interface Program {
  nArgs: number;
  consts: Tensor[];
  steps: Step[];
  outs: number[];
  /** The output pytree, with its leaves as placeholders. */
  outTree: Params;
  nSlots: number;
  /** Each slot's shape and dtype. */
  shapes: (readonly number[])[];
  dtypes: DType[];
  /** Planned buffers of fused outputs: dtype and size each, allocated at the first replay, then reused. */
  buffers: { dtype: DType; size: number; data: Data | null }[];
}

/** A jitted function: f's own signature, and `describe()`, which lists its traces (for inspection and tests). */
export type Jitted<F> = F & {
  /** One line per signature traced so far: its steps, fused loops and the primitives in them, constants and planned buffers. */
  describe(): string[];
};

const UNARY_FUSABLE = new Set<string>(Object.keys(UNARY_EXPR));
const BINARY_FUSABLE = new Set<string>(Object.keys(BINARY_EXPR));
/** The primitives a fused loop evaluates. */
const ELEMENTWISE = new Set<string>([...UNARY_FUSABLE, ...BINARY_FUSABLE, 'where']);
/** Elementwise primitives on their own kernels, which can end a chain (applied in place to its result). */
const EPILOGUE = new Set<string>(['exp', 'tanh']);
/** Outputs smaller than this many elements get fresh storage (planning them saves nothing measurable). */
const MIN_PLANNED = 1024;
/** Primitives whose result may share its input's storage. */
const VIEWS = new Set<string>(['reshape', 'custom']);

/** Stands for each output leaf in a program's output tree. */
const PLACEHOLDER = new Tensor(new Float64Array(0), [0]);

/** The trace of one call of f on `args`. */
function trace(f: (...a: unknown[]) => Params, args: unknown[], leaves: Tensor[], fold: boolean): { program: Program; result: Params } {
  const slot = new Map<Tensor, number>();
  // the values that depend on the arguments; with `fold`, a primitive of other values only is not
  // recorded: its output, computed by this call, becomes a constant when a recorded step reads it
  const dynamic = new Set<Tensor>(leaves);
  leaves.forEach((t, i) => {
    if (!slot.has(t)) slot.set(t, i);
  });
  const consts: Tensor[] = [];
  const steps: OpStep[] = [];
  let next = leaves.length;
  const slotOf = (t: Tensor): number => {
    let s = slot.get(t);
    if (s === undefined) {
      // made outside the trace, or inside it without an op (a creation function): a constant
      consts.push(t);
      s = -consts.length; // renumbered below, after the arguments
      slot.set(t, s);
    }
    return s;
  };
  const result = withRecorder(
    {
      op(prim, inputs, params, out) {
        if (fold && !inputs.some((t) => dynamic.has(t))) return;
        dynamic.add(out);
        const ins = inputs.map(slotOf);
        const s = next++;
        slot.set(out, s);
        steps.push({ kind: 'op', prim, params, ins, out: s });
      },
      alias(from, to) {
        if (fold && !dynamic.has(from)) return;
        dynamic.add(to);
        slot.set(to, slotOf(from));
      },
    },
    () => f(...args),
  );
  const outLeaves = treeLeaves(result);
  const outs = outLeaves.map(slotOf);
  // constants take slots nArgs … nArgs + nConsts − 1; op outputs move up past them
  const nArgs = leaves.length, nConsts = consts.length;
  const remap = (s: number): number => (s < 0 ? nArgs - s - 1 : s >= nArgs ? s + nConsts : s);
  for (const st of steps) {
    st.ins = st.ins.map(remap);
    st.out = remap(st.out);
  }
  const nSlots = next + nConsts;
  const shapes = new Array<readonly number[]>(nSlots), dtypes = new Array<DType>(nSlots);
  for (const [t, s] of slot) {
    shapes[remap(s)] = t.shape;
    dtypes[remap(s)] = t.dtype;
  }
  // the output's structure, without holding on to the traced call's values
  const outTree = treeUnflatten(result, outLeaves.map(() => PLACEHOLDER));
  return {
    program: { nArgs, consts, steps, outs: outs.map(remap), outTree, nSlots, shapes, dtypes, buffers: [] },
    result,
  };
}

/** How an input of shape `x` is read by a loop over `shape` (rows × last axis), or null when no simple pattern fits. */
function readOf(x: readonly number[], shape: readonly number[]): Read | null {
  if (shapeEq(x, shape)) return 'full';
  const n = sizeOf(x);
  if (n === 1) return 'scalar';
  if (shape.length < 2) return null;
  const inner = shape[shape.length - 1]!;
  // [..., 1, inner]: the same row for every row
  if (n === inner && x[x.length - 1] === inner && x.length <= shape.length) return 'row';
  // shape with its last axis 1: one value per row
  if (x.length === shape.length && x[x.length - 1] === 1 && x.slice(0, -1).every((d, i) => d === shape[i])) return 'col';
  return null;
}

/** The expression of one elementwise primitive on the named operands. */
function exprOf(prim: Primitive, operands: string[]): string {
  const sub = (e: string, names: Record<string, string>): string => e.replace(/\b[xy]\b/g, (v) => names[v]!);
  if (UNARY_FUSABLE.has(prim)) return sub(UNARY_EXPR[prim as keyof typeof UNARY_EXPR], { x: operands[0]! });
  if (BINARY_FUSABLE.has(prim)) return sub(BINARY_EXPR[prim as BinaryOp], { x: operands[0]!, y: operands[1]! });
  if (prim === 'where') return `(${operands[0]} !== 0 ? ${operands[1]} : ${operands[2]})`;
  throw new Error(`jit: internal error: ${prim} is not elementwise`);
}

/**
 * Fuses chains of elementwise primitives: a step whose output is read once, by an elementwise step of
 * the same output shape, is computed inside that step's loop. Each chain becomes one loop over rows ×
 * last axis whose inputs are read whole, as a scalar, as a row broadcast over rows, or as one value per
 * row; the rest of the program is left as it is.
 */
function fuse(p: Program): void {
  forwardBroadcasts(p);
  const steps = p.steps as OpStep[];
  const uses = useCounts(p);
  const producer = new Array<number>(p.nSlots).fill(-1);
  steps.forEach((st, k) => (producer[st.out] = k));
  const fusable = steps.map((st) => {
    if (!(ELEMENTWISE.has(st.prim) || EPILOGUE.has(st.prim))) return false;
    const shape = p.shapes[st.out]!;
    if (shape.length === 0 || sizeOf(shape) === 0) return false;
    return st.ins.every((i) => readOf(p.shapes[i]!, shape) !== null);
  });
  // chains by step index of their last primitive; a chain absorbed into a later one is deleted. exp and
  // tanh end a chain (they run in place on its result) and are never inside one.
  const chains = new Map<number, number[]>();
  steps.forEach((st, k) => {
    if (!fusable[k]) return;
    let members: number[] = [];
    for (const i of st.ins) {
      const q = producer[i]!;
      if (q >= 0 && fusable[q] && !EPILOGUE.has(steps[q]!.prim) && uses[i] === 1 && chains.has(q) && shapeEq(p.shapes[i]!, p.shapes[st.out]!) && p.dtypes[i] === p.dtypes[st.out]) {
        members = members.concat(chains.get(q)!);
        chains.delete(q);
      }
    }
    members.push(k);
    members.sort((a, b) => a - b);
    chains.set(k, members);
  });
  // a sum over all axes but the last, or over the last, of a chain's result joins the chain's loop
  const sums = new Map<number, { k: number; kind: 'cols' | 'rows' }>();
  steps.forEach((st, k) => {
    if (st.prim !== 'sum') return;
    const q = producer[st.ins[0]!]!;
    if (q < 0 || !chains.has(q) || EPILOGUE.has(steps[q]!.prim) || sums.has(q) || p.dtypes[st.out] !== p.dtypes[st.ins[0]!]) return;
    const rank = p.shapes[st.ins[0]!]!.length, axes = (st.params as { axes: number[] }).axes;
    const kind = rank >= 2 && axes.length === rank - 1 && axes.every((a, i) => a === i) ? 'cols' : axes.length === 1 && axes[0] === rank - 1 ? 'rows' : null;
    if (kind) sums.set(q, { k, kind });
  });
  const replaced = new Map<number, FusedStep>();
  const dropped = new Set<number>();
  for (const [root, members] of chains) {
    const sum = sums.get(root) ?? null;
    if (members.length < 2 && !sum) continue;
    if (sum) dropped.add(sum.k);
    const last = steps[root]!;
    const epilogue = EPILOGUE.has(last.prim) ? (last.prim as 'exp' | 'tanh') : null;
    const body = (epilogue ? members.slice(0, -1) : members).map((k) => steps[k]!);
    const inside = new Set(body.map((st) => st.out));
    const inputs: number[] = [];
    for (const st of body) for (const i of st.ins) if (!inside.has(i) && !inputs.includes(i)) inputs.push(i);
    const out = last.out;
    const shape = [...p.shapes[out]!];
    const inner = shape[shape.length - 1]!;
    const reads = inputs.map((i) => readOf(p.shapes[i]!, shape)!);
    replaced.set(root, {
      kind: 'fused', run: compileChain(body, inputs, reads, p.dtypes[out]!, sum?.kind ?? null), ins: inputs, out, shape, dtype: p.dtypes[out]!,
      rows: sizeOf(shape) / inner, inner, prims: [...members.map((k) => steps[k]!.prim), ...(sum ? ['sum' as const] : [])], epilogue, buffer: -1,
      reduce: sum ? { kind: sum.kind, out: steps[sum.k]!.out, shape: [...p.shapes[steps[sum.k]!.out]!] } : null,
    });
    for (const k of members) if (k !== root) dropped.add(k);
  }
  p.steps = steps.flatMap((st, k) => (dropped.has(k) ? [] : [replaced.get(k) ?? st]));
  planBuffers(p);
}

/** How many times each slot is read (an output of the program counts twice: it is never fused away or reused). */
function useCounts(p: Program): number[] {
  const uses = new Array<number>(p.nSlots).fill(0);
  for (const st of p.steps) for (const i of st.ins) uses[i]!++;
  for (const o of p.outs) uses[o]! += 2;
  return uses;
}

/**
 * broadcastTo(x, S) read only by elementwise steps of output shape S that have another input of shape
 * S: those steps read x itself (the op broadcasts it, and a fused loop reads it as a row, a column or a
 * scalar), and the broadcast copy is not made.
 */
function forwardBroadcasts(p: Program): void {
  const steps = p.steps as OpStep[];
  const readers = new Map<number, OpStep[]>();
  for (const st of steps) for (const i of st.ins) readers.set(i, [...(readers.get(i) ?? []), st]);
  const outs = new Set(p.outs);
  const dropped = new Set<OpStep>();
  for (const b of steps) {
    if (b.prim !== 'broadcastTo' || outs.has(b.out)) continue;
    const src = b.ins[0]!, S = p.shapes[b.out]!;
    const rs = readers.get(b.out) ?? [];
    const ok = rs.length > 0 && readOf(p.shapes[src]!, S) !== null && rs.every((st) =>
      ELEMENTWISE.has(st.prim) && shapeEq(p.shapes[st.out]!, S) && st.ins.some((i) => i !== b.out && shapeEq(p.shapes[i]!, S)));
    if (!ok) continue;
    for (const st of rs) {
      st.ins = st.ins.map((i) => (i === b.out ? src : i));
      readers.set(src, [...(readers.get(src) ?? []), st]);
    }
    dropped.add(b);
  }
  p.steps = steps.filter((st) => !dropped.has(st));
}

/**
 * Buffers for the values that stay inside the program (not outputs, not read by a primitive whose result
 * shares its input's storage, at least MIN_PLANNED elements): allocated once, reused on every replay, and
 * shared between values whose lifetimes do not overlap (a buffer is free after its value's last read).
 * A fused loop writes into its buffer; a primitive is offered its buffer for its output allocation
 * (`offerBuffer`), so its own forward function writes there. Fresh storage on every replay would cost
 * the page faults of first writes (measured ~1.7 µs per 4 KiB page here), more than some kernels.
 */
function planBuffers(p: Program): void {
  const lastUse = new Array<number>(p.nSlots).fill(-1);
  const viewed = new Set<number>();
  p.steps.forEach((st, k) => {
    for (const i of st.ins) {
      lastUse[i] = k;
      if (st.kind === 'op' && VIEWS.has(st.prim)) viewed.add(i);
    }
  });
  const outs = new Set(p.outs);
  const free = new Map<string, number[]>();
  const held: { slot: number; buffer: number; key: string }[] = [];
  p.steps.forEach((st, k) => {
    for (let h = held.length - 1; h >= 0; h--)
      if (lastUse[held[h]!.slot]! < k) {
        const { buffer, key } = held[h]!;
        free.set(key, [...(free.get(key) ?? []), buffer]);
        held.splice(h, 1);
      }
    if ((st.kind === 'op' && VIEWS.has(st.prim)) || outs.has(st.out) || viewed.has(st.out) || lastUse[st.out]! < 0) return;
    const dtype = p.dtypes[st.out]!, size = sizeOf(p.shapes[st.out]!), key = `${dtype}:${size}`;
    if (size < MIN_PLANNED) return;
    const pool = free.get(key);
    const buffer = pool?.length ? pool.pop()! : p.buffers.push({ dtype, size, data: null }) - 1;
    st.buffer = buffer;
    held.push({ slot: st.out, buffer, key });
  });
}

/** Generates the loop of a fused chain. */
function compileChain(
  chain: { prim: Primitive; ins: number[]; out: number }[], inputs: number[], reads: Read[], dtype: DType, reduce: 'cols' | 'rows' | null,
): FusedStep['run'] {
  const name = new Map<number, string>();
  inputs.forEach((s, j) => name.set(s, `x${j}`));
  const hoisted: string[] = [], perRow: string[] = [], perElem: string[] = [];
  inputs.forEach((_, j) => {
    const r = reads[j]!;
    if (r === 'scalar') hoisted.push(`const x${j} = in${j}[0];`);
    else if (r === 'col') perRow.push(`const x${j} = in${j}[r];`);
    else if (r === 'row') perElem.push(`const x${j} = in${j}[t];`);
    else perElem.push(`const x${j} = in${j}[o + t];`);
  });
  const f32 = dtype === 'float32';
  chain.forEach((st, k) => {
    const e = exprOf(st.prim, st.ins.map((s) => name.get(s)!));
    perElem.push(`const v${k} = ${f32 ? `Math.fround(${e})` : e};`);
    name.set(st.out, `v${k}`);
  });
  const params = inputs.map((_, j) => `in${j}`);
  // a chain of no primitive (a sum of an exp/tanh-free single step is still one) reads its value from x0
  const last = chain.length ? `v${chain.length - 1}` : 'x0';
  // the sums add in eager reduce's order: column t over rows 0, 1, …; row r over columns 0, 1, …
  const init = reduce === 'cols' ? 'for (let t = 0; t < inner; t++) red[t] = 0;' : reduce === 'rows' ? 'for (let r = 0; r < rows; r++) red[r] = 0;' : '';
  const acc = reduce === 'cols' ? `red[t] += ${last};` : reduce === 'rows' ? `red[r] += ${last};` : '';
  const body = `
    ${hoisted.join('\n    ')}
    ${init}
    for (let r = 0, o = 0; r < rows; r++, o += inner) {
      ${perRow.join('\n      ')}
      for (let t = 0; t < inner; t++) {
        ${perElem.join('\n        ')}
        out[o + t] = ${last};
        ${acc}
      }
    }`;
  return new Function('out', 'rows', 'inner', 'red', ...params, body) as FusedStep['run'];
}


/** Runs a program on new argument leaves; returns the output leaves. */
function replay(p: Program, leaves: readonly Tensor[]): Tensor[] {
  const vals = new Array<Tensor>(p.nSlots);
  for (let i = 0; i < p.nArgs; i++) vals[i] = leaves[i]!;
  for (let i = 0; i < p.consts.length; i++) vals[p.nArgs + i] = p.consts[i]!;
  const check = isCheckFinite();
  for (const st of p.steps) {
    let data: Data, shape: readonly number[];
    if (st.kind === 'op') {
      const b = st.buffer !== undefined && st.buffer >= 0 ? p.buffers[st.buffer]! : null;
      if (b?.data) offerBuffer(b.data);
      try {
        [data, shape] = (rules[st.prim] as Rule<Primitive>).forward(st.ins.map((i) => vals[i]!), st.params as never);
      } finally {
        offerBuffer(null);
      }
      // the first replay keeps what the primitive allocated (when it is its own, of the planned size)
      if (b && !b.data && data.length === b.size && dtypeOfData(data) === b.dtype && !st.ins.some((i) => vals[i]!.data === data)) b.data = data;
    } else {
      if (st.buffer < 0) data = alloc(st.dtype, st.rows * st.inner, 'jit', st.shape);
      else {
        const b = p.buffers[st.buffer]!;
        data = b.data ??= alloc(b.dtype, b.size, 'jit', st.shape);
      }
      const red = st.reduce ? alloc(st.dtype, sizeOf(st.reduce.shape), 'jit', st.reduce.shape) : null;
      st.run(data, st.rows, st.inner, red, ...st.ins.map((i) => vals[i]!.data));
      if (st.epilogue) unaryInto(st.epilogue, data, data);
      if (st.reduce) vals[st.reduce.out] = new Tensor(red!, st.reduce.shape);
      shape = st.shape;
    }
    if (check) {
      const i = firstNonFinite(data);
      if (i >= 0) throw new Error(`checkFinite: ${st.kind === 'op' ? st.prim : 'a fused chain'} produced ${data[i]} at flat index ${i} of its output ${fmtShape(shape)} (jit replay)`);
      const red = st.kind === 'fused' && st.reduce ? vals[st.reduce.out]!.data : null;
      const j = red ? firstNonFinite(red) : -1;
      if (j >= 0) throw new Error(`checkFinite: sum produced ${red![j]} at flat index ${j} of its output (jit replay)`);
    }
    vals[st.out] = new Tensor(data, shape);
  }
  // an argument or constant returned as it is comes back as a new tensor on the same storage, as from the traced call
  const stepped = p.nArgs + p.consts.length;
  return p.outs.map((i) => (i < stepped ? vals[i]!.detach() : vals[i]!));
}

/**
 * The tensors of jit's arguments in order, and the rest of them as JSON: arrays and plain objects are
 * walked, numbers, strings, booleans, null and undefined are static (part of the signature: a new value
 * traces again), anything else is refused with its path.
 */
function argLeaves(args: readonly unknown[]): { leaves: Tensor[]; statics: string } {
  const leaves: Tensor[] = [];
  const rec = (x: unknown, path: string): unknown => {
    if (x instanceof Tensor) {
      leaves.push(x);
      return 0;
    }
    if (x === null || x === undefined || typeof x === 'number' || typeof x === 'string' || typeof x === 'boolean') return x === undefined ? '#u' : x;
    if (Array.isArray(x)) return x.map((c, i) => rec(c, `${path}[${i}]`));
    const proto = Object.getPrototypeOf(x) as unknown;
    if (typeof x === 'object' && (proto === Object.prototype || proto === null)) {
      const o: Record<string, unknown> = {};
      for (const k of Object.keys(x)) o[k] = rec((x as Record<string, unknown>)[k], `${path}.${k}`);
      return o;
    }
    const what = typeof x === 'object' ? (x as object).constructor?.name ?? 'object' : typeof x;
    throw new Error(`jit: argument${path} is a ${what}; arguments are tensors, arrays and plain objects of them, and static numbers, strings, booleans or null`);
  };
  const structure = args.map((a, i) => rec(a, ` ${i}`));
  return { leaves, statics: JSON.stringify(structure) };
}

/** Marks tensors as a jitted function's outputs (see `jitOutputs`); returns them. */
function marked(ts: Tensor[]): Tensor[] {
  for (const t of ts) jitOutputs.add(t);
  return ts;
}

/** The cache key of a call: each tensor's dtype and shape, the static rest, and which tensors are the same object. */
function signature(leaves: readonly Tensor[], statics: string): string {
  const first = new Map<Tensor, number>();
  const same = leaves.map((t, i) => {
    const j = first.get(t);
    if (j === undefined) first.set(t, i);
    return j ?? i;
  });
  return `${leaves.map((t) => `${t.dtype}[${t.shape.join(',')}]`).join(' ')}|${statics}|${same.join(',')}`;
}

/**
 * f compiled: traced on the first call with each signature, replayed after (see the module comment).
 * Arguments are pytrees of tensors (arrays and plain objects) whose other leaves (numbers, strings,
 * booleans, null) are static: part of the signature, so a new value traces again. f returns a pytree of
 * tensors.
 * @typeParam F  f's type, kept by the jitted function (plus `describe`)
 */
export function jit<F extends (...args: never[]) => Params>(f: F, opts: JitOptions = {}): Jitted<F> {
  const g = f as unknown as (...a: unknown[]) => Params;
  const cache = new Map<string, Program>();
  const doFuse = opts.fuse ?? true;
  const doFold = opts.fold ?? true;
  const cacheSize = opts.cacheSize ?? 8;
  if (!Number.isInteger(cacheSize) || cacheSize < 1) throw new Error(`jit: cacheSize must be a positive integer, got ${String(opts.cacheSize)}`);
  const call = (...args: unknown[]): Params => {
    const { leaves, statics } = argLeaves(args);
    if (isTracing() || tangentScopes().length > 0 || leaves.some((t) => t instanceof BatchTracer)) return g(...args);
    const key = signature(leaves, statics);
    const program = cache.get(key);
    if (program) {
      cache.delete(key); // most recently used last
      cache.set(key, program);
      return treeUnflatten(program.outTree, marked(replay(program, leaves)));
    }
    const { program: p, result } = trace(g, args, leaves, doFold);
    if (doFuse) fuse(p);
    cache.set(key, p);
    if (cache.size > cacheSize) cache.delete(cache.keys().next().value!);
    return treeUnflatten(result, marked(treeLeaves(result).map((t) => t.detach())));
  };
  const jitted = call as unknown as Jitted<F>;
  jitted.describe = () => [...cache.entries()].map(([key, p]) => {
    const fused = p.steps.filter((s): s is FusedStep => s.kind === 'fused');
    return `${key}: ${p.steps.length} steps (${fused.length} fused loops of ${fused.reduce((n, s) => n + s.prims.length, 0)} primitives), ${p.consts.length} constants, ${p.buffers.length} planned buffers`;
  });
  return jitted;
}

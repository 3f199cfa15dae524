/**
 * The derivative fuzzer's core: random graphs of the engine's ops, deterministic from a seed, each checked in
 * float64 against central finite differences at three orders, in reverse and in forward mode:
 *
 *   1. the gradient ∇F(x₀), against differences of F along every coordinate;
 *   2. a Hessian-vector product ∇²F(x₀)·v by double backward, against differences of ∇F along v;
 *   3. a third-order directional derivative ∇(wᵀ∇²F(x)·v) by triple backward, against differences of
 *      ∇²F·v along w (equal by the symmetry of the third derivative).
 *
 * F(x) = Σ c ⊙ y + ½ Σ (u ⊙ y)² for the graph's output y and random constants c, u: every output element
 * counts, and the cotangent reaching y (c + u² ⊙ y) depends on x, so every path through each VJP is exercised
 * at orders 2 and 3. Inputs and every intermediate stay where their ops are smooth: log and sqrt of values
 * ≥ 0.25, abs / sign / comparisons / clip bounds / maximum and minimum operands / max-reduction runners-up at
 * least 0.02 from the kink, divisors ≥ 0.3 in magnitude, pow with a tensor exponent on bases ≥ 0.3, values
 * bounded by 40, tanh and sigmoid of |x| ≤ 5 (further out their derivatives, 1 − y² and y(1 − y), lose digits
 * to cancellation: at tanh(11.5) float64 keeps about 6, and AD and FD differ by that much). A stopGradient node is exact only as "this value is a constant": finite differences see the
 * function with each stopped value frozen at x₀, which is what reverse mode differentiates at x₀.
 *
 * Used by test/autograd/fuzz.test.ts (a fixed number of graphs per CI run) and bench/src/fuzz.ts (graphs until
 * a time limit: `node bench/dist/fuzz.js --seconds 120 [--seed S]`).
 */
import * as ag from '@metagrad/autograd';
import { Rng, Tensor, gradients, grad, hvp, jvp, noGrad, tensor } from '@metagrad/autograd';
import { centralDifference, flatten, unflatten } from '@metagrad/autograd/testing';

/** Every op the generator draws (the name a graph listing shows). */
export const FUZZ_OPS = [
  'neg', 'exp', 'log', 'tanh', 'sigmoid', 'softplus', 'sqrt', 'square', 'abs', 'sign', 'clip', 'stopGradient',
  'powScalar', 'add', 'sub', 'mul', 'div', 'pow', 'maximum', 'minimum', 'where', 'compare',
  'sum', 'mean', 'max', 'logSumExp', 'softmax', 'logSoftmax', 'cumsum',
  'reshape', 'transpose', 'slice', 'index', 'expandDims', 'squeeze', 'broadcastTo', 'concat', 'stack', 'gather',
  'matmul', 'matmulT',
] as const;
/** One op the generator can draw. */
export type FuzzOp = (typeof FUZZ_OPS)[number];

/** One node of a graph: an input, or an op on earlier nodes (`args` are node indices). */
export interface FuzzNode {
  /** 'input', the op, or 'output' (the last node: every node nothing else reads, flattened and concatenated). */
  op: FuzzOp | 'input' | 'output';
  /** Indices of the argument nodes (all smaller than this node's). */
  args: number[];
  /** The node as a line of code, e.g. `t4 = maximum(t2, t3)`. */
  text: string;
  /** Shape of the node's value. */
  shape: number[];
  /** Computes the node from its argument values (unused for inputs and stopGradient nodes). */
  run: (a: Tensor[]) => Tensor;
}

/** A generated graph: its nodes (inputs first), the base point, and the constants of the checks. */
export interface FuzzGraph {
  /** The seed that generates exactly this graph. */
  seed: number;
  nodes: FuzzNode[];
  /** Indices of the input nodes. */
  inputIds: number[];
  /** The base point x₀, one tensor per input. */
  x0: Tensor[];
  /** Index of the output node. */
  output: number;
  /** F's weights: F = Σ c ⊙ y + ½ Σ (u ⊙ y)². */
  c: Tensor;
  u: Tensor;
  /** Directions of the HVP (v) and of the third-order derivative (w), flat over all inputs. */
  v: Float64Array;
  w: Float64Array;
}

/** Relative and absolute tolerance of a check: |AD − FD|∞ ≤ rtol · max(|AD|∞, |FD|∞) + atol. */
export interface FuzzTolerance {
  rtol: number;
  atol: number;
}

/** 1e-6 relative to the largest entry, with a 1e-8 floor (for derivatives that are 0 up to FD noise). */
export const DEFAULT_TOLERANCE: FuzzTolerance = { rtol: 1e-6, atol: 1e-8 };

/** One of the comparisons. */
export interface FuzzCheck {
  order: 1 | 2 | 3;
  /** Reverse mode (gradient, HVP by double backward, triple backward) or forward mode (jvp, jvp of the gradient, jvp of jvp of jvp). */
  mode: 'rev' | 'fwd';
  /** max |AD − FD|. */
  absErr: number;
  /** max(|AD|∞, |FD|∞): the scale rtol applies to. */
  scale: number;
  /** absErr / scale (Infinity when AD or FD is NaN or of another length). */
  relErr: number;
  ok: boolean;
  ad: Float64Array;
  fd: Float64Array;
}

/** The result of checking one graph. */
export interface FuzzResult {
  seed: number;
  ok: boolean;
  checks: FuzzCheck[];
  /** Set when the engine threw while differentiating. */
  error?: string;
}

/** Options of {@link makeGraph}. */
export interface GraphOptions {
  /** Most ops per graph (default 10; at least 2 are drawn). */
  maxOps?: number;
  /**
   * Replacement implementations of ops, to show the checker catches a wrong derivative (a mutation test):
   * e.g. `{ tanh: (x) => … }` with tanh's value but a wrong second derivative.
   */
  override?: Partial<Record<'tanh' | 'exp' | 'log', (x: Tensor) => Tensor>>;
}

/**
 * Step of the central differences (@metagrad/autograd/testing's centralDifference), which are
 * Richardson-extrapolated: D = (4·D(h/2) − D(h)) / 3 cancels the h²
 * term, leaving O(h⁴) truncation (≈ 1e-16 · f⁽⁵⁾) and ≈ ε/h ≈ 1e-12 relative rounding. Plain differences with
 * h = 1e-5 left 5e-8 of truncation on a third derivative of 3e-5 (tanh(exp(3x²)) at x = 0.9, seed 2027).
 */
const H = 1e-4;
const MARGIN = 0.02;
const BOUND = 40;
const MAX_SIZE = 36;
const MAX_INPUT_ELEMENTS = 12;

const sizeOf = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);
const fmtNum = (v: number): string => String(Number(v.toPrecision(6)));
const fmtArr = (s: readonly (number | undefined)[]): string => `[${s.map((d) => (d === undefined ? 'undefined' : String(d))).join(', ')}]`;

/** NumPy broadcast of two shapes, or null when they do not broadcast. */
function broadcast(a: readonly number[], b: readonly number[]): number[] | null {
  const n = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const da = i < n - a.length ? 1 : a[i - (n - a.length)]!;
    const db = i < n - b.length ? 1 : b[i - (n - b.length)]!;
    if (da !== db && da !== 1 && db !== 1) return null;
    out.push(da === 1 ? db : da);
  }
  return out;
}

function minAbs(t: Tensor): number {
  let m = Infinity;
  for (const v of t.data) m = Math.min(m, Math.abs(v));
  return m;
}
const minOf = (t: Tensor): number => Math.min(...t.data);
const maxOf = (t: Tensor): number => Math.max(...t.data);
const constTensor = (rng: Rng, shape: number[], lo: number, hi: number): Tensor => ag.rand(shape, rng, lo, hi);
const constText = (t: Tensor): string => `const(${JSON.stringify(t.toNested(), (_k, v: unknown) => (typeof v === 'number' ? Number(v.toPrecision(6)) : v))})`;

/** A random axis of rank nd, negative half the time. */
const randAxis = (rng: Rng, nd: number): number => rng.int(nd) - (rng.uniform() < 0.5 ? nd : 0);

function shuffle<T>(rng: Rng, xs: T[]): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [xs[i], xs[j]] = [xs[j]!, xs[i]!];
  }
  return xs;
}

/** Axes for a reduction: all (undefined), one axis, or a list. */
function randAxes(rng: Rng, nd: number): number | number[] | undefined {
  if (nd === 0 || rng.uniform() < 0.25) return undefined;
  if (rng.uniform() < 0.6) return randAxis(rng, nd);
  return shuffle(rng, Array.from({ length: nd }, (_, i) => i)).slice(0, 1 + rng.int(nd)).map((a) => (rng.uniform() < 0.5 ? a - nd : a));
}
const fmtAxes = (a: number | number[] | undefined): string => (a === undefined ? 'undefined' : typeof a === 'number' ? String(a) : fmtArr(a));

/** Whether every entry of x is at least MARGIN below the max of its group and the max is unique. */
function uniqueMax(x: Tensor, axes: number | number[] | undefined): boolean {
  const m = ag.max(x, axes, true);
  const near = ag.sum(ag.greater(x, ag.sub(m, MARGIN)), axes);
  return near.data.every((v) => v === 1);
}

interface Proposal {
  op: FuzzOp;
  args: number[];
  call: string;
  run: (a: Tensor[]) => Tensor;
}

/**
 * Generates the graph of `seed`: 1–3 inputs of small related shapes (so broadcasting and matmul find partners),
 * then 2 to maxOps ops, each drawn at random and kept only if its arguments are in the op's smooth domain and
 * its value is finite, bounded and small. The same seed always gives the same graph.
 */
export function makeGraph(seed: number, opts: GraphOptions = {}): FuzzGraph {
  const rng = new Rng(seed);
  const maxOps = Math.max(2, opts.maxOps ?? 10);
  return noGrad(() => {
    const nodes: FuzzNode[] = [];
    const vals: Tensor[] = [];
    // ---- inputs ----
    let base: number[];
    do base = Array.from({ length: rng.int(4) }, () => 1 + rng.int(3));
    while (sizeOf(base) > 8);
    const shapes: number[][] = [base];
    const nIn = 1 + rng.int(3);
    for (let i = 1; i < nIn; i++) {
      const kind = rng.int(3);
      if (kind === 0 && base.length > 0) shapes.push([base[base.length - 1]!, 1 + rng.int(3)]); // a matmul partner
      else if (kind === 1) shapes.push(base.slice(rng.int(base.length + 1)).map((d) => (rng.uniform() < 0.3 ? 1 : d))); // broadcasts
      else shapes.push(Array.from({ length: rng.int(3) }, () => 1 + rng.int(3)));
    }
    const inputShapes: number[][] = [];
    let total = 0;
    for (const s of shapes) {
      if (total + sizeOf(s) > MAX_INPUT_ELEMENTS && inputShapes.length > 0) continue;
      inputShapes.push(s);
      total += sizeOf(s);
    }
    const x0 = inputShapes.map((s) => (rng.uniform() < 0.3 ? constTensor(rng, s, 0.3, 2) : constTensor(rng, s, -1.5, 1.5)));
    x0.forEach((x, i) => {
      nodes.push({ op: 'input', args: [], text: `t${i} = input ${fmtArr(x.shape)} ${JSON.stringify(Array.from(x.data, (v) => Number(v.toPrecision(17))))}`, shape: [...x.shape], run: () => x });
      vals.push(x);
    });
    const inputIds = x0.map((_, i) => i);

    // ---- ops ----
    const pickNode = (): number => (rng.uniform() < 0.5 ? nodes.length - 1 : rng.int(nodes.length));
    /** A node whose shape satisfies `ok`, preferring recent ones; -1 if none. */
    const findNode = (ok: (s: number[], i: number) => boolean): number => {
      const cands = nodes.map((n, i) => (ok(n.shape, i) ? i : -1)).filter((i) => i >= 0);
      if (cands.length === 0) return -1;
      return rng.uniform() < 0.5 ? cands[cands.length - 1]! : cands[rng.int(cands.length)]!;
    };
    const name = (i: number): string => `t${i}`;

    const propose = (op: FuzzOp): Proposal | null => {
      const a = pickNode();
      const x = vals[a]!;
      const s = x.shape;
      const nd = s.length;
      const unary = (f: (t: Tensor) => Tensor, call = `${op}(${name(a)})`): Proposal => ({ op, args: [a], call, run: ([t]) => f(t!) });
      switch (op) {
        case 'neg':
          return unary((t) => t.neg());
        case 'exp':
          return maxOf(x) <= 2.5 ? unary(opts.override?.exp ?? ((t) => t.exp())) : null;
        case 'log':
          return minOf(x) >= 0.25 ? unary(opts.override?.log ?? ((t) => t.log())) : null;
        case 'tanh':
          return maxOf(x.abs()) <= 5 ? unary(opts.override?.tanh ?? ((t) => t.tanh())) : null;
        case 'sigmoid':
          return maxOf(x.abs()) <= 5 ? unary((t) => t.sigmoid()) : null;
        case 'softplus':
          return unary((t) => t.softplus());
        case 'sqrt':
          return minOf(x) >= 0.25 ? unary((t) => t.sqrt()) : null;
        case 'square':
          return unary((t) => t.square());
        case 'abs':
          return minAbs(x) >= MARGIN ? unary((t) => t.abs()) : null;
        case 'sign':
          return minAbs(x) >= MARGIN ? unary((t) => t.mul(t.sign()), `mul(${name(a)}, sign(${name(a)}))`) : null;
        case 'clip': {
          const lo = Number(rng.uniformIn(-1.2, 0.2).toFixed(2)), hi = Number((lo + rng.uniformIn(0.2, 1.5)).toFixed(2));
          if (!x.data.every((v) => Math.abs(v - lo) >= MARGIN && Math.abs(v - hi) >= MARGIN)) return null;
          return unary((t) => t.clip(lo, hi), `clip(${name(a)}, ${lo}, ${hi})`);
        }
        case 'stopGradient':
          return unary((t) => ag.stopGradient(t));
        case 'powScalar': {
          const k = [0, 1, 2, 3, -1, 0.5, -0.5, 1.5, 2.5][rng.int(9)]!;
          if (!Number.isInteger(k) || k < 0) if (minOf(x) < 0.3) return null;
          return unary((t) => t.pow(k), `pow(${name(a)}, ${k})`);
        }
        case 'add': case 'sub': case 'mul': case 'div': case 'pow': case 'maximum': case 'minimum': {
          if (op === 'pow' && minOf(x) < 0.3) return null;
          // the other operand: a broadcast-compatible node, or a plain number
          const b = rng.uniform() < 0.25 ? -1 : findNode((t) => {
            const o = broadcast(s, t);
            return o !== null && sizeOf(o) <= MAX_SIZE;
          });
          const num = Number(rng.uniformIn(op === 'pow' ? -2 : 0.4, 2).toFixed(2)) * (op === 'pow' || rng.uniform() < 0.5 ? 1 : -1);
          const y = b >= 0 ? vals[b]! : tensor(num);
          const swap = op !== 'pow' && rng.uniform() < 0.3; // the picked node second: op(y, x)
          if (op === 'div' && minAbs(swap ? x : y) < 0.3) return null;
          if (op === 'pow' && maxOf(y.abs()) > 2.5) return null;
          if ((op === 'maximum' || op === 'minimum') && minAbs(ag.sub(x, y)) < MARGIN) return null;
          const bText = b >= 0 ? name(b) : String(num);
          if (b < 0)
            return swap
              ? { op, args: [a], call: `${op}(${bText}, ${name(a)})`, run: ([t]) => (ag[op] as (p: Tensor | number, q: Tensor | number) => Tensor)(num, t!) }
              : { op, args: [a], call: `${op}(${name(a)}, ${bText})`, run: ([t]) => (ag[op] as (p: Tensor | number, q: Tensor | number) => Tensor)(t!, num) };
          return swap
            ? { op, args: [b, a], call: `${op}(${bText}, ${name(a)})`, run: ([p, q]) => ag[op](p!, q!) }
            : { op, args: [a, b], call: `${op}(${name(a)}, ${bText})`, run: ([p, q]) => ag[op](p!, q!) };
        }
        case 'where': case 'compare': {
          // where(mask, a, b): a constant random mask, or a data-dependent one, cmp(c, θ) with c ≥ MARGIN from θ
          const b = findNode((t) => {
            const o = broadcast(s, t);
            return o !== null && sizeOf(o) <= MAX_SIZE;
          });
          if (b < 0) return null;
          const out = broadcast(s, vals[b]!.shape)!;
          if (op === 'where') {
            const cond = ag.greater(ag.rand(out.slice(rng.int(out.length + 1)), rng), 0.5);
            return { op, args: [a, b], call: `where(${constText(cond)}, ${name(a)}, ${name(b)})`, run: ([p, q]) => ag.where(cond, p!, q!) };
          }
          const c = findNode((t) => {
            const o = broadcast(out, t);
            return o !== null && sizeOf(o) <= MAX_SIZE;
          });
          if (c < 0) return null;
          const theta = Number(rng.uniformIn(-1, 1).toFixed(2));
          const cmp = (['greater', 'less', 'greaterEqual', 'lessEqual'] as const)[rng.int(4)]!;
          if (!vals[c]!.data.every((v) => Math.abs(v - theta) >= MARGIN)) return null;
          return {
            op, args: [c, a, b], call: `where(${cmp}(${name(c)}, ${theta}), ${name(a)}, ${name(b)})`,
            run: ([r, p, q]) => ag.where(ag[cmp](r!, theta), p!, q!),
          };
        }
        case 'sum': case 'mean': case 'logSumExp': {
          const axes = randAxes(rng, nd);
          const keep = rng.uniform() < 0.4;
          return { op, args: [a], call: `${op}(${name(a)}, ${fmtAxes(axes)}, ${keep})`, run: ([t]) => ag[op](t!, axes, keep) };
        }
        case 'max': {
          const axes = randAxes(rng, nd);
          const keep = rng.uniform() < 0.4;
          if (x.size === 0 || !uniqueMax(x, axes)) return null;
          return { op, args: [a], call: `max(${name(a)}, ${fmtAxes(axes)}, ${keep})`, run: ([t]) => ag.max(t!, axes, keep) };
        }
        case 'softmax': case 'logSoftmax': {
          if (nd === 0) return null;
          const axis = randAxis(rng, nd);
          return { op, args: [a], call: `${op}(${name(a)}, ${axis})`, run: ([t]) => ag[op](t!, axis) };
        }
        case 'cumsum': {
          if (nd === 0) return null;
          const axis = randAxis(rng, nd), rev = rng.uniform() < 0.5;
          return { op, args: [a], call: `cumsum(${name(a)}, ${axis}, ${rev})`, run: ([t]) => ag.cumsum(t!, axis, rev) };
        }
        case 'reshape': {
          // a random factorization of the size into 1–3 axes, one of them sometimes -1
          const n = x.size;
          const dims: number[] = [];
          let rest = n;
          const k = 1 + rng.int(3);
          for (let i = 0; i < k - 1; i++) {
            const divs = Array.from({ length: rest }, (_, j) => j + 1).filter((d) => rest % d === 0);
            const d = divs[rng.int(divs.length)] ?? 1;
            dims.push(d);
            rest /= d;
          }
          dims.push(rest);
          shuffle(rng, dims);
          const target = rng.uniform() < 0.3 && n > 0 ? dims.map((d, i) => (i === 0 ? -1 : d)) : dims;
          return unary((t) => t.reshape(target), `reshape(${name(a)}, ${fmtArr(target)})`);
        }
        case 'transpose': {
          if (nd < 2) return null;
          const perm = rng.uniform() < 0.3 ? undefined : shuffle(rng, Array.from({ length: nd }, (_, i) => i));
          return unary((t) => t.transpose(perm), `transpose(${name(a)}${perm ? `, ${fmtArr(perm)}` : ''})`);
        }
        case 'slice': {
          // integer bounds selecting a non-empty range of each sliced axis, written as NumPy allows:
          // a start of st or st − len, an end of en, en − len (when en < len) or undefined (when en = len)
          if (nd === 0) return null;
          const k = 1 + rng.int(nd);
          const starts: number[] = [], ends: (number | undefined)[] = [];
          for (let d = 0; d < k; d++) {
            const len = s[d]!;
            const st = rng.int(len), en = st + 1 + rng.int(len - st);
            starts.push(rng.uniform() < 0.3 ? st - len : st);
            ends.push(en === len ? (rng.uniform() < 0.5 ? undefined : en) : rng.uniform() < 0.3 ? en - len : en);
          }
          return unary((t) => t.slice(starts, ends), `slice(${name(a)}, ${fmtArr(starts)}, ${fmtArr(ends)})`);
        }
        case 'index': {
          if (nd === 0 || s[0] === 0) return null;
          const i = randAxis(rng, s[0]!);
          return unary((t) => t.index(i), `index(${name(a)}, ${i})`);
        }
        case 'expandDims': {
          const axis = randAxis(rng, nd + 1);
          return unary((t) => t.expandDims(axis), `expandDims(${name(a)}, ${axis})`);
        }
        case 'squeeze': {
          const ones = s.map((d, i) => (d === 1 ? i : -1)).filter((i) => i >= 0);
          if (ones.length === 0) return null;
          const axis = rng.uniform() < 0.3 ? undefined : ones[rng.int(ones.length)]! - (rng.uniform() < 0.5 ? nd : 0);
          return unary((t) => t.squeeze(axis), `squeeze(${name(a)}${axis === undefined ? '' : `, ${axis}`})`);
        }
        case 'broadcastTo': {
          const target = s.map((d) => (d === 1 && rng.uniform() < 0.7 ? 1 + rng.int(3) : d));
          if (rng.uniform() < 0.5 || target.every((d, i) => d === s[i])) target.unshift(1 + rng.int(3));
          if (sizeOf(target) > MAX_SIZE) return null;
          return unary((t) => t.broadcastTo(target), `broadcastTo(${name(a)}, ${fmtArr(target)})`);
        }
        case 'concat': {
          if (nd === 0) return null;
          const axis = randAxis(rng, nd);
          const ax = axis < 0 ? axis + nd : axis;
          const b = findNode((t) => t.length === nd && t.every((d, i) => i === ax || d === s[i]));
          const parts = rng.uniform() < 0.3 ? [a, b, a] : [a, b];
          return { op, args: parts, call: `concat([${parts.map(name).join(', ')}], ${axis})`, run: (ts) => ag.concat(ts, axis) };
        }
        case 'stack': {
          const axis = randAxis(rng, nd + 1);
          const b = findNode((t) => t.length === nd && t.every((d, i) => d === s[i]));
          return { op, args: [a, b], call: `stack([${name(a)}, ${name(b)}], ${axis})`, run: (ts) => ag.stack(ts, axis) };
        }
        case 'gather': {
          if (nd === 0 || x.size === 0) return null;
          const axis = randAxis(rng, nd);
          const ax = axis < 0 ? axis + nd : axis;
          const ishape = s.map((d, i) => (i === ax ? 1 + rng.int(3) : 1 + rng.int(d)));
          const idx = Array.from({ length: sizeOf(ishape) }, () => rng.int(s[ax]!));
          const it = tensor(idx, ishape);
          return unary((t) => t.gather(it, axis), `gather(${name(a)}, ${constText(it)}, ${axis})`);
        }
        case 'matmul': {
          if (nd === 0) return null;
          const k = s[nd - 1]!;
          // a pool partner whose contraction axis matches, else a constant matrix
          const b = findNode((t, i) => {
            if (i === a && nd === 1) return true;
            if (t.length === 0) return false;
            if (t.length === 1) return t[0] === k;
            if (t[t.length - 2] !== k) return false;
            if (nd === 1 || t.length === 2 || nd === 2) return true;
            return broadcast(s.slice(0, -2), t.slice(0, -2)) !== null;
          });
          if (b >= 0 && rng.uniform() < 0.8) return { op, args: [a, b], call: `matmul(${name(a)}, ${name(b)})`, run: ([p, q]) => ag.matmul(p!, q!) };
          const m = constTensor(rng, rng.uniform() < 0.3 ? [k] : [k, 1 + rng.int(3)], -1, 1);
          return unary((t) => ag.matmul(t, m), `matmul(${name(a)}, ${constText(m)})`);
        }
        case 'matmulT': {
          // op(a)·op(b) with transposed operands, both ≥ 2-D; the partner is a constant of the right shape
          if (nd < 2) return null;
          const tA = rng.uniform() < 0.5, tB = rng.uniform() < 0.5;
          const k = tA ? s[nd - 2]! : s[nd - 1]!;
          const n = 1 + rng.int(3);
          const m = constTensor(rng, tB ? [n, k] : [k, n], -1, 1);
          return unary((t) => ag.matmulT(t, m, tA, tB), `matmulT(${name(a)}, ${constText(m)}, ${tA}, ${tB})`);
        }
      }
    };

    /** Adds the proposal's node if its value is finite, bounded, non-empty and small; whether it did. */
    const add = (p: Proposal | null): boolean => {
      if (!p || p.args.some((i) => i < 0)) return false;
      // no try: every proposal is valid by construction, so an op that throws here is a bug (the engine's or
      // the generator's) and surfaces as one, naming the seed
      const y = p.run(p.args.map((i) => vals[i]!));
      if (y.size > MAX_SIZE || y.size === 0 || !y.data.every((v) => Number.isFinite(v) && Math.abs(v) <= BOUND)) return false;
      nodes.push({ op: p.op, args: p.args, text: `t${nodes.length} = ${p.call}`, shape: [...y.shape], run: p.run });
      vals.push(y);
      return true;
    };

    const nOps = 2 + rng.int(maxOps - 1);
    for (let made = 0, tries = 0; made < nOps && tries < 200; tries++) {
      const op = FUZZ_OPS[rng.int(FUZZ_OPS.length)]!;
      const p = propose(op);
      if (!add(p)) continue;
      made++;
      if (op === 'stopGradient' && rng.uniform() < 0.7) {
        // use the stopped value next to its live source, as DiCE and baselines do: x − sg(x) (the magic box's
        // exponent, value 0 with derivative 1), x · sg(x), or exp(x − sg(x)) itself
        const sg = nodes.length - 1, src = p!.args[0]!;
        const kind = rng.int(3);
        const combine: Proposal =
          kind === 1
            ? { op: 'mul', args: [src, sg], call: `mul(${name(src)}, ${name(sg)})`, run: ([q, r]) => ag.mul(q!, r!) }
            : { op: 'sub', args: [src, sg], call: `sub(${name(src)}, ${name(sg)})`, run: ([q, r]) => ag.sub(q!, r!) };
        if (add(combine)) made++;
        if (kind === 2 && add({ op: 'exp', args: [nodes.length - 1], call: `exp(${name(nodes.length - 1)})`, run: ([q]) => ag.exp(q!) })) made++;
      }
    }
    // the output: every node no other node reads, flattened and concatenated, so every op counts
    const read = new Set(nodes.flatMap((nd) => nd.args));
    const sinks = nodes.map((_, i) => i).filter((i) => !read.has(i));
    const flat = (t: Tensor): Tensor => ag.reshape(t, [-1]);
    const out = (ts: Tensor[]): Tensor => (ts.length === 1 ? flat(ts[0]!) : ag.concat(ts.map(flat), 0));
    const outVal = out(sinks.map((i) => vals[i]!));
    nodes.push({
      op: 'output', args: sinks, shape: [...outVal.shape], run: out,
      text: `t${nodes.length} = ${sinks.length === 1 ? `reshape(t${sinks[0]}, [-1])` : `concat([${sinks.map((i) => `reshape(t${i}, [-1])`).join(', ')}], 0)`}`,
    });
    const output = nodes.length - 1;
    const outShape = nodes[output]!.shape;
    const c = constTensor(rng, outShape, -1, 1), u = constTensor(rng, outShape, -1, 1);
    const n = x0.reduce((t, x) => t + x.size, 0);
    const v = Float64Array.from({ length: n }, () => rng.uniformIn(-1, 1));
    const w = Float64Array.from({ length: n }, () => rng.uniformIn(-1, 1));
    return { seed, nodes, inputIds, x0, output, c, u, v, w };
  });
}

/**
 * The graph's output at inputs `xs`. With `frozen` (the node values at x₀), stopGradient nodes return their
 * frozen value: the function finite differences differentiate. Without, they call the engine's stopGradient.
 */
export function evaluate(g: FuzzGraph, xs: readonly Tensor[], frozen: readonly Tensor[] | null = null): Tensor {
  const vals: Tensor[] = [];
  g.nodes.forEach((node, i) => {
    if (node.op === 'input') vals.push(xs[g.inputIds.indexOf(i)]!);
    else if (node.op === 'stopGradient' && frozen) vals.push(frozen[i]!);
    else vals.push(node.run(node.args.map((j) => vals[j]!)));
  });
  return vals[g.output]!;
}

/** Every node's value at x₀, detached (the frozen values of stopGradient nodes). */
function nodeValues(g: FuzzGraph): Tensor[] {
  return noGrad(() => {
    const vals: Tensor[] = [];
    g.nodes.forEach((node, i) => vals.push(node.op === 'input' ? g.x0[g.inputIds.indexOf(i)]! : node.run(node.args.map((j) => vals[j]!))));
    return vals;
  });
}

/**
 * (4·D(h/2) − D(h)) / 3 with D(h) = (F(x + h·d) − F(x − h·d)) / 2h, for a vector function F of the flat inputs:
 * the testing library's centralDifference (the same differences checkGrads and the test suite use), step H.
 */
function centralDiff(F: (xs: Tensor[]) => Float64Array, x0: readonly Tensor[], d: Float64Array): Float64Array {
  return centralDifference((x) => F(unflatten(x, x0)), flatten(x0), d, { eps: H });
}

function compare(order: 1 | 2 | 3, ad: Float64Array, fd: Float64Array, tol: FuzzTolerance, mode: 'rev' | 'fwd' = 'rev'): FuzzCheck {
  let absErr = ad.length === fd.length ? 0 : Infinity, scale = 0;
  for (let i = 0; i < Math.min(ad.length, fd.length); i++) {
    const e = Math.abs(ad[i]! - fd[i]!);
    absErr = Number.isNaN(e) ? Infinity : Math.max(absErr, e);
    scale = Math.max(scale, Math.abs(ad[i]!), Math.abs(fd[i]!));
  }
  const relErr = absErr === 0 ? 0 : absErr / scale;
  return { order, mode, absErr, scale, relErr, ok: absErr <= tol.rtol * scale + tol.atol, ad, fd };
}

/**
 * Checks one graph at three orders against central finite differences (see the module comment). A check
 * passes when |AD − FD|∞ ≤ rtol·max(|AD|∞, |FD|∞) + atol.
 */
export function checkGraph(g: FuzzGraph, tol: FuzzTolerance = DEFAULT_TOLERANCE): FuzzResult {
  const frozen = nodeValues(g);
  const F = (xs: readonly Tensor[], fz: readonly Tensor[] | null): Tensor => {
    const y = evaluate(g, xs, fz);
    return ag.add(ag.sum(ag.mul(y, g.c)), ag.mul(ag.sum(ag.square(ag.mul(y, g.u))), 0.5));
  };
  const Ffd = (xs: Tensor[]): Tensor => F(xs, frozen);
  const gradAt = (xs: Tensor[], fz: readonly Tensor[] | null): Float64Array => flatten(gradients(F(xs, fz), xs, { allowUnused: true }));
  const checks: FuzzCheck[] = [];
  try {
    const x0 = g.x0;
    const n = flatten(x0).length;
    // 1. gradient: reverse mode vs differences along each coordinate
    const g1 = gradAt([...x0], null);
    const fd1 = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const e = new Float64Array(n);
      e[i] = 1;
      fd1[i] = centralDiff((xs) => Float64Array.of(Ffd(xs).item()), x0, e)[0]!;
    }
    checks.push(compare(1, g1, fd1, tol));
    // 2. HVP by double backward vs differences of the (frozen) gradient along v
    const vs = unflatten(g.v, x0);
    const hv = flatten(hvp((xs: Tensor[]) => F(xs, null), [...x0], vs));
    checks.push(compare(2, hv, centralDiff((xs) => gradAt(xs, frozen), x0, g.v), tol));
    // 3. ∇(wᵀ H v) by triple backward vs differences of H·v along w
    const ws = unflatten(g.w, x0);
    const t3 = flatten(
      grad((xs: Tensor[]) => {
        const h = hvp((ys: Tensor[]) => F(ys, null), xs, vs);
        return h.reduce((acc: Tensor, hi, i) => ag.add(acc, ag.sum(ag.mul(hi, ws[i]!))), tensor(0));
      })([...x0]),
    );
    checks.push(compare(3, t3, centralDiff((xs) => flatten(hvp(Ffd, xs, vs)), x0, g.w), tol));
    // forward mode: 1. jvp along v; 2. jvp of the gradient along v (forward over reverse: H·v);
    // 3. the third directional derivative along (v, v, w) by jvp of jvp of jvp
    const one = (t: Tensor): Float64Array => Float64Array.of(t.item());
    const d1 = (xs: Tensor[], fz: readonly Tensor[] | null): Tensor => jvp((ys: Tensor[]) => F(ys, fz), xs, vs)[1];
    const d2 = (xs: Tensor[], fz: readonly Tensor[] | null): Tensor => jvp((ys: Tensor[]) => d1(ys, fz), xs, vs)[1];
    checks.push(compare(1, one(d1([...x0], null)), centralDiff((xs) => one(Ffd(xs)), x0, g.v), tol, 'fwd'));
    const fr = flatten(jvp((ys: Tensor[]) => gradients(F(ys, null), ys, { allowUnused: true }), [...x0], vs)[1]);
    checks.push(compare(2, fr, centralDiff((xs) => gradAt(xs, frozen), x0, g.v), tol, 'fwd'));
    const d3 = one(jvp((ys: Tensor[]) => d2(ys, null), [...x0], ws)[1]);
    checks.push(compare(3, d3, centralDiff((xs) => one(d2(xs, frozen)), x0, g.w), tol, 'fwd'));
  } catch (e) {
    return { seed: g.seed, ok: false, checks, error: (e as Error).stack ?? String(e) };
  }
  return { seed: g.seed, ok: checks.every((c) => c.ok), checks };
}

/** The graph as code: one line per node, the output and F. */
export function describeGraph(g: FuzzGraph): string {
  const lines = g.nodes.map((n) => `  ${n.text}    # ${fmtArr(n.shape)}`);
  lines.push(`  y = t${g.output}; F = Σ c ⊙ y + ½ Σ (u ⊙ y)² with c = ${constText(g.c)}, u = ${constText(g.u)}`);
  return lines.join('\n');
}

/** A failure report: the seed, the graph, and each check with its errors. */
export function describeResult(g: FuzzGraph, r: FuzzResult, tol: FuzzTolerance = DEFAULT_TOLERANCE): string {
  const show = (x: Float64Array): string => `[${Array.from(x.slice(0, 6), fmtNum).join(', ')}${x.length > 6 ? ', …' : ''}]`;
  const out = [`seed ${g.seed}: ${r.ok ? 'ok' : 'FAILED'} (tolerance ${tol.rtol} relative + ${tol.atol})`, describeGraph(g)];
  for (const c of r.checks)
    out.push(`  ${c.mode} order ${c.order}: ${c.ok ? 'ok' : 'MISMATCH'} |AD − FD| = ${c.absErr.toExponential(2)}, scale ${c.scale.toExponential(2)}, relative ${c.relErr.toExponential(2)}\n    AD ${show(c.ad)}\n    FD ${show(c.fd)}`);
  if (r.error) out.push(`  engine error: ${r.error}`);
  return out.join('\n');
}

/** How many graph nodes of each op a run drew. */
export function opCounts(graphs: readonly FuzzGraph[], into: Map<string, number> = new Map()): Map<string, number> {
  for (const g of graphs) for (const n of g.nodes) if (n.op !== 'input' && n.op !== 'output') into.set(n.op, (into.get(n.op) ?? 0) + 1);
  return into;
}

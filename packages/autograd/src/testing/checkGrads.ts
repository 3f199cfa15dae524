/**
 * checkGrads: the engine's derivatives of a function, up to third order and in reverse and forward mode,
 * against central finite differences in float64 (like jax.test_util.check_grads and
 * torch.autograd.gradcheck / gradgradcheck).
 */
import { Rng, Tensor, concat, jvp, rand, reshape, tensor, vjp, zeros } from '../index.js';
import { DEFAULT_EPS, centralDifference, compare, flatten, fmtNumber, unflatten, unravel } from './numeric.js';

/** A differentiation mode checkGrads compares: reverse (vjp, `gradients`) or forward (jvp). */
export type GradCheckMode = 'rev' | 'fwd';

/** Options of {@link checkGrads}. */
export interface CheckGradsOptions {
  /** The highest order checked: 1 (first derivatives), 2 or 3. Lower orders are always checked first. */
  order: 1 | 2 | 3;
  /** The modes to check. Default `['rev', 'fwd']`. */
  modes?: readonly GradCheckMode[];
  /** Finite-difference step (Richardson-extrapolated central differences). Default 1e-4 ({@link DEFAULT_EPS}). */
  eps?: number;
  /** Relative tolerance, against max|finite differences| of each comparison. Default 1e-6. */
  rtol?: number;
  /** Absolute tolerance, for derivatives that are zero up to finite-difference noise. Default 1e-8. */
  atol?: number;
  /** Seed of the random cotangents and tangents. Default 0. */
  seed?: number;
  /**
   * Reverse mode compares every coordinate of each argument's derivative (4 evaluations of the checked
   * function per coordinate); with `coordinates: k` it compares a seeded random subset of at most k per
   * argument. Default: all.
   */
  coordinates?: number;
}

/** One comparison checkGrads made: one order, one mode, one argument. */
export interface GradCheckResult {
  /** The order of the derivative compared (1, 2 or 3). */
  order: 1 | 2 | 3;
  /** Reverse mode (a vjp, compared coordinate by coordinate) or forward mode (a jvp along a random tangent). */
  mode: GradCheckMode;
  /** The argument: in reverse mode, the one whose derivative was compared; in forward mode, the one perturbed. */
  argument: number;
  /** The worst multi-index: into the argument in reverse mode, into f's output in forward mode. */
  index: number[];
  /** The finite-difference value at the worst index. */
  expected: number;
  /** The autodiff value at the worst index. */
  got: number;
  /** max|autodiff − finite differences| over the comparison. */
  absErr: number;
  /** max|finite differences| over the comparison: the scale rtol applies to. */
  scale: number;
  /** absErr / scale. */
  relErr: number;
  /** Whether absErr ≤ atol + rtol · scale. */
  ok: boolean;
}

/** The error {@link checkGrads} throws when derivatives disagree with finite differences; the message says where and by how much. */
export class GradCheckError extends Error {
  /** The lowest order at which a comparison failed (higher orders were not checked). */
  readonly order: 1 | 2 | 3;
  /** The failed comparisons at that order, reverse mode first. */
  readonly failures: readonly GradCheckResult[];

  /** Made by checkGrads: `message` and the failures it describes. */
  constructor(message: string, order: 1 | 2 | 3, failures: readonly GradCheckResult[]) {
    super(message);
    this.name = 'GradCheckError';
    this.order = order;
    this.failures = failures;
  }
}

type Fn = (xs: Tensor[]) => Tensor;

const what = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v);

const describeMode = (mode: GradCheckMode, order: number): string => {
  const inner = order === 1 ? 'f' : order === 2 ? `f's ${mode === 'rev' ? 'vjp' : 'jvp'}` : `f's ${mode === 'rev' ? 'vjp of vjp' : 'jvp of jvp'}`;
  return mode === 'rev' ? `vjp of ${inner}, random cotangents` : `jvp of ${inner}, random tangents`;
};

/** A seeded random subset of at most k of 0 … n−1, in increasing order (all of them when k ≥ n). */
function subset(n: number, k: number, rng: Rng): number[] {
  const all = Array.from({ length: n }, (_, i) => i);
  if (k >= n) return all;
  for (let i = 0; i < k; i++) {
    const j = i + rng.int(n - i);
    [all[i], all[j]] = [all[j]!, all[i]!];
  }
  return all.slice(0, k).sort((a, b) => a - b);
}

/**
 * Checks f's derivatives up to `order` against central finite differences in float64, in reverse and
 * forward mode, and throws a {@link GradCheckError} naming what disagrees. On success it returns every
 * comparison made.
 *
 * f takes tensors and returns a Tensor of any shape. Like jax.test_util.check_grads, the check recurses
 * on derivative functions: order 1 compares the vjp of f (with a random cotangent u of f's output shape,
 * every coordinate of every argument) and the jvp of f (along a random tangent of each argument in turn)
 * with finite differences of f; order 2 does the same for the functions x ↦ vjp(f, x)(u) and
 * x ↦ jvp(f, x, t)[1] (t a random tangent of all arguments), compared with finite differences of those;
 * order 3 for the vjp of the vjp and the jvp of the jvp. A comparison passes when
 * max|autodiff − finite differences| ≤ atol + rtol · max|finite differences|; defaults rtol 1e-6,
 * atol 1e-8, eps 1e-4 (Richardson-extrapolated differences, accurate to about 1e-10 relative on smooth
 * functions of moderate scale), seed 0.
 *
 * Float64 only: the arguments are copied to new float64 tensors (float32 ones converted, since finite
 * differences in float32 keep about 3 digits), so f must accept float64 tensors and return a float64 one;
 * it is told so when it does not. Only f's arguments are perturbed: tensors it closes over are constants.
 * A function that uses stopGradient (DiCE's magic box, a baseline) fails by design: its derivatives are
 * not those of its value, and finite differences see only the value.
 *
 * Throws on bad input (a non-Tensor argument, f not returning a Tensor, an order other than 1–3, bad
 * options) and, on a mismatch, with every failed comparison of the lowest failing order: the order, the
 * mode, the argument, the worst index, the expected (finite-difference) and obtained (autodiff) values
 * there, and the relative error.
 */
export function checkGrads(f: (...args: Tensor[]) => Tensor, args: readonly Tensor[], opts: CheckGradsOptions): GradCheckResult[] {
  if (typeof f !== 'function') throw new Error(`checkGrads: f must be a function, got ${what(f)}`);
  if (!Array.isArray(args)) throw new Error(`checkGrads: args must be an array of tensors (f's arguments), got ${what(args)}`);
  if (args.length === 0) throw new Error('checkGrads: no arguments: pass the tensors to differentiate f at, as an array');
  args.forEach((x, i) => {
    if (!(x instanceof Tensor)) throw new Error(`checkGrads: argument ${i} is not a Tensor (got ${what(x)}); every argument must be a Tensor`);
  });
  if (opts === null || typeof opts !== 'object') throw new Error('checkGrads: options are required: { order: 1 | 2 | 3, … }');
  const { order, modes = ['rev', 'fwd'], eps = DEFAULT_EPS, rtol = 1e-6, atol = 1e-8, seed = 0, coordinates = Infinity } = opts;
  if (order !== 1 && order !== 2 && order !== 3) throw new Error(`checkGrads: order must be 1, 2 or 3, got ${String(order)}`);
  if (!Array.isArray(modes) || modes.length === 0 || modes.some((m) => m !== 'rev' && m !== 'fwd'))
    throw new Error(`checkGrads: modes must be a non-empty array of 'rev' and 'fwd', got ${JSON.stringify(modes)}`);
  if (typeof eps !== 'number' || !(eps > 0) || !Number.isFinite(eps)) throw new Error(`checkGrads: eps must be a positive finite number, got ${String(eps)}`);
  if (typeof rtol !== 'number' || !(rtol >= 0) || !Number.isFinite(rtol)) throw new Error(`checkGrads: rtol must be a non-negative finite number, got ${String(rtol)}`);
  if (typeof atol !== 'number' || !(atol >= 0) || !Number.isFinite(atol)) throw new Error(`checkGrads: atol must be a non-negative finite number, got ${String(atol)}`);
  if (typeof seed !== 'number' || !Number.isFinite(seed)) throw new Error(`checkGrads: seed must be a finite number, got ${String(seed)}`);
  if (coordinates !== Infinity && (!Number.isInteger(coordinates) || coordinates < 1))
    throw new Error(`checkGrads: coordinates must be a positive integer, got ${String(coordinates)}`);

  const hadFloat32 = args.some((x) => x.dtype !== 'float64');
  const xs = args.map((x) => tensor(Float64Array.from(x.data), [...x.shape]));
  const F0: Fn = (ys) => {
    let y: unknown;
    try {
      y = f(...ys);
    } catch (e) {
      if (hadFloat32 && e instanceof Error)
        e.message = `checkGrads: f threw when called with float64 copies of its float32 arguments (checkGrads differentiates in float64; make f accept float64 tensors, e.g. by making its constants with its arguments' dtype): ${e.message}`;
      throw e;
    }
    if (!(y instanceof Tensor)) throw new Error(`checkGrads: f must return a Tensor, got ${what(y)}`);
    if (y.dtype !== 'float64')
      throw new Error(`checkGrads: f returned a ${y.dtype} tensor for float64 arguments; checkGrads compares derivatives in float64, so f must compute in its arguments' dtype`);
    return y;
  };
  const base = F0(xs);
  const bad = base.data.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0)
    throw new Error(`checkGrads: f(args) is ${base.data[bad]} at index [${unravel(bad, base.shape).join(', ')}] of its output [${base.shape.join(', ')}]; check at a point where f is finite`);

  const rng = new Rng(seed);
  const x0 = flatten(xs);
  const offsets: number[] = [];
  xs.reduce((o, x) => (offsets.push(o), o + x.size), 0);
  const results: GradCheckResult[] = [];
  const chains = new Map<GradCheckMode, Fn>(modes.map((m) => [m, F0]));
  const fd = (F: Fn, dir: Float64Array): Float64Array => centralDifference((x) => F(unflatten(x, xs)).data, x0, dir, { eps });
  const record = (ord: 1 | 2 | 3, mode: GradCheckMode, argument: number, got: Float64Array, expected: Float64Array, shape: readonly number[], at: number[] | null): void => {
    const c = compare(got, expected, rtol, atol);
    const w = Math.max(c.worst, 0);
    const flat = at ? at[w] ?? 0 : w;
    results.push({
      order: ord, mode, argument, index: got.length ? unravel(flat, shape) : [], expected: expected[w] ?? NaN, got: got[w] ?? NaN,
      absErr: c.absErr, scale: c.scale, relErr: c.relErr, ok: c.ok,
    });
  };

  for (let k = 0; k < order; k++) {
    const ord = (k + 1) as 1 | 2 | 3;
    for (const mode of modes) {
      const G = chains.get(mode)!;
      const out = G(xs);
      if (mode === 'rev') {
        const u = rand([...out.shape], rng, -1, 1);
        const ad = vjp((ps: Tensor[]) => G(ps), xs)[1](u);
        const dot = (y: Float64Array): number => {
          let s = 0;
          for (let i = 0; i < y.length; i++) s += u.data[i]! * y[i]!;
          return s;
        };
        const Gu: Fn = (ys) => tensor(dot(Float64Array.from(G(ys).data)));
        xs.forEach((x, i) => {
          if (x.size === 0) return;
          const coords = subset(x.size, coordinates, rng);
          const got = Float64Array.from(coords, (j) => ad[i]!.data[j]!);
          const expected = Float64Array.from(coords, (j) => {
            const dir = new Float64Array(x0.length);
            dir[offsets[i]! + j] = 1;
            return fd(Gu, dir)[0]!;
          });
          record(ord, mode, i, got, expected, x.shape, coords);
        });
        if (k + 1 < order)
          chains.set(mode, (ps) => {
            const gs = vjp((qs: Tensor[]) => G(qs), ps)[1](u).map((g) => reshape(g, [-1]));
            return gs.length === 1 ? gs[0]! : concat(gs, 0);
          });
      } else {
        xs.forEach((x, i) => {
          if (x.size === 0) return;
          const ts = xs.map((y, j) => (j === i ? rand([...y.shape], rng, -1, 1) : zeros([...y.shape])));
          const got = Float64Array.from(jvp((ps: Tensor[]) => G(ps), xs, ts)[1].data);
          record(ord, mode, i, got, fd(G, flatten(ts)), out.shape, null);
        });
        if (k + 1 < order) {
          const t = xs.map((y) => rand([...y.shape], rng, -1, 1));
          chains.set(mode, (ps) => jvp((qs: Tensor[]) => G(qs), ps, t)[1]);
        }
      }
    }
    const failed = results.filter((r) => r.order === ord && !r.ok);
    if (failed.length > 0) throw new GradCheckError(failureMessage(failed, ord, order, xs, base.shape, { eps, rtol, atol, seed }), ord, failed);
  }
  return results;
}

/** 1e-6 rather than 0.000001. */
const fmtSmall = (v: number): string => (v !== 0 && Math.abs(v) < 1e-3 ? v.toExponential() : String(v));

function failureMessage(
  failed: readonly GradCheckResult[], ord: number, order: number, xs: readonly Tensor[], outShape: readonly number[],
  o: { eps: number; rtol: number; atol: number; seed: number },
): string {
  const lines = failed.map((r) => {
    const where = r.mode === 'rev'
      ? `argument ${r.argument} (shape [${xs[r.argument]!.shape.join(', ')}]), worst at index [${r.index.join(', ')}] of its derivative`
      : `argument ${r.argument} (shape [${xs[r.argument]!.shape.join(', ')}]) perturbed, ${outShape.length === 0 ? 'the scalar output' : `worst at index [${r.index.join(', ')}] of the output [${outShape.join(', ')}]`}`;
    return `  order ${r.order}, mode ${r.mode} (${describeMode(r.mode, r.order)}), ${where}: ` +
      `expected ${fmtNumber(r.expected)} (finite differences), got ${fmtNumber(r.got)} (autodiff); ` +
      `relative error ${r.relErr.toExponential(2)} (max|autodiff − finite differences| ${r.absErr.toExponential(2)}, max|finite differences| ${r.scale.toExponential(2)})`;
  });
  return [
    `checkGrads: order-${ord} derivatives of f disagree with central finite differences ` +
      `(float64, eps ${fmtSmall(o.eps)}, tolerance atol ${fmtSmall(o.atol)} + rtol ${fmtSmall(o.rtol)} · max|finite differences|, seed ${o.seed}):`,
    ...lines,
    ...(ord < order ? [`  (orders above ${ord} were not checked)`] : []),
    '  If f uses stopGradient or a custom derivative, its derivatives differ from its value\'s by design: finite differences see only the value.',
  ].join('\n');
}

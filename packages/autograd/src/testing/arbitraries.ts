/**
 * fast-check arbitraries of the engine's inputs: shapes, broadcast-compatible shape pairs, tensors, and
 * Gaussian-MLP parameters. The only module of the library that imports fast-check.
 */
import fc, { type Arbitrary } from 'fast-check';
import { type DType, type Tensor, tensor } from '../index.js';

/** Options of {@link arb}.shape. */
export interface ShapeOptions {
  /** Fewest axes. Default 0 (a scalar shape []). */
  minRank?: number;
  /** Most axes. Default 3. */
  maxRank?: number;
  /** Smallest length of an axis. Default 1 (0 draws empty tensors too). */
  minDim?: number;
  /** Largest length of an axis. Default 3. */
  maxDim?: number;
}

/** Options of {@link arb}.broadcastShapes. */
export interface BroadcastShapesOptions {
  /** Most axes of either shape. Default 3. */
  maxRank?: number;
  /** Largest length of an axis. Default 3. */
  maxDim?: number;
}

/** Options of {@link arb}.tensor. */
export interface TensorOptions {
  /** The shape, or an arbitrary of shapes (e.g. `arb.shape()`). */
  shape: readonly number[] | Arbitrary<readonly number[]>;
  /** Element type. Default 'float64'. */
  dtype?: DType;
  /** Smallest value. Default −1. */
  min?: number;
  /** Largest value. Default 1. */
  max?: number;
  /**
   * Keep every |value| ≥ this (for functions with a kink or pole at 0, like abs or 1/x): values closer to 0
   * are moved to ±this (so `min` and `max` must leave room). Default 0.
   */
  awayFromZero?: number;
}

/** Options of {@link arb}.mlpParams. */
export interface MLPParamsOptions {
  /** Input dimension (a positive integer). */
  obsDim: number;
  /** Output dimension (a positive integer). */
  actDim: number;
  /** Hidden layer widths. Default [4]. */
  hidden?: readonly number[];
  /** Element type. Default 'float64'. */
  dtype?: DType;
  /** Range of the weights and biases. Default [−1, 1]. */
  weights?: readonly [number, number];
  /** Range of log σ. Default [−1, 0.5]. */
  logStd?: readonly [number, number];
}

/**
 * Parameters of a tanh MLP with a state-independent Gaussian log σ: layers i = 1 … L with W [in, out] and
 * b [out], and logStd [actDim]. The structure of @metagrad/rl's GaussianMLPParams (so values of this type
 * are accepted there), built here because @metagrad/autograd does not depend on @metagrad/rl.
 */
export type MLPParams = {
  /** Layers 1 … L, input to output. */
  layers: {
    /** [in, out] weights. */
    W: Tensor;
    /** [out] biases. */
    b: Tensor;
  }[];
  /** [actDim] log σ. */
  logStd: Tensor;
};

const sizeOf = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);

function intOption(fn: string, name: string, v: number, min: number): number {
  if (!Number.isInteger(v) || v < min) throw new Error(`arb.${fn}: ${name} must be an integer ≥ ${min}, got ${String(v)}`);
  return v;
}

function shape(opts: ShapeOptions = {}): Arbitrary<number[]> {
  const { minRank = 0, maxRank = 3, minDim = 1, maxDim = 3 } = opts;
  intOption('shape', 'minRank', minRank, 0);
  intOption('shape', 'minDim', minDim, 0);
  if (intOption('shape', 'maxRank', maxRank, 0) < minRank) throw new Error(`arb.shape: maxRank (${maxRank}) is below minRank (${minRank})`);
  if (intOption('shape', 'maxDim', maxDim, 0) < minDim) throw new Error(`arb.shape: maxDim (${maxDim}) is below minDim (${minDim})`);
  return fc.array(fc.integer({ min: minDim, max: maxDim }), { minLength: minRank, maxLength: maxRank });
}

function broadcastShapes(opts: BroadcastShapesOptions = {}): Arbitrary<[number[], number[]]> {
  const { maxRank = 3, maxDim = 3 } = opts;
  intOption('broadcastShapes', 'maxRank', maxRank, 0);
  intOption('broadcastShapes', 'maxDim', maxDim, 1);
  return fc
    .tuple(shape({ minRank: 0, maxRank, maxDim }), fc.integer({ min: 0, max: maxRank }), fc.array(fc.boolean(), { minLength: maxRank, maxLength: maxRank }), fc.boolean())
    .map(([a, drop, ones, swap]) => {
      const b = a.slice(Math.min(drop, a.length)).map((d, i) => (ones[i] ? 1 : d));
      return swap ? [b, a] : [a, b];
    });
}

function tensorArb(opts: TensorOptions): Arbitrary<Tensor> {
  if (opts === null || typeof opts !== 'object' || opts.shape === undefined) throw new Error('arb.tensor: options { shape, … } are required');
  const { dtype = 'float64', min = -1, max = 1, awayFromZero = 0 } = opts;
  if (!Number.isFinite(min) || !Number.isFinite(max) || !(min <= max)) throw new Error(`arb.tensor: min and max must be finite with min ≤ max, got ${min} and ${max}`);
  if (!(awayFromZero >= 0) || (awayFromZero > max && -awayFromZero < min))
    throw new Error(`arb.tensor: awayFromZero (${awayFromZero}) must be ≥ 0, with ${awayFromZero} or −${awayFromZero} in [${min}, ${max}]`);
  /** |x| < awayFromZero moves to ±awayFromZero, x's sign if that is in range, else the other. */
  const push = (x: number): number => {
    if (Math.abs(x) >= awayFromZero) return x;
    const s = x < 0 || Object.is(x, -0) ? -awayFromZero : awayFromZero;
    return s >= min && s <= max ? s : -s;
  };
  const ofShape = (s: readonly number[]): Arbitrary<Tensor> => {
    const n = sizeOf(s);
    return fc.array(fc.double({ min, max, noNaN: true }), { minLength: n, maxLength: n })
      .map((vs) => tensor(awayFromZero > 0 ? vs.map(push) : vs, [...s], { dtype }));
  };
  return Array.isArray(opts.shape) ? ofShape(opts.shape as readonly number[]) : (opts.shape as Arbitrary<readonly number[]>).chain(ofShape);
}

function mlpParams(opts: MLPParamsOptions): Arbitrary<MLPParams> {
  if (opts === null || typeof opts !== 'object') throw new Error('arb.mlpParams: options { obsDim, actDim, hidden? } are required');
  const { obsDim, actDim, hidden = [4], dtype = 'float64', weights = [-1, 1], logStd = [-1, 0.5] } = opts;
  intOption('mlpParams', 'obsDim', obsDim, 1);
  intOption('mlpParams', 'actDim', actDim, 1);
  hidden.forEach((h, i) => intOption('mlpParams', `hidden[${i}]`, h, 1));
  const sizes = [obsDim, ...hidden, actDim];
  const layers = sizes.slice(1).map((out, i) =>
    fc.record({
      W: tensorArb({ shape: [sizes[i]!, out], dtype, min: weights[0], max: weights[1] }),
      b: tensorArb({ shape: [out], dtype, min: weights[0], max: weights[1] }),
    }));
  return fc.record({ layers: fc.tuple(...layers).map((ls) => [...ls]), logStd: tensorArb({ shape: [actDim], dtype, min: logStd[0], max: logStd[1] }) });
}

/**
 * fast-check arbitraries of the engine's inputs (fast-check is an optional peer dependency of
 * @metagrad/autograd, needed by this subpath only):
 *
 * - `arb.shape({ minRank = 0, maxRank = 3, minDim = 1, maxDim = 3 })`: a shape, number[];
 * - `arb.broadcastShapes({ maxRank = 3, maxDim = 3 })`: a pair of shapes that broadcast together (the second
 *   drops leading axes of the first and sets some axes to 1, then the pair's order may swap);
 * - `arb.tensor({ shape, dtype = 'float64', min = −1, max = 1, awayFromZero = 0 })`: a tensor of a shape (or
 *   of a shape arbitrary), values from fc.double in [min, max] (so they shrink toward simple numbers);
 * - `arb.mlpParams({ obsDim, actDim, hidden = [4], dtype, weights = [−1, 1], logStd = [−1, 0.5] })`: the
 *   parameters of a Gaussian tanh MLP, {@link MLPParams}.
 *
 * ```ts
 * import fc from 'fast-check';
 * import { arb, checkGrads } from '@metagrad/autograd/testing';
 * fc.assert(fc.property(arb.tensor({ shape: arb.shape({ minRank: 1 }) }), (x) => {
 *   checkGrads((t) => t.tanh().logSumExp(-1), [x], { order: 2 });
 * }));
 * ```
 */
export const arb: {
  /** A shape: between minRank and maxRank axes, each of length minDim … maxDim. */
  shape: (opts?: ShapeOptions) => Arbitrary<number[]>;
  /** Two shapes that broadcast together (as NumPy does). */
  broadcastShapes: (opts?: BroadcastShapesOptions) => Arbitrary<[number[], number[]]>;
  /** A tensor of the given shape (or shape arbitrary), dtype and value range. */
  tensor: (opts: TensorOptions) => Arbitrary<Tensor>;
  /** Gaussian tanh-MLP parameters { layers: { W [in, out], b [out] }[], logStd [actDim] }. */
  mlpParams: (opts: MLPParamsOptions) => Arbitrary<MLPParams>;
} = { shape, broadcastShapes, tensor: tensorArb, mlpParams };

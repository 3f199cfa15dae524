/**
 * The reference's Gaussian MLP policy, defined once for the sampler (this package) and the losses
 * (@metagrad/rl's GaussianMLPPolicy and its task-batched meta-objectives): the flat parameter layout and
 * the mean's forward pass, written in @metagrad/autograd tensors so the same code samples (under noGrad)
 * and is differentiated to any order.
 *
 *   π_θ(a|o) = N(a; μ_θ(o), diag σ²),  μ_θ(o) = h_L,  h_0 = o,  h_i = tanh(h_{i−1} W_i + b_i) (i < L),
 *   h_L = h_{L−1} W_L + b_L,  σ = exp(logStd) (state-independent).
 *
 * Flat layout (`flatten` order): W_1 [in, out] row-major, b_1 [out], …, W_L, b_L, logStd [actDim].
 */
import { type Tensor, concat } from '@metagrad/autograd';

/** One dense layer: W [in, out] and b [out], or with a leading task axis W [K, in, out], b [K, out]. */
export interface DenseLayer {
  /** Weights: [in, out], or [K, in, out] task-batched. */
  W: Tensor;
  /** Biases: [out], or [K, out] task-batched. */
  b: Tensor;
}

/** Where each block of a Gaussian MLP's parameters lies in the flat vector. */
export interface GaussianMLPLayout {
  /** Layer widths [obsDim, ...hidden, actDim]. */
  sizes: number[];
  /** W_1, b_1, …, W_L, b_L, logStd, in flat order, each with its shape and offset. */
  blocks: {
    /** 'W1', 'b1', …, 'WL', 'bL', 'logStd'. */
    name: string;
    /** The block's tensor shape ([in, out], [out] or [actDim]). */
    shape: number[];
    /** Index of its first entry in the flat vector. */
    offset: number;
    /** Number of entries (the product of `shape`). */
    size: number;
  }[];
  /** Total number of parameters: Σ (in + 1)·out over layers, plus actDim. */
  numParams: number;
}

/** The flat layout of a Gaussian MLP with these dimensions (see the module comment). */
export function gaussianMLPLayout(obsDim: number, actDim: number, hidden: readonly number[]): GaussianMLPLayout {
  const sizes = [obsDim, ...hidden, actDim];
  const blocks: GaussianMLPLayout['blocks'] = [];
  let offset = 0;
  const add = (name: string, shape: number[]): void => {
    const size = shape.reduce((a, b) => a * b, 1);
    blocks.push({ name, shape, offset, size });
    offset += size;
  };
  for (let i = 0; i + 1 < sizes.length; i++) {
    add(`W${i + 1}`, [sizes[i]!, sizes[i + 1]!]);
    add(`b${i + 1}`, [sizes[i + 1]!]);
  }
  add('logStd', [actDim]);
  return { sizes, blocks, numParams: offset };
}

/** Number of parameters of a Gaussian MLP: Σ (in+1)·out over layers, plus actDim for logStd. */
export function gaussianMLPParamCount(obsDim: number, actDim: number, hidden: readonly number[]): number {
  return gaussianMLPLayout(obsDim, actDim, hidden).numParams;
}

/**
 * μ_θ(x): h_0 = x, h_i = tanh(h_{i−1} W_i + b_i) on hidden layers, μ = h_{L−1} W_L + b_L.
 *
 * x is [M, obsDim] with layers W [in, out], or [K, M, obsDim] with task-batched layers W [K, in, out],
 * b [K, out] (one parameter set per task, batched matmuls). With `augmented`, x carries a trailing
 * column of ones ([..., obsDim + 1]) and the first layer's bias is folded into its matmul, [x, 1]·[W_1;
 * b_1] = x W_1 + b_1, which saves the largest broadcast add of the pass and its backward reduction.
 * Differentiable to any order in the layers (and in x).
 */
export function gaussianMLPMean(layers: readonly DenseLayer[], x: Tensor, augmented = false): Tensor {
  const L = layers.length;
  let h = x;
  layers.forEach(({ W, b }, i) => {
    const row = b.expandDims(-2); // b as one row: [1, out], or [K, 1, out] against h [K, M, out]
    h = augmented && i === 0 ? h.matmul(concat([W, row], -2)) : h.matmul(W).add(row);
    if (i < L - 1) h = h.tanh(); // tanh on hidden layers, linear output
  });
  return h;
}

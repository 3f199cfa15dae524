/**
 * Policies for sampling: a descriptor that can be posted to a worker (kind + flat parameters) and the
 * batched function it compiles to. The Gaussian MLP runs the one forward pass of ../policy/gaussianMLP.ts
 * (the one @metagrad/rl's losses differentiate), under noGrad. Row k of a batch draws its noise from
 * rngs[k] only, and its arithmetic never depends on the other rows (every matmul kernel sums each output
 * over k in the same order whatever the number of rows), so an environment's actions are the same
 * whichever batch (serial, or one worker's share) it is part of.
 */
import { type Rng, noGrad, tensor } from '@metagrad/autograd';
import { gaussianMLPLayout, gaussianMLPMean, gaussianMLPParamCount } from '../policy/gaussianMLP.js';

/**
 * The reference's Gaussian MLP policy: mean = MLP(obs) with tanh hidden layers and a linear output,
 * action = mean + exp(logStd)·ε, ε ~ N(0, I). `params` is flat in @metagrad/rl's
 * GaussianMLPPolicy.flatten order: W_1 [in, out] row-major, b_1, …, W_L, b_L, logStd [actDim].
 */
export interface GaussianMLPSpec {
  /** The descriptor's tag. */
  readonly kind: 'gaussian-mlp';
  /** Observation dimension (must match the env's). */
  readonly obsDim: number;
  /** Action dimension (must match the env's). */
  readonly actDim: number;
  /** Hidden widths, e.g. [64, 64]. */
  readonly hidden: readonly number[];
  /** The flat parameters θ (gaussianMLPParamCount(obsDim, actDim, hidden) finite numbers). */
  readonly params: Float64Array;
}

/** π(a|s) = softmax(θ[s])_a for a discrete state index s; theta [S·A] row-major. */
export interface TabularSoftmaxSpec {
  /** The descriptor's tag. */
  readonly kind: 'tabular-softmax';
  /** Number of states. */
  readonly S: number;
  /** Number of actions. */
  readonly A: number;
  /** [S·A] logits θ[s, a], row-major. */
  readonly theta: Float64Array;
}

/** Actions uniform in [low, high) per coordinate (random-action baselines and benchmarks). */
export interface UniformSpec {
  /** The descriptor's tag. */
  readonly kind: 'uniform';
  /** [actDim] lower bounds. */
  readonly low: Float64Array;
  /** [actDim] upper bounds. */
  readonly high: Float64Array;
}

/** A policy descriptor: plain data, posted as-is to worker threads. */
export type PolicySpec = GaussianMLPSpec | TabularSoftmaxSpec | UniformSpec;

/**
 * A batched policy: obs [n × obsDim] row-major → actions written into out [n × actDim]. Row k must
 * draw its randomness from rngs[k] only (that is what makes the worker sampler equal the serial one).
 */
export type BatchedPolicy = (obs: Float64Array, n: number, rngs: readonly Rng[], out: Float64Array) => void;

export { gaussianMLPParamCount };

const posInt = (v: unknown): boolean => typeof v === 'number' && Number.isInteger(v) && v > 0;

/** Throws a clear error unless the spec is well formed and matches the env's dimensions. */
export function checkPolicySpec(spec: PolicySpec, obsDim: number, actDim: number): void {
  if (spec === null || typeof spec !== 'object') throw new Error('policy: expected a policy spec { kind, ... }');
  switch (spec.kind) {
    case 'gaussian-mlp': {
      if (!posInt(spec.obsDim) || !posInt(spec.actDim) || !Array.isArray(spec.hidden) || !spec.hidden.every(posInt))
        throw new Error('policy gaussian-mlp: obsDim, actDim and hidden widths must be positive integers');
      if (spec.obsDim !== obsDim || spec.actDim !== actDim)
        throw new Error(`policy gaussian-mlp: [obsDim, actDim] = [${spec.obsDim}, ${spec.actDim}] but the env has [${obsDim}, ${actDim}]`);
      const n = gaussianMLPParamCount(spec.obsDim, spec.actDim, spec.hidden);
      if (!(spec.params instanceof Float64Array) || spec.params.length !== n)
        throw new Error(`policy gaussian-mlp: params must be a Float64Array of ${n} numbers (W_1, b_1, …, W_L, b_L, logStd), got ${spec.params?.length}`);
      for (let i = 0; i < n; i++) if (!Number.isFinite(spec.params[i]!)) throw new Error(`policy gaussian-mlp: params[${i}] is ${spec.params[i]}`);
      return;
    }
    case 'tabular-softmax':
      if (!posInt(spec.S) || !posInt(spec.A)) throw new Error('policy tabular-softmax: S and A must be positive integers');
      if (obsDim !== 1 || actDim !== 1) throw new Error('policy tabular-softmax: needs an env with discrete observations and actions');
      if (!(spec.theta instanceof Float64Array) || spec.theta.length !== spec.S * spec.A)
        throw new Error(`policy tabular-softmax: theta must be a Float64Array of S·A = ${spec.S * spec.A} numbers`);
      return;
    case 'uniform':
      if (!(spec.low instanceof Float64Array) || !(spec.high instanceof Float64Array) || spec.low.length !== actDim || spec.high.length !== actDim)
        throw new Error(`policy uniform: low and high must be Float64Arrays of actDim = ${actDim} numbers`);
      return;
    default:
      throw new Error(`policy: unknown kind '${String((spec as { kind?: unknown }).kind)}'; valid kinds: gaussian-mlp, tabular-softmax, uniform`);
  }
}

/** Compiles a spec into its batched forward pass. */
export function batchedPolicy(spec: PolicySpec): BatchedPolicy {
  switch (spec.kind) {
    case 'gaussian-mlp':
      return gaussianMLP(spec);
    case 'tabular-softmax':
      return tabularSoftmax(spec);
    case 'uniform':
      return (_obs, n, rngs, out) => {
        const d = spec.low.length;
        for (let k = 0; k < n; k++) for (let j = 0; j < d; j++) out[k * d + j] = rngs[k]!.uniformIn(spec.low[j]!, spec.high[j]!);
      };
  }
}

/** a = μ_θ(o) + exp(logStd)·ε, ε ~ N(0, I) from rngs[k] for row k; μ by gaussianMLPMean on float64 tensors. */
function gaussianMLP(spec: GaussianMLPSpec): BatchedPolicy {
  const layout = gaussianMLPLayout(spec.obsDim, spec.actDim, spec.hidden);
  const block = (i: number): Float64Array => spec.params.subarray(layout.blocks[i]!.offset, layout.blocks[i]!.offset + layout.blocks[i]!.size);
  const L = layout.sizes.length - 1;
  const layers = Array.from({ length: L }, (_, l) => ({ W: tensor(block(2 * l), layout.blocks[2 * l]!.shape), b: tensor(block(2 * l + 1), layout.blocks[2 * l + 1]!.shape) }));
  // σ by the engine's exp, as the losses compute it (the same bits as rl's policy.std)
  const std = noGrad(() => tensor(block(2 * L), [spec.actDim]).exp()).data;
  const actDim = spec.actDim, obsDim = spec.obsDim;
  return (obs, n, rngs, out) => {
    if (n === 0) return;
    const mean = noGrad(() => gaussianMLPMean(layers, tensor(obs.subarray(0, n * obsDim), [n, obsDim]))).data;
    for (let k = 0; k < n; k++) {
      const rng = rngs[k]!;
      for (let j = 0; j < actDim; j++) out[k * actDim + j] = mean[k * actDim + j]! + std[j]! * rng.normal();
    }
  };
}

/** a ~ softmax(θ[s]) by rngs[k].categorical, s = obs[k]. */
function tabularSoftmax(spec: TabularSoftmaxSpec): BatchedPolicy {
  const { S, A, theta } = spec;
  const p = new Float64Array(A);
  return (obs, n, rngs, out) => {
    for (let k = 0; k < n; k++) {
      const s = obs[k]!;
      if (!Number.isInteger(s) || s < 0 || s >= S) throw new Error(`policy tabular-softmax: observation ${s} is not a state index in [0, ${S})`);
      let m = -Infinity;
      for (let a = 0; a < A; a++) m = Math.max(m, theta[s * A + a]!);
      for (let a = 0; a < A; a++) p[a] = Math.exp(theta[s * A + a]! - m);
      out[k] = rngs[k]!.categorical(p);
    }
  };
}

/**
 * Policies π_θ(a|o) as plain objects of pure functions of their parameters (a pytree of tensors), so
 * that every estimator can differentiate log π, the likelihood ratio and the KL to any order in θ.
 * GaussianMLPPolicy is the ProMP reference's continuous-control policy (tanh MLP mean, state-independent
 * log std); TabularSoftmaxPolicy is the softmax policy π(a|s) = softmax(θ[s])_a of the exact analysis.
 */
import {
  type Params, type Rng, Tensor, noGrad, rand, stopGradient, tensor, treeLeaves, treeMap, zeros, randn, full,
} from '@metagrad/autograd';
import { type GaussianMLPLayout, gaussianMLPLayout, gaussianMLPMean } from '@metagrad/envs/policy';
import { Categorical, DiagGaussian } from './distributions.js';
import { tabularLogProb } from './tabular/exact.js';

const fmt = (s: readonly number[]): string => `[${s.join(', ')}]`;

/** A stochastic policy π_P(a|o) with parameters P (a pytree of tensors). */
export interface Policy<P extends Params> {
  /** Fresh parameters from a seeded Rng. */
  init(rng: Rng): P;
  /**
   * log π_P(a|o) for a batch: obs [..., obsDim] (or [...] state indices for tabular), actions
   * [..., actDim] (or [...] indices). Returns [...].
   */
  logProb(params: P, obs: Tensor, actions: Tensor): Tensor;
  /**
   * KL(π_old(·|o) ‖ π_params(·|o)) per observation, [...]. The old policy is a constant: its parameters
   * are cut from the graph, so derivatives flow through `params` only (kl(θ, θ) has value 0 and, at
   * second order, the Fisher information as its Hessian).
   */
  kl(oldParams: P, params: P, obs: Tensor): Tensor;
  /** Sample actions (noGrad). */
  sample(params: P, obs: Tensor, rng: Rng): Tensor;
  /** Deterministic action (the mean, or the argmax). */
  mode(params: P, obs: Tensor): Tensor;
}

/** Parameters of GaussianMLPPolicy: dense layers (W [in, out], b [out]) and the state-independent log σ [actDim]. */
export type GaussianMLPParams = {
  /** Layers 1 … L, input to output. */
  layers: {
    /** [in, out] weights W_i ([K, in, out] in task-batched TaskParams). */
    W: Tensor;
    /** [out] biases b_i ([K, out] in TaskParams). */
    b: Tensor;
  }[];
  /** [actDim] log σ, state-independent ([K, actDim] in TaskParams). */
  logStd: Tensor;
};

/**
 * The leaves that training moves: all of them, or all but log σ when σ is fixed. log σ is the last leaf
 * in flatten order, so these leaves are a prefix of the flat θ and a gradient over them fills θ's head.
 */
export function trainableLeaves(p: GaussianMLPParams, learnStd = true): Tensor[] {
  const all = treeLeaves(p);
  return learnStd ? all : all.filter((t) => t !== p.logStd);
}

/** Options of GaussianMLPPolicy. */
export interface GaussianMLPOptions {
  /** Observation dimension (a positive integer). */
  obsDim: number;
  /** Action dimension (a positive integer). */
  actDim: number;
  /** Hidden layer widths (tanh). Default [64, 64] (the ProMP reference). */
  hidden?: number[];
  /** Initial log σ of every action dimension. Default 0 (σ = 1). */
  initLogStd?: number;
  /**
   * Whether training moves log σ (default true). False holds σ at exp(initLogStd), the reference's
   * learn_std=False: log σ stays in the parameters (and in `flatten`) but no inner or outer step changes it.
   */
  learnStd?: boolean;
  /** Parameter dtype. Default 'float64'. */
  dtype?: 'float64' | 'float32';
}

function checkPositiveInt(fn: string, name: string, v: unknown): void {
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) throw new Error(`${fn}: ${name} must be a positive integer, got ${String(v)}`);
}

/**
 * Gaussian policy with a tanh-MLP mean and a state-independent diagonal standard deviation:
 * π_θ(a|o) = N(a; μ_θ(o), diag exp(2 logStd)), μ_θ(o) = tanh(…tanh(o W_1 + b_1)…) W_L + b_L.
 * The constructor throws on non-positive or non-integer dimensions, a non-finite initLogStd or an unknown dtype.
 */
export class GaussianMLPPolicy implements Policy<GaussianMLPParams> {
  /** Observation dimension. */
  readonly obsDim: number;
  /** Action dimension. */
  readonly actDim: number;
  /** Hidden layer widths (tanh). */
  readonly hidden: readonly number[];
  /** Initial log σ of every action dimension. */
  readonly initLogStd: number;
  /** See GaussianMLPOptions.learnStd. */
  readonly learnStd: boolean;
  /** Parameter dtype. */
  readonly dtype: 'float64' | 'float32';
  /** Layer widths [obsDim, ...hidden, actDim]. */
  readonly sizes: readonly number[];
  /** Total number of scalar parameters (the length of `flatten`). */
  readonly numParams: number;
  /** The flat layout of the parameters, shared with the samplers (@metagrad/envs/policy). */
  readonly layout: GaussianMLPLayout;

  constructor(opts: GaussianMLPOptions) {
    const fn = 'GaussianMLPPolicy';
    checkPositiveInt(fn, 'obsDim', opts.obsDim);
    checkPositiveInt(fn, 'actDim', opts.actDim);
    const hidden = opts.hidden ?? [64, 64];
    if (!Array.isArray(hidden)) throw new Error(`${fn}: hidden must be an array of layer widths, got ${String(hidden)}`);
    hidden.forEach((h, i) => checkPositiveInt(fn, `hidden[${i}]`, h));
    const initLogStd = opts.initLogStd ?? 0;
    if (!Number.isFinite(initLogStd)) throw new Error(`${fn}: initLogStd must be a finite number, got ${initLogStd}`);
    const dtype = opts.dtype ?? 'float64';
    if (dtype !== 'float64' && dtype !== 'float32') throw new Error(`${fn}: dtype must be 'float64' or 'float32', got '${String(dtype)}'`);
    this.obsDim = opts.obsDim;
    this.actDim = opts.actDim;
    this.hidden = Object.freeze([...hidden]);
    this.initLogStd = initLogStd;
    if (opts.learnStd !== undefined && typeof opts.learnStd !== 'boolean') throw new Error(`${fn}: learnStd must be true or false, got ${String(opts.learnStd)}`);
    this.learnStd = opts.learnStd ?? true;
    this.dtype = dtype;
    this.layout = gaussianMLPLayout(opts.obsDim, opts.actDim, hidden);
    this.sizes = Object.freeze(this.layout.sizes);
    this.numParams = this.layout.numParams;
  }

  /**
   * Fresh parameters: Glorot/Xavier-uniform weights W_i ~ U(−√(6/(in+out)), √(6/(in+out))) drawn layer by
   * layer in row-major order from `rng` (as the reference's tf xavier_initializer), zero biases, and
   * logStd = initLogStd.
   */
  init(rng: Rng): GaussianMLPParams {
    const layers: { W: Tensor; b: Tensor }[] = [];
    for (let i = 0; i + 1 < this.sizes.length; i++) {
      const fanIn = this.sizes[i]!, fanOut = this.sizes[i + 1]!;
      const lim = Math.sqrt(6 / (fanIn + fanOut)); // Glorot-uniform limit √(6/(fan_in + fan_out))
      layers.push({ W: rand([fanIn, fanOut], rng, -lim, lim, { dtype: this.dtype }), b: zeros([fanOut], { dtype: this.dtype }) });
    }
    return { layers, logStd: full([this.actDim], this.initLogStd, { dtype: this.dtype }) };
  }

  /** Throws unless `params` has this policy's structure and shapes. */
  private checkParams(fn: string, params: GaussianMLPParams): void {
    if (params === null || typeof params !== 'object' || !Array.isArray(params.layers))
      throw new Error(`${fn}: params must be { layers: { W, b }[], logStd }`);
    const L = this.sizes.length - 1;
    if (params.layers.length !== L) throw new Error(`${fn}: params have ${params.layers.length} layers, this policy has ${L}`);
    const expect = (name: string, t: unknown, shape: number[]): void => {
      if (!(t instanceof Tensor)) throw new Error(`${fn}: ${name} must be a Tensor`);
      if (t.ndim !== shape.length || t.shape.some((d, i) => d !== shape[i]))
        throw new Error(`${fn}: ${name} has shape ${fmt(t.shape)}, expected ${fmt(shape)}`);
    };
    params.layers.forEach((l, i) => {
      expect(`params.layers[${i}].W`, l.W, [this.sizes[i]!, this.sizes[i + 1]!]);
      expect(`params.layers[${i}].b`, l.b, [this.sizes[i + 1]!]);
    });
    expect('params.logStd', params.logStd, [this.actDim]);
  }

  /** Throws unless obs is [..., obsDim] of the parameters' dtype. */
  private checkObs(fn: string, obs: Tensor, params: GaussianMLPParams): void {
    if (!(obs instanceof Tensor)) throw new Error(`${fn}: obs must be a Tensor`);
    if (obs.ndim === 0 || obs.shape[obs.ndim - 1] !== this.obsDim)
      throw new Error(`${fn}: obs ${fmt(obs.shape)} must be [..., ${this.obsDim}] (obsDim = ${this.obsDim})`);
    const pd = params.logStd.dtype;
    if (obs.dtype !== pd) throw new Error(`${fn}: obs is ${obs.dtype} but the parameters are ${pd}`);
  }

  /** μ_θ(o) = MLP(o): h_0 = o, h_i = tanh(h_{i−1} W_i + b_i) for hidden layers, μ = h_{L−1} W_L + b_L. obs [..., obsDim] → [..., actDim]. */
  mean(params: GaussianMLPParams, obs: Tensor): Tensor {
    this.checkParams('GaussianMLPPolicy.mean', params);
    this.checkObs('GaussianMLPPolicy.mean', obs, params);
    return this.forward(params, obs);
  }

  /** The MLP (the samplers' forward pass, gaussianMLPMean) on validated inputs, leading axes flattened for the matmuls. */
  private forward(params: GaussianMLPParams, obs: Tensor): Tensor {
    const batch = obs.shape.slice(0, -1);
    return gaussianMLPMean(params.layers, obs.reshape([-1, this.obsDim])).reshape([...batch, this.actDim]);
  }

  /** log π_θ(a|o) = log N(a; μ_θ(o), diag σ²), obs [..., obsDim], actions [..., actDim] → [...]. */
  logProb(params: GaussianMLPParams, obs: Tensor, actions: Tensor): Tensor {
    const fn = 'GaussianMLPPolicy.logProb';
    this.checkParams(fn, params);
    this.checkObs(fn, obs, params);
    const want = [...obs.shape.slice(0, -1), this.actDim];
    if (!(actions instanceof Tensor) || actions.ndim !== want.length || actions.shape.some((d, i) => d !== want[i]))
      throw new Error(`${fn}: actions ${actions instanceof Tensor ? fmt(actions.shape) : typeof actions} must be ${fmt(want)} for obs ${fmt(obs.shape)}`);
    return DiagGaussian.logLik(actions, this.forward(params, obs), params.logStd);
  }

  /** KL(π_θo(·|o) ‖ π_θ(·|o)) per observation, [...]; θo is a constant (stopGradient). */
  kl(oldParams: GaussianMLPParams, params: GaussianMLPParams, obs: Tensor): Tensor {
    const fn = 'GaussianMLPPolicy.kl';
    this.checkParams(fn, oldParams);
    this.checkParams(fn, params);
    this.checkObs(fn, obs, params);
    const old = treeMap(stopGradient, oldParams); // ⊥θo
    return DiagGaussian.kl(this.forward(old, obs), old.logStd, this.forward(params, obs), params.logStd);
  }

  /** a = μ_θ(o) + σ·ε, ε ~ N(0, I) from `rng`: [..., actDim] (a constant). */
  sample(params: GaussianMLPParams, obs: Tensor, rng: Rng): Tensor {
    this.checkParams('GaussianMLPPolicy.sample', params);
    this.checkObs('GaussianMLPPolicy.sample', obs, params);
    return noGrad(() => DiagGaussian.sample(this.forward(params, obs), params.logStd, rng));
  }

  /** The deterministic action μ_θ(o), [..., actDim] (a constant). */
  mode(params: GaussianMLPParams, obs: Tensor): Tensor {
    return noGrad(() => this.mean(params, obs));
  }

  /** All parameters as one Float64Array in the layout's order (W_1, b_1, …, W_L, b_L, logStd; also treeLeaves order). */
  flatten(params: GaussianMLPParams): Float64Array {
    this.checkParams('GaussianMLPPolicy.flatten', params);
    const out = new Float64Array(this.numParams);
    const leaves = [...params.layers.flatMap(({ W, b }) => [W, b]), params.logStd];
    this.layout.blocks.forEach(({ offset }, i) => out.set(leaves[i]!.data, offset));
    return out;
  }

  /** The inverse of `flatten`: parameters (of this policy's dtype) from a flat vector of length numParams, in the layout's order. */
  unflatten(flat: Float64Array): GaussianMLPParams {
    if (!(flat instanceof Float64Array) || flat.length !== this.numParams)
      throw new Error(`GaussianMLPPolicy.unflatten: expected a Float64Array of length ${this.numParams}, got ${flat instanceof Float64Array ? `length ${flat.length}` : typeof flat}`);
    const t = this.layout.blocks.map(({ offset, size, shape }) => tensor(flat.subarray(offset, offset + size), shape, { dtype: this.dtype }));
    const L = this.sizes.length - 1;
    return { layers: Array.from({ length: L }, (_, i) => ({ W: t[2 * i]!, b: t[2 * i + 1]! })), logStd: t[2 * L]! };
  }
}

/** Options of TabularSoftmaxPolicy. */
export interface TabularSoftmaxOptions {
  /** init draws θ ~ N(0, initScale²); default 0: θ = 0, the uniform policy. */
  initScale?: number;
}

/** Softmax policy over a finite MDP: params θ [S, A], π(a|s) = softmax(θ[s])_a, the same at every step. */
export class TabularSoftmaxPolicy implements Policy<Tensor> {
  /** Number of states. */
  readonly S: number;
  /** Number of actions. */
  readonly A: number;
  /** Std of init's θ ~ N(0, initScale²) (0: θ = 0). */
  readonly initScale: number;

  constructor(S: number, A: number, opts: TabularSoftmaxOptions = {}) {
    checkPositiveInt('TabularSoftmaxPolicy', 'S', S);
    checkPositiveInt('TabularSoftmaxPolicy', 'A', A);
    const scale = opts.initScale ?? 0;
    if (!Number.isFinite(scale) || scale < 0) throw new Error(`TabularSoftmaxPolicy: initScale must be a finite number ≥ 0, got ${scale}`);
    this.S = S;
    this.A = A;
    this.initScale = scale;
  }

  /** θ = 0 (uniform policy), or θ ~ N(0, initScale²) row-major from `rng` when initScale > 0. Float64 [S, A]. */
  init(rng: Rng): Tensor {
    return this.initScale > 0 ? randn([this.S, this.A], rng).mul(this.initScale).detach() : zeros([this.S, this.A]);
  }

  private checkTheta(fn: string, theta: Tensor): void {
    if (!(theta instanceof Tensor) || theta.ndim !== 2 || theta.shape[0] !== this.S || theta.shape[1] !== this.A)
      throw new Error(`${fn}: theta ${theta instanceof Tensor ? fmt(theta.shape) : typeof theta} must be [${this.S}, ${this.A}]`);
  }

  /** Throws unless t holds integers in [0, n). */
  private checkIndices(fn: string, name: string, t: Tensor, n: number): void {
    if (!(t instanceof Tensor)) throw new Error(`${fn}: ${name} must be a Tensor of indices`);
    const d = t.data;
    for (let i = 0; i < d.length; i++) {
      const v = d[i]!;
      if (!Number.isInteger(v) || v < 0 || v >= n) throw new Error(`${fn}: ${name} ${v} at flat index ${i} is not an integer in [0, ${n})`);
    }
  }

  /** log π(a|s) = θ[s, a] − log Σ_a' exp θ[s, a'], obs (states) and actions [...] → [...]. */
  logProb(theta: Tensor, obs: Tensor, actions: Tensor): Tensor {
    const fn = 'TabularSoftmaxPolicy.logProb';
    this.checkTheta(fn, theta);
    this.checkIndices(fn, 'state', obs, this.S);
    this.checkIndices(fn, 'action', actions, this.A);
    if (obs.ndim !== actions.ndim || obs.shape.some((d, i) => d !== actions.shape[i]))
      throw new Error(`${fn}: obs ${fmt(obs.shape)} and actions ${fmt(actions.shape)} differ`);
    return tabularLogProb(theta, obs, actions);
  }

  /** KL(π_θo(·|s) ‖ π_θ(·|s)) per state in obs, [...]; θo is a constant (stopGradient). */
  kl(oldTheta: Tensor, theta: Tensor, obs: Tensor): Tensor {
    const fn = 'TabularSoftmaxPolicy.kl';
    this.checkTheta(fn, oldTheta);
    this.checkTheta(fn, theta);
    this.checkIndices(fn, 'state', obs, this.S);
    const perState = Categorical.kl(stopGradient(oldTheta), theta); // [S]
    return perState.gather(Int32Array.from(obs.data), 0).reshape([...obs.shape]);
  }

  /** a ~ softmax(θ[s]) for each state s in obs, drawn in row-major order from `rng`: [...] (a constant). */
  sample(theta: Tensor, obs: Tensor, rng: Rng): Tensor {
    const fn = 'TabularSoftmaxPolicy.sample';
    this.checkTheta(fn, theta);
    this.checkIndices(fn, 'state', obs, this.S);
    const p = noGrad(() => theta.softmax(-1)).data;
    const out = new Float64Array(obs.size);
    for (let i = 0; i < out.length; i++) {
      const s = obs.data[i]!;
      out[i] = rng.categorical(p.subarray(s * this.A, (s + 1) * this.A));
    }
    return tensor(out, [...obs.shape]);
  }

  /** argmax_a θ[s, a] for each state s in obs (the first on ties): [...] (a constant). */
  mode(theta: Tensor, obs: Tensor): Tensor {
    const fn = 'TabularSoftmaxPolicy.mode';
    this.checkTheta(fn, theta);
    this.checkIndices(fn, 'state', obs, this.S);
    const th = theta.data;
    const out = new Float64Array(obs.size);
    for (let i = 0; i < out.length; i++) {
      const s = obs.data[i]!;
      let best = 0;
      for (let a = 1; a < this.A; a++) if (th[s * this.A + a]! > th[s * this.A + best]!) best = a;
      out[i] = best;
    }
    return tensor(out, [...obs.shape]);
  }
}

/**
 * Optimizers over flat parameter vectors (and pytrees through `flattenTree` / `unflattenTree`): Adam as
 * the reference's tf.train.AdamOptimizer computes it, with a JSON-safe state so that a checkpointed run
 * resumes bit for bit.
 */
import { type Params, type Tensor, tensor, treeLeaves, treeUnflatten } from '@metagrad/autograd';

/** Tensors concatenated into one float64 vector (float32 values are exact in float64). */
export function flatOf(ts: readonly Tensor[]): Float64Array {
  const out = new Float64Array(ts.reduce((s, t) => s + t.size, 0));
  let o = 0;
  for (const t of ts) {
    out.set(t.data, o);
    o += t.size;
  }
  return out;
}

/** The inverse of flatOf: fresh tensors shaped like `like`, with its dtypes (reads the head of `flat`). */
export function splitLike(flat: Float64Array, like: readonly Tensor[]): Tensor[] {
  let o = 0;
  return like.map((t) => {
    const r = tensor(flat.subarray(o, o + t.size), [...t.shape], { dtype: t.dtype });
    o += t.size;
    return r;
  });
}

/** All leaves of a pytree, concatenated in treeLeaves order, as float64. */
export function flattenTree(p: Params): Float64Array {
  return flatOf(treeLeaves(p));
}

/** The inverse of flattenTree: fresh leaf tensors of `like`'s shapes and dtypes (values rounded to float32 where `like` is float32). */
export function unflattenTree<P extends Params>(like: P, flat: Float64Array): P {
  const leaves = treeLeaves(like);
  const n = leaves.reduce((s, t) => s + t.size, 0);
  if (flat.length !== n) throw new Error(`unflattenTree: ${flat.length} numbers for a pytree of ${n}`);
  return treeUnflatten(like, splitLike(flat, leaves));
}

/** Options of Adam (the defaults are tf.train.AdamOptimizer's). */
export interface AdamOptions {
  /** Step size α. */
  lr: number;
  /** β1, default 0.9. */
  beta1?: number;
  /** β2, default 0.999. */
  beta2?: number;
  /** ε̂, default 1e-8. */
  eps?: number;
}

/** Adam's state, JSON-safe (plain numbers; float64 values survive JSON exactly). */
export interface AdamState {
  /** Steps taken. */
  t: number;
  /** First moment estimate m, one entry per parameter. */
  m: number[];
  /** Second moment estimate v, one entry per parameter. */
  v: number[];
}

/**
 * Adam (Kingma & Ba) in TensorFlow's form, minimizing: with g the gradient of the loss,
 *   m ← β1 m + (1−β1) g,  v ← β2 v + (1−β2) g²,  α_t = α √(1−β2ᵗ)/(1−β1ᵗ),  θ ← θ − α_t m / (√v + ε̂).
 */
export class Adam {
  /** Number of parameters. */
  readonly n: number;
  /** Step size α. */
  readonly lr: number;
  /** β1. */
  readonly beta1: number;
  /** β2. */
  readonly beta2: number;
  /** ε̂. */
  readonly eps: number;
  private t = 0;
  private readonly m: Float64Array;
  private readonly v: Float64Array;

  constructor(n: number, opts: AdamOptions) {
    if (!Number.isInteger(n) || n < 1) throw new Error(`Adam: the parameter count must be a positive integer, got ${n}`);
    if (!(opts.lr > 0) || !Number.isFinite(opts.lr)) throw new Error(`Adam: lr must be a positive finite number, got ${opts.lr}`);
    this.n = n;
    this.lr = opts.lr;
    this.beta1 = opts.beta1 ?? 0.9;
    this.beta2 = opts.beta2 ?? 0.999;
    this.eps = opts.eps ?? 1e-8;
    this.m = new Float64Array(n);
    this.v = new Float64Array(n);
  }

  /** Steps taken so far. */
  get steps(): number {
    return this.t;
  }

  /** One descent step on `theta` (in place) along the loss gradient `g`. */
  step(theta: Float64Array, g: Float64Array): void {
    if (theta.length !== this.n || g.length !== this.n) throw new Error(`Adam.step: expected vectors of length ${this.n}, got ${theta.length} and ${g.length}`);
    this.t += 1;
    const { beta1: b1, beta2: b2, eps, m, v } = this;
    const lrT = (this.lr * Math.sqrt(1 - b2 ** this.t)) / (1 - b1 ** this.t); // α √(1−β2ᵗ)/(1−β1ᵗ)
    for (let i = 0; i < this.n; i++) {
      const gi = g[i]!;
      m[i] = b1 * m[i]! + (1 - b1) * gi;
      v[i] = b2 * v[i]! + (1 - b2) * gi * gi;
      theta[i] = theta[i]! - (lrT * m[i]!) / (Math.sqrt(v[i]!) + eps);
    }
  }

  /** The state for a checkpoint. */
  state(): AdamState {
    return { t: this.t, m: Array.from(this.m), v: Array.from(this.v) };
  }

  /** Restores `state()` (same parameter count). */
  restore(s: AdamState): void {
    if (!s || !Array.isArray(s.m) || !Array.isArray(s.v) || s.m.length !== this.n || s.v.length !== this.n || !Number.isInteger(s.t) || s.t < 0)
      throw new Error(`Adam.restore: expected { t, m, v } with m and v of length ${this.n}`);
    this.t = s.t;
    this.m.set(s.m);
    this.v.set(s.v);
  }
}

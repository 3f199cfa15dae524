/**
 * Action distributions as pure functions over tensors: the diagonal Gaussian of the continuous-control
 * policies and the categorical (softmax) distribution of the tabular ones. Every function that returns
 * a differentiable tensor is built from engine ops only, so its derivatives of every order (the
 * estimators' Hessians, the Fisher-vector products of TRPO) come from the engine's primitive rules.
 * Samplers run in `noGrad`: their results are constants.
 */
import { type Rng, type Tensor, noGrad, randn, tensor } from '@metagrad/autograd';

const HALF_LOG_2PI = 0.5 * Math.log(2 * Math.PI);
const HALF_LOG_2PI_E = 0.5 * Math.log(2 * Math.PI * Math.E);

const fmt = (s: readonly number[]): string => `[${s.join(', ')}]`;

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Throws unless `t` has at least one axis (the event axis). */
function checkRank1(fn: string, name: string, t: Tensor): void {
  if (t.ndim === 0) throw new Error(`${fn}: ${name} must have at least one axis (the last is the event axis), got shape []`);
}

/** Throws unless a and b have the same shape. */
function checkSame(fn: string, aName: string, a: Tensor, bName: string, b: Tensor): void {
  if (!sameShape(a.shape, b.shape)) throw new Error(`${fn}: ${aName} ${fmt(a.shape)} and ${bName} ${fmt(b.shape)} differ`);
}

/** Throws unless all tensors have one dtype. */
function checkDtypes(fn: string, named: [string, Tensor][]): void {
  const d0 = named[0]![1].dtype;
  if (named.some(([, t]) => t.dtype !== d0))
    throw new Error(`${fn}: dtypes differ: ${named.map(([n, t]) => `${n} ${t.dtype}`).join(', ')}`);
}

/** Throws unless logStd is [D] or [..., D] and broadcasts to the shape of `mean` ([..., D]) without growing it. */
function checkLogStd(fn: string, name: string, logStd: Tensor, meanName: string, mean: Tensor): void {
  const D = mean.shape[mean.ndim - 1]!;
  const ok =
    logStd.ndim >= 1 &&
    logStd.ndim <= mean.ndim &&
    logStd.shape.every((d, i) => d === mean.shape[mean.ndim - logStd.ndim + i] || (d === 1 && i < logStd.ndim - 1));
  if (!ok) throw new Error(`${fn}: ${name} ${fmt(logStd.shape)} does not broadcast to ${meanName} ${fmt(mean.shape)} (expected [${D}] or [..., ${D}])`);
}

/** Diagonal Gaussian N(μ, diag σ²) parameterized by its mean μ [..., D] and log standard deviation log σ ([D] or [..., D]). */
export const DiagGaussian = {
  /**
   * log N(x; μ, diag σ²) summed over the last axis: Σ_d [−½((x_d−μ_d)/σ_d)² − log σ_d − ½ log 2π].
   * x, mean: [..., D]; logStd: [D] or [..., D] (broadcast). Returns [...].
   */
  logLik(x: Tensor, mean: Tensor, logStd: Tensor): Tensor {
    const fn = 'DiagGaussian.logLik';
    checkRank1(fn, 'x', x);
    checkSame(fn, 'x', x, 'mean', mean);
    checkLogStd(fn, 'logStd', logStd, 'mean', mean);
    checkDtypes(fn, [['x', x], ['mean', mean], ['logStd', logStd]]);
    const z = x.sub(mean).mul(logStd.neg().exp()); // z = (x − μ)/σ
    return z.square().mul(-0.5).sub(logStd).sub(HALF_LOG_2PI).sum(-1); // Σ_d −½z² − log σ − ½ log 2π
  },

  /** π_new(x)/π_old(x) = exp(log N(x; μ, σ²) − log N(x; μ_old, σ_old²)), [...]. */
  likelihoodRatio(x: Tensor, mean: Tensor, logStd: Tensor, meanOld: Tensor, logStdOld: Tensor): Tensor {
    return DiagGaussian.logLik(x, mean, logStd).sub(DiagGaussian.logLik(x, meanOld, logStdOld)).exp();
  },

  /**
   * KL(N(μ0, σ0²) ‖ N(μ1, σ1²)) summed over the last axis:
   * Σ_d [log σ1/σ0 + (σ0² + (μ0−μ1)²)/(2σ1²) − ½]. Means [..., D]; log stds [D] or [..., D]. Returns [...].
   */
  kl(mean0: Tensor, logStd0: Tensor, mean1: Tensor, logStd1: Tensor): Tensor {
    const fn = 'DiagGaussian.kl';
    checkRank1(fn, 'mean0', mean0);
    checkSame(fn, 'mean0', mean0, 'mean1', mean1);
    checkLogStd(fn, 'logStd0', logStd0, 'mean0', mean0);
    checkLogStd(fn, 'logStd1', logStd1, 'mean1', mean1);
    checkDtypes(fn, [['mean0', mean0], ['logStd0', logStd0], ['mean1', mean1], ['logStd1', logStd1]]);
    const varRatio = logStd0.sub(logStd1).mul(2).exp(); // σ0²/σ1²
    const zMean = mean0.sub(mean1).mul(logStd1.neg().exp()); // (μ0 − μ1)/σ1
    // Σ_d ½σ0²/σ1² + ½((μ0−μ1)/σ1)² + log σ1 − log σ0 − ½   (each term broadcast to mean's shape)
    return zMean.square().add(varRatio).mul(0.5).add(logStd1.sub(logStd0)).sub(0.5).sum(-1);
  },

  /**
   * Differential entropy Σ_d (log σ_d + ½ log 2πe). logStd [D] gives [] (or `batchShape` when given,
   * broadcast); logStd [..., D] gives [...] (broadcast to `batchShape` when given).
   */
  entropy(logStd: Tensor, batchShape?: readonly number[]): Tensor {
    const fn = 'DiagGaussian.entropy';
    checkRank1(fn, 'logStd', logStd);
    const h = logStd.add(HALF_LOG_2PI_E).sum(-1); // Σ_d log σ + ½ log 2πe
    if (batchShape === undefined) return h;
    const lead = logStd.shape.slice(0, -1);
    const fits = lead.length <= batchShape.length && lead.every((d, i) => d === 1 || d === batchShape[batchShape.length - lead.length + i]);
    if (!fits) throw new Error(`${fn}: logStd ${fmt(logStd.shape)} does not broadcast to the batch shape ${fmt(batchShape)}`);
    return h.broadcastTo(batchShape);
  },

  /** x = μ + σ·ε with ε ~ N(0, I) drawn row-major from `rng`; shape of mean; a constant (runs in noGrad). */
  sample(mean: Tensor, logStd: Tensor, rng: Rng): Tensor {
    const fn = 'DiagGaussian.sample';
    checkRank1(fn, 'mean', mean);
    checkLogStd(fn, 'logStd', logStd, 'mean', mean);
    checkDtypes(fn, [['mean', mean], ['logStd', logStd]]);
    return noGrad(() => mean.add(logStd.exp().mul(randn([...mean.shape], rng, { dtype: mean.dtype })))); // μ + σε
  },
};

/** Throws unless `actions` holds integers in [0, A) and has the batch shape of `logits`. */
function checkActions(fn: string, logits: Tensor, actions: Tensor): void {
  const batch = logits.shape.slice(0, -1);
  if (!sameShape(actions.shape, batch))
    throw new Error(`${fn}: actions ${fmt(actions.shape)} must have the batch shape ${fmt(batch)} of logits ${fmt(logits.shape)}`);
  const A = logits.shape[logits.ndim - 1]!;
  const d = actions.data;
  for (let i = 0; i < d.length; i++) {
    const a = d[i]!;
    if (!Number.isInteger(a) || a < 0 || a >= A) throw new Error(`${fn}: action ${a} at flat index ${i} is not an integer in [0, ${A})`);
  }
}

/** Categorical distribution p = softmax(logits) over the last axis of logits [..., A]. */
export const Categorical = {
  /** log p(a) = log softmax(logits)[a] over the last axis. logits [..., A], actions [...] (integer-valued floats). Returns [...]. */
  logProb(logits: Tensor, actions: Tensor): Tensor {
    const fn = 'Categorical.logProb';
    checkRank1(fn, 'logits', logits);
    checkActions(fn, logits, actions);
    const idx = actions.reshape([...actions.shape, 1]); // take-along-axis indices [..., 1]
    return logits.logSoftmax(-1).gather(idx, -1).reshape([...actions.shape]); // log softmax(l)[a]
  },

  /** KL(p0 ‖ p1) = Σ_a p0(a) (log p0(a) − log p1(a)) over the last axis. logits0, logits1 [..., A]. Returns [...]. */
  kl(logits0: Tensor, logits1: Tensor): Tensor {
    const fn = 'Categorical.kl';
    checkRank1(fn, 'logits0', logits0);
    checkSame(fn, 'logits0', logits0, 'logits1', logits1);
    checkDtypes(fn, [['logits0', logits0], ['logits1', logits1]]);
    const logp0 = logits0.logSoftmax(-1);
    return logp0.exp().mul(logp0.sub(logits1.logSoftmax(-1))).sum(-1); // Σ_a p0 (log p0 − log p1)
  },

  /** Entropy −Σ_a p(a) log p(a) over the last axis. logits [..., A]. Returns [...]. */
  entropy(logits: Tensor): Tensor {
    checkRank1('Categorical.entropy', 'logits', logits);
    const logp = logits.logSoftmax(-1);
    return logp.exp().mul(logp).sum(-1).neg(); // −Σ_a p log p
  },

  /** a ~ softmax(logits) per row, drawn in row-major order from `rng`: integer-valued float tensor [...] (a constant). */
  sample(logits: Tensor, rng: Rng): Tensor {
    checkRank1('Categorical.sample', 'logits', logits);
    const A = logits.shape[logits.ndim - 1]!;
    if (A === 0) throw new Error(`Categorical.sample: logits ${fmt(logits.shape)} have no categories`);
    const p = noGrad(() => logits.softmax(-1)).data;
    const n = p.length / A;
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) out[i] = rng.categorical(p.subarray(i * A, (i + 1) * A));
    return tensor(out, logits.shape.slice(0, -1), { dtype: logits.dtype });
  },
};

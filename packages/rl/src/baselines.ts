/**
 * Return baselines of the reference (meta_policy_search/baselines/linear_baseline.py), fitted per task
 * on that task's paths by regularized least squares:
 *   c = argmin ‖X c − y‖² + reg‖c‖²,  i.e. (XᵀX + reg·I) c = Xᵀy,
 * with reg = 1e-5 raised ×10 (at most 5 tries) while the solve fails or gives a non-finite c.
 *   LinearFeatureBaseline: x_t = [clip(o_t, ±10), clip(o_t, ±10)², t/100, (t/100)², (t/100)³, 1]
 *   LinearTimeBaseline:    x_t = [t/100, (t/100)², (t/100)³, 1]   (the DiCE reward baseline)
 * Paths live in a sampler batch's rows of H steps: path j has lengths[j] steps from flat step index
 * starts[j] (default j·H: path j is row j), and t counts from the path's start.
 */
import { matmul, noGrad, tensor } from '@metagrad/autograd';

/** The paths a baseline reads: the observations in rows of H steps, each path's first step and length. */
export interface PathsView {
  /** [nRows, H, obsDim] observations, row-major. */
  readonly obs: Float64Array;
  /** Observation dimension. */
  readonly obsDim: number;
  /** Padded trajectory length H. */
  readonly horizon: number;
  /** [nTraj] valid steps of each trajectory. */
  readonly lengths: Int32Array;
  /** [nTraj] flat step index of each path's first step; default j·H. */
  readonly starts?: Int32Array;
}

/** Flat step index of path j's first step. */
function pathStart(p: PathsView, j: number): number {
  return p.starts ? p.starts[j]! : j * p.horizon;
}

/** Which features: the state-time features (LinearFeatureBaseline) or time only (LinearTimeBaseline). */
export type BaselineFeatures = 'obs-time' | 'time';

/** Dense features above this many use the engine's matmul for XᵀX instead of plain loops. */
const MATMUL_FEATURES = 64;

/** A linear baseline b(s_t, t) = x_tᵀ c (see the module comment). */
export class LinearBaseline {
  /** Which features x_t. */
  readonly features: BaselineFeatures;
  /** The initial ridge coefficient reg (raised ×10 while the solve fails). */
  readonly regCoeff: number;
  /** The fitted coefficients (null before `fit`: predictions are 0, as the reference's). */
  coeffs: Float64Array | null = null;

  constructor(features: BaselineFeatures = 'obs-time', regCoeff = 1e-5) {
    if (!(regCoeff > 0)) throw new Error(`LinearBaseline: regCoeff must be positive, got ${regCoeff}`);
    this.features = features;
    this.regCoeff = regCoeff;
  }

  /** Number of features for an observation dimension. */
  featureDim(obsDim: number): number {
    return this.features === 'time' ? 4 : 2 * obsDim + 4;
  }

  /** Writes x_t of trajectory j, step t into out[o .. o + D). */
  private featuresAt(p: PathsView, j: number, t: number, out: Float64Array, o: number): void {
    let k = o;
    if (this.features === 'obs-time') {
      const base = (pathStart(p, j) + t) * p.obsDim;
      for (let i = 0; i < p.obsDim; i++) out[k++] = Math.min(Math.max(p.obs[base + i]!, -10), 10);
      for (let i = 0; i < p.obsDim; i++) {
        const x = Math.min(Math.max(p.obs[base + i]!, -10), 10);
        out[k++] = x * x;
      }
    }
    const s = t / 100;
    out[k++] = s;
    out[k++] = s * s;
    out[k++] = s * s * s;
    out[k] = 1;
  }

  /**
   * Fits c on the valid steps of trajectories [start, end) against `target` (per step, in the batch's
   * [nRows, H] layout): (XᵀX + reg·I) c = Xᵀy.
   */
  fit(p: PathsView, start: number, end: number, target: Float64Array): void {
    const D = this.featureDim(p.obsDim);
    let n = 0;
    for (let j = start; j < end; j++) n += p.lengths[j]!;
    const X = new Float64Array(n * D);
    const y = new Float64Array(n);
    let r = 0;
    for (let j = start; j < end; j++)
      for (let t = 0; t < p.lengths[j]!; t++, r++) {
        this.featuresAt(p, j, t, X, r * D);
        y[r] = target[pathStart(p, j) + t]!;
      }
    // XᵀX and Xᵀy
    const XtX = new Float64Array(D * D);
    const Xty = new Float64Array(D);
    for (let i = 0; i < n; i++) {
      const yi = y[i]!;
      for (let a = 0; a < D; a++) Xty[a]! += X[i * D + a]! * yi;
    }
    if (D > MATMUL_FEATURES && n > 0) {
      const Xt = noGrad(() => tensor(X, [n, D]));
      XtX.set(noGrad(() => matmul(Xt.T, Xt)).data);
    } else {
      for (let i = 0; i < n; i++) {
        const o = i * D;
        for (let a = 0; a < D; a++) {
          const xa = X[o + a]!;
          if (xa === 0) continue;
          for (let b = a; b < D; b++) XtX[a * D + b]! += xa * X[o + b]!;
        }
      }
      for (let a = 0; a < D; a++) for (let b = 0; b < a; b++) XtX[a * D + b] = XtX[b * D + a]!;
    }
    let reg = this.regCoeff;
    for (let attempt = 0; attempt < 5; attempt++, reg *= 10) {
      const c = choleskySolve(XtX, Xty, D, reg);
      if (c) {
        this.coeffs = c;
        return;
      }
    }
    this.coeffs = new Float64Array(D); // every solve failed (non-finite data): a zero baseline
  }

  /**
   * b_t = x_tᵀ c for the steps of path j, written into out[start + t] (0 before `fit`); with the default
   * starts (path j = row j) the row's padding is set to 0 too.
   */
  predict(p: PathsView, j: number, out: Float64Array): void {
    const D = this.featureDim(p.obsDim);
    const x = new Float64Array(D);
    const start = pathStart(p, j), steps = p.starts ? p.lengths[j]! : p.horizon;
    for (let t = 0; t < steps; t++) {
      if (t >= p.lengths[j]! || !this.coeffs) {
        out[start + t] = 0;
        continue;
      }
      this.featuresAt(p, j, t, x, 0);
      let s = 0;
      for (let a = 0; a < D; a++) s += x[a]! * this.coeffs[a]!;
      out[start + t] = s;
    }
  }
}

/** LinearFeatureBaseline (Duan et al. 2016): the state-time features, reg 1e-5. */
export class LinearFeatureBaseline extends LinearBaseline {
  constructor(regCoeff = 1e-5) {
    super('obs-time', regCoeff);
  }
}

/** LinearTimeBaseline: the time features only (the reference's DiCE reward baseline). */
export class LinearTimeBaseline extends LinearBaseline {
  constructor(regCoeff = 1e-5) {
    super('time', regCoeff);
  }
}

/** Solves (A + reg·I) x = b by Cholesky; null when A + reg·I is not numerically positive definite or x is not finite. */
export function choleskySolve(A: Float64Array, b: Float64Array, D: number, reg: number): Float64Array | null {
  const L = new Float64Array(D * D);
  for (let i = 0; i < D; i++) {
    for (let j = 0; j <= i; j++) {
      let s = A[i * D + j]! + (i === j ? reg : 0);
      for (let k = 0; k < j; k++) s -= L[i * D + k]! * L[j * D + k]!;
      if (i === j) {
        if (!(s > 0)) return null;
        L[i * D + i] = Math.sqrt(s);
      } else L[i * D + j] = s / L[j * D + j]!;
    }
  }
  const z = new Float64Array(D);
  for (let i = 0; i < D; i++) {
    let s = b[i]!;
    for (let k = 0; k < i; k++) s -= L[i * D + k]! * z[k]!;
    z[i] = s / L[i * D + i]!;
  }
  const x = new Float64Array(D);
  for (let i = D - 1; i >= 0; i--) {
    let s = z[i]!;
    for (let k = i + 1; k < D; k++) s -= L[k * D + i]! * x[k]!;
    x[i] = s / L[i * D + i]!;
  }
  for (let i = 0; i < D; i++) if (!Number.isFinite(x[i]!)) return null;
  return x;
}

/** The messages between the page and the engine's Web Worker (plain data both ways). */
import type { TabularSpec } from '@metagrad/rl/tabular';

/** What the page asks the worker. */
export type Request =
  | { id: number; type: 'analyze'; mdp: TabularSpec; theta: number[] }
  | { id: number; type: 'variance'; mdp: TabularSpec; theta: number[]; batchSizes: number[]; repeats: number; nPost: number; alpha: number; seed: number }
  | { id: number; type: 'engine'; sizes: number[] };

/** The exact analysis at θ (flat [S·A, S·A] matrices, row-major) and the summaries the panel shows. */
export interface Analysis {
  S: number;
  A: number;
  J: number;
  grad: number[];
  hessian: number[];
  H1: number[];
  H2: number[];
  H12: number[];
  diceHessianMean: number[];
  lvcHessianMean: number[];
  /** ‖H1 + H2 + H12 + H12ᵀ − ∇²J‖ / ‖∇²J‖ (∇²J by automatic differentiation of J). */
  residual: number;
  /** ‖E[∇²J^LVC] − ∇²J‖ / ‖∇²J‖. */
  lvcBias: number;
  /** ‖E[∇²J^DiCE] − ∇²J‖ / ‖∇²J‖ (unbiased: rounding only). */
  diceBias: number;
  /** Σ Var[∇²J^DiCE] / Σ Var[∇²J^LVC]: per trajectory, over the Hessian's entries. */
  varianceRatio: number;
  /** Trajectories enumerated. */
  trajectories: number;
  /** Milliseconds the worker took. */
  ms: number;
}

/** One row of the variance experiment. */
export interface VarianceRow {
  estimator: 'dice' | 'lvc';
  nPre: number;
  relStd: number;
}

/** The engine panel's measurements. */
export interface EngineReport {
  /** gpu.js's live mode (webgl2, webgl, webgpu, webasm or cpu), or 'none'. */
  mode: string;
  isGpu: boolean;
  software: boolean;
  renderer: string | null;
  reason: string;
  /** backendReport().float32 with gpu.js installed. */
  float32: string;
  cpuKernel: string;
  rows: { n: number; cpuGflops: number; gpujsGflops: number | null; maxRelDiff: number | null; cpuMs: number; gpujsMs: number | null }[];
}

/** What the worker answers. */
export type Reply =
  | { id: number; type: 'progress'; done: number; total: number }
  | { id: number; type: 'result'; result: unknown }
  | { id: number; type: 'error'; message: string };

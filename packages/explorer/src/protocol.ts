/** The messages between the page and the engine's Web Worker (plain data both ways). */
import type { TabularSpec } from '@metagrad/rl/tabular';
import type { ExplorePanel } from '../../cli/src/report/exploration.js';

/** What the page asks the worker. */
export type Request =
  | { id: number; type: 'analyze'; mdp: TabularSpec; theta: number[] }
  | { id: number; type: 'variance'; mdp: TabularSpec; theta: number[]; batchSizes: number[]; repeats: number; nPost: number; alpha: number; seed: number }
  | { id: number; type: 'engine'; sizes: number[] }
  | { id: number; type: 'train'; config: Record<string, unknown>; evalTasks: number; evalSeed: number }
  | { id: number; type: 'evaluate'; config: Record<string, unknown>; checkpoint: unknown; evalTasks: number; evalSeed: number };

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
  /** Which function of @metagrad/rl/tabular computed it. */
  method: 'exactAnalysis' | 'exactSummary';
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

/** The adaptation panel's answer: training's returns (when trained here) and an evaluation on fresh tasks. */
export interface Adaptation {
  /** Per training iteration: environment steps so far and the average return before and after adaptation. */
  records: { iteration: number; envSteps: number; pre: number; post: number }[];
  /** evaluate()'s average returns at inner steps 0 … S over the fresh tasks. */
  evalReturns: number[];
  /** The fresh task with the median post-update return, for the trajectory plot. */
  panel: ExplorePanel;
  /** The config that ran (resolved), for the caption. */
  config: Record<string, unknown>;
  seconds: number;
}

/** What the worker answers. */
export type Reply =
  | { id: number; type: 'progress'; done: number; total: number; text?: string }
  | { id: number; type: 'result'; result: unknown }
  | { id: number; type: 'error'; message: string };

/**
 * The meta-environment interface shared by every task in @metagrad/envs: the reference's MetaEnv
 * (sample_tasks, set_task, reset, step) with explicit spaces, a horizon, a seeded Rng passed in
 * wherever randomness is drawn, and typed-array observations.
 */
import type { Rng } from '@metagrad/autograd';

/** A box of real vectors: low[i] ≤ x[i] ≤ high[i] (±Infinity for unbounded), `shape` = [dim]. */
export interface BoxSpace {
  /** Tags the union {@link Space}. */
  readonly kind: 'box';
  /** The tuple [dim], dim being the number of coordinates. */
  readonly shape: readonly [number];
  /** Lower bound of each coordinate [dim] (−Infinity when unbounded). */
  readonly low: Float64Array;
  /** Upper bound of each coordinate [dim] (Infinity when unbounded). */
  readonly high: Float64Array;
}

/** The integers 0 … n−1 (stored as a 1-vector holding the index, so the sampler's arrays stay uniform). */
export interface DiscreteSpace {
  /** Tags the union {@link Space}. */
  readonly kind: 'discrete';
  /** The number of values. */
  readonly n: number;
}

/** An observation or action space. */
export type Space = BoxSpace | DiscreteSpace;

/** A box space over `dim` coordinates with the given bounds (numbers broadcast to every coordinate). */
export function boxSpace(dim: number, low: number | ArrayLike<number>, high: number | ArrayLike<number>): BoxSpace {
  const lo = typeof low === 'number' ? new Float64Array(dim).fill(low) : Float64Array.from(low);
  const hi = typeof high === 'number' ? new Float64Array(dim).fill(high) : Float64Array.from(high);
  if (lo.length !== dim || hi.length !== dim) throw new Error(`boxSpace: bounds must have ${dim} entries`);
  return Object.freeze({ kind: 'box', shape: Object.freeze([dim]) as readonly [number], low: lo, high: hi });
}

/** The discrete space {0, …, n−1}. */
export function discreteSpace(n: number): DiscreteSpace {
  return Object.freeze({ kind: 'discrete', n });
}

/** Number of reals a space's element occupies in a flat batch: dim for a box, 1 (the index) for discrete. */
export function flatDim(space: Space): number {
  return space.kind === 'box' ? space.shape[0] : 1;
}

/** Per-step diagnostics: named reward terms and similar scalars (the reference's env_infos). */
export type EnvInfo = Readonly<Record<string, number>>;

/** What `step` returns. */
export interface StepResult {
  /** The observation after the step (a fresh array the caller may keep). */
  readonly obs: Float64Array;
  /** The step's reward, always finite. */
  readonly reward: number;
  /** True when the episode ended (termination condition or divergence); the horizon is the caller's. */
  readonly done: boolean;
  /** Reward terms and other per-step scalars; keys are the env's `infoKeys`. */
  readonly info: EnvInfo;
  /**
   * Set when the simulation diverged (a MuJoCo warning, a NaN or huge state): the episode ended, `obs`
   * is the previous observation (non-finite entries zeroed), `reward` is 0 and every info term 0.
   * The message names the env and the cause.
   */
  readonly diverged?: string;
}

/**
 * A meta-RL environment: a family of MDPs indexed by a task. Every random draw comes from the `Rng`
 * passed in, so the same seed gives the same trajectories bit for bit.
 */
export interface MetaEnv<Task = unknown> {
  /** The registry name (e.g. 'half-cheetah-fwd-back'); errors name the env by it. */
  readonly name: string;
  /** The space of the observations `reset` and `step` return (always flat Float64Arrays). */
  readonly observationSpace: Space;
  /** The space of the actions `step` accepts. */
  readonly actionSpace: Space;
  /** Maximum episode length used by the sampler (the reference's max_path_length for this task). */
  readonly horizon: number;
  /** Keys of `StepResult.info`, the same at every step. */
  readonly infoKeys: readonly string[];
  /** n tasks drawn from the task distribution. Tasks are plain data (structured-cloneable). */
  sampleTasks(n: number, rng: Rng): Task[];
  /** Makes `task` the current MDP (does not reset the state). */
  setTask(task: Task): void;
  /** The current task. */
  getTask(): Task;
  /**
   * Starts an episode; the initial-state noise is drawn from `rng`, and an env with stochastic
   * transitions (the tabular MDPs) keeps `rng` for the episode's draws. Returns the first observation.
   */
  reset(rng: Rng): Float64Array;
  /** Applies one action (a vector for box spaces, an integer for discrete ones). */
  step(action: ArrayLike<number> | number): StepResult;
  /** A new env of the same kind and options (own state and task; immutable resources may be shared). */
  clone(): MetaEnv<Task>;
}

/**
 * The reference's 2-D point tasks (ProMP meta_policy_search/envs/point_envs): a point whose action is a
 * clipped displacement, s' = s + clip(a, −c, c).
 *
 * - point-corner (MetaPointEnvCorner, the paper's Fig. 4): the goal is one of the corners (±2, ±2);
 *   the sparse reward pays the step's progress toward the goal only once the point has left the start
 *   region and the goal is its nearest corner, so the agent must explore to identify the task.
 * - point-goal (MetaPointEnv, point_env_2d_v2): the goal is uniform in [−2, 2]², dense reward −‖s' − g‖.
 */
import type { Rng } from '@metagrad/autograd';
import { EnvError, checkCount, clipToBox, readBoxAction } from '../core/errors.js';
import { boxSpace } from '../core/types.js';
import type { BoxSpace, MetaEnv, StepResult } from '../core/types.js';

/** A point task: the goal position [x, y]. */
export type PointTask = readonly [number, number];

/** The reward of point-corner: 'sparse' (the default), 'dense' = −d, 'dense-squared' = −d², d = ‖s' − g‖. */
export type PointCornerReward = 'sparse' | 'dense' | 'dense-squared';

/** Options of point-corner. */
export interface PointCornerOptions {
  /** Default 'sparse' (the reference's default). */
  reward?: PointCornerReward;
  /** L1 radius of the start region where the sparse reward is 0. Default 0.5. */
  sparseRadius?: number;
  /** Default 100 (the reference's max_path_length for this task). */
  horizon?: number;
}

/** Options of point-goal. */
export interface PointGoalOptions {
  /** Default 100. */
  horizon?: number;
}

/** The four corners in the reference's order: (−2,−2), (2,−2), (−2,2), (2,2). */
export const POINT_CORNERS: readonly PointTask[] = Object.freeze([
  Object.freeze([-2, -2] as const), Object.freeze([2, -2] as const), Object.freeze([-2, 2] as const), Object.freeze([2, 2] as const),
]);

const dist = (x: number, y: number, g: PointTask): number => Math.hypot(x - g[0], y - g[1]);

function checkTask(env: string, task: unknown): PointTask {
  if (!Array.isArray(task) && !ArrayBuffer.isView(task)) throw new EnvError(env, `a task is a goal [x, y], got ${typeof task}`);
  const t = task as ArrayLike<number>;
  if (t.length !== 2 || !Number.isFinite(t[0]) || !Number.isFinite(t[1])) throw new EnvError(env, 'a task is a goal [x, y] of two finite numbers');
  return [t[0]!, t[1]!];
}

/** The reward option of the corner envs, checked. */
function checkReward(env: string, reward: PointCornerReward | undefined): PointCornerReward {
  const r = reward ?? 'sparse';
  if (r !== 'sparse' && r !== 'dense' && r !== 'dense-squared') throw new EnvError(env, `reward must be 'sparse', 'dense' or 'dense-squared', got '${String(r)}'`);
  return r;
}

/** A radius option: finite and non-negative. */
function checkRadius(env: string, r: number): number {
  if (!(r >= 0) || !Number.isFinite(r)) throw new EnvError(env, `sparseRadius must be a finite non-negative number, got ${r}`);
  return r;
}

/** n tasks, each one of the four corners with probability 1/4. */
function sampleCorners(env: string, n: number, rng: Rng): PointTask[] {
  checkCount(env, 'n', n);
  return Array.from({ length: n }, () => [...POINT_CORNERS[rng.int(4)]!] as unknown as PointTask);
}

function checkHorizon(env: string, h: number): number {
  if (!Number.isInteger(h) || h < 1) throw new EnvError(env, `horizon must be a positive integer, got ${h}`);
  return h;
}

abstract class PointEnvBase implements MetaEnv<PointTask> {
  abstract readonly name: string;
  /** The position [x, y], unbounded. */
  readonly observationSpace: BoxSpace = boxSpace(2, -Infinity, Infinity);
  abstract readonly actionSpace: BoxSpace;
  abstract readonly horizon: number;
  readonly infoKeys: readonly string[] = Object.freeze(['distance']);
  /** The current task's goal. */
  protected goal: PointTask;
  /** The point's x coordinate. */
  protected x = 0;
  /** The point's y coordinate. */
  protected y = 0;
  /** Whether reset() has been called (step() throws before it). */
  protected started = false;
  private readonly a = new Float64Array(2);

  constructor(goal: PointTask) {
    this.goal = goal;
  }

  abstract sampleTasks(n: number, rng: Rng): PointTask[];
  abstract clone(): MetaEnv<PointTask>;
  /** Sets the start position (x, y) of an episode, drawing any noise from `rng`. */
  protected abstract resetState(rng: Rng): void;
  /** Reward for the move (x0, y0) → (x1, y1). */
  protected abstract reward(x0: number, y0: number, x1: number, y1: number): number;

  setTask(task: PointTask): void {
    this.goal = checkTask(this.name, task);
  }

  getTask(): PointTask {
    return this.goal;
  }

  reset(rng: Rng): Float64Array {
    this.resetState(rng);
    this.started = true;
    return Float64Array.of(this.x, this.y);
  }

  /** s' = s + clip(a, low, high); reward by the task's rule; never terminates (the reference's done is False). */
  step(action: ArrayLike<number> | number): StepResult {
    if (!this.started) throw new EnvError(this.name, 'step() before reset()');
    const a = clipToBox(readBoxAction(this.name, this.actionSpace, action, this.a), this.actionSpace);
    const x0 = this.x, y0 = this.y;
    this.x = x0 + a[0]!;
    this.y = y0 + a[1]!;
    const reward = this.reward(x0, y0, this.x, this.y);
    return { obs: Float64Array.of(this.x, this.y), reward, done: false, info: { distance: dist(this.x, this.y, this.goal) } };
  }
}

/**
 * MetaPointEnvCorner: start uniform in [−0.2, 0.2]², actions clipped to [−0.2, 0.2]², goal one of the
 * four corners. Sparse reward: 0 while ‖s'‖₁ < 0.5; outside, ‖s − g‖ − ‖s' − g‖ when g is the corner
 * nearest to s', else 0.
 */
export class PointCornerEnv extends PointEnvBase {
  /** The registry name. */
  readonly name = 'point-corner';
  /** Displacements in [−0.2, 0.2]² (larger actions are clipped). */
  readonly actionSpace: BoxSpace = boxSpace(2, -0.2, 0.2);
  /** Episode length: opts.horizon, default 100. */
  readonly horizon: number;
  /** The reward rule (see {@link PointCornerReward}). */
  readonly rewardType: PointCornerReward;
  /** L1 radius of the start region where the sparse reward is 0. */
  readonly sparseRadius: number;

  constructor(opts: PointCornerOptions = {}) {
    super(POINT_CORNERS[3]!);
    this.rewardType = checkReward(this.name, opts.reward);
    this.sparseRadius = checkRadius(this.name, opts.sparseRadius ?? 0.5);
    this.horizon = checkHorizon(this.name, opts.horizon ?? 100);
  }

  /** Each task is one of the four corners with probability 1/4. */
  sampleTasks(n: number, rng: Rng): PointTask[] {
    return sampleCorners(this.name, n, rng);
  }

  /** Start uniform in [−0.2, 0.2]² (x then y from `rng`). */
  protected resetState(rng: Rng): void {
    this.x = rng.uniformIn(-0.2, 0.2);
    this.y = rng.uniformIn(-0.2, 0.2);
  }

  protected reward(x0: number, y0: number, x1: number, y1: number): number {
    const d1 = dist(x1, y1, this.goal);
    if (this.rewardType === 'dense') return -d1;
    if (this.rewardType === 'dense-squared') return -d1 * d1;
    if (Math.abs(x1) + Math.abs(y1) < this.sparseRadius) return 0; // still in the start region
    let nearest = Infinity;
    for (const c of POINT_CORNERS) nearest = Math.min(nearest, dist(x1, y1, c));
    return d1 === nearest ? dist(x0, y0, this.goal) - d1 : 0; // progress toward g, if g is the nearest corner
  }

  /** A new point-corner env with the same options and task, not yet reset. */
  clone(): PointCornerEnv {
    const e = new PointCornerEnv({ reward: this.rewardType, sparseRadius: this.sparseRadius, horizon: this.horizon });
    e.goal = this.goal;
    return e;
  }
}

/** MetaPointEnv (point_env_2d_v2): start at the origin, actions clipped to [−0.1, 0.1]², goal ~ U([−2, 2]²), reward −‖s' − g‖. */
export class PointGoalEnv extends PointEnvBase {
  /** The registry name. */
  readonly name = 'point-goal';
  /** Displacements in [−0.1, 0.1]² (larger actions are clipped). */
  readonly actionSpace: BoxSpace = boxSpace(2, -0.1, 0.1);
  /** Episode length: opts.horizon, default 100. */
  readonly horizon: number;

  constructor(opts: PointGoalOptions = {}) {
    super([0, 0]);
    this.horizon = checkHorizon(this.name, opts.horizon ?? 100);
  }

  /** Goals uniform in [−2, 2]² (x then y from `rng`). */
  sampleTasks(n: number, rng: Rng): PointTask[] {
    checkCount(this.name, 'n', n);
    return Array.from({ length: n }, () => [rng.uniformIn(-2, 2), rng.uniformIn(-2, 2)] as const);
  }

  /** Start at the origin (no randomness). */
  protected resetState(): void {
    this.x = 0;
    this.y = 0;
  }

  protected reward(_x0: number, _y0: number, x1: number, y1: number): number {
    return -dist(x1, y1, this.goal);
  }

  /** A new point-goal env with the same horizon and task, not yet reset. */
  clone(): PointGoalEnv {
    const e = new PointGoalEnv({ horizon: this.horizon });
    e.goal = this.goal;
    return e;
  }
}

/** Options of point-momentum. */
export interface PointMomentumOptions {
  /** 'sparse' (the reference's default): max(sparseRadius − d, 0); 'dense' = −d; 'dense-squared' = −d²; d = ‖s' − g‖. */
  reward?: PointCornerReward;
  /** Distance from the goal within which the sparse reward is positive. Default 2 (the reference's). */
  sparseRadius?: number;
  /** Default 100 (the reference's exploration sweep). */
  horizon?: number;
}

/**
 * MetaPointEnvMomentum (the reference's exploration comparison, the paper's Fig. 4): a point with
 * momentum, v' = v + clip(a, −0.1, 0.1), s' = s + v'; the observation is [s, v] (4 numbers); start
 * s ~ U([−0.2, 0.2]²), v ~ U([−0.1, 0.1]²); the goal is one of the four corners (±2, ±2); reward
 * max(2 − ‖s' − g‖, 0) (sparse), never terminates. The velocity is unbounded, so an episode can carry
 * the point far away; only the position enters the reward.
 */
export class PointMomentumEnv implements MetaEnv<PointTask> {
  /** The registry name. */
  readonly name = 'point-momentum';
  /** [x, y, vx, vy], unbounded. */
  readonly observationSpace: BoxSpace = boxSpace(4, -Infinity, Infinity);
  /** Velocity increments in [−0.1, 0.1]² (larger actions are clipped). */
  readonly actionSpace: BoxSpace = boxSpace(2, -0.1, 0.1);
  /** Episode length: opts.horizon, default 100. */
  readonly horizon: number;
  /** The reward rule. */
  readonly rewardType: PointCornerReward;
  /** Distance from the goal within which the sparse reward is positive. */
  readonly sparseRadius: number;
  readonly infoKeys: readonly string[] = Object.freeze(['distance']);
  private goal: PointTask = POINT_CORNERS[3]!;
  private s = new Float64Array(2);
  private v = new Float64Array(2);
  private started = false;
  private readonly a = new Float64Array(2);

  constructor(opts: PointMomentumOptions = {}) {
    this.rewardType = checkReward(this.name, opts.reward);
    this.sparseRadius = checkRadius(this.name, opts.sparseRadius ?? 2);
    this.horizon = checkHorizon(this.name, opts.horizon ?? 100);
  }

  /** Each task is one of the four corners with probability 1/4. */
  sampleTasks(n: number, rng: Rng): PointTask[] {
    return sampleCorners(this.name, n, rng);
  }

  setTask(task: PointTask): void {
    this.goal = checkTask(this.name, task);
  }

  getTask(): PointTask {
    return this.goal;
  }

  /** s ~ U([−0.2, 0.2]²), then v ~ U([−0.1, 0.1]²) (x before y, from `rng`). */
  reset(rng: Rng): Float64Array {
    this.s = Float64Array.of(rng.uniformIn(-0.2, 0.2), rng.uniformIn(-0.2, 0.2));
    this.v = Float64Array.of(rng.uniformIn(-0.1, 0.1), rng.uniformIn(-0.1, 0.1));
    this.started = true;
    return Float64Array.of(this.s[0]!, this.s[1]!, this.v[0]!, this.v[1]!);
  }

  /** v' = v + clip(a), s' = s + v'; reward of s' by the task's rule; never terminates. */
  step(action: ArrayLike<number> | number): StepResult {
    if (!this.started) throw new EnvError(this.name, 'step() before reset()');
    const a = clipToBox(readBoxAction(this.name, this.actionSpace, action, this.a), this.actionSpace);
    const vx = this.v[0]! + a[0]!, vy = this.v[1]! + a[1]!;
    const x = this.s[0]! + vx, y = this.s[1]! + vy;
    this.v[0] = vx;
    this.v[1] = vy;
    this.s[0] = x;
    this.s[1] = y;
    const d = dist(x, y, this.goal);
    const reward = this.rewardType === 'sparse' ? Math.max(this.sparseRadius - d, 0) : this.rewardType === 'dense' ? -d : -d * d;
    return { obs: Float64Array.of(x, y, vx, vy), reward, done: false, info: { distance: d } };
  }

  /** A new point-momentum env with the same options and task, not yet reset. */
  clone(): PointMomentumEnv {
    const e = new PointMomentumEnv({ reward: this.rewardType, sparseRadius: this.sparseRadius, horizon: this.horizon });
    e.goal = this.goal;
    return e;
  }
}

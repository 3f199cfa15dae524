/**
 * The reference's action normalization (meta_policy_search/envs/normalized_env.py): the policy acts in
 * [−scale, scale] per coordinate (scale 10), mapped linearly onto the wrapped env's [low, high] and
 * clipped:  a_env = clip(low + (a + scale)·(high − low)/(2·scale), low, high).
 */
import type { Rng } from '@metagrad/autograd';
import { EnvError, readBoxAction } from '../core/errors.js';
import { boxSpace } from '../core/types.js';
import type { BoxSpace, MetaEnv, Space, StepResult } from '../core/types.js';

/** The reference's normalization scale. */
export const DEFAULT_ACTION_SCALE = 10;

/** Wraps a box-action env so that its actions live in [−scale, scale] (see the module comment). */
export class NormalizedActionEnv<Task> implements MetaEnv<Task> {
  /** The wrapped env (a box action space with finite bounds). */
  readonly inner: MetaEnv<Task>;
  /** Policy actions live in [−scale, scale] on every coordinate. */
  readonly scale: number;
  /** The box [−scale, scale]^dim, dim being the inner env's action dimension. */
  readonly actionSpace: BoxSpace;
  private readonly innerSpace: BoxSpace;
  private readonly a: Float64Array;
  private readonly scaled: Float64Array;

  constructor(inner: MetaEnv<Task>, scale = DEFAULT_ACTION_SCALE) {
    if (inner.actionSpace.kind !== 'box') throw new EnvError(inner.name, 'action normalization needs a box action space');
    if (!(scale > 0) || !Number.isFinite(scale)) throw new EnvError(inner.name, `action scale must be a positive finite number, got ${scale}`);
    this.inner = inner;
    this.scale = scale;
    this.innerSpace = inner.actionSpace;
    const dim = this.innerSpace.shape[0];
    for (let i = 0; i < dim; i++)
      if (!Number.isFinite(this.innerSpace.low[i]!) || !Number.isFinite(this.innerSpace.high[i]!))
        throw new EnvError(inner.name, 'action normalization needs finite action bounds');
    this.actionSpace = boxSpace(dim, -scale, scale);
    this.a = new Float64Array(dim);
    this.scaled = new Float64Array(dim);
  }

  get name(): string {
    return this.inner.name;
  }
  /** The inner env's observation space. */
  get observationSpace(): Space {
    return this.inner.observationSpace;
  }
  get horizon(): number {
    return this.inner.horizon;
  }
  get infoKeys(): readonly string[] {
    return this.inner.infoKeys;
  }

  sampleTasks(n: number, rng: Rng): Task[] {
    return this.inner.sampleTasks(n, rng);
  }
  setTask(task: Task): void {
    this.inner.setTask(task);
  }
  getTask(): Task {
    return this.inner.getTask();
  }
  reset(rng: Rng): Float64Array {
    return this.inner.reset(rng);
  }

  /** Maps the action onto the inner env's bounds (linearly, then clipped) and steps the inner env. */
  step(action: ArrayLike<number> | number): StepResult {
    const a = readBoxAction(this.name, this.actionSpace, action, this.a);
    this.toInner(a, this.scaled);
    return this.inner.step(this.scaled);
  }

  /** a_env = clip(low + (a + scale)·(high − low)/(2·scale), low, high), written into `out`. */
  toInner(a: ArrayLike<number>, out: Float64Array): Float64Array {
    const { low, high } = this.innerSpace;
    const s = this.scale;
    for (let i = 0; i < out.length; i++) {
      const lo = low[i]!, hi = high[i]!;
      const v = lo + ((a[i]! + s) * (hi - lo)) / (2 * s);
      out[i] = v < lo ? lo : v > hi ? hi : v;
    }
    return out;
  }

  clone(): NormalizedActionEnv<Task> {
    return new NormalizedActionEnv(this.inner.clone(), this.scale);
  }
}

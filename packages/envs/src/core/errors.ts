/**
 * Bad-input checks shared by every env: each error names the env and says what was expected.
 */
import type { BoxSpace, DiscreteSpace } from './types.js';

/** An error raised by an env on bad input; `env` is the env's registry name. */
export class EnvError extends Error {
  /** The registry name of the env that raised it (the message starts with it too). */
  readonly env: string;
  constructor(env: string, message: string) {
    super(`${env}: ${message}`);
    this.name = 'EnvError';
    this.env = env;
  }
}

function describe(x: unknown): string {
  if (x === null) return 'null';
  if (Array.isArray(x)) return `an array of length ${x.length}`;
  if (ArrayBuffer.isView(x)) return `a ${x.constructor.name} of length ${(x as unknown as ArrayLike<number>).length}`;
  return typeof x;
}

/**
 * Copies a box action into `out` after checking it: the right length, every entry a finite number.
 * Throws an EnvError naming the env otherwise. Returns `out`.
 */
export function readBoxAction(env: string, space: BoxSpace, action: unknown, out: Float64Array): Float64Array {
  const dim = space.shape[0];
  if (typeof action === 'number' && dim === 1) {
    out[0] = action;
  } else {
    if (action === null || typeof action !== 'object' || typeof (action as { length?: unknown }).length !== 'number')
      throw new EnvError(env, `action must be an array of ${dim} numbers, got ${describe(action)}`);
    const a = action as ArrayLike<unknown>;
    if (a.length !== dim) throw new EnvError(env, `action must have ${dim} entries (action space shape [${dim}]), got ${a.length}`);
    for (let i = 0; i < dim; i++) {
      const v = a[i];
      if (typeof v !== 'number') throw new EnvError(env, `action[${i}] must be a number, got ${typeof v}`);
      out[i] = v;
    }
  }
  for (let i = 0; i < dim; i++) {
    const v = out[i]!;
    if (Number.isNaN(v)) throw new EnvError(env, `action[${i}] is NaN`);
    if (!Number.isFinite(v)) throw new EnvError(env, `action[${i}] is ${v} (actions must be finite)`);
  }
  return out;
}

/** Clips each coordinate of `a` to [low, high] in place (out-of-range actions are clipped, as the reference does). */
export function clipToBox(a: Float64Array, space: BoxSpace): Float64Array {
  const { low, high } = space;
  for (let i = 0; i < a.length; i++) {
    const v = a[i]!;
    a[i] = v < low[i]! ? low[i]! : v > high[i]! ? high[i]! : v;
  }
  return a;
}

/** Checks a discrete action (an integer in [0, n), or a 1-array holding one) and returns it. */
export function readDiscreteAction(env: string, space: DiscreteSpace, action: unknown): number {
  let a: unknown = action;
  if (a !== null && typeof a === 'object' && typeof (a as { length?: unknown }).length === 'number') {
    const arr = a as ArrayLike<unknown>;
    if (arr.length !== 1) throw new EnvError(env, `a discrete action must be one integer in [0, ${space.n}), got ${describe(action)}`);
    a = arr[0];
  }
  if (typeof a !== 'number') throw new EnvError(env, `a discrete action must be an integer in [0, ${space.n}), got ${describe(a)}`);
  if (Number.isNaN(a)) throw new EnvError(env, 'action is NaN');
  if (!Number.isFinite(a)) throw new EnvError(env, `action is ${a} (actions must be finite)`);
  if (!Number.isInteger(a) || a < 0 || a >= space.n) throw new EnvError(env, `a discrete action must be an integer in [0, ${space.n}), got ${a}`);
  return a;
}

/** Throws unless n is a positive integer (task counts and similar). */
export function checkCount(env: string, what: string, n: unknown): asserts n is number {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) throw new EnvError(env, `${what} must be a non-negative integer, got ${String(n)}`);
}

/**
 * Recording state of the tape: whether ops are recorded (grad mode), and whether every op checks its
 * output for NaN/±Infinity (checkFinite). Synchronous scopes only: do not await inside them.
 */
import type { Primitive, PrimParams } from './primitives.js';
import type { Tensor } from './tensor.js';

/** How a recorded tensor was made: the primitive, its input tensors and its static parameters. */
export interface Node<P extends Primitive = Primitive> {
  /** The primitive that produced the tensor. */
  readonly prim: P;
  /** Its tensor inputs, in argument order (each older than the output, so with a smaller id). */
  readonly inputs: readonly Tensor[];
  /** Its static parameters: axes, shapes, flags (null for the elementwise primitives). */
  readonly params: PrimParams[P];
}

let gradEnabled = true;
let finiteChecks = false;

/**
 * One active forward-mode scope (a `jvp` call): the tangent of every tensor computed inside it that
 * depends on the scope's inputs. Scopes nest (jvp of jvp); the tangent computations of a scope are
 * themselves seen by the scopes outside it, never by itself or those inside, so nested forward
 * derivatives do not confuse their perturbations.
 */
export interface TangentScope {
  /** Tangent by tensor (absent: zero). */
  readonly tangents: Map<Tensor, Tensor>;
}

let scopes: readonly TangentScope[] = [];

/** The active forward-mode scopes, outermost first. */
export function tangentScopes(): readonly TangentScope[] {
  return scopes;
}

/** Runs `fn` with exactly `active` as the forward-mode scopes (the engine's own bookkeeping; synchronous). */
export function withTangentScopes<T>(active: readonly TangentScope[], fn: () => T): T {
  const prev = scopes;
  scopes = active;
  try {
    return fn();
  } finally {
    scopes = prev;
  }
}

/** Whether ops are being recorded right now. */
export function isGradEnabled(): boolean {
  return gradEnabled;
}

function withMode<T>(enabled: boolean, fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = enabled;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

/** Runs `fn` without recording anything: its results are constants to every later derivative. */
export function noGrad<T>(fn: () => T): T {
  return withMode(false, fn);
}

/** Runs `fn` with recording on (used by the transforms, which must record even inside noGrad). */
export function enableGrad<T>(fn: () => T): T {
  return withMode(true, fn);
}

/** Whether every op checks its output for NaN/±Infinity. */
export function isCheckFinite(): boolean {
  return finiteChecks;
}

/** Turns the NaN/Infinity check on every op's output on or off globally (off by default: it costs a pass). */
export function setCheckFinite(on: boolean): void {
  finiteChecks = on;
}

/** Runs `fn` with every op's output checked for NaN/±Infinity; the first one throws naming the op. */
export function checkFinite<T>(fn: () => T): T {
  const prev = finiteChecks;
  finiteChecks = true;
  try {
    return fn();
  } finally {
    finiteChecks = prev;
  }
}

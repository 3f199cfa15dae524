/**
 * The hook `jit` traces through: while a recorder is active, every primitive the engine applies to plain
 * tensors is reported to it (with its inputs, parameters and output), and so is every tensor that
 * shares another's storage without an op (`detach`, hence `stopGradient`). A primitive's own forward
 * computation is atomic: primitives it runs inside (a customVjp function) are not reported again.
 */
import type { Primitive } from './primitives.js';
import type { Tensor } from './tensor.js';

/** What a trace is told. */
export interface Recorder {
  /** `out` = prim(inputs; params). */
  op(prim: Primitive, inputs: readonly Tensor[], params: unknown, out: Tensor): void;
  /** `to` holds `from`'s values (the same storage), made without an op. */
  alias(from: Tensor, to: Tensor): void;
}

let active: Recorder | null = null;
let depth = 0;

/** The active recorder, or null (none, or inside a primitive's forward computation). */
export function recorder(): Recorder | null {
  return depth === 0 ? active : null;
}

/** Whether a trace is being recorded (a jitted function called inside another's trace runs eagerly, into it). */
export function isTracing(): boolean {
  return active !== null;
}

/** Runs `fn` with `r` receiving every primitive applied (synchronous). Traces do not nest. */
export function withRecorder<T>(r: Recorder, fn: () => T): T {
  if (active) throw new Error('jit: a traced function was called while another one was being traced');
  active = r;
  try {
    return fn();
  } finally {
    active = null;
  }
}

/** Runs a primitive's forward computation with the recorder muted. */
export function atomic<T>(fn: () => T): T {
  depth++;
  try {
    return fn();
  } finally {
    depth--;
  }
}

/** Tensors a jitted function returned: constants, which `gradients` names when asked to differentiate them. */
export const jitOutputs = new WeakSet<Tensor>();

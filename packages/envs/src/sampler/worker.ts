/**
 * Worker-thread entry of WorkerSampler: builds the env once (its own MuJoCo instance), then runs the
 * blocks of environments it is sent with the shared executor (RolloutStreams), keeping each block's
 * state between requests, and posts its progress and finally its paths back.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Rng } from '@metagrad/autograd';
import { makeEnv } from '../registry.js';
import type { EnvOptions } from '../registry.js';
import type { MetaEnv } from '../core/types.js';
import { batchedPolicy } from './policy.js';
import type { PolicySpec } from './policy.js';
import { RolloutStreams } from './rollouts.js';
import type { RolloutBlock, SamplingMode } from './rollouts.js';
import { envShape } from './serial.js';

/** The data a worker starts with. */
export interface WorkerInit {
  readonly env: string;
  readonly options: EnvOptions;
}

/** Requests: start a block of environments and run it to `to`, run it further, or collect its paths finished by time `at`. */
export type SampleRequest =
  | {
    readonly type: 'start';
    readonly id: number;
    /** The block's id (later requests for it go to the same worker). */
    readonly block: number;
    /** One task per environment of the block. */
    readonly tasks: readonly unknown[];
    /** One Rng state per environment of the block (Rng.state()). */
    readonly rngStates: readonly number[][];
    readonly horizon: number;
    /** The policies of the block's environments, and each environment's index into them. */
    readonly policies: readonly PolicySpec[];
    readonly policyOf: Int32Array;
    readonly mode: SamplingMode;
    /** Run to this time step. */
    readonly to: number;
    /** Collect the paths finished by this time step right away (and forget the block). */
    readonly collectAt?: number;
  }
  | { readonly type: 'advance'; readonly id: number; readonly block: number; readonly to: number }
  | { readonly type: 'collect'; readonly id: number; readonly block: number; readonly at: number }
  | { readonly type: 'forget'; readonly id: number; readonly block: number };

/** A worker's answer to a request that did not fail. */
export type SampleReply =
  | { type: 'progress'; id: number; finished: Float64Array }
  | { type: 'result'; id: number; block: RolloutBlock };

const port = parentPort;
if (!port) throw new Error('sampler worker: must run in a worker thread');
const init = workerData as WorkerInit;

let env: MetaEnv<unknown> | null = null;
try {
  env = await makeEnv(init.env, init.options);
  port.postMessage({ type: 'ready', shape: envShape(env) });
} catch (e) {
  port.postMessage({ type: 'error', id: -1, message: e instanceof Error ? e.message : String(e) });
}

/** The blocks this worker is stepping, by id. */
const blocks = new Map<number, RolloutStreams<unknown>>();

/** The block's finished steps at every time step from `from` + 1 to where it is now. */
function progress(s: RolloutStreams<unknown>, from: number): Float64Array {
  return Float64Array.from({ length: s.t - from }, (_, i) => s.finishedSteps(from + 1 + i));
}

function stream(id: number): RolloutStreams<unknown> {
  const s = blocks.get(id);
  if (!s) throw new Error(`sampler worker: no block ${id} here`);
  return s;
}

function result(s: RolloutStreams<unknown>, at: number, block: number): SampleReply {
  blocks.delete(block);
  return { type: 'result', id: 0, block: s.collect(at) };
}

port.on('message', (msg: SampleRequest | { type: 'close' }) => {
  if (msg.type === 'close') {
    port.close();
    return;
  }
  // fault injection for the watchdog's test: this worker hangs on its first request
  if (process.env.METAGRAD_FAULT === 'worker-hang') Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
  try {
    let reply: SampleReply;
    if (msg.type === 'start') {
      if (!env) throw new Error('sampler worker: the env failed to build');
      const rngs = msg.rngStates.map((st) => Rng.fromState(st));
      const s = new RolloutStreams(env, msg.tasks, rngs, msg.horizon, msg.policies.map(batchedPolicy), msg.policyOf, msg.mode);
      blocks.set(msg.block, s);
      s.advance(msg.to);
      reply = msg.collectAt !== undefined ? result(s, msg.collectAt, msg.block) : { type: 'progress', id: 0, finished: progress(s, 0) };
    } else if (msg.type === 'advance') {
      const s = stream(msg.block), from = s.t;
      s.advance(msg.to);
      reply = { type: 'progress', id: 0, finished: progress(s, from) };
    } else if (msg.type === 'collect') reply = result(stream(msg.block), msg.at, msg.block);
    else {
      blocks.delete(msg.block);
      reply = { type: 'progress', id: 0, finished: new Float64Array(0) };
    }
    reply.id = msg.id;
    if (reply.type === 'result') {
      const b = reply.block;
      const transfer = [b.env, b.lengths, b.obs, b.actions, b.rewards, b.dones, b.finalObs, ...Object.values(b.infos)].map((a) => a.buffer as ArrayBuffer);
      port.postMessage(reply, transfer);
    } else port.postMessage(reply);
  } catch (e) {
    if ('block' in msg) blocks.delete(msg.block);
    port.postMessage({ type: 'error', id: msg.id, message: e instanceof Error ? e.message : String(e) });
  }
});

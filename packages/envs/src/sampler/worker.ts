/**
 * Worker-thread entry of WorkerSampler: builds the env once (its own MuJoCo instance), then runs the
 * blocks of environments it is sent with the shared executor (runRollouts) and posts the arrays back.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Rng } from '@metagrad/autograd';
import { makeEnv } from '../registry.js';
import type { EnvOptions } from '../registry.js';
import type { MetaEnv } from '../core/types.js';
import { batchedPolicy } from './policy.js';
import type { PolicySpec } from './policy.js';
import { runRollouts } from './rollouts.js';
import { envShape } from './serial.js';

/** The data a worker starts with. */
export interface WorkerInit {
  readonly env: string;
  readonly options: EnvOptions;
}

/** A request to run a block of environments. */
export interface SampleRequest {
  readonly type: 'sample';
  readonly id: number;
  /** One task per environment of the block. */
  readonly tasks: readonly unknown[];
  /** One Rng state per environment of the block (Rng.state()). */
  readonly rngStates: readonly number[][];
  readonly horizon: number;
  readonly policy: PolicySpec;
}

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

port.on('message', (msg: SampleRequest | { type: 'close' }) => {
  if (msg.type === 'close') {
    port.close();
    return;
  }
  // fault injection for the watchdog's test: this worker hangs on its first request
  if (process.env.METAGRAD_FAULT === 'worker-hang') Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
  try {
    if (!env) throw new Error('sampler worker: the env failed to build');
    const rngs = msg.rngStates.map((s) => Rng.fromState(s));
    const block = runRollouts(env, msg.tasks, rngs, msg.horizon, batchedPolicy(msg.policy));
    const transfer: ArrayBuffer[] = [block.obs, block.actions, block.rewards, block.mask, block.dones, block.lengths, block.finalObs, ...Object.values(block.infos)].map(
      (a) => a.buffer as ArrayBuffer,
    );
    port.postMessage({ type: 'result', id: msg.id, block }, transfer);
  } catch (e) {
    port.postMessage({ type: 'error', id: msg.id, message: e instanceof Error ? e.message : String(e) });
  }
});

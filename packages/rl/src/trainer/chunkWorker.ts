/**
 * A worker thread of the trainer's thread runner (threads.ts): it builds the same policy and algorithm
 * as the trainer, holds the task chunks it is given, and runs the algorithm's chunk ops on them when
 * asked, answering on its port and waking the trainer's thread, which waits (Atomics.wait) so that an
 * algorithm's outer step stays synchronous. The same ops on the same data: the same bits as in the
 * trainer's own thread.
 */
import { workerData } from 'node:worker_threads';
import { makeAlgorithm } from '../algos/index.js';
import { GaussianMLPPolicy } from '../policies.js';
import type { Chunk, ChunkOps } from '../algos/chunks.js';
import { type ChunkWorkerInit, type ChunkWorkerRequest, CTL_EXITED, CTL_REPLIES, unpackChunk } from './threads.js';

const init = workerData as ChunkWorkerInit;
const ctl = new Int32Array(init.ctl);
const held = new Map<number, Chunk>();

function reply(msg: unknown): void {
  init.port.postMessage(msg);
  Atomics.add(ctl, CTL_REPLIES, 1);
  Atomics.notify(ctl, CTL_REPLIES);
}

// a worker that ends (process.exit, an uncaught error) says so, so that a caller blocked on it wakes
process.on('exit', () => {
  Atomics.store(ctl, CTL_EXITED, 1);
  Atomics.add(ctl, CTL_REPLIES, 1);
  Atomics.notify(ctl, CTL_REPLIES);
});

// the handshake: ready, or why the policy and algorithm could not be built
let policy: GaussianMLPPolicy | null = null;
let ops: ChunkOps = {};
try {
  policy = new GaussianMLPPolicy(init.policy);
  ops = makeAlgorithm(init.algo, { ...init.algoConfig, policy, chunkElements: init.chunkElements }).ops ?? {};
  reply({ ready: true });
} catch (e) {
  reply({ error: `could not build ${init.algo}: ${e instanceof Error ? e.message : String(e)}` });
}

init.port.on('message', (req: ChunkWorkerRequest) => {
  if (req.type === 'chunks') {
    const keep = new Set(req.keep);
    for (const id of [...held.keys()]) if (!keep.has(id)) held.delete(id);
    for (const c of req.items) held.set(c.id, unpackChunk(c));
    return;
  }
  if (process.env.METAGRAD_FAULT === 'chunk-worker-exit') process.exit(3); // fault injection for the tests: a worker that dies mid-call
  try {
    const f = ops[req.op];
    if (!f) throw new Error(`no chunk op '${req.op}'`);
    const p = policy!.unflatten(req.theta);
    const results = req.ids.map((id) => {
      const c = held.get(id);
      if (!c) throw new Error(`chunk ${id} was not sent`);
      return f(p, c, req.args);
    });
    reply({ results });
  } catch (e) {
    reply({ error: e instanceof Error ? e.stack ?? e.message : String(e) });
  }
});

/**
 * The outer update on threads (trainer/threads.ts): an algorithm's chunk ops spread over worker threads
 * give the same bits as in one thread — every algorithm's update on a batch of several chunks (TRPO's
 * Hessian-vector products included, whose recorded curvature stays on the worker that linearized the
 * chunk), the VPG meta-gradient, and whole training runs — and a failing op names itself without
 * leaving a stale reply behind.
 */
import { describe, it, expect, afterAll } from 'vitest';
import {
  ALGO_SETTINGS, type AlgoConfig, type AlgoName, CHUNK_GROUP, type ChunkOps, type MetaBatch, type RunSetup, ThreadRunner, type TrainConfig, algoNames, chunkSizes,
  initialParams, iterationRng, localRunner, makeAlgorithm, metaBatchChunks, sampleAndAdapt, setupRun, threadRunner, train, vpgAlgoNames,
} from '@metagrad/rl';
import { numbers, tiny } from './tiny.js';

const runners: ThreadRunner[] = [];
afterAll(async () => {
  await Promise.all(runners.map((r) => r.close()));
});

async function batchOf(cfg: TrainConfig): Promise<{ setup: RunSetup; theta: Float64Array; batch: MetaBatch }> {
  const setup = await setupRun(cfg);
  const theta = initialParams(setup);
  const ad = await sampleAndAdapt(setup, theta, iterationRng(cfg.seed, 0), { nTasks: cfg.metaBatchSize });
  await setup.close();
  return { setup, theta, batch: ad.batch };
}

/** What a worker builds the setup's algorithm from. */
function initOf(setup: RunSetup, chunkElements: number) {
  const c = setup.config;
  const algoConfig = Object.fromEntries(Object.keys(ALGO_SETTINGS).map((k) => [k, c[k as keyof AlgoConfig]])) as AlgoConfig;
  const p = setup.policy;
  const policy = { obsDim: p.obsDim, actDim: p.actDim, hidden: [...p.hidden], dtype: p.dtype, initLogStd: p.initLogStd, learnStd: p.learnStd };
  return { algo: c.algo, algoConfig, policy, chunkElements };
}

/** The algorithm of a setup, rebuilt with a chunk budget and (threads > 1) a thread runner. */
function algoOf(setup: RunSetup, chunkElements: number, threads: number) {
  const init = initOf(setup, chunkElements);
  const runner = threads > 1 ? threadRunner(init, threads, runners) : undefined;
  return makeAlgorithm(init.algo, { ...init.algoConfig, policy: setup.policy, chunkElements, runner });
}

describe('chunk counts', () => {
  it(`one chunk, or a multiple of ${CHUNK_GROUP} (at most K) that covers the tasks`, () => {
    expect(chunkSizes(40, 128_000, 1 << 21)).toEqual([10, 10, 10, 10]); // 3 by the budget, rounded up to 4
    expect(chunkSizes(40, 256_000, 1 << 21)).toEqual(new Array(8).fill(5)); // 5 → 8
    expect(chunkSizes(10, 100, 1 << 21)).toEqual([10]);
    expect(chunkSizes(3, 1 << 21, 1 << 21)).toEqual([1, 1, 1]); // at most K
    for (const [K, per] of [[7, 300], [40, 90_000], [13, 1e6]] as const) {
      const s = chunkSizes(K, per, 1 << 20);
      expect(s.reduce((a, b) => a + b, 0)).toBe(K);
      expect(s.length === 1 || s.length === K || s.length % CHUNK_GROUP === 0).toBe(true);
    }
  });
});

describe('the outer update on threads gives the same bits as in one thread', () => {
  // 6 tasks × 4 rollouts × 20 steps, hidden [16]: a budget of two tasks' widest tensor makes 4 chunks (1, 2, 1, 2 tasks)
  const settings = (algo: AlgoName): TrainConfig => tiny(algo, { metaBatchSize: 6, numInnerGradSteps: algo === 'promp' ? 2 : 1 });
  const budget = 2 * 4 * 20 * 16;

  for (const algo of algoNames) {
    const threads = algo === 'promp' ? [2, 3] : [3];
    it(`${algo}: two updates on threads ${threads.join(' and ')}${vpgAlgoNames.includes(algo) ? ', and the meta-gradient' : ''}`, async () => {
      const { setup, theta, batch } = await batchOf(settings(algo));
      expect(metaBatchChunks(batch, budget).length).toBe(4);
      const updates = (a: ReturnType<typeof algoOf>) => {
        const r1 = a.optimize(theta, batch);
        const r2 = a.optimize(r1.theta, batch); // optimizer state carried over (Adam, ProMP's η)
        return { r1, r2, g: a.metaGradient?.(r2.theta, batch), state: a.state() };
      };
      const one = updates(algoOf(setup, budget, 1));
      expect(one.r2.lossAfter).toBeLessThan(one.r1.lossBefore);
      for (const T of threads) {
        const many = updates(algoOf(setup, budget, T));
        expect(many).toEqual(one); // toEqual on Float64Arrays and numbers: every element, exactly
        expect(Array.from(many.r2.theta)).toEqual(Array.from(one.r2.theta));
      }
    }, 120_000);
  }

  it('a whole training run (33 tasks × 10 rollouts × 100 steps, hidden [64]: 4 chunks) with threads 2 equals threads 1', async () => {
    const cfg = (threads: number) => tiny('maml-trpo', { metaBatchSize: 33, rolloutsPerTask: 10, horizon: 100, hidden: [64], iterations: 2, threads });
    expect(chunkSizes(33, 10 * 100 * 64).length).toBe(4); // the widest per-task tensor: 10 rows × 100 steps × 64 units
    const a = await train(cfg(1)), b = await train(cfg(2));
    expect(b.records.map(numbers)).toEqual(a.records.map(numbers));
    expect(b.checkpoint).toEqual(a.checkpoint);
    // and threads 2 did run on a worker: one that dies at its first call fails the run
    process.env.METAGRAD_FAULT = 'chunk-worker-exit';
    try {
      await expect(train({ ...cfg(2), iterations: 1 })).rejects.toThrow(/chunk worker 1 exited/);
    } finally {
      delete process.env.METAGRAD_FAULT;
    }
  }, 240_000);
});

describe('errors', () => {
  it('an op that fails here or on a worker names itself, and the next call still gets its own answers', async () => {
    const { setup, theta, batch } = await batchOf(tiny('lvc-vpg', { metaBatchSize: 6 }));
    const budget = 2 * 4 * 20 * 16;
    const chunks = metaBatchChunks(batch, budget);
    const local = algoOf(setup, budget, 1);
    const r = new ThreadRunner({ ...local.ops!, onlyHere: () => new Float64Array(1) }, setup.policy, initOf(setup, budget), 2);
    runners.push(r);
    const expected = localRunner(setup.policy, local.ops!).run('grad', theta, chunks);
    expect(() => r.run('nope', theta, chunks)).toThrow(/no chunk op 'nope'/); // here, on chunks 0 and 2
    // the worker's algorithm has no such op: its chunks fail there, named with the worker and the op
    expect(() => r.run('onlyHere', theta, chunks)).toThrow(/chunk worker 1, op 'onlyHere': .*no chunk op 'onlyHere'/);
    expect(r.run('grad', theta, chunks)).toEqual(expected); // answers still paired with their calls
    await r.close();
    expect(() => r.run('grad', theta, chunks)).toThrow(/after close/);
  }, 60_000);

  it('a worker that dies during a call ends the call with an error at once, and the runner is closed', async () => {
    const { setup, theta, batch } = await batchOf(tiny('lvc-vpg', { metaBatchSize: 6 }));
    const budget = 2 * 4 * 20 * 16;
    const chunks = metaBatchChunks(batch, budget);
    process.env.METAGRAD_FAULT = 'chunk-worker-exit'; // read by the worker when a call arrives
    try {
      const r = new ThreadRunner(algoOf(setup, budget, 1).ops!, setup.policy, initOf(setup, budget), 2);
      runners.push(r);
      const t0 = Date.now();
      expect(() => r.run('grad', theta, chunks)).toThrow(/chunk worker 1 exited/);
      expect(Date.now() - t0).toBeLessThan(20_000);
      expect(() => r.run('grad', theta, chunks)).toThrow(/after close\(\) \(chunk worker 1 exited\)/);
    } finally {
      delete process.env.METAGRAD_FAULT;
    }
  }, 60_000);

  it('a worker that cannot build the algorithm fails the first call with the reason, and the runner is closed', async () => {
    const { setup, theta, batch } = await batchOf(tiny('lvc-vpg', { metaBatchSize: 6 }));
    const chunks = metaBatchChunks(batch, 2 * 4 * 20 * 16);
    const r = new ThreadRunner(algoOf(setup, 1 << 21, 1).ops!, setup.policy, { algo: 'lvc-vpg', algoConfig: {} as AlgoConfig, policy: { obsDim: 2, actDim: 2 } }, 2);
    runners.push(r);
    expect(() => r.run('grad', theta, chunks)).toThrow(/chunk worker 1: could not build lvc-vpg: Adam: lr must be/);
    expect(() => r.run('grad', theta, chunks)).toThrow(/after close\(\) \(could not start/);
  }, 60_000);
});

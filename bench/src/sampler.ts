/**
 * Sampler throughput for the reference configuration of one ProMP iteration on HalfCheetahFwdBack:
 * 40 tasks × 20 rollouts × 100 steps = 80,000 env steps with the (64, 64) tanh Gaussian MLP policy
 * (Glorot-uniform weights, log σ = 0, as at initialization), serial (one thread, one batched policy
 * call per step over all 800 environments) and on worker threads. Each pass is timed whole; the
 * figure is the median of the passes (the fastest pass is recorded too: other jobs on a shared machine
 * slow some passes down). The worker result is checked bit for bit against the serial one.
 *
 *   npx tsc -b packages/envs bench && node bench/dist/sampler.js             # 3 passes each, ~40 s
 *   node bench/dist/sampler.js --passes 5 --workers 2 --env half-cheetah-fwd-back
 *
 * Writes bench/results/sampler.json.
 */
import { Rng } from '@metagrad/autograd';
import { WorkerSampler, gaussianMLPParamCount, makeEnv, sampleMetaBatch } from '@metagrad/envs';
import type { GaussianMLPSpec, SampleBatch } from '@metagrad/envs';
import { type BenchResult, machine, median, sig, writeResults } from './results.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1]! : fallback;
}

const ENV = arg('env', 'half-cheetah-fwd-back');
const TASKS = Number(arg('tasks', '40'));
const ROLLOUTS = Number(arg('rollouts', '20'));
const PASSES = Math.max(1, Number(arg('passes', '3')));
const WORKERS = Number(arg('workers', '2'));
/** The target: the 80,000-step pass in ≤ 10 s with 2 workers. */
const TARGET_MS = 10_000;

/** Glorot-uniform (64, 64) tanh Gaussian MLP, zero biases, log σ = 0 (GaussianMLPPolicy.init's layout). */
function initialPolicy(obsDim: number, actDim: number, rng: Rng): GaussianMLPSpec {
  const hidden = [64, 64];
  const sizes = [obsDim, ...hidden, actDim];
  const params = new Float64Array(gaussianMLPParamCount(obsDim, actDim, hidden));
  let o = 0;
  for (let l = 0; l + 1 < sizes.length; l++) {
    const lim = Math.sqrt(6 / (sizes[l]! + sizes[l + 1]!));
    for (let i = 0; i < sizes[l]! * sizes[l + 1]!; i++) params[o++] = rng.uniformIn(-lim, lim);
    o += sizes[l + 1]!; // biases 0
  }
  return { kind: 'gaussian-mlp', obsDim, actDim, hidden, params }; // logStd 0 (the tail)
}

function sameBatch(a: SampleBatch, b: SampleBatch): boolean {
  const eq = (x: ArrayBufferView, y: ArrayBufferView): boolean =>
    Buffer.from(x.buffer, x.byteOffset, x.byteLength).equals(Buffer.from(y.buffer, y.byteOffset, y.byteLength));
  return eq(a.obs, b.obs) && eq(a.actions, b.actions) && eq(a.rewards, b.rewards) && eq(a.mask, b.mask);
}

async function main(): Promise<void> {
  const env = await makeEnv(ENV);
  const rng = new Rng(1);
  const tasks = env.sampleTasks(TASKS, rng);
  const obsDim = env.observationSpace.kind === 'box' ? env.observationSpace.shape[0] : 1;
  const actDim = env.actionSpace.kind === 'box' ? env.actionSpace.shape[0] : 1;
  const policy = initialPolicy(obsDim, actDim, rng);
  const opts = (seed: number) => ({ tasks, rolloutsPerTask: ROLLOUTS, policy, rng: new Rng(seed) });
  console.log(`${ENV}: ${TASKS} tasks × ${ROLLOUTS} rollouts × ${env.horizon} steps, Gaussian MLP (64, 64); ${PASSES} passes each\n`);

  const serialMs: number[] = [];
  let serial: SampleBatch | null = null;
  for (let p = 0; p < PASSES; p++) {
    const t0 = performance.now();
    serial = sampleMetaBatch(env, opts(100 + p));
    serialMs.push(performance.now() - t0);
    console.log(`  serial pass ${p + 1}: ${(serialMs[p]! / 1e3).toFixed(2)} s, ${serial.envSteps} steps`);
  }

  const t0 = performance.now();
  const ws = await WorkerSampler.create({ env: ENV, workers: WORKERS });
  const startupMs = performance.now() - t0;
  console.log(`  ${WORKERS} workers started in ${(startupMs / 1e3).toFixed(2)} s (module load, MuJoCo, model compile)`);
  const workerMs: number[] = [];
  let equal = true;
  for (let p = 0; p < PASSES; p++) {
    const t1 = performance.now();
    const batch = await ws.sample(opts(100 + p));
    workerMs.push(performance.now() - t1);
    if (p === PASSES - 1) equal = sameBatch(batch, serial!);
    console.log(`  ${WORKERS} workers pass ${p + 1}: ${(workerMs[p]! / 1e3).toFixed(2)} s, ${batch.envSteps} steps`);
  }
  await ws.close();

  const steps = serial!.envSteps;
  const date = new Date().toISOString();
  const row = (sampler: string, workers: number, ms: number[], extra: Record<string, number | boolean>): BenchResult => ({
    suite: 'sampler', work: `promp_iteration_${ENV}`, dtype: 'float64', backend: 'cpu', mode: null,
    median_ms: sig(median(ms), 4), gflops: null, steps_per_s: sig(steps / (median(ms) / 1e3), 4), rel_err: null,
    machine: machine(), date, sampler, workers, env_steps: steps, tasks: TASKS, rollouts: ROLLOUTS, passes: ms.length,
    min_ms: sig(Math.min(...ms), 4), ...extra,
  });
  const rows = [row('serial', 1, serialMs, {}), row('workers', WORKERS, workerMs, { startup_ms: sig(startupMs, 4), equal_to_serial: equal })];
  const file = writeResults('sampler', rows);
  console.log(`\nResults (medians; written to ${file}):`);
  console.table(rows.map((r) => ({
    sampler: r.sampler === 'serial' ? 'serial' : `${r.workers} workers`, 'median s': sig(r.median_ms! / 1e3, 3), 'min s': sig((r.min_ms as number) / 1e3, 3), 'steps/s': r.steps_per_s,
    'same as serial': r.sampler === 'serial' ? '' : String(r.equal_to_serial),
    target: r.sampler === 'serial' || WORKERS !== 2 || ENV !== 'half-cheetah-fwd-back' ? '' : `≤ 10 s: ${r.median_ms! <= TARGET_MS ? 'met' : 'MISSED'}`,
  })));
  if (!equal) {
    console.error('the worker batch differs from the serial batch');
    process.exitCode = 1;
  }
}

await main();

/**
 * What the reference's sampling ('steps') gives an update compared with one episode per rollout
 * ('episodes'), per task, at the initial policy (where falling tasks end their episodes earliest):
 * one round of 10 tasks × 20 rollouts at the task's horizon, serial, both modes from the same seed.
 * Per mode: paths, steps kept (the data an update sees), mean path length, rows per task (the packing's
 * padding: 20 rows would hold the nominal steps exactly) and the round's wall time.
 *
 *   npx tsc -b bench && node bench/dist/sampling-modes.js      # ~1.5 min
 *
 * Writes bench/results/sampling-modes.json.
 */
import { Rng } from '@metagrad/autograd';
import { ENV_DIMS, type SamplingMode, makeEnv, sampleMetaBatch } from '@metagrad/envs';
import { ENV_DEFAULTS, GaussianMLPPolicy } from '@metagrad/rl';
import { type BenchResult, machine, sig, writeResults } from './results.js';

const TASKS = 10, ROLLOUTS = 20;
const ENVS = ['half-cheetah-fwd-back', 'ant-rand-dir', 'walker2d-fwd-back', 'hopper-rand-params', 'walker2d-rand-params', 'humanoid-rand-dir'] as const;

async function main(): Promise<void> {
  const rows: BenchResult[] = [];
  const date = new Date().toISOString();
  for (const name of ENVS) {
    const env = await makeEnv(name);
    const H = ENV_DEFAULTS[name]?.horizon ?? 100, hidden = ENV_DEFAULTS[name]?.hidden ?? [64, 64];
    const { obsDim, actDim } = ENV_DIMS[name];
    const policy = new GaussianMLPPolicy({ obsDim, actDim, hidden });
    const spec = { kind: 'gaussian-mlp' as const, obsDim, actDim, hidden, params: policy.flatten(policy.init(new Rng(1))) };
    const tasks = env.sampleTasks(TASKS, new Rng(2));
    const kept: Record<string, number> = {};
    for (const mode of ['episodes', 'steps'] as SamplingMode[]) {
      const t0 = performance.now();
      const b = sampleMetaBatch(env, { tasks, rolloutsPerTask: ROLLOUTS, policy: spec, rng: new Rng(3), horizon: H, mode });
      const ms = performance.now() - t0;
      kept[mode] = b.lengths.reduce((s, l) => s + l, 0);
      rows.push({
        suite: 'sampling-modes', work: `round_${name}`, dtype: 'float64', backend: 'cpu', mode: null, median_ms: sig(ms, 4), gflops: null,
        steps_per_s: null, rel_err: null, machine: machine(), date, sampling: mode, env: name, tasks: TASKS, rollouts: ROLLOUTS, horizon: H,
        paths: b.nTraj, steps_kept: kept[mode]!, mean_path_length: sig(kept[mode]! / b.nTraj, 3), rows_per_task: b.rowsPerTask, env_steps_counted: b.envSteps,
      });
    }
    console.log(`${name}: ${kept.steps} steps kept with 'steps', ${kept.episodes} with 'episodes' (${sig(kept.steps! / kept.episodes!, 3)}×)`);
  }
  const file = writeResults('sampling-modes', rows);
  console.log(`\nwritten to ${file}`);
  console.table(rows.map((r) => ({ env: r.env, sampling: r.sampling, paths: r.paths, 'steps kept': r.steps_kept, 'mean length': r.mean_path_length, 'rows/task': r.rows_per_task, 's': sig(r.median_ms! / 1e3, 3) })));
}

await main();

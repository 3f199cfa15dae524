/**
 * Raw environment throughput: env.step calls per second for each task, one thread, random actions
 * (uniform over the actuators' ctrl range, drawn before timing), resetting whenever an episode ends.
 * Timed with benny: one case = 1000 steps; steps/s = 1000 / median seconds per case.
 *
 *   npx tsc -b packages/envs bench && node bench/dist/envs.js          # all tasks, ~1 min on 2 cores
 *   node bench/dist/envs.js --only half-cheetah-fwd-back --steps 2000
 *   BENCH_QUICK=1 node bench/dist/envs.js                               # fewer samples
 *
 * Writes bench/results/envs.json (one flat object per task).
 */
import b from 'benny';
import type { CaseResult } from 'benny/lib/internal/common-types.js';
import { Rng } from '@metagrad/autograd';
import { envNames, makeEnv, loadMujoco } from '@metagrad/envs';
import type { BoxSpace, MetaEnv } from '@metagrad/envs';
import { type BenchResult, machine, median, sig, writeResults } from './results.js';

const QUICK = process.env['BENCH_QUICK'] === '1';
const CASES = QUICK ? { minSamples: 3, maxTime: 0.5 } : { minSamples: 8, maxTime: 3 };
/** The target on the 2-core machine. */
const TARGETS: Record<string, number> = { 'half-cheetah-fwd-back': 20_000 };

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const STEPS = Number(arg('steps') ?? 1000);
const only = arg('only')?.split(',');
const names = envNames.filter((n) => !only || only.includes(n));

/** An env, its pre-drawn random actions and an Rng for resets: `run()` does STEPS steps. */
async function workload(name: string): Promise<{ run: () => number; episodes: () => number }> {
  const env: MetaEnv<unknown> = await makeEnv(name, name === 'tabular' ? {} : { normalizeActions: false });
  const rng = new Rng(2024);
  env.setTask(env.sampleTasks(1, rng)[0]);
  env.reset(rng);
  const space = env.actionSpace;
  const acts: (Float64Array | number)[] = Array.from({ length: 4096 }, () =>
    space.kind === 'discrete' ? rng.int(space.n) : Float64Array.from((space as BoxSpace).low, (lo, i) => rng.uniformIn(lo, (space as BoxSpace).high[i]!)),
  );
  let k = 0, episodes = 0, t = 0;
  return {
    run: () => {
      let sum = 0;
      for (let s = 0; s < STEPS; s++) {
        const r = env.step(acts[k++ & 4095]!);
        sum += r.reward;
        if (r.done || ++t >= env.horizon) {
          env.reset(rng);
          episodes++;
          t = 0;
        }
      }
      return sum;
    },
    episodes: () => episodes,
  };
}

async function main(): Promise<void> {
  await loadMujoco();
  const loads = await Promise.all(names.map(async (n) => [n, await workload(n)] as const));
  const works = new Map<string, { run: () => number; episodes: () => number }>(loads);
  let sink = 0;
  const timings: { name: string; ms: number; samples: number }[] = [];
  await b.suite(
    'envs: env.step throughput (1 thread, random actions)',
    ...names.map((n) => b.add(n, () => { sink += works.get(n)!.run(); })),
    b.configure({ cases: CASES }),
    b.cycle((r: CaseResult) => {
      const ms = median(r.details.sampleResults) * 1e3; // benchmark.js samples: seconds per case
      timings.push({ name: r.name, ms, samples: r.samples });
      console.log(`  ${r.name.padEnd(24)} ${(STEPS / (ms / 1e3)).toFixed(0).padStart(9)} steps/s  (median ${ms.toFixed(2)} ms per ${STEPS} steps, ${r.samples} samples)`);
      return undefined;
    }),
    b.complete(),
  );
  void sink;
  const date = new Date().toISOString();
  const rows: BenchResult[] = timings.map((t) => ({
    suite: 'envs', work: t.name, dtype: 'float64', backend: 'cpu', mode: null,
    median_ms: sig(t.ms, 4), gflops: null, steps_per_s: sig(STEPS / (t.ms / 1e3), 4), rel_err: null,
    machine: machine(), date, steps_per_case: STEPS, samples: t.samples, episodes: works.get(t.name)!.episodes(),
  }));
  const file = writeResults(only ? `envs-${only.join('+')}` : 'envs', rows);
  console.log(`\nResults (written to ${file}):`);
  console.table(rows.map((r) => {
    const target = TARGETS[r.work];
    return {
      env: r.work, 'steps/s': r.steps_per_s, 'median ms / case': r.median_ms,
      target: target === undefined ? '' : `≥ ${target}: ${r.steps_per_s! >= target ? 'met' : 'MISSED'}`,
    };
  }));
}

await main();

/**
 * `metagrad variance`: the paper's Fig. 3. Without --env, the exact-math companion on a tabular MDP
 * (experiments/gradientVariance.ts): relative standard deviation of DiCE vs LVC meta-gradients across
 * pre-update batch sizes. With --env, as the paper ran it: DiCE-VPG and LVC-VPG trained on the env, the
 * meta-gradient's relative std measured on independent sampling rounds during training (upper panel) and
 * their returns (lower panel).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type TrainConfig, trainEnvNames } from '@metagrad/rl';
import { runGradientVariance, type VarianceConfig } from '../report/variance.js';
import { writeChart } from '../report/plot.js';
import { checkName, fmt, parseInteger, parseIntList, parsePositive, println, UsageError, type CliIO } from '../io.js';
import { buildConfig, configOverrides, flagsGiven, readConfigFile, type TrainFlags } from '../options.js';
import { executeRuns, planReusableRun, type RunPlan } from '../runs.js';
import { readRun } from '../rundir.js';

/** Flags of `metagrad variance` (strings as typed). */
export interface VarianceFlags {
  out?: string;
  seed?: string;
  repeats?: string;
  alpha?: string;
  horizon?: string;
  states?: string;
  actions?: string;
  batchSizes?: string;
  nPost?: string;
  perSample?: boolean;
}

/** Checks the flags; throws UsageError. */
export function planVariance(f: VarianceFlags): VarianceConfig {
  const cfg: VarianceConfig = {
    out: f.out ?? 'runs/gradient-variance',
    seed: parseInteger('seed', f.seed ?? '1', 0)!,
    repeats: parseInteger('repeats', f.repeats ?? '200', 2)!,
    alpha: parsePositive('alpha', f.alpha ?? '1')!,
    horizon: parseInteger('horizon', f.horizon ?? '10')!,
    states: parseInteger('states', f.states ?? '3')!,
    actions: parseInteger('actions', f.actions ?? '2')!,
    batchSizes: parseIntList('batch-sizes', f.batchSizes ?? '10,20,40,80')!,
    nPost: parseInteger('n-post', f.nPost ?? '400')!,
    perSample: f.perSample === true,
  };
  return cfg;
}

/** The training settings `variance --env` takes as flags (besides --seed and --horizon, shared with the tabular mode). */
export const VARIANCE_TRAINING_FLAGS: readonly (keyof TrainConfig)[] = [
  'iterations', 'metaBatchSize', 'rolloutsPerTask', 'hidden', 'innerLr', 'metaLr', 'workers', 'dtype', 'varianceEvery', 'varianceRounds',
];

/** Runs `metagrad variance` (the tabular mode). */
export async function varianceCommand(f: VarianceFlags, io: CliIO): Promise<void> {
  const training = flagsGiven(f as TrainFlags, VARIANCE_TRAINING_FLAGS);
  if (training.length) throw new UsageError(`${training.join(', ')} ${training.length > 1 ? 'are training settings' : 'is a training setting'}: give --env to train (the paper's Fig. 3 during training), or leave ${training.length > 1 ? 'them' : 'it'} out for the tabular MDP`);
  const cfg = planVariance(f);
  println(io.stderr, `Fig. 3 on a tabular MDP (S=${cfg.states}, A=${cfg.actions}, H=${cfg.horizon}, α=${cfg.alpha}): ${cfg.repeats} meta-gradients per estimator and batch size`);
  const { results, ratios, perSample, files } = await runGradientVariance(cfg, (s) => println(io.stderr, s));
  const rel = (n: number, e: string): string => results.find((r) => r.nPre === n && r.estimator === e)!.relStd.toFixed(3);
  const one = (n: number, e: string): string => perSample.find((r) => r.nPre === n && r.estimator === e)!.relStd.toFixed(3);
  const head = ['pre-update trajectories', 'DiCE rel. std', 'LVC rel. std', 'DiCE / LVC', ...(cfg.perSample ? ['DiCE one batch', 'LVC one batch'] : [])];
  const rows = cfg.batchSizes.map((n) => [
    String(n), rel(n, 'dice'), rel(n, 'lvc'), ratios.find((r) => r.nPre === n)!.ratio.toFixed(2), ...(cfg.perSample ? [one(n, 'dice'), one(n, 'lvc')] : []),
  ]);
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  println(io.stdout, head.map((h, i) => h.padStart(w[i]!)).join('  '));
  for (const r of rows) println(io.stdout, r.map((c, i) => c.padStart(w[i]!)).join('  '));
  for (const file of files) println(io.stdout, `wrote ${file}`);
}

/** Flags of `metagrad variance --env …` (Fig. 3 during training): the tabular ones plus the training settings. */
export interface VarianceTrainingFlags extends TrainFlags {
  env?: string;
  out?: string;
  jobs?: string;
  quiet?: boolean;
}

/**
 * Fig. 3 as the reference ran it (experiments/gradient_variance: VPG with DiCE, and with the LVC inner
 * objective, on HalfCheetahRandDirec): 20 tasks × 40 rollouts, horizon 100, (64, 64), learned σ, inner
 * step 0.1, meta step 1e-3, one inner step, normalized advantages, 301 iterations; the meta-gradient
 * measured on 10 independent sampling rounds every 10 iterations here (the reference: every iteration).
 */
export const VARIANCE_TRAINING_DEFAULTS: Partial<TrainConfig> = {
  iterations: 301, metaBatchSize: 20, rolloutsPerTask: 40, horizon: 100, hidden: [64, 64], innerLr: 0.1, metaLr: 1e-3, numInnerGradSteps: 1,
  normalizeAdv: true, learnStd: true, varianceEvery: 10, varianceRounds: 10,
};

/** The two arms of Fig. 3. */
const FIG3_ALGOS = ['dice-vpg', 'lvc-vpg'] as const;

/** Validates `variance --env`: one run per arm, resumable in `out`/runs/<algo>. */
export function planVarianceTraining(f: VarianceTrainingFlags): { plans: RunPlan[]; out: string; jobs: number } {
  const env = checkName('env', f.env!, trainEnvNames);
  const base = { ...VARIANCE_TRAINING_DEFAULTS, ...readConfigFile(f.config), ...configOverrides(f) };
  const out = f.out ?? join('reports', `variance-${env}`);
  const plans = FIG3_ALGOS.map((algo) => {
    const config = buildConfig({ ...base, algo, env });
    if (config.varianceEvery < 1) throw new UsageError('--variance-every must be at least 1 here: the measurement is what this command is for');
    return planReusableRun(`${algo} s${config.seed}`, config, join(out, 'runs', algo));
  });
  return { plans, out, jobs: parseInteger('jobs', f.jobs ?? '1')! };
}

/** One arm's series: the measured iterations' relative std, and every iteration's post-update return. */
interface VarianceSeries {
  algo: string;
  measured: { iteration: number; envSteps: number; relStd: number; std: number }[];
  returns: { iteration: number; envSteps: number; post: number }[];
}

/** Runs `metagrad variance --env …`: trains both arms (or resumes them), then writes the figure and its numbers. */
export async function varianceTrainingCommand(f: VarianceTrainingFlags, io: CliIO, argv: readonly string[]): Promise<void> {
  const { plans, out, jobs } = planVarianceTraining(f);
  const c = plans[0]!.config;
  println(io.stderr, `Fig. 3 on ${c.env}: ${FIG3_ALGOS.join(', ')}, ${c.iterations} iterations, the meta-gradient's relative std on ${c.varianceRounds} sampling rounds every ${c.varianceEvery} iterations, into ${out}${jobs > 1 ? `, ${jobs} at a time` : ''}`);
  const seconds = await executeRuns(plans, io, { quiet: f.quiet, jobs });
  const series: VarianceSeries[] = plans.map((p) => {
    const run = readRun(p.outDir);
    return {
      algo: p.config.algo,
      measured: run.records.filter((r) => r.extra?.['metaGradRelStd'] !== undefined)
        .map((r) => ({ iteration: r.iteration, envSteps: r.envSteps, relStd: r.extra!['metaGradRelStd']!, std: r.extra!['metaGradStd']! })),
      returns: run.records.map((r) => ({ iteration: r.iteration, envSteps: r.envSteps, post: r.returns.at(-1)! })),
    };
  });
  const label = (a: string): string => (a === 'dice-vpg' ? 'DiCE' : 'LVC');
  const chart = await writeChart(join(out, 'variance-training'), {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: { text: `Meta-gradient relative std and returns during training on ${c.env} (the paper's Fig. 3)`, subtitle: `VPG with the DiCE and the LVC inner objective; ${c.metaBatchSize} tasks × ${c.rolloutsPerTask} rollouts, ${c.varianceRounds} sampling rounds per measurement` },
    vconcat: [
      {
        width: 480, height: 220,
        data: { values: series.flatMap((s) => s.measured.map((m) => ({ estimator: label(s.algo), iteration: m.iteration, relStd: m.relStd }))) },
        mark: { type: 'line', point: true },
        encoding: {
          x: { field: 'iteration', type: 'quantitative', title: 'iteration' },
          y: { field: 'relStd', type: 'quantitative', title: 'relative std of the meta-gradient' },
          color: { field: 'estimator', type: 'nominal', title: 'inner objective' },
        },
      },
      {
        width: 480, height: 180,
        data: { values: series.flatMap((s) => s.returns.map((r) => ({ estimator: label(s.algo), iteration: r.iteration, post: r.post }))) },
        mark: { type: 'line' },
        encoding: {
          x: { field: 'iteration', type: 'quantitative', title: 'iteration' },
          y: { field: 'post', type: 'quantitative', title: 'average post-update return' },
          color: { field: 'estimator', type: 'nominal', title: 'inner objective' },
        },
      },
    ],
  });
  const json = join(out, 'variance-training.json');
  writeFileSync(json, `${JSON.stringify({ command: `metagrad ${argv.join(' ')}`, env: c.env, seconds, series }, null, 1)}\n`);
  const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
  println(io.stdout, `relative std of the meta-gradient (mean over the ${series[0]!.measured.length} measurements) and the last post-update return:`);
  for (const s of series) println(io.stdout, `  ${label(s.algo).padEnd(5)} ${fmt(mean(s.measured.map((m) => m.relStd)))}   return ${fmt(s.returns.at(-1)?.post)}`);
  const [d, l] = series;
  if (d!.measured.length && l!.measured.length) println(io.stdout, `  DiCE / LVC: ${fmt(mean(d!.measured.map((m) => m.relStd)) / mean(l!.measured.map((m) => m.relStd)))}`);
  for (const file of [chart.svg, chart.png, json]) println(io.stdout, `wrote ${file}`);
}

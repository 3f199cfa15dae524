/**
 * `metagrad compare`: the paper's Fig. 2 at a small budget. Trains every (algorithm, seed) on one env,
 * one after another under one progress bar (finished runs in the output directory are kept, stopped
 * ones resumed), then writes learning curves and report.md with the final pre/post-update returns.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { algoNames, trainEnvNames, type TrainConfig } from '@metagrad/rl';
import { type BudgetReturns, type FinalReturns, finalReturns, returnsAtBudgets, writeLearningCurves } from '../report/curves.js';
import { readRun, type RunLog } from '../rundir.js';
import { reportMarkdown } from '../report/markdown.js';
import { UsageError, checkName, fmt, parseInteger, parseNameList, println, type CliIO } from '../io.js';
import { buildConfig, configOverrides, readConfigFile, type TrainFlags } from '../options.js';
import { executeRuns, planReusableRun, type RunPlan } from '../runs.js';

/** Flags of `metagrad compare`. */
export interface CompareFlags extends TrainFlags {
  env?: string;
  algos?: string;
  seeds?: string;
  out?: string;
  last?: string;
  jobs?: string;
  /** Print the result as JSON on stdout instead of the table. */
  json?: boolean;
  quiet?: boolean;
}

/** What `compare --json` prints. */
export interface CompareResult {
  env: string;
  /** The report directory, report.md and the learning-curve files. */
  out: string;
  report: string;
  curves: { svg: string; png: string };
  /** Final returns per algorithm (mean ± std over seeds of each run's last `lastK` iterations). */
  finals: FinalReturns[];
  lastK: number;
  /** Post-update returns at 25, 50, 75 and 100 % of the budget. */
  budgets: BudgetReturns[];
  runs: { algo: string; seed: number; dir: string }[];
  /** Wall time of the training, in seconds. */
  seconds: number;
}

/** Default algorithms of `compare`: the paper's Fig. 2 line-up without the slowest two. */
export const DEFAULT_COMPARE_ALGOS = 'promp,maml-trpo,e-maml-trpo,lvc-vpg';

/** A (algo, seed) config from the shared flags. */
function configFor(base: Partial<TrainConfig>, algo: string, env: string, seed: number): TrainConfig {
  return buildConfig({ ...base, algo, env, seed });
}

/** Validates everything `compare` will run; throws UsageError before any training. */
export function planCompare(f: CompareFlags): { plans: RunPlan[]; out: string; env: string; algos: string[]; seeds: number[]; lastK: number; jobs: number } {
  if (f.env === undefined) throw new UsageError(`--env is required (one of ${trainEnvNames.join(', ')})`);
  const env = checkName('env', f.env, trainEnvNames);
  const algos = parseNameList('algos', f.algos ?? DEFAULT_COMPARE_ALGOS, algoNames);
  const nSeeds = parseInteger('seeds', f.seeds ?? '3')!;
  const base = { ...readConfigFile(f.config), ...configOverrides(f) };
  const firstSeed = base.seed ?? 1;
  const seeds = Array.from({ length: nSeeds }, (_, i) => firstSeed + i);
  const out = f.out ?? join('reports', `compare-${env}`);
  const plans = algos.flatMap((algo) => seeds.map((seed) => planReusableRun(`${algo} s${seed}`, configFor(base, algo, env, seed), join(out, 'runs', `${algo}-s${seed}`))));
  const iters = plans[0]!.config.iterations;
  const lastK = parseInteger('last', f.last ?? String(Math.max(1, Math.round(iters / 10))))!;
  const jobs = parseInteger('jobs', f.jobs ?? '1')!;
  return { plans, out, env, algos, seeds, lastK, jobs };
}

/** The setup rows of a report, from the first run's config. */
export function setupRows(c: TrainConfig, extra: Record<string, string | number> = {}): Record<string, string | number> {
  return {
    env: c.env, iterations: c.iterations, 'tasks per meta-batch': c.metaBatchSize, 'rollouts per task': c.rolloutsPerTask, horizon: c.horizon,
    'inner steps': c.numInnerGradSteps, 'inner lr': c.innerLr, 'meta lr': c.metaLr, 'ProMP steps': c.numPrompSteps, 'ProMP clip ε': c.clipEps,
    'TRPO KL bound': c.trpoStepSize, 'policy hidden layers': c.hidden.join(', '),
    'policy σ': c.learnStd ? `learned (initial ${fmt(Math.exp(c.initLogStd))})` : `fixed at ${fmt(Math.exp(c.initLogStd))}`,
    dtype: c.dtype, 'sampler workers': c.workers, ...extra,
  };
}

/** Prints the final-returns table of a set of runs. */
export function printFinals(io: CliIO, runs: readonly RunLog[], lastK: number): void {
  const fin = finalReturns(runs, lastK);
  const rows = fin.map((f) => [f.algo, String(f.seeds), `${fmt(f.pre.mean)} ± ${fmt(f.pre.std)}`, f.post ? `${fmt(f.post.mean)} ± ${fmt(f.post.std)}` : '—']);
  const head = ['algorithm', 'seeds', 'pre-update', 'post-update'];
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  println(io.stdout, head.map((h, i) => h.padEnd(w[i]!)).join('  '));
  for (const r of rows) println(io.stdout, r.map((c, i) => c.padEnd(w[i]!)).join('  '));
}

/** Runs `metagrad compare`. */
export async function compareCommand(f: CompareFlags, io: CliIO, argv: readonly string[]): Promise<void> {
  const { plans, out, env, algos, seeds, lastK, jobs } = planCompare(f);
  const kept = plans.filter((p) => p.mode === 'done').length;
  println(io.stderr, `comparing ${algos.join(', ')} on ${env}, seeds ${seeds.join(', ')}: ${plans.length} runs of ${plans[0]!.config.iterations} iterations into ${out}${kept ? ` (${kept} already finished, kept)` : ''}${jobs > 1 ? `, ${jobs} at a time` : ''}`);
  const seconds = await executeRuns(plans, io, { quiet: f.quiet, jobs });
  const runs = plans.map((p) => readRun(p.outDir));
  const curves = await writeLearningCurves(runs, join(out, 'learning-curves'), { title: `Meta-learning curves on ${env}` });
  const report = join(out, 'report.md');
  const finals = finalReturns(runs, lastK);
  const budgets = returnsAtBudgets(runs, [0.25, 0.5, 0.75, 1], lastK);
  const runList = plans.map((p) => ({ algo: p.config.algo, seed: p.config.seed, dir: p.outDir }));
  writeFileSync(report, reportMarkdown({
    title: `${algos.join(' vs ')} on ${env}`,
    intro: `The paper's Fig. 2 at a small budget: average return before (pre-update) and after adaptation (post-update) against environment steps, ${seeds.length} seed${seeds.length > 1 ? 's' : ''} per algorithm.`,
    command: `metagrad ${argv.join(' ')}`,
    setup: setupRows(plans[0]!.config, { seeds: seeds.join(', ') }),
    finals, lastK, budgets,
    figures: [{ caption: 'Learning curves: post-update return (solid) and pre-update return (dashed), mean over seeds with min–max band', png: curves.png, svg: curves.svg }],
    runs: runList,
    wallSeconds: seconds, keptRuns: kept,
  }, report));
  if (f.json) {
    const result: CompareResult = { env, out, report, curves: { svg: curves.svg, png: curves.png }, finals, lastK, budgets, runs: runList, seconds };
    println(io.stdout, JSON.stringify(result));
    return;
  }
  printFinals(io, runs, lastK);
  println(io.stdout, `wrote ${report}`);
  println(io.stdout, `wrote ${curves.svg}`);
  println(io.stdout, `wrote ${curves.png}`);
}

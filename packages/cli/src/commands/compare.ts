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
  envs?: string;
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
/** The five algorithms of the paper's Fig. 2, the default of `compare --envs`. */
export const FIG2_ALGOS = 'promp,maml-trpo,e-maml-trpo,e-maml-vpg,lvc-vpg';

/** A (algo, seed) config from the shared flags. */
function configFor(base: Partial<TrainConfig>, algo: string, env: string, seed: number): TrainConfig {
  return buildConfig({ ...base, algo, env, seed });
}

/** Validates everything `compare` will run; throws UsageError before any training. */
export function planCompare(f: CompareFlags): { plans: RunPlan[]; out: string; env: string; algos: string[]; seeds: number[]; lastK: number; jobs: number } {
  if (f.env === undefined) throw new UsageError(`--env is required (one of ${trainEnvNames.join(', ')}), or --envs for several`);
  const env = checkName('env', f.env, trainEnvNames);
  const algos = parseNameList('algos', f.algos ?? (f.envs !== undefined ? FIG2_ALGOS : DEFAULT_COMPARE_ALGOS), algoNames);
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

/** Runs `metagrad compare`: one env (--env), or several (--envs: a report per env and a summary). */
export async function compareCommand(f: CompareFlags, io: CliIO, argv: readonly string[]): Promise<void> {
  if (f.envs === undefined) {
    await compareEnv(f, io, argv);
    return;
  }
  if (f.env !== undefined) throw new UsageError('give --env for one task or --envs for several, not both');
  const envs = parseNameList('envs', f.envs, trainEnvNames);
  const root = f.out ?? join('reports', 'fig2');
  // every plan is checked before any training starts
  for (const env of envs) planCompare({ ...f, env, out: join(root, env) });
  const results: CompareResult[] = [];
  for (const env of envs) {
    const r = await compareEnv({ ...f, env, out: join(root, env) }, io, argv, true);
    results.push(r!);
  }
  const { summary, file, curves } = await writeCompareSummary(root, results, `metagrad ${argv.join(' ')}`);
  if (f.json) println(io.stdout, JSON.stringify(summary));
  else {
    println(io.stdout, summaryMarkdown(summary, null));
    println(io.stdout, `wrote ${file}`);
    println(io.stdout, `wrote ${curves.png}`);
  }
}

/**
 * Writes the summary of a multi-task comparison into `root`: summary.md (with `command`), summary.json,
 * and learning-curves.svg/png with every task's curves, one panel per task (the paper's Fig. 2 layout).
 */
export async function writeCompareSummary(root: string, results: readonly CompareResult[], command: string): Promise<{
  summary: CompareSummary;
  /** Path of summary.md. */
  file: string;
  curves: { svg: string; png: string };
}> {
  const summary = compareSummary(results);
  const runs = results.flatMap((r) => r.runs.map((x) => readRun(x.dir)));
  const curves = await writeLearningCurves(runs, join(root, 'learning-curves'), { title: `Meta-learning curves on ${results.length} task${results.length === 1 ? '' : 's'}` });
  const file = join(root, 'summary.md');
  writeFileSync(file, summaryMarkdown(summary, command, 'learning-curves.png'));
  writeFileSync(join(root, 'summary.json'), `${JSON.stringify(summary, null, 1)}\n`);
  return { summary, file, curves: { svg: curves.svg, png: curves.png } };
}

/** The summary of a multi-task comparison: per task, each algorithm's final post-update return and whether the reference algorithm is ahead of it along the way. */
export interface CompareSummary {
  /** The algorithm the others are compared with (promp when it ran, else the first). */
  reference: string;
  /** The budget fractions of `ahead`. */
  fractions: number[];
  tasks: {
    env: string;
    /** Final returns (post-update, else pre-update) per algorithm: mean ± std over seeds, and the seed count. */
    finals: { algo: string; mean: number; std: number; seeds: number }[];
    /** For each other algorithm: at each budget fraction, whether the reference's mean post-update return is above its. */
    ahead: { algo: string; at: boolean[] }[];
    report: string;
  }[];
}

/** Builds the summary from the per-task results. */
export function compareSummary(results: readonly CompareResult[]): CompareSummary {
  const algosOf = (r: CompareResult): string[] => r.finals.map((x) => x.algo);
  const reference = algosOf(results[0]!).includes('promp') ? 'promp' : algosOf(results[0]!)[0]!;
  const fractions = results[0]!.budgets.map((b) => b.fraction);
  const post = (x: FinalReturns): { mean: number; std: number } => x.post ?? x.pre;
  return {
    reference, fractions,
    tasks: results.map((r) => ({
      env: r.env, report: r.report,
      finals: r.finals.map((x) => ({ algo: x.algo, ...post(x), seeds: x.seeds })),
      ahead: algosOf(r).filter((a) => a !== reference).map((algo) => ({
        algo,
        at: r.budgets.map((b) => {
          const ref = b.finals.find((x) => x.algo === reference), other = b.finals.find((x) => x.algo === algo);
          return ref !== undefined && other !== undefined && post(ref).mean > post(other).mean;
        }),
      })),
    })),
  };
}

/**
 * The summary as Markdown: a table of final returns per task, where the reference algorithm is ahead,
 * and the figure of every task's curves when `figure` (its path relative to the summary) is given.
 */
export function summaryMarkdown(s: CompareSummary, command: string | null, figure?: string): string {
  const algos = [...new Set(s.tasks.flatMap((t) => t.finals.map((x) => x.algo)))];
  const pct = s.fractions.map((f) => `${Math.round(100 * f)} %`).join(' / ');
  const lines = [
    `# The paper's Fig. 2: summary over ${s.tasks.length} task${s.tasks.length > 1 ? 's' : ''}`, '',
    ...(command ? ['```sh', command, '```', ''] : []),
    'Final post-update return (mean ± std over seeds of each run\'s last iterations):', '',
    `| task | ${algos.join(' | ')} |`, `| --- |${algos.map(() => ' --- |').join('')}`,
    ...s.tasks.map((t) => `| ${t.env} | ${algos.map((a) => {
      const x = t.finals.find((y) => y.algo === a);
      return x ? `${fmt(x.mean)} ± ${fmt(x.std)}` : '—';
    }).join(' | ')} |`),
    '', `Is ${s.reference}'s mean post-update return above each algorithm's at ${pct} of the budget (✓ / ✗)?`, '',
    `| task | ${algos.filter((a) => a !== s.reference).join(' | ')} |`, `| --- |${algos.filter((a) => a !== s.reference).map(() => ' --- |').join('')}`,
    ...s.tasks.map((t) => `| ${t.env} | ${algos.filter((a) => a !== s.reference).map((a) => {
      const x = t.ahead.find((y) => y.algo === a);
      return x ? x.at.map((v) => (v ? '✓' : '✗')).join(' ') : '—';
    }).join(' | ')} |`),
    '', ...s.tasks.map((t) => `- ${t.env}: ${t.report}`), '',
    ...(figure ? [`![Learning curves per task: post-update return (solid), pre-update (dashed), mean over seeds with a band](${figure})`, ''] : []),
  ];
  return lines.join('\n');
}

/** `compare` on one env; with `collect`, returns its result instead of printing it. */
async function compareEnv(f: CompareFlags, io: CliIO, argv: readonly string[], collect = false): Promise<CompareResult | undefined> {
  const { plans, out, env, algos, seeds, lastK, jobs } = planCompare(f);
  const kept = plans.filter((p) => p.mode === 'done').length;
  println(io.stderr, `comparing ${algos.join(', ')} on ${env}, seeds ${seeds.join(', ')}: ${plans.length} runs of ${plans[0]!.config.iterations} iterations into ${out}${kept ? ` (${kept} already finished, kept)` : ''}${jobs > 1 ? `, ${jobs} at a time` : ''}`);
  const seconds = await executeRuns(plans, io, { quiet: f.quiet, jobs });
  const result = await writeCompareReport(plans, { env, out, algos, seeds, lastK, command: `metagrad ${argv.join(' ')}`, seconds, kept });
  if (collect) return result;
  if (f.json) {
    println(io.stdout, JSON.stringify(result));
    return;
  }
  printFinals(io, plans.map((p) => readRun(p.outDir)), lastK);
  println(io.stdout, `wrote ${result.report}`);
  println(io.stdout, `wrote ${result.curves.svg}`);
  println(io.stdout, `wrote ${result.curves.png}`);
}

/** What {@link writeCompareReport} needs besides the runs. */
export interface CompareReportOptions {
  env: string;
  /** The report directory. */
  out: string;
  algos: readonly string[];
  seeds: readonly number[];
  /** Final returns average the last `lastK` iterations. */
  lastK: number;
  /** The command line shown in the report. */
  command: string;
  /** Wall time of the training (seconds). */
  seconds: number;
  /** Runs that were finished before the command and kept. */
  kept: number;
}

/**
 * Writes the learning curves and report.md of the finished runs of `plans` (one env) into `o.out`; what
 * `compare` writes after training, and `sweep status --report` over a sweep's finished runs.
 */
export async function writeCompareReport(plans: readonly RunPlan[], o: CompareReportOptions): Promise<CompareResult> {
  const { env, out, algos, seeds, lastK, seconds, kept } = o;
  const runs = plans.map((p) => readRun(p.outDir));
  const curves = await writeLearningCurves(runs, join(out, 'learning-curves'), { title: `Meta-learning curves on ${env}` });
  const report = join(out, 'report.md');
  const finals = finalReturns(runs, lastK);
  const budgets = returnsAtBudgets(runs, [0.25, 0.5, 0.75, 1], lastK);
  const runList = plans.map((p) => ({ algo: p.config.algo, seed: p.config.seed, dir: p.outDir }));
  writeFileSync(report, reportMarkdown({
    title: `${algos.join(' vs ')} on ${env}`,
    intro: `The paper's Fig. 2 at a small budget: average return before (pre-update) and after adaptation (post-update) against environment steps, ${seeds.length} seed${seeds.length > 1 ? 's' : ''} per algorithm.`,
    command: o.command,
    setup: setupRows(plans[0]!.config, { seeds: seeds.join(', ') }),
    finals, lastK, budgets,
    figures: [{ caption: 'Learning curves: post-update return (solid) and pre-update return (dashed), mean over seeds with min–max band', png: curves.png, svg: curves.svg }],
    runs: runList,
    wallSeconds: seconds, keptRuns: kept,
  }, report));
  return { env, out, report, curves: { svg: curves.svg, png: curves.png }, finals, lastK, budgets, runs: runList, seconds };
}

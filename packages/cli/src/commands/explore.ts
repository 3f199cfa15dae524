/**
 * `metagrad explore`: the paper's Fig. 4 as the reference ran it (its exploration comparison): LVC-TRPO
 * (MAML-TRPO with the likelihood-ratio inner objective), MAML-TRPO and E-MAML-TRPO on point-momentum,
 * three inner steps, trained briefly by default; then each adapts on the same fresh tasks. Draws, per
 * arm, the pre-update (exploration) and post-update (exploitation) trajectories of one task over the
 * four goal regions (within 1 of each corner), and measures exploration: how many of the four goal
 * regions the pre-update trajectories of a task reach, averaged over the evaluation tasks.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { algoNames, evaluate, type AlgoName, type InnerObjective, type TrainConfig } from '@metagrad/rl';
import { writeLearningCurves } from '../report/curves.js';
import { readCheckpoint, readRun, readRunConfig } from '../rundir.js';
import { CORNERS, type ExplorePanel, panelFromEvaluation } from '../report/exploration.js';
import { writeExploration } from '../report/plot.js';
import { checkName, fmt, parseInteger, parseNameList, println, type CliIO } from '../io.js';
import { buildConfig, configOverrides, readConfigFile, type TrainFlags } from '../options.js';
import { executeRuns, planReusableRun, type RunPlan } from '../runs.js';

/** Flags of `metagrad explore`. */
export interface ExploreFlags extends TrainFlags {
  algos?: string;
  seeds?: string;
  env?: string;
  evalTasks?: string;
  evalSeed?: string;
  paths?: string;
  out?: string;
  jobs?: string;
  quiet?: boolean;
}

/**
 * The brief-training config of `explore`: Fig. 4's three inner steps, inner step 0.1 and horizon 100, with
 * a smaller meta-batch and policy than the reference's (40 tasks × 20 rollouts, (64, 64), 501 iterations)
 * so that the three runs take minutes on two cores. The reference's budget: `--meta-batch-size 40
 * --rollouts-per-task 20 --hidden 64,64 --iterations 501` (see the README).
 */
export const EXPLORE_DEFAULTS: Partial<TrainConfig> = {
  iterations: 40, metaBatchSize: 20, rolloutsPerTask: 10, horizon: 100, hidden: [32, 32], numInnerGradSteps: 3, innerLr: 0.1, metaLr: 1e-2, workers: 1,
};

/** Arms of `explore` that are an algorithm with another inner objective (the rest are algorithm names). */
export const EXPLORE_ARMS: Readonly<Record<string, { algo: AlgoName; innerObjective: InnerObjective }>> = {
  /** LVC-TRPO: MAML-TRPO whose inner step follows the likelihood-ratio objective, LVC's gradient (the paper's Fig. 4). */
  'lvc-trpo': { algo: 'maml-trpo', innerObjective: 'likelihood-ratio' },
};

/** Fig. 4's arms and task. */
export const EXPLORE_DEFAULT_ARMS = 'lvc-trpo,maml-trpo,e-maml-trpo';
export const EXPLORE_DEFAULT_ENV = 'point-momentum';
/** The envs `explore` draws: 2-D positions first in the observation. */
export const EXPLORE_ENVS = ['point-momentum', 'point-corner', 'point-goal'] as const;

/** Radius of a corner's goal region: within 1 of the corner (on point-momentum, where the sparse reward is at least 1, half its most). */
export const GOAL_REGION_RADIUS = 1;

/**
 * The goal regions of a corner env (point-momentum, point-corner): the discs of radius
 * {@link GOAL_REGION_RADIUS} around the four corners. Null for point-goal (no finite set of goals).
 */
export function goalRegions(env: string): { corners: ReadonlyArray<readonly [number, number]>; radius: number; contains(c: readonly [number, number], x: number, y: number): boolean } | null {
  if (env !== 'point-momentum' && env !== 'point-corner') return null;
  const r = GOAL_REGION_RADIUS;
  return { corners: CORNERS, radius: r, contains: (c, x, y) => Math.hypot(x - c[0], y - c[1]) < r };
}

/**
 * The point-corner panel of one trained run: the trajectories of one evaluation task — the first
 * ('first', the same task for every algorithm of a comparison) or the one with the median post-update
 * return ('median', a representative task).
 */
export async function explorationPanel(
  runDir: string, label: string, evalSeed: number, nTasks: number, nPaths: number, pick: 'first' | 'median' = 'first',
): Promise<{
  panel: ExplorePanel;
  returns: number[];
  /** Goal regions the pre-update trajectories of a task reach, averaged over the tasks (null without regions). */
  regionsReached: number | null;
  /** Fraction of the tasks whose post-update trajectories reach their own goal region (null without regions). */
  ownGoalReached: number | null;
}> {
  const config = readRunConfig(runDir);
  const res = await evaluate(config, readCheckpoint(runDir), { tasks: nTasks, seed: evalSeed, keepTrajectories: true });
  const K = res.returns.length - 1;
  const regions = goalRegions(config.env);
  let regionsReached: number | null = null, ownGoalReached: number | null = null;
  if (regions) {
    const reaches = (paths: number[][][], c: readonly [number, number]): boolean => paths.some((p) => p.some((o) => regions.contains(c, o[0]!, o[1]!)));
    let reached = 0, own = 0;
    for (const tr of res.trajectories!) {
      reached += regions.corners.filter((c) => reaches(tr.steps[0]!, c)).length;
      const g = tr.task as [number, number];
      if (reaches(tr.steps[K]!, g)) own++;
    }
    regionsReached = reached / res.trajectories!.length;
    ownGoalReached = own / res.trajectories!.length;
  }
  return { regionsReached, ownGoalReached, panel: panelFromEvaluation(res, label, nPaths, pick).panel, returns: res.returns };
}

/** Validates everything `explore` will run. */
export function planExplore(f: ExploreFlags): { plans: (RunPlan & { arm: string })[]; arms: string[]; out: string; evalSeed: number; evalTasks: number; nPaths: number; jobs: number } {
  const arms = parseNameList('algos', f.algos ?? EXPLORE_DEFAULT_ARMS, [...Object.keys(EXPLORE_ARMS), ...algoNames]);
  const env = checkName('env', f.env ?? EXPLORE_DEFAULT_ENV, EXPLORE_ENVS);
  const base = { ...EXPLORE_DEFAULTS, ...readConfigFile(f.config), ...configOverrides(f) };
  const out = f.out ?? join('reports', 'explore');
  const firstSeed = base.seed ?? 1;
  const seeds = Array.from({ length: parseInteger('seeds', f.seeds ?? '1')! }, (_, i) => firstSeed + i);
  const plans = arms.flatMap((arm) => seeds.map((seed) => {
    const config = buildConfig({ ...base, ...(EXPLORE_ARMS[arm] ?? { algo: arm }), env, seed });
    return { ...planReusableRun(`${arm} s${seed}`, config, join(out, 'runs', `${arm}-s${seed}`)), arm };
  }));
  return {
    plans, arms, out, evalSeed: parseInteger('eval-seed', f.evalSeed ?? '7', 0)!, evalTasks: parseInteger('eval-tasks', f.evalTasks ?? '20')!,
    nPaths: parseInteger('paths', f.paths ?? '8')!, jobs: parseInteger('jobs', f.jobs ?? '1')!,
  };
}

/** mean ± std (population) of xs, as text. */
const meanStd = (xs: readonly number[]): { mean: number; std: number } => {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  return { mean, std: Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length) };
};

/** Runs `metagrad explore`. */
export async function exploreCommand(f: ExploreFlags, io: CliIO, argv: readonly string[]): Promise<void> {
  const { plans, arms, out, evalSeed, evalTasks, nPaths, jobs } = planExplore(f);
  const c = plans[0]!.config;
  const nSeeds = plans.length / arms.length;
  println(io.stderr, `Fig. 4 on ${c.env}: ${arms.join(', ')}, ${nSeeds} seed${nSeeds > 1 ? 's' : ''}, ${c.iterations} iterations each, ${c.numInnerGradSteps} inner steps, into ${out}${jobs > 1 ? `, ${jobs} at a time` : ''}`);
  const seconds = await executeRuns(plans, io, { quiet: f.quiet, jobs });
  const panels: ExplorePanel[] = [];
  type Seed = { seed: number; returns: number[]; regionsReached: number | null; ownGoalReached: number | null };
  const evals: { algo: string; config: { algo: string; innerObjective: string }; seeds: Seed[] }[] = [];
  for (const arm of arms) {
    const mine = plans.filter((p) => p.arm === arm);
    const seeds: Seed[] = [];
    for (const p of mine) {
      const { panel, returns, regionsReached, ownGoalReached } = await explorationPanel(p.outDir, arm, evalSeed, evalTasks, nPaths);
      if (p === mine[0]) panels.push(panel); // the figure shows the first seed of each arm
      seeds.push({ seed: p.config.seed, returns, regionsReached, ownGoalReached });
    }
    evals.push({ algo: arm, config: { algo: mine[0]!.config.algo, innerObjective: mine[0]!.config.innerObjective }, seeds });
  }
  const regions = goalRegions(c.env);
  const fig = await writeExploration(join(out, 'exploration'), panels, {
    title: `Exploration (pre-update) and adaptation (post-update) on ${c.env}`,
    subtitle: `after ${c.iterations} iterations (seed ${c.seed}); ${c.numInnerGradSteps} inner steps; blue: pre-update, red: after the last inner step; ` +
      `discs: ${regions ? `the goal regions (within ${regions.radius} of a corner)` : 'the corner goals'} of the four tasks, green: this task's`,
    regionRadius: regions?.radius,
    extent: c.env === 'point-momentum' ? 4.5 : 3,
  });
  // each run under its arm's name: LVC-TRPO's runs are maml-trpo runs, kept apart from MAML-TRPO's
  const curves = await writeLearningCurves(plans.map((p) => ({ ...readRun(p.outDir), algo: p.arm })), join(out, 'learning-curves'), { title: `Meta-learning curves on ${c.env}` });
  const json = join(out, 'explore.json');
  writeFileSync(json, `${JSON.stringify({ command: `metagrad ${argv.join(' ')}`, env: c.env, evalSeed, evalTasks, seconds, evaluation: evals, panels }, null, 1)}\n`);
  const pm = (xs: number[]): string => (xs.length > 1 ? `${fmt(meanStd(xs).mean)} ± ${fmt(meanStd(xs).std)}` : fmt(xs[0]));
  println(io.stdout, `on ${evalTasks} fresh tasks (seed ${evalSeed})${nSeeds > 1 ? `, mean ± std over ${nSeeds} seeds` : ''}: return pre-update → post-update${regions ? '; goal regions the pre-update trajectories of a task reach (of 4); tasks whose post-update trajectories reach their goal' : ''}`);
  for (const e of evals) {
    const s = e.seeds;
    const extra = s[0]!.regionsReached === null ? ''
      : `;  regions ${pm(s.map((x) => x.regionsReached!))} of 4;  own goal ${(100 * meanStd(s.map((x) => x.ownGoalReached!)).mean).toFixed(0)} %`;
    println(io.stdout, `  ${e.algo.padEnd(12)} ${pm(s.map((x) => x.returns[0]!))} → ${pm(s.map((x) => x.returns.at(-1)!))}${extra}`);
  }
  for (const file of [fig.svg, fig.png, curves.svg, curves.png, json]) println(io.stdout, `wrote ${file}`);
}

/**
 * `metagrad explore`: the paper's Fig. 4 on point-corner. Trains ProMP, MAML-TRPO and E-MAML-TRPO
 * briefly with three inner steps, then adapts each on the same fresh tasks and draws, per algorithm,
 * the pre-update (exploration) and post-update (exploitation) trajectories of one task.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { algoNames, evaluate, type TrainConfig } from '@metagrad/rl';
import { writeLearningCurves } from '../report/curves.js';
import { readCheckpoint, readRun, readRunConfig } from '../rundir.js';
import { writeExploration, type ExplorePanel } from '../report/exploration.js';
import { fmt, parseInteger, parseNameList, println, type CliIO } from '../io.js';
import { buildConfig, configOverrides, readConfigFile, type TrainFlags } from '../options.js';
import { executeRuns, planReusableRun, type RunPlan } from '../runs.js';

/** Flags of `metagrad explore`. */
export interface ExploreFlags extends TrainFlags {
  algos?: string;
  evalSeed?: string;
  paths?: string;
  out?: string;
  jobs?: string;
  quiet?: boolean;
}

/**
 * The brief-training config of `explore` (and the demo): the paper's three inner steps on point-corner,
 * a smaller meta-batch and policy than the MuJoCo defaults so that a run takes minutes on two cores.
 */
export const EXPLORE_DEFAULTS: Partial<TrainConfig> = {
  iterations: 40, metaBatchSize: 20, rolloutsPerTask: 10, horizon: 50, hidden: [32, 32], numInnerGradSteps: 3, metaLr: 1e-2, workers: 1,
};

/**
 * The point-corner panel of one trained run: the trajectories of one evaluation task — the first
 * ('first', the same task for every algorithm of a comparison) or the one with the median post-update
 * return ('median', a representative task).
 */
export async function explorationPanel(
  runDir: string, label: string, evalSeed: number, nTasks: number, nPaths: number, pick: 'first' | 'median' = 'first',
): Promise<{ panel: ExplorePanel; returns: number[] }> {
  const res = await evaluate(readRunConfig(runDir), readCheckpoint(runDir), { tasks: nTasks, seed: evalSeed, keepTrajectories: true });
  const K = res.returns.length - 1;
  const order = res.perTask.map((r, i) => [r[K]!, i] as const).sort((a, b) => a[0] - b[0]);
  const t = pick === 'first' ? 0 : order[Math.floor((order.length - 1) / 2)]![1];
  const chosen = res.trajectories![t]!;
  const toPoints = (path: number[][]): [number, number][] => path.map((o) => [o[0]!, o[1]!]);
  const goal = chosen.task as [number, number];
  return {
    panel: {
      algo: label, goal: [goal[0], goal[1]], preReturn: res.perTask[t]![0], postReturn: res.perTask[t]![K],
      paths: [
        ...chosen.steps[0]!.slice(0, nPaths).map((p) => ({ phase: 'pre-update' as const, points: toPoints(p) })),
        ...chosen.steps[K]!.slice(0, nPaths).map((p) => ({ phase: 'post-update' as const, points: toPoints(p) })),
      ],
    },
    returns: res.returns,
  };
}

/** Validates everything `explore` will run. */
export function planExplore(f: ExploreFlags): { plans: RunPlan[]; out: string; evalSeed: number; nPaths: number; jobs: number } {
  const algos = parseNameList('algos', f.algos ?? 'promp,maml-trpo,e-maml-trpo', algoNames);
  const base = { ...EXPLORE_DEFAULTS, ...readConfigFile(f.config), ...configOverrides(f) };
  const out = f.out ?? join('reports', 'explore');
  const plans = algos.map((algo) => {
    const config = buildConfig({ ...base, algo, env: 'point-corner' });
    return planReusableRun(`${algo} s${config.seed}`, config, join(out, 'runs', algo));
  });
  return { plans, out, evalSeed: parseInteger('eval-seed', f.evalSeed ?? '7', 0)!, nPaths: parseInteger('paths', f.paths ?? '8')!, jobs: parseInteger('jobs', f.jobs ?? '1')! };
}

/** Runs `metagrad explore`. */
export async function exploreCommand(f: ExploreFlags, io: CliIO, argv: readonly string[]): Promise<void> {
  const { plans, out, evalSeed, nPaths, jobs } = planExplore(f);
  const c = plans[0]!.config;
  println(io.stderr, `Fig. 4 on point-corner: ${plans.map((p) => p.config.algo).join(', ')}, ${c.iterations} iterations each, ${c.numInnerGradSteps} inner steps, into ${out}${jobs > 1 ? `, ${jobs} at a time` : ''}`);
  const seconds = await executeRuns(plans, io, { quiet: f.quiet, jobs });
  const panels: ExplorePanel[] = [];
  const evals: { algo: string; returns: number[] }[] = [];
  for (const p of plans) {
    const { panel, returns } = await explorationPanel(p.outDir, p.config.algo, evalSeed, 4, nPaths);
    panels.push(panel);
    evals.push({ algo: p.config.algo, returns });
  }
  const fig = await writeExploration(join(out, 'exploration'), panels, {
    subtitle: `after ${c.iterations} iterations; ${c.numInnerGradSteps} inner steps; blue: pre-update, red: after the last inner step; discs: corner goals, dark green: this task's goal`,
  });
  const curves = await writeLearningCurves(plans.map((p) => readRun(p.outDir)), join(out, 'learning-curves'), { title: 'Meta-learning curves on point-corner' });
  const json = join(out, 'explore.json');
  writeFileSync(json, `${JSON.stringify({ command: `metagrad ${argv.join(' ')}`, evalSeed, seconds, evaluation: evals, panels }, null, 1)}\n`);
  println(io.stdout, `returns on 4 fresh tasks (seed ${evalSeed}), pre-update → post-update:`);
  for (const e of evals) println(io.stdout, `  ${e.algo.padEnd(12)} ${fmt(e.returns[0])} → ${fmt(e.returns.at(-1))}`);
  for (const file of [fig.svg, fig.png, curves.svg, curves.png, json]) println(io.stdout, `wrote ${file}`);
}

/**
 * `metagrad demo` (what `npm start` runs): ProMP meta-trained on point-corner for a few minutes on two
 * cores, then evaluated on fresh tasks; writes report.md, the learning curves and the trajectory figure,
 * and prints where they are and the post-update return reached.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TrainConfig } from '@metagrad/rl';
import { finalReturns, writeLearningCurves } from '../report/curves.js';
import { writeExploration } from '../report/plot.js';
import { reportMarkdown } from '../report/markdown.js';
import { UsageError, fmt, formatDuration, println, stamp, type CliIO } from '../io.js';
import { buildConfig, configOverrides } from '../options.js';
import { executeRuns } from '../runs.js';
import { isFreshDir, readRun } from '../rundir.js';
import { explorationPanel } from './explore.js';
import { setupRows } from './compare.js';
import { returnsLine } from './train.js';

/** Flags of `metagrad demo`. */
export interface DemoFlags {
  out?: string;
  iterations?: string;
  seed?: string;
  workers?: string;
}

/**
 * The demo's config: ProMP on point-corner with the settings of the README's 3-seed comparison (meta lr
 * 0.005, 20 steps per batch, σ held at 1), stopped at half that budget, where ProMP is already on the
 * plateau (about two minutes on two cores).
 */
export const DEMO_CONFIG: Partial<TrainConfig> & { algo: 'promp'; env: 'point-corner' } = {
  algo: 'promp', env: 'point-corner', seed: 1, iterations: 16, metaBatchSize: 40, rolloutsPerTask: 10, horizon: 50, hidden: [32, 32],
  numInnerGradSteps: 3, metaLr: 5e-3, numPrompSteps: 20, learnStd: false, workers: 1,
};

/** Runs `metagrad demo`. */
export async function demoCommand(f: DemoFlags, io: CliIO): Promise<void> {
  const config = buildConfig({ ...DEMO_CONFIG, ...configOverrides({ iterations: f.iterations, seed: f.seed, workers: f.workers }) });
  const out = f.out ?? join('runs', `demo-${stamp()}`);
  if (!isFreshDir(out)) throw new UsageError(`'${out}' exists and is not empty; choose another --out`);
  const runDir = join(out, 'run');
  println(io.stdout, 'metagrad demo: ProMP (the paper\'s Algorithm 1) meta-learns to find a corner goal on the 2-D point-corner task.');
  println(io.stdout, `  ${config.iterations} iterations × ${config.metaBatchSize} tasks × ${config.rolloutsPerTask} rollouts × ${config.numInnerGradSteps + 1} sampling rounds, horizon ${config.horizon}; policy MLP ${config.hidden.join('×')}`);
  println(io.stdout, '  pre-update = return before adapting to the task; post-update = after 3 inner policy-gradient steps on it.');
  const seconds = await executeRuns([{ label: 'promp', config, outDir: runDir, mode: 'fresh', done: 0 }], io);
  const run = readRun(runDir);
  println(io.stderr, 'evaluating on 40 fresh tasks…');
  const evalSeed = 99;
  const { panel, returns: evalReturns } = await explorationPanel(runDir, 'ProMP', evalSeed, 40, 8, 'median');
  const curves = await writeLearningCurves([run], join(out, 'learning-curves'), { title: 'ProMP on point-corner' });
  const traj = await writeExploration(join(out, 'trajectories'), [panel], {
    title: 'ProMP on point-corner: exploration and adaptation',
    subtitle: 'fresh task with the median post-update return; red: after 3 inner steps',
  });
  const report = join(out, 'report.md');
  writeFileSync(report, reportMarkdown({
    title: 'metagrad demo: ProMP on point-corner',
    intro: 'Meta-training with ProMP (Algorithm 1: inner steps on J^LR, Eq. 6, whose derivatives at θo are those of LVC; the clipped meta-objective ' +
      'J^CLIP with an inner KL penalty, Eq. 7) on the sparse-reward point-corner task of the paper\'s Fig. 4. Each task is one corner of the square, ' +
      'and reward is paid only for progress toward that corner once the point has left the start region and is nearest to it, so the pre-update ' +
      'policy has to explore and the inner steps turn that exploration into a path to the goal.',
    command: 'npm start   # = metagrad demo',
    setup: setupRows(config, { seed: config.seed }),
    finals: finalReturns([run], Math.max(1, Math.round(config.iterations / 10))), lastK: Math.max(1, Math.round(config.iterations / 10)),
    evaluation: [{ algo: 'promp', tasks: 40, seed: evalSeed, returns: evalReturns }],
    figures: [
      { caption: 'Learning curve: post-update return (solid) and pre-update return (dashed) against environment steps', png: curves.png, svg: curves.svg },
      { caption: 'Pre-update (exploration) and post-update trajectories on the fresh task with the median post-update return', png: traj.png, svg: traj.svg },
    ],
    runs: [{ algo: 'promp', seed: config.seed, dir: runDir }],
    wallSeconds: seconds,
  }, report));
  const last = run.records.at(-1)!;
  println(io.stdout, '');
  println(io.stdout, `trained ${run.records.length} iterations (${last.envSteps.toLocaleString('en-US')} env steps) in ${formatDuration(seconds)}`);
  println(io.stdout, `last iteration:        ${returnsLine(last.returns)}`);
  println(io.stdout, `40 fresh tasks (eval): ${returnsLine(evalReturns)}`);
  println(io.stdout, `post-update return reached: ${fmt(evalReturns.at(-1))} (pre-update ${fmt(evalReturns[0])})`);
  println(io.stdout, `report:      ${report}`);
  println(io.stdout, `plots:       ${curves.png}, ${traj.png} (and .svg)`);
  println(io.stdout, `run dir:     ${runDir}   (metagrad eval ${runDir}; metagrad plot ${runDir})`);
}

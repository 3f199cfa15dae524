/**
 * The paper's Fig. 3 on a tabular MDP: the relative standard deviation of meta-gradients estimated with the
 * DiCE inner objective vs the LVC inner objective, across pre-update batch sizes. Both estimators see the
 * same samples (same seeds) and have the same inner gradient, so their difference is the curvature term
 * α·Ĥ·∇Ĵ_outer alone. Writes <out>/variance.json and variance.svg / .png.
 *
 *   node packages/rl/dist/experiments/gradientVariance.js [--out runs/gradient-variance] [--seed 1]
 *        [--repeats 200] [--alpha 1] [--horizon 10] [--states 3] [--actions 2] [--batch-sizes 10,20,40,80] [--n-post 400]
 */
import { parseArgs } from 'node:util';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Rng, tensor } from '@metagrad/autograd';
import { gradientVarianceExperiment, type VarianceResult } from '../tabular/montecarlo.js';
import type { TabularSpec } from '../tabular/exact.js';
import { writeChart } from '../report/plot.js';

export interface VarianceConfig {
  out: string; seed: number; repeats: number; alpha: number; horizon: number; states: number; actions: number;
  batchSizes: number[]; nPost: number;
}

/** A random MDP with Dirichlet(1) transitions and rewards in [0, 1), and θ ~ U(−½, ½), from a seed. */
export function randomTabular(seed: number, S: number, A: number, H: number): { mdp: TabularSpec; theta: ReturnType<typeof tensor> } {
  const rng = new Rng(seed);
  const simplex = (k: number): number[] => {
    const x = Array.from({ length: k }, () => -Math.log(1 - rng.uniform()));
    const s = x.reduce((a, b) => a + b, 0);
    return x.map((v) => v / s);
  };
  const mdp: TabularSpec = {
    S, A, H, init: simplex(S),
    P: Array.from({ length: S }, () => Array.from({ length: A }, () => simplex(S))),
    R: Array.from({ length: S }, () => Array.from({ length: A }, () => rng.uniform())),
  };
  return { mdp, theta: tensor(Array.from({ length: S }, () => Array.from({ length: A }, () => rng.uniformIn(-0.5, 0.5)))) };
}

/** Runs the experiment and writes its JSON and chart; returns the results and the DiCE/LVC ratios. */
export async function runGradientVariance(cfg: VarianceConfig, log: (s: string) => void = console.log): Promise<{ results: VarianceResult[]; ratios: { nPre: number; ratio: number }[]; files: string[] }> {
  for (const [k, v] of Object.entries({ repeats: cfg.repeats, horizon: cfg.horizon, states: cfg.states, actions: cfg.actions, nPost: cfg.nPost }))
    if (!Number.isInteger(v) || v < 1) throw new Error(`gradient variance: --${k} must be a positive integer, got ${v}`);
  if (cfg.repeats < 2) throw new Error('gradient variance: --repeats must be at least 2');
  if (!cfg.batchSizes.length || cfg.batchSizes.some((b) => !Number.isInteger(b) || b < 1)) throw new Error(`gradient variance: --batch-sizes must be positive integers, got ${cfg.batchSizes.join(',')}`);
  if (!(cfg.alpha > 0)) throw new Error(`gradient variance: --alpha must be positive, got ${cfg.alpha}`);
  const { mdp, theta } = randomTabular(cfg.seed, cfg.states, cfg.actions, cfg.horizon);
  const t0 = performance.now();
  const results = gradientVarianceExperiment(mdp, theta, {
    alpha: cfg.alpha, batchSizes: cfg.batchSizes, nPost: cfg.nPost, repeats: cfg.repeats, seed: cfg.seed,
    onProgress: (d, n) => {
      if (process.stderr.isTTY) process.stderr.write(`\r  meta-gradient estimates ${d}/${n}`);
      else if (d === n || d % Math.ceil(n / 10) === 0) log(`  meta-gradient estimates ${d}/${n}`);
    },
  });
  if (process.stderr.isTTY) process.stderr.write('\n');
  const ratios = cfg.batchSizes.map((nPre) => ({
    nPre,
    ratio: results.find((r) => r.nPre === nPre && r.estimator === 'dice')!.relStd / results.find((r) => r.nPre === nPre && r.estimator === 'lvc')!.relStd,
  }));
  mkdirSync(cfg.out, { recursive: true });
  const json = join(cfg.out, 'variance.json');
  writeFileSync(json, JSON.stringify({ config: cfg, mdp, theta: theta.toNested(), results: results.map(({ mean, ...r }) => ({ ...r, meanGradient: mean })), ratios, seconds: (performance.now() - t0) / 1000 }, null, 2));
  const chart = await writeChart(join(cfg.out, 'variance'), {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: { text: 'Relative std of meta-gradients: DiCE vs LVC inner objective', subtitle: `tabular MDP S=${cfg.states} A=${cfg.actions} H=${cfg.horizon}, α=${cfg.alpha}, ${cfg.repeats} estimates per point` },
    width: 420, height: 260,
    data: { values: results.map((r) => ({ estimator: r.estimator === 'dice' ? 'DiCE' : 'LVC', nPre: r.nPre, relStd: r.relStd })) },
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'nPre', type: 'quantitative', scale: { type: 'log', base: 2 }, title: 'pre-update trajectories per estimate' },
      y: { field: 'relStd', type: 'quantitative', title: 'relative std of the meta-gradient' },
      color: { field: 'estimator', type: 'nominal', title: 'inner objective' },
    },
  });
  return { results, ratios, files: [json, chart.svg, chart.png] };
}

function main(): void {
  const { values } = parseArgs({
    options: {
      out: { type: 'string', default: 'runs/gradient-variance' },
      seed: { type: 'string', default: '1' },
      repeats: { type: 'string', default: '200' },
      alpha: { type: 'string', default: '1' },
      horizon: { type: 'string', default: '10' },
      states: { type: 'string', default: '3' },
      actions: { type: 'string', default: '2' },
      'batch-sizes': { type: 'string', default: '10,20,40,80' },
      'n-post': { type: 'string', default: '400' },
    },
  });
  const cfg: VarianceConfig = {
    out: values.out!, seed: Number(values.seed), repeats: Number(values.repeats), alpha: Number(values.alpha),
    horizon: Number(values.horizon), states: Number(values.states), actions: Number(values.actions),
    batchSizes: values['batch-sizes']!.split(',').map(Number), nPost: Number(values['n-post']),
  };
  console.log(`Fig. 3 on a tabular MDP (S=${cfg.states}, A=${cfg.actions}, H=${cfg.horizon}, α=${cfg.alpha}): ${cfg.repeats} meta-gradients per estimator and batch size`);
  runGradientVariance(cfg).then(
    ({ results, ratios, files }) => {
      console.table(cfg.batchSizes.map((n) => ({
        'pre-update trajectories': n,
        'DiCE rel. std': +results.find((r) => r.nPre === n && r.estimator === 'dice')!.relStd.toFixed(3),
        'LVC rel. std': +results.find((r) => r.nPre === n && r.estimator === 'lvc')!.relStd.toFixed(3),
        'DiCE / LVC': +ratios.find((r) => r.nPre === n)!.ratio.toFixed(2),
      })));
      console.log(`wrote ${files.join(', ')}`);
    },
    (err: Error) => {
      console.error(`error: ${err.message}`);
      process.exitCode = 1;
    },
  );
}

if (import.meta.url === `file://${process.argv[1]}`) main();

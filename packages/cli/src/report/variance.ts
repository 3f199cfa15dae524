/**
 * The paper's Fig. 3 on a tabular MDP, written to files: the relative standard deviation of meta-gradients
 * estimated with the DiCE inner objective vs the LVC inner objective, across pre-update batch sizes (the
 * experiment itself is @metagrad/rl's gradientVarianceExperiment). Both estimators see the same samples
 * (same seeds) and have the same inner gradient, so their difference is the curvature term α·Ĥ·∇Ĵ_outer
 * alone. Writes <out>/variance.json and variance.svg / .png.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Rng } from '@metagrad/autograd';
import { gradientVarianceExperiment, perSampleMetaGradients, randomTabular, type VarianceResult } from '@metagrad/rl/tabular';
import { writeChart } from './plot.js';

/** The settings of `metagrad variance` (the flags, checked). */
export interface VarianceConfig {
  /** Output directory (created if needed). */
  out: string;
  /** Seeds the random MDP, θ and the estimates' sampling. */
  seed: number;
  /** Independent meta-gradient estimates per point (≥ 2). */
  repeats: number;
  /** Inner step size α (> 0). */
  alpha: number;
  /** Horizon H of the random MDP. */
  horizon: number;
  /** Number of states S. */
  states: number;
  /** Number of actions A. */
  actions: number;
  /** The pre-update batch sizes (trajectories per estimate), one point each. */
  batchSizes: number[];
  /** Post-update trajectories per estimate. */
  nPost: number;
  /**
   * Also split one estimate per point into its per-trajectory meta-gradients (vmap over the pre-update
   * trajectories) and predict the relative std from that single batch; writes per-sample.json.
   */
  perSample?: boolean;
}

/** The single-batch prediction of one point (`--per-sample`). */
export interface PerSamplePoint {
  /** The inner objective. */
  estimator: 'dice' | 'lvc';
  /** Pre-update trajectories in the batch. */
  nPre: number;
  /** mean_j std_i(m_ij)/√nPre / mean_j |mean_i m_ij| over the per-trajectory meta-gradients m_i of one batch. */
  relStd: number;
  /** [nPre][S·A] the per-trajectory meta-gradients. */
  perSample: number[][];
}

/**
 * The relative std that one batch's per-trajectory meta-gradients m_i (rows of [N, d]) predict for their
 * mean: Σ_j std_i(m_ij)/√N over Σ_j |mean_i m_ij|, the same ratio of averages as relativeStd.
 */
export function relStdFromSamples(rows: number[][]): number {
  const N = rows.length, d = rows[0]!.length;
  let stdSum = 0, meanSum = 0;
  for (let j = 0; j < d; j++) {
    const mean = rows.reduce((s, r) => s + r[j]!, 0) / N;
    const v = rows.reduce((s, r) => s + (r[j]! - mean) ** 2, 0) / (N - 1);
    stdSum += Math.sqrt(v / N);
    meanSum += Math.abs(mean);
  }
  return stdSum / meanSum;
}

/** Runs the experiment and writes its JSON and chart; returns the results and the DiCE/LVC ratios. */
export async function runGradientVariance(cfg: VarianceConfig, log: (s: string) => void): Promise<{
  /** One result per (batch size, estimator). */
  results: VarianceResult[];
  /** Per pre-update batch size, relStd(DiCE) / relStd(LVC). */
  ratios: {
    /** Pre-update trajectories per estimate. */
    nPre: number;
    /** relStd(DiCE) / relStd(LVC). */
    ratio: number;
  }[];
  /** With `perSample`: the single-batch predictions, one per (batch size, estimator). */
  perSample: PerSamplePoint[];
  /** The files written: variance.json, variance.svg, variance.png (and per-sample.json). */
  files: string[];
}> {
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
      if (d === n || d % Math.ceil(n / 10) === 0) log(`  meta-gradient estimates ${d}/${n}`);
    },
  });
  const ratios = cfg.batchSizes.map((nPre) => ({
    nPre,
    ratio: results.find((r) => r.nPre === nPre && r.estimator === 'dice')!.relStd / results.find((r) => r.nPre === nPre && r.estimator === 'lvc')!.relStd,
  }));
  // the first estimate of each point again (the same seed, so the same draws), split per trajectory by vmap
  const perSample: PerSamplePoint[] = [];
  if (cfg.perSample)
    for (const nPre of cfg.batchSizes)
      for (const estimator of ['dice', 'lvc'] as const) {
        const x = perSampleMetaGradients(mdp, theta, estimator, { alpha: cfg.alpha, nPre, nPost: cfg.nPost }, new Rng(cfg.seed + nPre));
        const rows = x.perSample.toNested() as number[][];
        perSample.push({ estimator, nPre, relStd: nPre > 1 ? relStdFromSamples(rows) : NaN, perSample: rows });
      }
  mkdirSync(cfg.out, { recursive: true });
  const files: string[] = [];
  if (cfg.perSample) {
    const file = join(cfg.out, 'per-sample.json');
    writeFileSync(file, JSON.stringify({ note: 'per-trajectory meta-gradients (I + α∇²Ĵ_i)·∇θ′Ĵ_outer of the first estimate at each point; their mean is that estimate', points: perSample }, null, 2));
    files.push(file);
  }
  const json = join(cfg.out, 'variance.json');
  writeFileSync(json, JSON.stringify({ config: cfg, mdp, theta: theta.toNested(), results: results.map(({ mean, ...r }) => ({ ...r, meanGradient: mean })), ratios,
    ...(cfg.perSample ? { perSample: perSample.map(({ estimator, nPre, relStd }) => ({ estimator, nPre, relStd })) } : {}), seconds: (performance.now() - t0) / 1000 }, null, 2));
  const chart = await writeChart(join(cfg.out, 'variance'), {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: { text: 'Relative std of meta-gradients: DiCE vs LVC inner objective', subtitle: [`tabular MDP S=${cfg.states} A=${cfg.actions} H=${cfg.horizon}, α=${cfg.alpha}, ${cfg.repeats} estimates per point`, ...(cfg.perSample ? ['dashed: predicted from one batch by its per-trajectory meta-gradients'] : [])] },
    width: 420, height: 260,
    data: {
      values: [
        ...results.map((r) => ({ estimator: r.estimator === 'dice' ? 'DiCE' : 'LVC', nPre: r.nPre, relStd: r.relStd, from: `${cfg.repeats} estimates` })),
        ...perSample.filter((p) => Number.isFinite(p.relStd)).map((p) => ({ estimator: p.estimator === 'dice' ? 'DiCE' : 'LVC', nPre: p.nPre, relStd: p.relStd, from: 'one batch, per trajectory' })),
      ],
    },
    mark: { type: 'line', point: true },
    encoding: {
      strokeDash: { field: 'from', type: 'nominal', legend: null },
      x: { field: 'nPre', type: 'quantitative', scale: { type: 'log', base: 2 }, title: 'pre-update trajectories per estimate' },
      y: { field: 'relStd', type: 'quantitative', title: 'relative std of the meta-gradient' },
      color: { field: 'estimator', type: 'nominal', title: 'inner objective' },
    },
  });
  return { results, ratios, perSample, files: [...files, json, chart.svg, chart.png] };
}


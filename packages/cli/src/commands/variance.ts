/**
 * `metagrad variance`: the paper's Fig. 3 experiment on a tabular MDP (experiments/gradientVariance.ts):
 * relative standard deviation of DiCE vs LVC meta-gradients across pre-update batch sizes.
 */
import { runGradientVariance, type VarianceConfig } from '../report/variance.js';
import { parseInteger, parseIntList, parsePositive, println, type CliIO } from '../io.js';

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

/** Runs `metagrad variance`. */
export async function varianceCommand(f: VarianceFlags, io: CliIO): Promise<void> {
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

/**
 * Learning curves (the paper's Fig. 2): average return before adaptation (pre-update, inner step 0) and
 * after the last inner step (post-update) against environment steps, per algorithm, as the mean over
 * seeds with a min–max or ±1 std band. Works on runs read back by ../rundir.ts and renders through
 * report/plot.ts.
 */
import { type LoggedIteration, type RunLog, RunReadError } from '../rundir.js';
import { type ChartSpec, writeChart } from './plot.js';

export type { LoggedIteration, RunLog };

/** Cumulative env steps per record (accepts logs that store per-iteration counts instead). */
export function cumulativeSteps(records: readonly LoggedIteration[]): number[] {
  const s = records.map((r) => r.envSteps);
  const increasing = s.every((v, i) => i === 0 || v > s[i - 1]!);
  if (increasing && s.length > 1) return s;
  let acc = 0;
  return s.map((v) => (acc += v));
}

/** Trailing moving average over `window` points (1 = none). */
export function smooth(xs: readonly number[], window: number): number[] {
  if (window <= 1) return [...xs];
  let acc = 0;
  return xs.map((x, i) => {
    acc += x;
    if (i >= window) acc -= xs[i - window]!;
    return acc / Math.min(i + 1, window);
  });
}

/** Band around the mean over seeds: min–max or ±1 standard deviation. */
export type Band = 'minmax' | 'std';

/** One point of a curve: an (env, algo, phase) at one iteration, aggregated over seeds. */
export interface CurvePoint {
  /** The env. */
  env: string;
  /** The algorithm. */
  algo: string;
  /** Before adaptation (inner step 0) or after the last inner step. */
  phase: 'pre-update' | 'post-update';
  /** 0-based iteration index. */
  iteration: number;
  /** Mean over seeds of the cumulative env steps at this iteration. */
  steps: number;
  /** Mean over seeds of the (smoothed) average return. */
  mean: number;
  /** Sample standard deviation over seeds (0 for one seed). */
  std: number;
  /** Smallest return over seeds. */
  min: number;
  /** Largest return over seeds. */
  max: number;
  /** The band's lower edge: min, or mean − std. */
  lo: number;
  /** The band's upper edge: max, or mean + std. */
  hi: number;
  /** Number of seeds that reached this iteration. */
  seeds: number;
}

function meanStd(xs: readonly number[]): { mean: number; std: number } {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const std = xs.length > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1)) : 0;
  return { mean, std };
}

/**
 * Aggregates runs into curve points: runs are grouped by (env, algo); within a group, iteration i of
 * every seed that reached it is averaged (x = mean env steps). Returns after `smoothWindow`-point
 * trailing smoothing per run. Post-update = the last inner step's return (only when K ≥ 1).
 */
export function learningCurves(runs: readonly RunLog[], opts: { band?: Band; smoothWindow?: number } = {}): CurvePoint[] {
  const band = opts.band ?? 'minmax';
  const groups = new Map<string, RunLog[]>();
  for (const r of runs) {
    if (!r.records.length) continue;
    const k = `${r.env}\u0000${r.algo}`;
    groups.set(k, [...(groups.get(k) ?? []), r]);
  }
  const out: CurvePoint[] = [];
  for (const g of groups.values()) {
    const series = g.map((r) => {
      const K = Math.min(...r.records.map((x) => x.returns.length)) - 1;
      return {
        steps: cumulativeSteps(r.records),
        pre: smooth(r.records.map((x) => x.returns[0]!), opts.smoothWindow ?? 1),
        post: K >= 1 ? smooth(r.records.map((x) => x.returns[K]!), opts.smoothWindow ?? 1) : null,
      };
    });
    const n = Math.max(...series.map((s) => s.steps.length));
    for (let i = 0; i < n; i++) {
      const at = series.filter((s) => i < s.steps.length);
      const steps = meanStd(at.map((s) => s.steps[i]!)).mean;
      for (const phase of ['pre-update', 'post-update'] as const) {
        const ys = at.map((s) => (phase === 'pre-update' ? s.pre[i]! : s.post?.[i])).filter((y): y is number => y !== undefined && Number.isFinite(y));
        if (!ys.length) continue;
        const { mean, std } = meanStd(ys);
        const min = Math.min(...ys), max = Math.max(...ys);
        out.push({
          env: g[0]!.env, algo: g[0]!.algo, phase, iteration: i, steps, mean, std, min, max,
          lo: band === 'std' ? mean - std : min, hi: band === 'std' ? mean + std : max, seeds: ys.length,
        });
      }
    }
  }
  return out;
}

/** A fixed color per algorithm, so every report draws ProMP the same way. */
export const ALGO_COLORS: Readonly<Record<string, string>> = {
  promp: '#d62728', 'maml-trpo': '#1f77b4', 'e-maml-trpo': '#2ca02c', 'e-maml-vpg': '#98df8a', 'lvc-vpg': '#ff7f0e', 'dice-vpg': '#9467bd',
};
const EXTRA_COLORS = ['#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

/** The color scale for a list of algorithms (known ones keep their color). */
export function algoColorScale(algos: readonly string[]): {
  /** The algorithms, in the given order. */
  domain: string[];
  /** Their colors (CSS hex): ALGO_COLORS, or a spare color for an unknown one. */
  range: string[];
} {
  let extra = 0;
  return { domain: [...algos], range: algos.map((a) => ALGO_COLORS[a] ?? EXTRA_COLORS[extra++ % EXTRA_COLORS.length]!) };
}

/**
 * The Vega-Lite spec of learning curves: x env steps, y average return; solid post-update and dashed
 * pre-update lines per algorithm, a shaded band over seeds around the post-update mean; one panel per
 * env when there are several. The y axis fits the returns (it need not include 0: a task's returns may sit
 * far from it, as the ant's survival bonus puts them).
 */
export function learningCurveSpec(points: readonly CurvePoint[], opts: { title?: string; subtitle?: string; band?: Band; width?: number; height?: number } = {}): ChartSpec {
  const algos = [...new Set(points.map((p) => p.algo))];
  const envs = [...new Set(points.map((p) => p.env))];
  const seeds = Math.max(0, ...points.map((p) => p.seeds));
  const bandName = (opts.band ?? 'minmax') === 'std' ? '±1 std' : 'min–max';
  const x = { field: 'steps', type: 'quantitative', title: 'environment steps', axis: { format: '~s', labelSeparation: 8 } } as const;
  const color = {
    field: 'algo', type: 'nominal', title: 'algorithm', scale: algoColorScale(algos),
    legend: { symbolType: 'stroke', symbolStrokeWidth: 3, symbolOpacity: 1 },
  } as const;
  const layer = [
    {
      transform: [{ filter: "datum.phase === 'post-update'" }],
      mark: { type: 'area', opacity: 0.18 },
      encoding: { x, y: { field: 'lo', type: 'quantitative', title: 'average return', scale: { zero: false } }, y2: { field: 'hi' }, color },
    },
    {
      mark: { type: 'line', strokeWidth: 2 },
      encoding: {
        x,
        y: { field: 'mean', type: 'quantitative', title: 'average return', scale: { zero: false } },
        color,
        strokeDash: { field: 'phase', type: 'nominal', title: 'return', scale: { domain: ['post-update', 'pre-update'], range: [[1, 0], [5, 4]] } },
      },
    },
  ];
  const title = {
    text: opts.title ?? (envs.length === 1 ? `Meta-learning curves: ${envs[0]}` : 'Meta-learning curves'),
    subtitle: opts.subtitle ?? `solid: post-update, dashed: pre-update; ${seeds > 1 ? `mean over up to ${seeds} seeds, band: ${bandName}` : 'one seed'}`,
  };
  const size = { width: opts.width ?? 460, height: opts.height ?? 280 };
  const data = { values: points.map((p) => ({ ...p })) };
  if (envs.length > 1)
    return {
      $schema: 'https://vega.github.io/schema/vega-lite/v5.json', title, data,
      facet: { field: 'env', type: 'nominal', title: null, sort: envs }, columns: Math.min(3, envs.length), // panels in the runs' order (compare --envs: as given)
      spec: { ...size, layer }, resolve: { scale: { x: 'independent', y: 'independent' } },
    } as ChartSpec;
  return { $schema: 'https://vega.github.io/schema/vega-lite/v5.json', title, data, ...size, layer } as ChartSpec;
}

/** Writes `<base>.svg` and `<base>.png` of the learning curves of `runs`; returns the paths and the points. */
export async function writeLearningCurves(
  runs: readonly RunLog[], base: string, opts: { band?: Band; smoothWindow?: number; title?: string } = {},
): Promise<{
  /** Path of the SVG. */
  svg: string;
  /** Path of the PNG. */
  png: string;
  /** The curves' points, as drawn. */
  points: CurvePoint[];
}> {
  const points = learningCurves(runs, opts);
  if (!points.length) throw new RunReadError(`no logged iterations in ${runs.map((r) => r.dir).join(', ')}`);
  const files = await writeChart(base, learningCurveSpec(points, opts));
  return { ...files, points };
}

/** Final returns of one (env, algo) group: the mean over each run's last `lastK` iterations, then mean ± std over seeds. */
export interface FinalReturns {
  /** The env. */
  env: string;
  /** The algorithm. */
  algo: string;
  /** Number of runs (seeds) in the group. */
  seeds: number;
  /** Logged iterations per run, mean over seeds (rounded). */
  iterations: number;
  /** Cumulative env steps at each run's last iteration, mean over seeds. */
  envSteps: number;
  /** Pre-update return (inner step 0), mean ± std over seeds. */
  pre: {
    /** Mean over seeds. */
    mean: number;
    /** Sample standard deviation over seeds (0 for one seed). */
    std: number;
  };
  /** Post-update return (the last inner step), mean ± std over seeds; null without inner steps. */
  post: {
    /** Mean over seeds. */
    mean: number;
    /** Sample standard deviation over seeds (0 for one seed). */
    std: number;
  } | null;
  /** Each inner step's return (0 … K), mean over seeds. */
  perStep: number[];
  /** The policy's σ at the last iteration, over seeds (null when the logs lack it). */
  policyStd: {
    /** Mean over seeds. */
    mean: number;
    /** Sample standard deviation over seeds (0 for one seed). */
    std: number;
  } | null;
  /** Training time of a run in seconds (the sum of its iterations' times), over seeds (null when the logs lack it). */
  seconds: {
    /** Mean over seeds (seconds). */
    mean: number;
    /** Sample standard deviation over seeds (seconds; 0 for one seed). */
    std: number;
  } | null;
}

/** Final pre/post-update returns per (env, algo), averaging each run's last `lastK` iterations (default 1). */
export function finalReturns(runs: readonly RunLog[], lastK = 1): FinalReturns[] {
  const groups = new Map<string, RunLog[]>();
  for (const r of runs) {
    if (!r.records.length) continue;
    const k = `${r.env}\u0000${r.algo}`;
    groups.set(k, [...(groups.get(k) ?? []), r]);
  }
  return [...groups.values()].map((g) => {
    const K = Math.min(...g.flatMap((r) => r.records.map((x) => x.returns.length))) - 1;
    const perRun = g.map((r) => {
      const tail = r.records.slice(-Math.max(1, lastK));
      return Array.from({ length: K + 1 }, (_, k) => tail.reduce((a, x) => a + x.returns[k]!, 0) / tail.length);
    });
    const stepMean = (k: number): { mean: number; std: number } => meanStd(perRun.map((p) => p[k]!));
    return {
      env: g[0]!.env, algo: g[0]!.algo, seeds: g.length,
      iterations: Math.round(meanStd(g.map((r) => r.records.length)).mean),
      envSteps: meanStd(g.map((r) => cumulativeSteps(r.records).at(-1)!)).mean,
      pre: stepMean(0), post: K >= 1 ? stepMean(K) : null,
      perStep: Array.from({ length: K + 1 }, (_, k) => stepMean(k).mean),
      policyStd: g.every((r) => r.records.at(-1)!.policyStd !== undefined) ? meanStd(g.map((r) => r.records.at(-1)!.policyStd!)) : null,
      seconds: g.every((r) => r.records.every((x) => x.seconds !== undefined)) ? meanStd(g.map((r) => r.records.reduce((a, x) => a + x.seconds!, 0))) : null,
    };
  });
}

/** The returns part-way through training: `finalReturns` at a fraction of the budget. */
export interface BudgetReturns {
  /** Share of each run's logged iterations kept (0 < fraction ≤ 1). */
  fraction: number;
  /** finalReturns of the runs cut at that fraction. */
  finals: FinalReturns[];
}

/**
 * Sample efficiency: `finalReturns` of every run cut after round(fraction · its iterations) iterations
 * (at least one), so each group is compared at the same env-step budget, not only at the end.
 */
export function returnsAtBudgets(runs: readonly RunLog[], fractions: readonly number[] = [0.25, 0.5, 0.75, 1], lastK = 1): BudgetReturns[] {
  return fractions.map((fraction) => {
    if (!(fraction > 0 && fraction <= 1)) throw new RangeError(`a budget fraction must be in (0, 1], got ${fraction}`);
    const cut = runs.map((r) => ({ ...r, records: r.records.slice(0, Math.max(1, Math.round(fraction * r.records.length))) }));
    return { fraction, finals: finalReturns(cut, lastK) };
  });
}

/**
 * Plots with Vega-Lite, the chart library of the CLI's reports: compiled here to Vega and rendered as SVG
 * into the page.
 */
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

const views = new WeakMap<HTMLElement, vega.View>();

/** Renders a Vega-Lite spec into `el`, replacing what was there. */
export async function render(el: HTMLElement, spec: Record<string, unknown>): Promise<void> {
  views.get(el)?.finalize();
  const view = new vega.View(vega.parse(compile({ config: { font: 'system-ui, sans-serif', view: { stroke: null } }, ...spec } as TopLevelSpec).spec), {
    renderer: 'svg', container: el, hover: true,
  });
  views.set(el, view);
  await view.runAsync();
}

/** Labels θ[s,a] of the flat parameter index i (row-major [S, A]). */
export const paramLabel = (i: number, A: number): string => `θ${Math.floor(i / A)},${i % A}`;

/** Heatmaps of n×n matrices side by side, each with its own diverging colour scale centred on 0 (so small ones stay readable). */
export function heatmaps(mats: { title: string; values: number[] }[], A: number): Record<string, unknown> {
  const n = Math.round(Math.sqrt(mats[0]!.values.length));
  const data = mats.flatMap((m) => m.values.map((v, k) => ({ matrix: m.title, row: paramLabel(Math.floor(k / n), A), col: paramLabel(k % n, A), value: v })));
  const order = Array.from({ length: n }, (_, i) => paramLabel(i, A));
  const cell = Math.max(14, Math.min(34, Math.floor(150 / n)));
  return {
    data: { values: data },
    facet: { field: 'matrix', type: 'nominal', sort: mats.map((m) => m.title), title: null, header: { labelFontSize: 13 } },
    columns: 3,
    spec: {
      width: cell * n, height: cell * n,
      mark: 'rect',
      encoding: {
        x: { field: 'col', type: 'ordinal', sort: order, title: null },
        y: { field: 'row', type: 'ordinal', sort: order, title: null },
        color: { field: 'value', type: 'quantitative', scale: { scheme: 'redblue', domainMid: 0, reverse: true }, title: null, legend: { gradientLength: cell * n - 10 } },
        tooltip: [{ field: 'matrix' }, { field: 'row' }, { field: 'col' }, { field: 'value', format: '.6g' }],
      },
    },
    resolve: { scale: { color: 'independent' } },
  };
}

/** Relative std against the number of pre-update trajectories, one line per estimator (log–log). */
export function varianceChart(rows: { estimator: string; nPre: number; relStd: number }[]): Record<string, unknown> {
  return {
    width: 420, height: 240,
    data: { values: rows.map((r) => ({ ...r, estimator: r.estimator === 'dice' ? 'DiCE' : 'LVC' })) },
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'nPre', type: 'quantitative', scale: { type: 'log', nice: false }, title: 'pre-update trajectories per estimate' },
      y: { field: 'relStd', type: 'quantitative', scale: { type: 'log', nice: false }, title: 'meta-gradient relative std' },
      color: { field: 'estimator', type: 'nominal', scale: { range: ['#d62728', '#1f77b4'] } },
      tooltip: [{ field: 'estimator' }, { field: 'nPre' }, { field: 'relStd', format: '.4g' }],
    },
  };
}

/** GFLOP/s against the matrix size, one line per backend. */
export function matmulChart(rows: { n: number; backend: string; gflops: number }[]): Record<string, unknown> {
  return {
    width: 420, height: 220,
    data: { values: rows },
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'n', type: 'quantitative', scale: { type: 'log', base: 2 }, title: 'n (float32 n×n · n×n)' },
      y: { field: 'gflops', type: 'quantitative', title: 'GFLOP/s' },
      color: { field: 'backend', type: 'nominal' },
      tooltip: [{ field: 'backend' }, { field: 'n' }, { field: 'gflops', format: '.3g' }],
    },
  };
}

/** Average return before (dashed) and after adaptation (solid) against environment steps. */
export function returnsChart(rows: { envSteps: number; pre: number; post: number }[]): Record<string, unknown> {
  return {
    width: 360, height: 240,
    data: { values: rows.flatMap((r) => [{ envSteps: r.envSteps, return: r.pre, when: 'pre-update' }, { envSteps: r.envSteps, return: r.post, when: 'post-update' }]) },
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'envSteps', type: 'quantitative', title: 'environment steps' },
      y: { field: 'return', type: 'quantitative', title: 'average return' },
      color: { field: 'when', type: 'nominal', sort: ['pre-update', 'post-update'], scale: { range: ['#4c78a8', '#e45756'] }, title: null },
      strokeDash: { field: 'when', type: 'nominal', sort: ['pre-update', 'post-update'], scale: { range: [[4, 3], [1, 0]] }, legend: null },
      tooltip: [{ field: 'when' }, { field: 'envSteps' }, { field: 'return', format: '.3f' }],
    },
  };
}

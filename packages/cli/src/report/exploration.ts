/**
 * The paper's Fig. 4: exploration of the pre-update policy and exploitation after adaptation on the
 * 2-D point-corner task. One panel per algorithm: the four corner goals (translucent discs, the task's
 * goal dark green), pre-update trajectories (blue) and post-update trajectories (red),
 * drawn from the states the sampler recorded. Pure (no files, no rendering): the explorer page uses it too;
 * plot.ts writes it (writeExploration).
 */
import type { EvaluationResult } from '@metagrad/rl';
import type { ChartSpec } from './plot.js';

/**
 * One trajectory as 2-D positions (the observation of each step, then the final one).
 *
 * @inline
 */
export interface ExplorePath {
  /** Sampled by the pre-update policy π_θ, or by the adapted π_θ′. */
  phase: 'pre-update' | 'post-update';
  /** The positions (x, y), in order. */
  points: ReadonlyArray<readonly [number, number]>;
}

/** One panel: an algorithm's trajectories on one task. */
export interface ExplorePanel {
  /** Panel title (the algorithm). */
  algo: string;
  /** The task's goal corner. */
  goal: readonly [number, number];
  /** Average return before adaptation on this task (shown in the panel title with postReturn). */
  preReturn?: number;
  /** Average return after adaptation on this task (shown with preReturn). */
  postReturn?: number;
  /** The trajectories to draw, pre- and post-update. */
  paths: ExplorePath[];
}

/** The point-corner goals (±2, ±2). */
export const CORNERS: ReadonlyArray<readonly [number, number]> = [[-2, -2], [2, -2], [-2, 2], [2, 2]];

/** Options of the exploration figure. */
export interface ExplorationOptions {
  /** Chart title. */
  title?: string;
  /** Chart subtitle. */
  subtitle?: string;
  /** The frame is [−extent, extent]² (default 3); trajectories beyond it are clamped to its border. */
  extent?: number;
  /** Panel width and height in pixels (default 260). */
  size?: number;
  /** Radius of each corner's goal region in data units, drawn to scale; without it, fixed-size discs mark the corners. */
  regionRadius?: number;
}

/** Vega-Lite spec of the exploration figure: facet per panel, layered corners / pre / post lines. */
export function explorationSpec(panels: readonly ExplorePanel[], opts: ExplorationOptions = {}): ChartSpec {
  const ext = opts.extent ?? 3;
  const label = (p: ExplorePanel): string =>
    p.preReturn !== undefined && p.postReturn !== undefined ? `${p.algo} (return ${p.preReturn.toFixed(2)} → ${p.postReturn.toFixed(2)})` : p.algo;
  const rows: Record<string, unknown>[] = [];
  for (const p of panels) {
    const panel = label(p);
    for (const c of CORNERS) {
      const isGoal = c[0] === p.goal[0] && c[1] === p.goal[1];
      rows.push({ panel, layer: 'corner', x: c[0], y: c[1], goal: isGoal ? 'goal' : 'other corner' });
    }
    p.paths.forEach((path, j) => {
      path.points.forEach(([x, y], t) => {
        // Clamp into the frame so an overshooting trajectory stays visible at the border.
        rows.push({ panel, layer: path.phase, traj: `${path.phase}-${j}`, t, x: Math.max(-ext, Math.min(ext, x)), y: Math.max(-ext, Math.min(ext, y)) });
      });
    });
  }
  const scale = { domain: [-ext, ext], nice: false };
  const x = { field: 'x', type: 'quantitative', scale, title: null, axis: { tickCount: 7 } } as const;
  const y = { field: 'y', type: 'quantitative', scale, title: null, axis: { tickCount: 7 } } as const;
  const color = {
    field: 'layer', type: 'nominal', title: null,
    scale: { domain: ['pre-update', 'post-update'], range: ['#4c78a8', '#e45756'] },
    legend: { symbolType: 'stroke', symbolStrokeWidth: 3 },
  } as const;
  const size = opts.size ?? 260;
  // a Vega symbol's size is the area of its bounding box: (2r)² for a disc of radius r pixels
  const disc = opts.regionRadius !== undefined ? (2 * opts.regionRadius * size / (2 * ext)) ** 2 : size * 18;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: {
      text: opts.title ?? 'Exploration (pre-update) and adaptation (post-update) on point-corner',
      subtitle: opts.subtitle ?? 'discs: the four corner goals, dark green: the task’s goal',
    },
    data: { values: rows },
    facet: { field: 'panel', type: 'nominal', title: null, sort: panels.map(label), header: { labelFontSize: 13 } },
    columns: Math.min(panels.length, 3),
    spec: {
      width: size, height: size,
      layer: [
        {
          transform: [{ filter: "datum.layer === 'corner' && datum.goal !== 'goal'" }],
          mark: { type: 'circle', opacity: 0.35, size: disc, color: '#bbbbbb' },
          encoding: { x, y },
        },
        {
          transform: [{ filter: "datum.layer === 'corner' && datum.goal === 'goal'" }],
          mark: { type: 'circle', opacity: 0.3, size: disc, color: '#1a7f37' },
          encoding: { x, y },
        },
        {
          transform: [{ filter: "datum.layer === 'corner' && datum.goal === 'goal'" }],
          mark: { type: 'circle', opacity: 1, size: 160, color: '#0b4d1f' },
          encoding: { x, y },
        },
        {
          transform: [{ filter: "datum.layer === 'pre-update'" }],
          mark: { type: 'line', strokeWidth: 1.2, opacity: 0.75 },
          encoding: { x, y, color, detail: { field: 'traj', type: 'nominal' }, order: { field: 't', type: 'quantitative' } },
        },
        {
          transform: [{ filter: "datum.layer === 'post-update'" }],
          mark: { type: 'line', strokeWidth: 1.8, opacity: 0.9 },
          encoding: { x, y, color, detail: { field: 'traj', type: 'nominal' }, order: { field: 't', type: 'quantitative' } },
        },
      ],
    },
  } as ChartSpec;
}

/**
 * The panel of one evaluation task from `evaluate(..., { keepTrajectories: true })` on a point task: the
 * first task ('first', the same for every algorithm of a comparison) or the one with the median
 * post-update return ('median', a representative one), its first nPaths pre- and post-update paths.
 */
export function panelFromEvaluation(res: EvaluationResult, label: string, nPaths: number, pick: 'first' | 'median' = 'first'): {
  /** The panel to draw. */
  panel: ExplorePanel;
  /** The index of the task drawn among the evaluation's tasks. */
  task: number;
} {
  if (!res.trajectories) throw new Error('panelFromEvaluation: evaluate without keepTrajectories');
  const K = res.returns.length - 1;
  const order = res.perTask.map((r, i) => [r[K]!, i] as const).sort((a, b) => a[0] - b[0]);
  const t = pick === 'first' ? 0 : order[Math.floor((order.length - 1) / 2)]![1];
  const chosen = res.trajectories[t]!;
  const toPoints = (path: number[][]): [number, number][] => path.map((o) => [o[0]!, o[1]!]);
  const goal = chosen.task as [number, number];
  return {
    task: t,
    panel: {
      algo: label, goal: [goal[0], goal[1]], preReturn: res.perTask[t]![0], postReturn: res.perTask[t]![K],
      paths: [
        ...chosen.steps[0]!.slice(0, nPaths).map((p) => ({ phase: 'pre-update' as const, points: toPoints(p) })),
        ...chosen.steps[K]!.slice(0, nPaths).map((p) => ({ phase: 'post-update' as const, points: toPoints(p) })),
      ],
    },
  };
}

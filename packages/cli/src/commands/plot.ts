/**
 * `metagrad plot RUN...`: learning curves (post-update solid, pre-update dashed) from run directories,
 * grouped by algorithm, mean over seeds with a band; SVG and PNG.
 */
import { join } from 'node:path';
import { writeLearningCurves, type Band } from '../report/curves.js';
import { findRunDirs, readRun, RunReadError, type RunLog } from '../rundir.js';
import { UsageError, checkName, parseInteger, println, type CliIO } from '../io.js';

/** Flags of `metagrad plot`. */
export interface PlotFlags {
  out?: string;
  name?: string;
  band?: string;
  smooth?: string;
  title?: string;
}

/** Reads and checks the runs and flags of `plot`; throws UsageError. */
export function planPlot(paths: readonly string[], f: PlotFlags): { runs: RunLog[]; base: string; band: Band; smoothWindow: number } {
  if (!paths.length) throw new UsageError('plot needs at least one run directory');
  const band = checkName('band', f.band ?? 'minmax', ['minmax', 'std']) as Band;
  const smoothWindow = parseInteger('smooth', f.smooth ?? '1')!;
  let runs: RunLog[];
  try {
    runs = findRunDirs(paths).map(readRun);
  } catch (e) {
    if (e instanceof RunReadError) throw new UsageError(e.message);
    throw e;
  }
  const empty = runs.filter((r) => !r.records.length);
  if (empty.length === runs.length) throw new UsageError(`no logged iterations yet in ${runs.map((r) => r.dir).join(', ')}`);
  const out = f.out ?? (paths.length === 1 ? paths[0]! : join('reports', 'curves'));
  return { runs, base: join(out, f.name ?? 'learning-curves'), band, smoothWindow };
}

/** Runs `metagrad plot`. */
export async function plotCommand(paths: readonly string[], f: PlotFlags, io: CliIO): Promise<void> {
  const { runs, base, band, smoothWindow } = planPlot(paths, f);
  const { svg, png, points } = await writeLearningCurves(runs, base, { band, smoothWindow, ...(f.title ? { title: f.title } : {}) });
  const algos = [...new Set(points.map((p) => p.algo))];
  println(io.stdout, `${runs.length} run${runs.length > 1 ? 's' : ''}, ${algos.length} algorithm${algos.length > 1 ? 's' : ''} (${algos.join(', ')})`);
  println(io.stdout, `wrote ${svg}`);
  println(io.stdout, `wrote ${png}`);
}

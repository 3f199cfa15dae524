/**
 * Result rows in the project's benchmark convention (DESIGN.md, "Benchmarks"): one flat JSON object per
 * result, written as an array to bench/results/<name>.json; timings are medians.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';

/** One benchmark result. Fields that do not apply are null. */
export interface BenchResult {
  suite: string;
  work: string;
  dtype: 'float64' | 'float32' | null;
  backend: 'cpu' | 'gpujs';
  /** The gpu.js mode that ran, or null. */
  mode: string | null;
  median_ms: number | null;
  gflops: number | null;
  steps_per_s: number | null;
  rel_err: number | null;
  /** `${cores} cores, ${CPU model}`. */
  machine: string;
  /** ISO 8601. */
  date: string;
  /** Extra fields a particular suite adds (e.g. rss_growth_mb, samples). */
  [extra: string]: string | number | boolean | null;
}

/** `${os.cpus().length} cores, ${model}` of this machine. */
export function machine(): string {
  const cpus = os.cpus();
  return `${cpus.length} cores, ${cpus[0]?.model.trim() ?? 'unknown CPU'}`;
}

/** The median of `xs` (mean of the middle two for an even count); NaN for an empty list. */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** The results folder, bench/results (resolved from bench/dist/<this file>). */
export const RESULTS_DIR = new URL('../results/', import.meta.url);

/** Writes `rows` as a JSON array to bench/results/<name>.json and returns the path. */
export function writeResults(name: string, rows: readonly BenchResult[]): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const url = new URL(`${name}.json`, RESULTS_DIR);
  writeFileSync(url, `${JSON.stringify(rows, null, 2)}\n`);
  return url.pathname;
}

/** Rounds to `digits` significant digits (for tables and JSON that people read). */
export function sig(x: number, digits = 4): number {
  return Number.isFinite(x) ? Number(x.toPrecision(digits)) : x;
}

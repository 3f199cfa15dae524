/**
 * What every subcommand shares: the output streams (injectable, so tests run the CLI in-process), the
 * usage error that ends the CLI with one line and exit code 2 before any work starts, and the parsers
 * that turn option strings into checked numbers.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';

/** A text sink with the bits of a Node stream the CLI uses (isTTY switches the progress bar on). */
export interface OutStream {
  /** Writes text (the return value is ignored). */
  write(chunk: string): unknown;
  /** True for a terminal: progress is drawn as a bar. */
  isTTY?: boolean;
  /** The terminal's width in characters, when known. */
  columns?: number;
}

/** The CLI's outputs: results go to stdout, progress and errors to stderr. */
export interface CliIO {
  /** Results (tables, JSON, file paths). */
  stdout: OutStream;
  /** Progress, warnings and errors. */
  stderr: OutStream;
}

/** Bad input from the user (flags, config, paths): reported as one line, exit code 2, nothing run. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Writes one line. */
export function println(s: OutStream, line = ''): void {
  s.write(`${line}\n`);
}

/** `--name` must be an integer ≥ min (default 1). */
export function parseInteger(name: string, raw: string | undefined, min = 1): number | undefined {
  if (raw === undefined) return undefined;
  const v = Number(raw);
  if (raw.trim() === '' || !Number.isInteger(v) || v < min)
    throw new UsageError(`--${name} must be ${min === 1 ? 'a positive integer' : min === 0 ? 'a non-negative integer' : `an integer ≥ ${min}`}, got '${raw}'`);
  return v;
}

/** `--name` must be a finite number > 0 (or ≥ 0 when allowZero). */
export function parsePositive(name: string, raw: string | undefined, allowZero = false): number | undefined {
  if (raw === undefined) return undefined;
  const v = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(v) || v < 0 || (!allowZero && v === 0))
    throw new UsageError(`--${name} must be a ${allowZero ? 'non-negative' : 'positive'} number, got '${raw}'`);
  return v;
}

/** A comma-separated list of positive integers (e.g. `--hidden 64,64`). */
export function parseIntList(name: string, raw: string | undefined): number[] | undefined {
  if (raw === undefined) return undefined;
  const parts = raw.split(',').map((s) => s.trim());
  const v = parts.map(Number);
  if (!parts.length || parts.some((p) => p === '') || v.some((x) => !Number.isInteger(x) || x < 1))
    throw new UsageError(`--${name} must be a comma-separated list of positive integers, got '${raw}'`);
  return v;
}

/** A comma-separated list of names, each from `valid`. */
export function parseNameList(name: string, raw: string, valid: readonly string[]): string[] {
  const v = raw.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (!v.length) throw new UsageError(`--${name} needs at least one name; valid: ${valid.join(', ')}`);
  for (const x of v) if (!valid.includes(x)) throw new UsageError(`unknown ${name.replace(/s$/, '')} '${x}'; valid: ${valid.join(', ')}`);
  if (new Set(v).size !== v.length) throw new UsageError(`--${name} lists a name twice: '${raw}'`);
  return v;
}

/** `name` must be one of `valid`. */
export function checkName(kind: string, v: string, valid: readonly string[]): string {
  if (!valid.includes(v)) throw new UsageError(`unknown ${kind} '${v}'; valid: ${valid.join(', ')}`);
  return v;
}

/** Reads a JSON file, with one-line errors naming the file. */
export function readJson(path: string, what = 'file'): unknown {
  if (!existsSync(path)) throw new UsageError(`${what} '${path}' does not exist`);
  if (!statSync(path).isFile()) throw new UsageError(`${what} '${path}' is not a file`);
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new UsageError(`${what} '${path}' is not valid JSON: ${(e as Error).message.split('\n')[0]}`);
  }
}

/** Seconds as "1m 05s" / "12.3s". */
export function formatDuration(seconds: number): string {
  if (seconds < 60) return `${seconds.toFixed(1)}s`;
  const m = Math.floor(seconds / 60);
  const s = Math.round(seconds - 60 * m);
  return m < 60 ? `${m}m ${String(s).padStart(2, '0')}s` : `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, '0')}m`;
}

/** A return for display: `digits` decimals (default 2), '—' when missing or not finite. */
export function fmt(x: number | undefined, digits = 2): string {
  return x === undefined || !Number.isFinite(x) ? '—' : x.toFixed(digits);
}

/** A timestamp usable in a directory name: 20240131-154502. */
export function stamp(d = new Date()): string {
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
}

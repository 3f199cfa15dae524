/**
 * The training options shared by train, compare, explore and demo, declared from @metagrad/rl's settings
 * table (each flag's help, default and check come from its setting), and the checks that turn flags and
 * a config file into a validated TrainConfig before anything runs.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import type { Command } from 'commander';
import { ENV_DEFAULTS, TRAIN_SETTINGS, algoNames, checkMemory, ConfigError, resolveConfig, trainEnvNames, type Setting, type TrainConfig } from '@metagrad/rl';
import { RESUMABLE_KEYS, withoutMeta } from './rundir.js';
import { UsageError, checkName } from './io.js';

/** The values commander parsed for the training-setting flags (camel-cased flag names) and --config. */
export type TrainFlags = { config?: string } & { [flag: string]: string | boolean | undefined };

const camel = (flag: string): string => flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

/** One setting's CLI option: the TrainConfig key, the setting, the commander attribute, the flag as typed. */
interface SettingOption {
  key: keyof TrainConfig;
  setting: Setting<unknown>;
  attr: string;
  flag: string;
}

/** Every training setting with a flag (from @metagrad/rl's TRAIN_SETTINGS: the one definition of each). */
const SETTING_OPTIONS: readonly SettingOption[] = Object.entries(TRAIN_SETTINGS as Record<string, Setting<unknown>>)
  .filter(([, s]) => s.flag !== undefined)
  .map(([key, s]) => ({ key: key as keyof TrainConfig, setting: s, attr: camel(s.flag!.name.replace(/^no-/, '')), flag: `--${s.flag!.name}` }));

/** Whether the setting flag of `o` was typed (commander's `true` for an untyped --no-x switch is not). */
const typed = (f: TrainFlags, o: SettingOption): boolean => (o.setting.flag!.arg ? f[o.attr] !== undefined : f[o.attr] === !o.flag.startsWith('--no-'));

/** Their flags, for messages: "--iterations, --workers, --threads, --no-jit". */
export const RESUMABLE_FLAGS: string = SETTING_OPTIONS.filter((o) => RESUMABLE_KEYS.includes(o.key)).map((o) => o.flag).join(', ');

/** The setting flags typed that change what is trained (all but the resumable ones, `RESUMABLE_KEYS`). */
export function shapeFlagsGiven(f: TrainFlags): string[] {
  return SETTING_OPTIONS.filter((o) => !RESUMABLE_KEYS.includes(o.key) && typed(f, o)).map((o) => o.flag);
}

/** The values of the {@link RESUMABLE_KEYS} flags typed, checked. */
export function resumeOverrides(f: TrainFlags): Partial<TrainConfig> {
  return configOverrides(Object.fromEntries(SETTING_OPTIONS.filter((o) => RESUMABLE_KEYS.includes(o.key)).map((o) => [o.attr, f[o.attr]])));
}

/** The setting flags typed among those of `keys`. */
export function flagsGiven(f: TrainFlags, keys: readonly (keyof TrainConfig)[]): string[] {
  return SETTING_OPTIONS.filter((o) => keys.includes(o.key) && typed(f, o)).map((o) => o.flag);
}

const fmtDefault = (v: unknown): string => (Array.isArray(v) ? v.join(',') : String(v));

/** "(default: 100; 200 on ant-rand-dir, …)": the table's default and the per-env ones that differ. */
function defaultText(key: keyof TrainConfig, s: Setting<unknown>, own?: Partial<TrainConfig>): string {
  if (own && own[key] !== undefined) return ` (default: ${fmtDefault(own[key])})`;
  if (s.default === undefined) return '';
  const byValue = new Map<string, string[]>();
  for (const [env, d] of Object.entries(ENV_DEFAULTS)) {
    const v = d[key];
    if (v === undefined || fmtDefault(v) === fmtDefault(s.default)) continue;
    byValue.set(fmtDefault(v), [...(byValue.get(fmtDefault(v)) ?? []), env]);
  }
  const perEnv = [...byValue].map(([v, envs]) => `; ${v} on ${envs.join(', ')}`).join('');
  return ` (default: ${s.kind === 'boolean' ? `${s.default}` : fmtDefault(s.default)}${perEnv})`;
}

/**
 * Declares training-setting flags on `cmd`, each with the help text and default of its setting. `only`
 * limits them to some keys (the demo takes three); `defaults` are the command's own defaults where they
 * differ from the trainer's (explore's and the demo's brief runs), shown in the help instead.
 */
export function addSettingOptions(cmd: Command, opts: { only?: readonly (keyof TrainConfig)[]; defaults?: Partial<TrainConfig> } = {}): Command {
  for (const o of SETTING_OPTIONS) {
    if (opts.only && !opts.only.includes(o.key)) continue;
    const f = o.setting.flag!;
    cmd.option(`${o.flag}${f.arg ? ` ${f.arg}` : ''}`, `${o.setting.help}${defaultText(o.key, o.setting, opts.defaults)}`);
  }
  return cmd;
}

/**
 * The TrainConfig fields given by flags (only those typed on the command line: commander's `true` for an
 * untyped --no-x switch is not one). Each value is parsed and checked by its setting, so a bad one fails
 * with the setting's message naming the flag. Throws UsageError.
 */
export function configOverrides(f: TrainFlags): Partial<TrainConfig> {
  const o: Record<string, unknown> = {};
  for (const { key, setting, attr, flag } of SETTING_OPTIONS) {
    if (!typed(f, { key, setting, attr, flag })) continue;
    const raw = f[attr];
    const value = setting.flag!.arg ? setting.parse(String(raw)) : setting.flag!.sets;
    try {
      o[key] = setting.check(flag, value);
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      if (setting.kind === 'integer list') throw new UsageError(`${flag} must be a comma-separated list of positive integers, got '${String(raw)}'`);
      throw new UsageError(e.message.replace(/got (.*)$/, `got '${String(raw)}'`));
    }
  }
  return o as Partial<TrainConfig>;
}

/** Reads `--config FILE` (a JSON TrainConfig, possibly partial), with one-line errors. */
export function readConfigFile(path: string | undefined): Partial<TrainConfig> {
  if (path === undefined) return {};
  if (!existsSync(path)) throw new UsageError(`config file '${path}' does not exist`);
  if (!statSync(path).isFile()) throw new UsageError(`config file '${path}' is not a file`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new UsageError(`config file '${path}' is not valid JSON: ${(e as Error).message.split('\n')[0]}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
    throw new UsageError(`config file '${path}' must hold a JSON object, got ${parsed === null ? 'null' : Array.isArray(parsed) ? 'an array' : typeof parsed}`);
  return withoutMeta(parsed as Record<string, unknown>) as Partial<TrainConfig>;
}

/** Checks algo and env names, then validates the whole config with the trainer's resolveConfig. */
export function buildConfig(input: Omit<Partial<TrainConfig>, 'algo' | 'env'> & { algo?: string; env?: string }): TrainConfig {
  if (input.algo === undefined) throw new UsageError(`--algo is required (one of ${algoNames.join(', ')}), or set "algo" in --config`);
  if (input.env === undefined) throw new UsageError(`--env is required (one of ${trainEnvNames.join(', ')}), or set "env" in --config`);
  checkName('algo', input.algo, algoNames);
  checkName('env', input.env, trainEnvNames);
  try {
    const config = resolveConfig(input as Partial<TrainConfig> & { algo: string; env: string });
    checkMemory(config);
    return config;
  } catch (e) {
    if (e instanceof ConfigError) throw new UsageError(e.message.split('\n')[0]!);
    throw e;
  }
}

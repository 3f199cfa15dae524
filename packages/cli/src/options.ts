/**
 * The training options shared by train, compare, explore and demo (flag → TrainConfig field), and the
 * checks that turn flags and a config file into a validated TrainConfig before anything runs.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import type { Command } from 'commander';
import { algoNames, ConfigError, resolveConfig, trainEnvNames, type TrainConfig } from '@metagrad/rl';
import { withoutMeta } from './rundir.js';
import { UsageError, checkName, parseInteger, parseIntList, parsePositive } from './io.js';

/** The raw strings of the shared training flags (commander's camel-cased option names). */
export interface TrainFlags {
  config?: string;
  seed?: string;
  iterations?: string;
  workers?: string;
  metaBatchSize?: string;
  rolloutsPerTask?: string;
  horizon?: string;
  hidden?: string;
  innerLr?: string;
  metaLr?: string;
  innerSteps?: string;
  prompSteps?: string;
  dtype?: string;
  /** --fixed-std: hold σ at its initial value (learnStd false). */
  fixedStd?: boolean;
}

/** Flags that change what is trained (everything but --iterations and --workers). */
export const SHAPE_FLAGS = ['metaBatchSize', 'rolloutsPerTask', 'horizon', 'hidden', 'innerLr', 'metaLr', 'innerSteps', 'prompSteps', 'dtype', 'fixedStd'] as const;

/** Declares the size/hyper-parameter flags on `cmd` (defaults come from the trainer's resolveConfig). */
export function addSizeOptions(cmd: Command): Command {
  return cmd
    .option('--meta-batch-size <n>', 'tasks per meta-batch')
    .option('--rollouts-per-task <n>', 'trajectories per task and inner step')
    .option('--horizon <n>', 'maximum steps per trajectory')
    .option('--hidden <sizes>', 'policy hidden layer sizes, e.g. 64,64')
    .option('--inner-lr <x>', 'inner (adaptation) step size α')
    .option('--meta-lr <x>', 'outer step size (Adam learning rate)')
    .option('--inner-steps <n>', 'inner adaptation steps K')
    .option('--promp-steps <n>', 'ProMP optimization steps per sampled batch')
    .option('--dtype <dtype>', 'float64 or float32')
    .option('--fixed-std', 'hold the policy σ at its initial value (the reference learn_std=False)')
    .option('--workers <n>', 'sampler worker threads');
}

/** The TrainConfig fields given by flags (only those present). Throws UsageError on a malformed value. */
export function configOverrides(f: TrainFlags): Partial<TrainConfig> {
  const o: Partial<TrainConfig> = {};
  const set = <K extends keyof TrainConfig>(k: K, v: TrainConfig[K] | undefined): void => {
    if (v !== undefined) o[k] = v;
  };
  set('seed', parseInteger('seed', f.seed, 0));
  set('iterations', parseInteger('iterations', f.iterations));
  set('workers', parseInteger('workers', f.workers));
  set('metaBatchSize', parseInteger('meta-batch-size', f.metaBatchSize));
  set('rolloutsPerTask', parseInteger('rollouts-per-task', f.rolloutsPerTask));
  set('horizon', parseInteger('horizon', f.horizon));
  set('hidden', parseIntList('hidden', f.hidden));
  set('innerLr', parsePositive('inner-lr', f.innerLr));
  set('metaLr', parsePositive('meta-lr', f.metaLr));
  set('numInnerGradSteps', parseInteger('inner-steps', f.innerSteps));
  set('numPrompSteps', parseInteger('promp-steps', f.prompSteps));
  if (f.dtype !== undefined) set('dtype', checkName('dtype', f.dtype, ['float64', 'float32']) as TrainConfig['dtype']);
  if (f.fixedStd) set('learnStd', false);
  return o;
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
    throw new UsageError(`config file '${path}' must hold a JSON object, got ${Array.isArray(parsed) ? 'an array' : typeof parsed}`);
  return withoutMeta(parsed as Record<string, unknown>) as Partial<TrainConfig>;
}

/** Checks algo and env names, then validates the whole config with the trainer's resolveConfig. */
export function buildConfig(input: Omit<Partial<TrainConfig>, 'algo' | 'env'> & { algo?: string; env?: string }): TrainConfig {
  if (input.algo === undefined) throw new UsageError(`--algo is required (one of ${algoNames.join(', ')}), or set "algo" in --config`);
  if (input.env === undefined) throw new UsageError(`--env is required (one of ${trainEnvNames.join(', ')}), or set "env" in --config`);
  checkName('algo', input.algo, algoNames);
  checkName('env', input.env, trainEnvNames);
  try {
    return resolveConfig(input as Partial<TrainConfig> & { algo: string; env: string });
  } catch (e) {
    if (e instanceof ConfigError) throw new UsageError(e.message.split('\n')[0]!);
    throw e;
  }
}

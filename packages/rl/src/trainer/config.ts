/**
 * The training configuration, defined once as a settings table (../settings.ts): the algorithms'
 * settings (algos/settings.ts) extended with the run's (env, sizes, sampling, policy), each with its
 * type, default, check, help text and CLI flag. Defaults are the paper's reference config (ProMP
 * run_scripts/pro-mp_run_mujoco.py and the MAML / E-MAML scripts), with per-env overrides from the
 * reference's per-task experiments; resolveConfig fills them in and validates with messages a user can
 * act on.
 */
import { envNames, samplingModes } from '@metagrad/envs';
import { ALGO_SETTINGS, type AlgoName, type InnerObjective, algoNames, defaultInnerObjective } from '../algos/settings.js';
import {
  ConfigError, type Setting, type SettingsOf, boolean, checkSettings, integer, integerList, jsonSchemaOf, number, object, oneOf, sameResults, show,
} from '../settings.js';

export type { AlgoName, InnerObjective };
export { algoNames, ConfigError };

/** The envs the trainer runs (box observations and actions: every env but 'tabular'). */
export const trainEnvNames: readonly string[] = Object.freeze(envNames.filter((n) => n !== 'tabular'));

/** The largest iteration count (iteration RNG streams are derived from (seed, iteration) below 2²⁰ − 1). */
export const MAX_ITERATIONS = 1_000_000;

/** Env options the trainer passes through to makeEnv (the horizon is the config's `horizon`). */
export const ENV_OPTION_SETTINGS = {
  /** point-corner: the reward, 'sparse' (default), 'dense' or 'dense-squared'. */
  reward: oneOf(['sparse', 'dense', 'dense-squared'] as const, { help: "point-corner: 'sparse' (default), 'dense' or 'dense-squared'" }),
  /** point-corner: L1 radius of the zero-reward start region (default 0.5). */
  sparseRadius: number({ above: 0, help: 'point-corner: L1 radius of the zero-reward start region (default 0.5)' }),
  /** RandParams envs: the log-multipliers are u ~ U(−limit, limit) (default 3). */
  logScaleLimit: number({ above: 0, help: 'RandParams envs: u ~ U(−limit, limit) in the log-multipliers (default 3)' }),
  /** Wrap the env in the reference's action normalization (default true: actions in [−actionScale, actionScale]). */
  normalizeActions: boolean({ help: "wrap the env in the reference's action normalization (default true: actions in [−scale, scale])" }),
  /** The normalization scale (default 10). */
  actionScale: number({ above: 0, help: 'the normalization scale (default 10)' }),
};

/** Env options of a TrainConfig. */
export type TrainEnvOptions = Partial<SettingsOf<typeof ENV_OPTION_SETTINGS>>;

/** Every training setting, in the order config.json lists them. */
export const TRAIN_SETTINGS = {
  /** The meta-algorithm (required; no table flag: the CLI declares its own --algo). */
  algo: oneOf(algoNames, { noun: 'algorithms', help: `the meta-algorithm: ${algoNames.join(', ')}`, flag: false }),
  /** The task distribution ρ(T), one of {@link trainEnvNames} (required; no table flag: the CLI declares its own --env). */
  env: oneOf(trainEnvNames, { noun: 'envs', help: `the task distribution: ${trainEnvNames.join(', ')}`, flag: false }),
  /** Seeds the policy's initialization and every iteration's sampling, in [0, 2³² − 1]; default 1. */
  seed: integer({ default: 1, min: 0, max: 2 ** 32 - 1, help: "seeds the policy's initialization and every iteration's sampling", flag: 'seed' }),
  /** Meta-iterations (Algorithm 1), at most {@link MAX_ITERATIONS}; default 1001. */
  iterations: integer({ default: 1001, max: MAX_ITERATIONS, help: 'meta-iterations (Algorithm 1)', flag: 'iterations' }),
  /** Tasks per meta-batch (K); default 40. */
  metaBatchSize: integer({ default: 40, help: 'tasks per meta-batch', flag: 'meta-batch-size' }),
  /** Trajectories per task and sampling round (R); default 20. */
  rolloutsPerTask: integer({ default: 20, help: 'trajectories per task and sampling round', flag: 'rollouts-per-task' }),
  /** Steps per trajectory (H); default 100 (per-env overrides: {@link ENV_DEFAULTS}). */
  horizon: integer({ default: 100, help: 'steps per trajectory', flag: 'horizon' }),
  /**
   * How a round is sampled: 'steps' (default, the reference's: environments reset when an episode ends
   * and run on until the finished paths hold metaBatchSize·rolloutsPerTask·horizon steps; unfinished
   * paths dropped; that nominal count is the round's env steps) or 'episodes' (one episode per rollout).
   */
  sampling: oneOf(samplingModes, {
    default: 'steps',
    help: "'steps' (the reference's: reset finished episodes and run on until the finished paths hold tasks×rollouts×horizon steps) or 'episodes' (one episode per rollout)",
    flag: 'sampling',
  }),
  /** Hidden widths of the tanh MLP policy; default [64, 64]. */
  hidden: integerList({ default: [64, 64], help: 'hidden widths of the tanh MLP policy, e.g. 64,64', flag: 'hidden' }),
  ...ALGO_SETTINGS,
  /** Discount γ in [0, 1]; default 0.99. */
  discount: number({ default: 0.99, min: 0, max: 1, help: 'discount γ', flag: 'discount' }),
  /** GAE λ in [0, 1]; default 1. */
  gaeLambda: number({ default: 1, min: 0, max: 1, help: 'GAE λ', flag: 'gae-lambda' }),
  /** Normalize advantages per task; default true (--no-normalize-adv turns it off). */
  normalizeAdv: boolean({ default: true, help: 'normalize advantages per task; --no-normalize-adv turns it off', flag: 'no-normalize-adv', sets: false }),
  /** Sampler worker threads, 1 … 256 (1: serial; results are identical for any count); default 1. */
  workers: sameResults(integer({ default: 1, max: 256, help: 'sampler worker threads (1: serial; results are identical for any count)', flag: 'workers' })),
  /**
   * Threads of the outer update, 0 … 256: its task chunks spread over this thread and threads − 1 workers
   * (trainer/threads.ts; results are identical for any count); 0 (the default): as many as `workers`.
   */
  threads: sameResults(integer({ default: 0, min: 0, max: 256, help: 'threads of the outer update, its task chunks spread over them (0: as many as --workers; results are identical for any count)', flag: 'threads' })),
  /** Parameter dtype, 'float64' (default) or 'float32'. */
  dtype: oneOf(['float64', 'float32'] as const, { default: 'float64', help: 'parameter dtype', flag: 'dtype' }),
  /** Initial log σ of the policy; default 0 (σ = 1, the reference's init_std). */
  initLogStd: number({ default: 0, help: "initial log σ of the policy (0: σ = 1, the reference's init_std)", flag: 'init-log-std' }),
  /** Train log σ; default true (--fixed-std holds σ at its initial value, the reference's learn_std=False). */
  learnStd: boolean({ default: true, help: "train log σ; --fixed-std holds σ at its initial value in inner and outer steps (the reference's learn_std=False)", flag: 'fixed-std', sets: false }),
  /**
   * Every n iterations, the meta-gradient's variance at the iteration's θ over {@link varianceRounds}
   * independent sampling rounds, logged as extra.metaGradRelStd and extra.metaGradStd (the paper's Fig. 3;
   * the VPG algorithms); 0 (the default): never.
   */
  varianceEvery: integer({ default: 0, min: 0, help: "every n iterations, the meta-gradient's relative std over --variance-rounds independent sampling rounds at the same θ, logged as metaGradRelStd (the paper's Fig. 3; VPG algorithms; 0: never)", flag: 'variance-every' }),
  /** Independent sampling rounds per variance measurement, ≥ 2; default 10 (the reference's). */
  varianceRounds: integer({ default: 10, min: 2, help: 'independent sampling rounds per meta-gradient variance measurement', flag: 'variance-rounds' }),
  /** Options passed to the env ({@link ENV_OPTION_SETTINGS}; config file only). */
  envOptions: object(ENV_OPTION_SETTINGS, { help: 'options passed to the env (config file only)' }),
};

/** A complete training configuration (every field set; `resolveConfig` fills the defaults). */
export type TrainConfig = SettingsOf<typeof TRAIN_SETTINGS> & {
  /** The meta-algorithm. */
  algo: AlgoName;
  /** Options passed to the env. */
  envOptions: TrainEnvOptions;
};

/** Every key of TrainConfig, in a fixed order. */
export const configKeys: readonly (keyof TrainConfig)[] = Object.freeze(Object.keys(TRAIN_SETTINGS) as (keyof TrainConfig)[]);

/**
 * The keys whose value changes how a run computes, never its numbers (workers, threads, jit: tested bit
 * for bit): a resumed run, or a run `compare` finds already trained, may have other values of them.
 */
export const sameResultsKeys: readonly (keyof TrainConfig)[] = Object.freeze(
  configKeys.filter((k) => (TRAIN_SETTINGS as Record<string, { sameResults?: boolean }>)[k]!.sameResults === true),
);

/** Per-env overrides of the defaults (the reference's per-task experiments: horizons, the humanoid's width, RandParams). */
export const ENV_DEFAULTS: Readonly<Record<string, Partial<TrainConfig>>> = {
  'ant-rand-dir': { horizon: 200 },
  'walker2d-fwd-back': { horizon: 200 },
  'humanoid-rand-dir': { horizon: 200, hidden: [128, 128] },
  'hopper-rand-params': { horizon: 200, innerLr: 0.05, numPrompSteps: 3, adaptiveInnerKLPenalty: true, targetInnerStep: 1e-2, initInnerKLPenalty: 1e-3 },
  'walker2d-rand-params': { horizon: 200, innerLr: 0.05, numPrompSteps: 3, adaptiveInnerKLPenalty: true, targetInnerStep: 1e-2, initInnerKLPenalty: 1e-3 },
};

/**
 * What resolveConfig accepts: any subset of TrainConfig, with algo and env as plain strings (checked at
 * run time). Every Partial<TrainConfig> & { algo: string; env: string } is one.
 */
export type ConfigInput = Omit<Partial<TrainConfig>, 'algo' | 'env'> & {
  /** The meta-algorithm's name (an {@link AlgoName} once checked). */
  algo: string;
  /** The env's name (one of {@link trainEnvNames} once checked). */
  env: string;
};

/** The defaults of a run of `algo` on `env`: the table's, the algorithm's inner objective, the env's overrides. */
export function configDefaults(algo: AlgoName, env: string): Partial<TrainConfig> {
  const base = Object.fromEntries(Object.entries(TRAIN_SETTINGS).filter(([, s]) => s.default !== undefined).map(([k, s]) => [k, s.default]));
  return { ...base, innerObjective: defaultInnerObjective[algo], ...ENV_DEFAULTS[env] } as Partial<TrainConfig>;
}

/**
 * The full config: the defaults (see configDefaults), then `input` (undefined fields are ignored).
 * Validates every field — unknown algo or env (listing the valid names), unknown keys, wrong types,
 * non-positive sizes, out-of-range rates — and throws ConfigError naming the field.
 */
export function resolveConfig(input: ConfigInput): TrainConfig {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) throw new ConfigError(`a config must be an object, got ${show(input)}`);
  if (input.env === 'tabular')
    throw new ConfigError(`env 'tabular' has discrete states and actions, which the trainer's Gaussian MLP policy cannot act in; valid envs: ${trainEnvNames.join(', ')}`);
  const given = checkSettings(TRAIN_SETTINGS, input as Record<string, unknown>);
  if (input.algo === undefined) throw new ConfigError(`algo is required; valid algorithms: ${algoNames.join(', ')}`);
  if (input.env === undefined) throw new ConfigError(`env is required; valid envs: ${trainEnvNames.join(', ')}`);
  const m = { ...configDefaults(given.algo!, given.env!), ...given } as Record<string, unknown>;
  const cfg = Object.fromEntries(Object.entries(TRAIN_SETTINGS).map(([k, s]: [string, Setting<unknown>]) => [k, s.check(k, m[k])]));
  return cfg as TrainConfig;
}

/** The JSON Schema of a config file (a partial TrainConfig; a run's config.json, with its `meta`, is one too). */
export function trainConfigSchema(): Record<string, unknown> {
  const schema = jsonSchemaOf(TRAIN_SETTINGS, { title: 'metagrad training configuration (TrainConfig)' });
  const props = schema.properties as Record<string, unknown>;
  props.$schema = { type: 'string', description: 'the URL or path of this schema (ignored)' };
  props.meta = { type: 'object', description: 'run metadata that metagrad writes into a run\'s config.json (ignored when read)' };
  return schema;
}

/**
 * Training configuration: the paper's reference config (ProMP run_scripts/pro-mp_run_mujoco.py and the
 * MAML / E-MAML scripts), per-env overrides, and validation with messages a user can act on.
 */
import { envNames } from '@metagrad/envs';
import { type AlgoName, type InnerObjective, algoNames as allAlgoNames, innerObjectives } from '../algos/common.js';
import { defaultInnerObjective } from '../algos/index.js';

export type { AlgoName, InnerObjective };

/** Every algorithm name: promp, maml-trpo, e-maml-trpo, e-maml-vpg, lvc-vpg, dice-vpg. */
export const algoNames: readonly AlgoName[] = allAlgoNames;

/** The envs the trainer runs (box observations and actions: every env but 'tabular'). */
export const trainEnvNames: readonly string[] = Object.freeze(envNames.filter((n) => n !== 'tabular'));

/** Env options the trainer passes through to makeEnv (the horizon is `horizon`). */
export interface TrainEnvOptions {
  /** point-corner: 'sparse' (default), 'dense' or 'dense-squared'. */
  reward?: 'sparse' | 'dense' | 'dense-squared';
  /** point-corner: L1 radius of the zero-reward start region (default 0.5). */
  sparseRadius?: number;
  /** RandParams envs: u ~ U(−limit, limit) in the multipliers (default 3). */
  logScaleLimit?: number;
  /** Wrap in the reference's action normalization (default true: actions in [−scale, scale]). */
  normalizeActions?: boolean;
  /** The normalization scale (default 10). */
  actionScale?: number;
}

/** A complete training configuration (every field set; `resolveConfig` fills the defaults). */
export interface TrainConfig {
  algo: AlgoName;
  env: string;
  /** Seeds the policy initialization and every iteration's sampling. */
  seed: number;
  iterations: number;
  /** Tasks per meta-batch (40). */
  metaBatchSize: number;
  /** Trajectories per task and sampling round (20). */
  rolloutsPerTask: number;
  /** Steps per trajectory (100 for half-cheetah and the point envs, 200 for the others). */
  horizon: number;
  /** Hidden widths of the tanh MLP policy ([64, 64]; [128, 128] for the humanoid). */
  hidden: number[];
  /** Inner step size α (0.1). */
  innerLr: number;
  /** Outer Adam step size β (1e-3) for ProMP and the VPG algorithms. */
  metaLr: number;
  /** Inner adaptation steps (1). */
  numInnerGradSteps: number;
  /** ProMP steps per sampled meta-batch (5). */
  numPrompSteps: number;
  /** ProMP clip range ε (0.3). */
  clipEps: number;
  /** Target of the adaptive inner KL penalty (0.01). */
  targetInnerStep: number;
  /** Initial (or fixed) inner KL penalty η (5e-4). */
  initInnerKLPenalty: number;
  /** Adapt η toward targetInnerStep (false in the reference's default config). */
  adaptiveInnerKLPenalty: boolean;
  /** TRPO KL bound δ (0.01). */
  trpoStepSize: number;
  /** γ (0.99). */
  discount: number;
  /** GAE λ (1). */
  gaeLambda: number;
  /** Normalize advantages per task (true). */
  normalizeAdv: boolean;
  /** Sampler worker threads (1: serial in the main thread; results are identical for any count). */
  workers: number;
  /** Parameter dtype ('float64'). */
  dtype: 'float64' | 'float32';
  /** The inner objective (default: the algorithm's — see algos/index.ts defaultInnerObjective). */
  innerObjective: InnerObjective;
  /** Hold the inner gradient constant in meta-gradients (first-order; tests and ablations only). */
  firstOrder: boolean;
  /** TRPO: conjugate-gradient iterations (10), damping (0), backtracking ratio (0.8) and steps (15). */
  cgIters: number;
  cgDamping: number;
  backtrackRatio: number;
  maxBacktracks: number;
  /** Initial log σ of the policy (0: σ = 1, the reference's init_std 1). */
  initLogStd: number;
  /** Train log σ (true, the reference's learn_std default); false holds σ at exp(initLogStd) in inner and outer steps. */
  learnStd: boolean;
  /** Options passed to makeEnv. */
  envOptions: TrainEnvOptions;
}

/** A configuration problem, with a message naming the field and what is allowed. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** The reference config (pro-mp_run_mujoco.py; TRPO settings from maml_run_mujoco.py / the CG optimizer). */
const BASE: Omit<TrainConfig, 'algo' | 'env' | 'innerObjective'> = {
  seed: 1,
  iterations: 1001,
  metaBatchSize: 40,
  rolloutsPerTask: 20,
  horizon: 100,
  hidden: [64, 64],
  innerLr: 0.1,
  metaLr: 1e-3,
  numInnerGradSteps: 1,
  numPrompSteps: 5,
  clipEps: 0.3,
  targetInnerStep: 0.01,
  initInnerKLPenalty: 5e-4,
  adaptiveInnerKLPenalty: false,
  trpoStepSize: 0.01,
  discount: 0.99,
  gaeLambda: 1,
  normalizeAdv: true,
  workers: 1,
  dtype: 'float64',
  firstOrder: false,
  cgIters: 10,
  cgDamping: 0,
  backtrackRatio: 0.8,
  maxBacktracks: 15,
  initLogStd: 0,
  learnStd: true,
  envOptions: {},
};

/** Per-env overrides of the reference's per-task experiments (REFERENCE-FACTS: horizons, humanoid width, RandParams). */
const ENV_DEFAULTS: Record<string, Partial<TrainConfig>> = {
  'point-corner': { horizon: 100 },
  'point-goal': { horizon: 100 },
  'half-cheetah-fwd-back': { horizon: 100 },
  'ant-rand-dir': { horizon: 200 },
  'walker2d-fwd-back': { horizon: 200 },
  'humanoid-rand-dir': { horizon: 200, hidden: [128, 128] },
  'hopper-rand-params': { horizon: 200, innerLr: 0.05, numPrompSteps: 3, adaptiveInnerKLPenalty: true, targetInnerStep: 1e-2, initInnerKLPenalty: 1e-3 },
  'walker2d-rand-params': { horizon: 200, innerLr: 0.05, numPrompSteps: 3, adaptiveInnerKLPenalty: true, targetInnerStep: 1e-2, initInnerKLPenalty: 1e-3 },
};

/** Every key of TrainConfig, in a fixed order. */
export const configKeys: readonly (keyof TrainConfig)[] = Object.freeze([
  'algo', 'env', 'seed', 'iterations', 'metaBatchSize', 'rolloutsPerTask', 'horizon', 'hidden', 'innerLr', 'metaLr',
  'numInnerGradSteps', 'numPrompSteps', 'clipEps', 'targetInnerStep', 'initInnerKLPenalty', 'adaptiveInnerKLPenalty',
  'trpoStepSize', 'discount', 'gaeLambda', 'normalizeAdv', 'workers', 'dtype', 'innerObjective', 'firstOrder', 'cgIters',
  'cgDamping', 'backtrackRatio', 'maxBacktracks', 'initLogStd', 'learnStd', 'envOptions',
] as const);

const ENV_OPTION_KEYS = ['reward', 'sparseRadius', 'logScaleLimit', 'normalizeActions', 'actionScale'] as const;

/** The largest iteration count (iteration RNG streams are derived from (seed, iteration) below 2²⁰ − 1). */
export const MAX_ITERATIONS = 1_000_000;

const show = (v: unknown): string => (typeof v === 'string' ? `'${v}'` : Array.isArray(v) ? JSON.stringify(v) : String(v));

function positiveInt(key: string, v: unknown, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new ConfigError(`${key} must be a positive integer, got ${show(v)}`);
  if (v > max) throw new ConfigError(`${key} must be at most ${max}, got ${v}`);
  return v;
}

function finiteNumber(key: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new ConfigError(`${key} must be a finite number, got ${show(v)}`);
  return v;
}

function positive(key: string, v: unknown): number {
  const x = finiteNumber(key, v);
  if (!(x > 0)) throw new ConfigError(`${key} must be positive, got ${x}`);
  return x;
}

function nonNegative(key: string, v: unknown): number {
  const x = finiteNumber(key, v);
  if (x < 0) throw new ConfigError(`${key} must be ≥ 0, got ${x}`);
  return x;
}

function inUnit(key: string, v: unknown, openLow = false): number {
  const x = finiteNumber(key, v);
  if (x > 1 || x < 0 || (openLow && x === 0)) throw new ConfigError(`${key} must be in ${openLow ? '(0, 1]' : '[0, 1]'}, got ${x}`);
  return x;
}

function bool(key: string, v: unknown): boolean {
  if (typeof v !== 'boolean') throw new ConfigError(`${key} must be true or false, got ${show(v)}`);
  return v;
}

function oneOf<T extends string>(key: string, v: unknown, allowed: readonly T[]): T {
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v))
    throw new ConfigError(`unknown ${key} ${show(v)}; valid ${key === 'algo' ? 'algorithms' : key === 'env' ? 'envs' : 'values'}: ${allowed.join(', ')}`);
  return v as T;
}

function checkEnvOptions(v: unknown): TrainEnvOptions {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new ConfigError(`envOptions must be an object, got ${show(v)}`);
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o))
    if (!(ENV_OPTION_KEYS as readonly string[]).includes(k))
      throw new ConfigError(`unknown envOptions key '${k}'; valid keys: ${ENV_OPTION_KEYS.join(', ')} (the horizon is the config's 'horizon')`);
  const out: TrainEnvOptions = {};
  if (o.reward !== undefined) out.reward = oneOf('envOptions.reward', o.reward, ['sparse', 'dense', 'dense-squared'] as const);
  if (o.sparseRadius !== undefined) out.sparseRadius = positive('envOptions.sparseRadius', o.sparseRadius);
  if (o.logScaleLimit !== undefined) out.logScaleLimit = positive('envOptions.logScaleLimit', o.logScaleLimit);
  if (o.normalizeActions !== undefined) out.normalizeActions = bool('envOptions.normalizeActions', o.normalizeActions);
  if (o.actionScale !== undefined) out.actionScale = positive('envOptions.actionScale', o.actionScale);
  return out;
}

/**
 * What resolveConfig accepts: any subset of TrainConfig, with algo and env as plain strings (checked at
 * run time). Every Partial<TrainConfig> & { algo: string; env: string } is one.
 */
export type ConfigInput = Omit<Partial<TrainConfig>, 'algo' | 'env'> & { algo: string; env: string };

/**
 * The full config: the reference defaults, then the env's overrides, then `input` (undefined fields are
 * ignored). Validates every field — unknown algo or env (listing the valid names), unknown keys, wrong
 * types, non-positive sizes, out-of-range rates — and throws ConfigError naming the field.
 */
export function resolveConfig(input: ConfigInput): TrainConfig {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) throw new ConfigError(`a config must be an object, got ${show(input)}`);
  for (const k of Object.keys(input))
    if (!(configKeys as readonly string[]).includes(k)) throw new ConfigError(`unknown config key '${k}'; valid keys: ${configKeys.join(', ')}`);
  if (input.algo === undefined) throw new ConfigError(`algo is required; valid algorithms: ${algoNames.join(', ')}`);
  if (input.env === undefined) throw new ConfigError(`env is required; valid envs: ${trainEnvNames.join(', ')}`);
  if (input.env === 'tabular') throw new ConfigError(`env 'tabular' has discrete states and actions, which the trainer's Gaussian MLP policy cannot act in; valid envs: ${trainEnvNames.join(', ')}`);
  const algo = oneOf('algo', input.algo, algoNames);
  const env = oneOf('env', input.env, trainEnvNames);
  const given = Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined)) as Record<string, unknown>;
  const m = { ...BASE, innerObjective: defaultInnerObjective[algo], ...ENV_DEFAULTS[env], ...given } as Record<string, unknown>;

  const hidden = m.hidden;
  if (!Array.isArray(hidden) || hidden.length === 0) throw new ConfigError(`hidden must be a non-empty array of layer widths, got ${show(hidden)}`);
  hidden.forEach((h, i) => positiveInt(`hidden[${i}]`, h));
  const seed = m.seed;
  if (typeof seed !== 'number' || !Number.isInteger(seed) || seed < 0 || seed >= 2 ** 32) throw new ConfigError(`seed must be an integer in [0, 2^32), got ${show(seed)}`);
  const cfg: TrainConfig = {
    algo,
    env,
    seed,
    iterations: positiveInt('iterations', m.iterations, MAX_ITERATIONS),
    metaBatchSize: positiveInt('metaBatchSize', m.metaBatchSize),
    rolloutsPerTask: positiveInt('rolloutsPerTask', m.rolloutsPerTask),
    horizon: positiveInt('horizon', m.horizon),
    hidden: [...(hidden as number[])],
    innerLr: positive('innerLr', m.innerLr),
    metaLr: positive('metaLr', m.metaLr),
    numInnerGradSteps: positiveInt('numInnerGradSteps', m.numInnerGradSteps),
    numPrompSteps: positiveInt('numPrompSteps', m.numPrompSteps),
    clipEps: positive('clipEps', m.clipEps),
    targetInnerStep: positive('targetInnerStep', m.targetInnerStep),
    initInnerKLPenalty: nonNegative('initInnerKLPenalty', m.initInnerKLPenalty),
    adaptiveInnerKLPenalty: bool('adaptiveInnerKLPenalty', m.adaptiveInnerKLPenalty),
    trpoStepSize: positive('trpoStepSize', m.trpoStepSize),
    discount: inUnit('discount', m.discount),
    gaeLambda: inUnit('gaeLambda', m.gaeLambda),
    normalizeAdv: bool('normalizeAdv', m.normalizeAdv),
    workers: positiveInt('workers', m.workers, 256),
    dtype: oneOf('dtype', m.dtype, ['float64', 'float32'] as const),
    innerObjective: oneOf('innerObjective', m.innerObjective, innerObjectives),
    firstOrder: bool('firstOrder', m.firstOrder),
    cgIters: positiveInt('cgIters', m.cgIters),
    cgDamping: nonNegative('cgDamping', m.cgDamping),
    backtrackRatio: finiteNumber('backtrackRatio', m.backtrackRatio),
    maxBacktracks: positiveInt('maxBacktracks', m.maxBacktracks),
    initLogStd: finiteNumber('initLogStd', m.initLogStd),
    learnStd: bool('learnStd', m.learnStd),
    envOptions: checkEnvOptions(m.envOptions),
  };
  if (!(cfg.backtrackRatio > 0 && cfg.backtrackRatio < 1)) throw new ConfigError(`backtrackRatio must be in (0, 1), got ${cfg.backtrackRatio}`);
  if (cfg.clipEps >= 1) throw new ConfigError(`clipEps must be in (0, 1), got ${cfg.clipEps}`);
  return cfg;
}

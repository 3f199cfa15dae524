/**
 * The env registry: `makeEnv(name, opts)` builds any task by name; `envNames` lists them. Box-action
 * envs are wrapped by default in the reference's action normalization (policy actions in [−10, 10]
 * mapped linearly onto the env's bounds and clipped; `normalizeActions: false` gives the raw env).
 */
import { EnvError } from './core/errors.js';
import type { MetaEnv } from './core/types.js';
import { PointCornerEnv, PointGoalEnv, PointMomentumEnv } from './point/point.js';
import type { PointCornerReward, PointTask } from './point/point.js';
import { TabularMetaEnv } from './tabular/mdp.js';
import type { TabularMDPSpec } from './tabular/mdp.js';
import { loadMujoco, mujocoIfLoaded } from './mujoco/runtime.js';
import type { MujocoModule } from './mujoco/runtime.js';
import {
  AntRandDirEnv, HalfCheetahFwdBackEnv, HopperRandParamsEnv, HumanoidRandDirEnv, Walker2DFwdBackEnv, Walker2DRandParamsEnv,
} from './mujoco/tasks.js';
import type { Direction2DTask, DirectionTask, RandParamsTask } from './mujoco/tasks.js';
import { DEFAULT_ACTION_SCALE, NormalizedActionEnv } from './wrappers/normalized.js';

/** Every env name, in a fixed order. */
export const envNames = Object.freeze([
  'point-corner', 'point-goal', 'point-momentum', 'tabular',
  'half-cheetah-fwd-back', 'ant-rand-dir', 'walker2d-fwd-back', 'hopper-rand-params', 'walker2d-rand-params', 'humanoid-rand-dir',
] as const);

/** An env name. */
export type EnvName = (typeof envNames)[number];

/** The task type of each env. */
export interface EnvTaskMap {
  /** A goal corner [x, y]. */
  'point-corner': PointTask;
  /** A goal [x, y] in [−2, 2]². */
  'point-goal': PointTask;
  /** A goal corner [x, y]. */
  'point-momentum': PointTask;
  /** A random MDP of the env's S, A, H. */
  tabular: TabularMDPSpec;
  /** A direction: +1 forward, −1 backward. */
  'half-cheetah-fwd-back': DirectionTask;
  /** A unit direction [dx, dy] in the plane. */
  'ant-rand-dir': Direction2DTask;
  /** A direction: +1 forward, −1 backward. */
  'walker2d-fwd-back': DirectionTask;
  /** Scaled body masses, inertias, damping and friction. */
  'hopper-rand-params': RandParamsTask;
  /** Scaled body masses, inertias, damping and friction. */
  'walker2d-rand-params': RandParamsTask;
  /** A unit direction [dx, dy] in the plane. */
  'humanoid-rand-dir': Direction2DTask;
}

/** Options of makeEnv; each env accepts the common ones and its own (others are rejected). */
export interface EnvOptions {
  /**
   * Box-action envs: wrap in the reference's action normalization (normalized_env.py). Default true,
   * as the reference trains every task through normalize(env). Not allowed for 'tabular'.
   */
  normalizeActions?: boolean;
  /** The normalization scale: policy actions live in [−actionScale, actionScale]. Default 10. */
  actionScale?: number;
  /** Override of the env's horizon. */
  horizon?: number;
  /** point-corner, point-momentum: 'sparse' (default), 'dense' or 'dense-squared'. */
  reward?: PointCornerReward;
  /**
   * point-corner: L1 radius of the zero-reward start region (default 0.5); point-momentum: distance from
   * the goal within which the sparse reward max(r − d, 0) is positive (default 2).
   */
  sparseRadius?: number;
  /** tabular: number of states. Default 3. */
  S?: number;
  /** tabular: number of actions. Default 2. */
  A?: number;
  /** tabular: horizon (`horizon` is used when this is not given). Default 3. */
  H?: number;
  /** RandParams: u ~ U(−limit, limit) in the multipliers. Default 3. */
  logScaleLimit?: number;
}

const COMMON = ['normalizeActions', 'actionScale', 'horizon'] as const;
const OWN: Record<EnvName, readonly string[]> = {
  'point-corner': ['reward', 'sparseRadius'],
  'point-goal': [],
  'point-momentum': ['reward', 'sparseRadius'],
  tabular: ['S', 'A', 'H'],
  'half-cheetah-fwd-back': [],
  'ant-rand-dir': [],
  'walker2d-fwd-back': [],
  'hopper-rand-params': ['logScaleLimit'],
  'walker2d-rand-params': ['logScaleLimit'],
  'humanoid-rand-dir': [],
};

const MUJOCO_NAMES: ReadonlySet<string> = new Set([
  'half-cheetah-fwd-back', 'ant-rand-dir', 'walker2d-fwd-back', 'hopper-rand-params', 'walker2d-rand-params', 'humanoid-rand-dir',
]);

/** An env's observation and action sizes. */
export interface EnvDims {
  /** Length of an observation. */
  readonly obsDim: number;
  /** Length of an action. */
  readonly actDim: number;
}

/**
 * Observation and action sizes of every box env (what envShape(makeEnv(name)) gives, known without
 * building the env or loading MuJoCo: for checks before any allocation). A test keeps it equal to the envs.
 */
export const ENV_DIMS: Readonly<Record<Exclude<EnvName, 'tabular'>, EnvDims>> = Object.freeze({
  'point-corner': { obsDim: 2, actDim: 2 },
  'point-goal': { obsDim: 2, actDim: 2 },
  'point-momentum': { obsDim: 4, actDim: 2 },
  'half-cheetah-fwd-back': { obsDim: 17, actDim: 6 },
  'ant-rand-dir': { obsDim: 111, actDim: 8 },
  'walker2d-fwd-back': { obsDim: 17, actDim: 6 },
  'hopper-rand-params': { obsDim: 11, actDim: 3 },
  'walker2d-rand-params': { obsDim: 17, actDim: 6 },
  'humanoid-rand-dir': { obsDim: 376, actDim: 17 },
});

/** True for the envs simulated by MuJoCo (they need the wasm module: makeEnv loads it). */
export function isMujocoEnv(name: string): boolean {
  return MUJOCO_NAMES.has(name);
}

function checkName(name: unknown): asserts name is EnvName {
  if (typeof name !== 'string' || !(envNames as readonly string[]).includes(name))
    throw new EnvError('makeEnv', `unknown env '${String(name)}'; valid names: ${envNames.join(', ')}`);
}

function checkOptions(name: EnvName, opts: EnvOptions): void {
  if (opts === null || typeof opts !== 'object') throw new EnvError(name, 'options must be an object');
  const allowed = [...COMMON, ...OWN[name]];
  for (const k of Object.keys(opts))
    if (!allowed.includes(k) && (opts as Record<string, unknown>)[k] !== undefined)
      throw new EnvError(name, `unknown option '${k}'; valid options for ${name}: ${allowed.join(', ')}`);
  if (name === 'tabular' && opts.normalizeActions) throw new EnvError(name, 'normalizeActions needs a box action space; tabular actions are discrete');
  if (opts.normalizeActions !== undefined && typeof opts.normalizeActions !== 'boolean')
    throw new EnvError(name, `normalizeActions must be a boolean, got ${String(opts.normalizeActions)}`);
}

function build(name: EnvName, opts: EnvOptions, mj: MujocoModule | null): MetaEnv {
  const h = opts.horizon;
  let env: MetaEnv;
  switch (name) {
    case 'point-corner':
      env = new PointCornerEnv({ reward: opts.reward, sparseRadius: opts.sparseRadius, horizon: h });
      break;
    case 'point-goal':
      env = new PointGoalEnv({ horizon: h });
      break;
    case 'point-momentum':
      env = new PointMomentumEnv({ reward: opts.reward, sparseRadius: opts.sparseRadius, horizon: h });
      break;
    case 'tabular':
      return new TabularMetaEnv({ S: opts.S, A: opts.A, H: opts.H ?? h });
    default: {
      if (!mj) throw new EnvError(name, 'the MuJoCo module is not loaded; use `await makeEnv(...)` or `await loadMujoco()` before makeEnvSync');
      const o = { horizon: h };
      if (name === 'half-cheetah-fwd-back') env = new HalfCheetahFwdBackEnv(mj, o);
      else if (name === 'ant-rand-dir') env = new AntRandDirEnv(mj, o);
      else if (name === 'walker2d-fwd-back') env = new Walker2DFwdBackEnv(mj, o);
      else if (name === 'humanoid-rand-dir') env = new HumanoidRandDirEnv(mj, o);
      else if (name === 'hopper-rand-params') env = new HopperRandParamsEnv(mj, { horizon: h, logScaleLimit: opts.logScaleLimit });
      else env = new Walker2DRandParamsEnv(mj, { horizon: h, logScaleLimit: opts.logScaleLimit });
    }
  }
  if (opts.normalizeActions === false) return env;
  return new NormalizedActionEnv(env, opts.actionScale ?? DEFAULT_ACTION_SCALE);
}

/**
 * Builds the env `name` (see envNames); loads MuJoCo first when the env needs it. An unknown name
 * throws an error listing the valid ones; unknown options throw too.
 */
export async function makeEnv<N extends EnvName>(name: N, opts?: EnvOptions): Promise<MetaEnv<EnvTaskMap[N]>>;
export async function makeEnv(name: string, opts?: EnvOptions): Promise<MetaEnv>;
export async function makeEnv(name: string, opts: EnvOptions = {}): Promise<MetaEnv> {
  checkName(name);
  checkOptions(name, opts);
  const mj = isMujocoEnv(name) ? await loadMujoco() : null;
  return build(name, opts, mj);
}

/**
 * makeEnv without the await: point and tabular envs always; MuJoCo envs once `loadMujoco()` has
 * finished in this thread (otherwise it throws saying so).
 */
export function makeEnvSync<N extends EnvName>(name: N, opts?: EnvOptions): MetaEnv<EnvTaskMap[N]>;
export function makeEnvSync(name: string, opts?: EnvOptions): MetaEnv;
export function makeEnvSync(name: string, opts: EnvOptions = {}): MetaEnv {
  checkName(name);
  checkOptions(name, opts);
  return build(name, opts, mujocoIfLoaded());
}

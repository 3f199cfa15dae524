/**
 * @metagrad/envs/point: the 2-D point tasks (point-corner, point-goal, and point-momentum of the paper's
 * Fig. 4) with the MetaEnv interface and the reference's action normalization. Plain TypeScript: no
 * MuJoCo, no Node module, so it bundles for the browser.
 *
 * @module
 */
export { PointCornerEnv, PointGoalEnv, PointMomentumEnv, POINT_CORNERS } from './point.js';
export type { PointTask, PointCornerReward, PointCornerOptions, PointGoalOptions, PointMomentumOptions } from './point.js';
export { NormalizedActionEnv, DEFAULT_ACTION_SCALE } from '../wrappers/normalized.js';
export type { MetaEnv, Space, BoxSpace, DiscreteSpace, StepResult, EnvInfo } from '../core/types.js';
export { boxSpace, discreteSpace, flatDim } from '../core/types.js';
export { EnvError } from '../core/errors.js';

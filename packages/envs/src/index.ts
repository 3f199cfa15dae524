/**
 * @metagrad/envs: the ProMP paper's meta-RL tasks behind one MetaEnv interface — the 2-D point tasks,
 * tabular MDPs, and the MuJoCo locomotion tasks on the official MuJoCo WebAssembly build — plus the
 * vectorized and worker-thread samplers that collect a meta-batch of trajectories.
 *
 * @module index
 */
export type { MetaEnv, Space, BoxSpace, DiscreteSpace, StepResult, EnvInfo } from './core/types.js';
export { boxSpace, discreteSpace, flatDim } from './core/types.js';
export { EnvError } from './core/errors.js';
export { makeEnv, makeEnvSync, envNames, isMujocoEnv, ENV_DIMS } from './registry.js';
export type { EnvName, EnvOptions, EnvTaskMap, EnvDims } from './registry.js';
export { NormalizedActionEnv, DEFAULT_ACTION_SCALE } from './wrappers/normalized.js';
export { PointCornerEnv, PointGoalEnv, PointMomentumEnv, POINT_CORNERS } from './point/point.js';
export type { PointTask, PointCornerReward, PointCornerOptions, PointGoalOptions, PointMomentumOptions } from './point/point.js';
export { TabularMDP, TabularMetaEnv, validateTabularMDP, sameMDP } from './tabular/mdp.js';
export type { TabularMDPSpec, TabularEnvOptions } from './tabular/mdp.js';
export { loadMujoco, releaseMujocoSims, MjSim } from './mujoco/runtime.js';
export type { MujocoModule, MjModel, MjData, SimMessages } from './mujoco/runtime.js';
export { drainSimMessages } from './mujoco/runtime.js';
export { MujocoEnv } from './mujoco/base.js';
export type { MujocoTaskConfig, StepOutcome } from './mujoco/base.js';
export {
  HalfCheetahFwdBackEnv, AntRandDirEnv, Walker2DFwdBackEnv, HopperRandParamsEnv, Walker2DRandParamsEnv, HumanoidRandDirEnv,
} from './mujoco/tasks.js';
export type { DirectionTask, Direction2DTask, RandParamsTask, MujocoEnvOptions, RandParamsOptions } from './mujoco/tasks.js';
export { sampleMetaBatch, envShape, addSimMessages } from './sampler/serial.js';
export type { SampleOptions, SampleBatch, EnvShape } from './sampler/serial.js';
export { WorkerSampler } from './sampler/parallel.js';
export type { WorkerSamplerOptions } from './sampler/parallel.js';
export { runRollouts, RolloutStreams, stopTime, samplingModes } from './sampler/rollouts.js';
export type { RolloutBlock, SamplingMode } from './sampler/rollouts.js';
export { batchedPolicy, checkPolicySpec, gaussianMLPParamCount } from './sampler/policy.js';
export type { PolicySpec, GaussianMLPSpec, TabularSoftmaxSpec, UniformSpec, BatchedPolicy } from './sampler/policy.js';

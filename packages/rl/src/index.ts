/**
 * @metagrad/rl: the ProMP paper's estimators (DiCE, LVC, J^LR, J^CLIP, ProMP, formulation II), exact
 * analysis of the Hessian decomposition on tabular MDPs, Monte Carlo tools, policies, baselines and
 * advantages, the six meta-algorithms and the trainer core (no file, chart or CLI code: the `metagrad`
 * package builds the command line on top). The browser-safe parts are also at
 * `@metagrad/rl/estimators` and `@metagrad/rl/tabular`.
 *
 * @module index
 */
export * from './estimators/index.js';
export * from './tabular/index.js';
export { Adam, flattenTree, unflattenTree } from './optim.js';
export type { AdamOptions, AdamState } from './optim.js';
export { LinearBaseline, LinearFeatureBaseline, LinearTimeBaseline, choleskySolve } from './baselines.js';
export type { PathsView, BaselineFeatures } from './baselines.js';
export { discountCumsum, gae, normalizeMasked, processSamples } from './advantages.js';
export type { ProcessOptions, ProcessedSamples } from './advantages.js';
export * from './algos/index.js';
export {
  algoNames, trainEnvNames, configKeys, sameResultsKeys, ConfigError, resolveConfig, configDefaults, trainConfigSchema, TRAIN_SETTINGS, ENV_OPTION_SETTINGS, ENV_DEFAULTS,
  MAX_ITERATIONS,
} from './trainer/config.js';
export type { AlgoName, TrainConfig, TrainEnvOptions, ConfigInput } from './trainer/config.js';
export * as settings from './settings.js';
export type { Setting, SettingsOf, FlagSpec } from './settings.js';
export { train, checkCheckpoint, gradientRelStd } from './trainer/metaTrainer.js';
export { estimateMemory, checkMemory, formatBytes, MAX_ARRAY_ELEMENTS } from './trainer/memory.js';
export type { MemoryEstimate, MemoryPart } from './trainer/memory.js';
export type { IterationRecord, TrainHooks, Checkpoint, GradientVariance } from './trainer/metaTrainer.js';
export { evaluate } from './trainer/evaluate.js';
export type { EvaluationResult, TaskTrajectories } from './trainer/evaluate.js';
export { sampleAndAdapt, setupRun, initialParams, iterationRng, processRound, EVALUATION_ITERATION } from './trainer/adaptation.js';
export type { RunSetup, AdaptationResult, PhaseHooks } from './trainer/adaptation.js';
export { serialTaskSampler, workerTaskSampler } from './trainer/sampler.js';
export type { TaskSampler } from './trainer/sampler.js';
export { ThreadRunner, threadRunner } from './trainer/threads.js';
export type { ChunkWorkerInit } from './trainer/threads.js';

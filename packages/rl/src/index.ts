/**
 * @metagrad/rl: the ProMP paper's estimators (DiCE, LVC, J^LR, J^CLIP, ProMP, formulation II), exact
 * analysis of the Hessian decomposition on tabular MDPs, and Monte Carlo tools.
 */
export {
  expectSteps, magicBox, rewardToGo, dice, lvc, likelihoodRatioObjective, clippedObjective, vpgObjective,
  meanKL, innerStep, prompObjective, formulationIITerm,
} from './estimators.js';
export type { Steps, TrajectoryBatch, LogProbPolicy } from './estimators.js';
export {
  exactAnalysis, exactReturn, exactQ, enumerateTrajectories, enumerationBatch, tabularLogProb, validateTabular, MAX_TRAJECTORIES,
} from './tabular/exact.js';
export type { TabularSpec, ExactAnalysis, Enumeration } from './tabular/exact.js';
/** The tabular MDP of the exact analysis (from @metagrad/envs, where it is also an environment). */
export { TabularMDP } from '@metagrad/envs';
export type { TabularMDPSpec } from '@metagrad/envs';
export { formulationTerms } from './formulations.js';
export type { FormulationTerms } from './formulations.js';
export { sampleTabular, innerObjective, metaGradientSample, relativeStd, gradientVarianceExperiment } from './tabular/montecarlo.js';
export type { TabularBatch, InnerEstimator, MetaGradientOptions, VarianceResult } from './tabular/montecarlo.js';
export { runGradientVariance, randomTabular } from './experiments/gradientVariance.js';
export { renderSvg, svgToPng, writeChart } from './report/plot.js';
export { DiagGaussian, Categorical } from './distributions.js';
export { GaussianMLPPolicy, TabularSoftmaxPolicy } from './policies.js';
export type { Policy, GaussianMLPParams, GaussianMLPOptions, TabularSoftmaxOptions } from './policies.js';
export { Adam, flattenTree, unflattenTree } from './optim.js';
export type { AdamOptions, AdamState } from './optim.js';
export { LinearBaseline, LinearFeatureBaseline, LinearTimeBaseline, choleskySolve } from './baselines.js';
export type { PathsView, BaselineFeatures } from './baselines.js';
export { discountCumsum, gae, normalizeMasked, processSamples } from './advantages.js';
export type { ProcessOptions, ProcessedSamples } from './advantages.js';
export {
  makeAlgorithm, defaultInnerObjective, innerObjectives, broadcastToTasks, taskMean, taskLogProb, taskKL, taskParamsRow, perTask, toStepBatch,
  taskInnerObjective, taskInnerStep, adapt, adaptedParams, evalRound, roundKL, taskMeanAug, meanTaskKL, klDiagnostics, outerLikelihoodRatio, outerPolicyGradient, formulationIIMetaTerm,
  roundInputs, evalRoundChunked, ProMP, prompLoss, adaptKLCoeff, MamlTrpo, mamlTrpoObjective, EMamlTrpo, EMamlVpg, LvcVpg, DiceVpg, VpgMetaAlgorithm,
  trpoStep, conjugateGradient, conjugateGradientWithProduct, trpoLinearization,
} from './algos/index.js';
export type {
  InnerObjective, TaskParams, StepBatch, MetaBatch, RoundEval, Adapted, InnerStepOptions, OuterResult, MetaAlgorithm, AlgoSettings, PrompTerms, OuterObjective,
  TrpoOptions, TrpoResult, TrpoObjective,
} from './algos/index.js';
export { algoNames, trainEnvNames, configKeys, ConfigError, resolveConfig, loadConfigFile } from './trainer/config.js';
export type { AlgoName, TrainConfig, TrainEnvOptions, ConfigInput } from './trainer/config.js';
export { train, readCheckpoint, readLog, readRunConfig, csvHeader, csvRow } from './trainer/metaTrainer.js';
export type { IterationRecord, TrainHooks, Checkpoint } from './trainer/metaTrainer.js';
export { evaluate } from './trainer/evaluate.js';
export type { EvaluationResult, TaskTrajectories } from './trainer/evaluate.js';
export { sampleAndAdapt, setupRun, initialParams, iterationRng, processRound, EVALUATION_ITERATION } from './trainer/adaptation.js';
export type { RunSetup, AdaptationResult, PhaseHooks } from './trainer/adaptation.js';
export { serialTaskSampler, workerTaskSampler, concatBatches } from './trainer/sampler.js';
export type { TaskSampler } from './trainer/sampler.js';

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

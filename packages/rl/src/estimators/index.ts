/**
 * @metagrad/rl/estimators: the paper's objectives as differentiable surrogates, each next to its
 * equation (DiCE Eq. 57, LVC Eq. 5, J^LR Eq. 6, J^CLIP, ProMP Eq. 7, formulation II Eq. 2/31), the
 * formulation I/II gradient terms (Eq. 2, 3, 28), and the distributions and policies they are written
 * over. Their derivatives, at every order, are the estimators. Browser-safe: depends on
 * @metagrad/autograd only.
 *
 * @module
 */
export {
  expectSteps, magicBox, rewardToGo, dice, lvc, likelihoodRatioObjective, clippedObjective, vpgObjective,
  meanKL, innerStep, prompObjective, formulationIITerm,
} from './objectives.js';
export type { Steps, TrajectoryBatch, LogProbPolicy } from './objectives.js';
export { formulationTerms } from './formulations.js';
export type { FormulationTerms } from './formulations.js';
export { DiagGaussian, Categorical } from '../distributions.js';
export { GaussianMLPPolicy, TabularSoftmaxPolicy } from '../policies.js';
export type { Policy, GaussianMLPParams, GaussianMLPOptions, TabularSoftmaxOptions } from '../policies.js';

/**
 * @metagrad/rl/tabular: the exact analysis of the Hessian decomposition on finite MDPs (Eq. 35–38, 73–74:
 * J, ∇J, ∇²J = H1 + H2 + H12 + H12ᵀ by enumerating every trajectory, and the DiCE and LVC estimators'
 * exact expected gradients and Hessians), and Monte Carlo tools (sampling, meta-gradient estimates,
 * the relative-std experiment of Fig. 3). Browser-safe: depends on @metagrad/autograd and
 * @metagrad/envs/tabular only.
 *
 * @module
 */
export {
  exactAnalysis, exactReturn, exactQ, enumerateTrajectories, enumerationBatch, tabularLogProb, validateTabular, MAX_TRAJECTORIES,
} from './exact.js';
export type { TabularSpec, ExactAnalysis, Enumeration } from './exact.js';
export { exactSummary } from './summary.js';
export type { ExactSummary } from './summary.js';
/** The tabular MDP of the exact analysis (from @metagrad/envs/tabular, where it is also an environment). */
export { TabularMDP } from '@metagrad/envs/tabular';
export type { TabularMDPSpec } from '@metagrad/envs/tabular';
export {
  sampleTabular, innerObjective, metaGradientSample, perSampleMetaGradients, relativeStd, gradientVarianceExperiment, randomTabular,
} from './montecarlo.js';
export type { TabularBatch, InnerEstimator, MetaGradientOptions, PerSampleMetaGradients, VarianceResult } from './montecarlo.js';

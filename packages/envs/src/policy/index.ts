/**
 * @metagrad/envs/policy: the Gaussian MLP policy's flat parameter layout and mean forward pass, shared by
 * the samplers and by @metagrad/rl's losses. Depends on @metagrad/autograd only (browser-safe).
 *
 * @module
 */
export { gaussianMLPLayout, gaussianMLPParamCount, gaussianMLPMean } from './gaussianMLP.js';
export type { DenseLayer, GaussianMLPLayout } from './gaussianMLP.js';

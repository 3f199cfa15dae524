/**
 * @metagrad/autograd/testing: property testing of derivatives, as a library.
 *
 * - {@link checkGrads}: f's derivatives up to third order, in reverse and forward mode, against central
 *   finite differences in float64 (like jax.test_util.check_grads and torch.autograd.gradcheck), with an
 *   error that names the order, mode, argument and worst index when they disagree.
 * - The finite differences and the one closeness criterion behind it: {@link numericalGrad},
 *   {@link numericalJvp}, {@link centralDifference} (Richardson-extrapolated), {@link assertAllClose},
 *   {@link compare}.
 * - {@link arb}: fast-check arbitraries of shapes, broadcast-compatible shape pairs, tensors and
 *   Gaussian-MLP parameters.
 *
 * This subpath imports fast-check (statically, for `arb`): fast-check ^4 is an optional peer dependency
 * of @metagrad/autograd, so install it next to it (`npm install -D fast-check`) to use this entry point.
 * The root entry `@metagrad/autograd` never imports this one and stays dependency-free.
 *
 * ```ts
 * import fc from 'fast-check';
 * import { tensor } from '@metagrad/autograd';
 * import { arb, checkGrads } from '@metagrad/autograd/testing';
 *
 * checkGrads((x, w) => x.matmul(w).tanh().logSumExp(-1), [tensor([[1, 2]]), tensor([[0.5], [-1]])], { order: 3 });
 * fc.assert(fc.property(arb.mlpParams({ obsDim: 2, actDim: 1, hidden: [3] }), (p) => {
 *   checkGrads((W) => W.tanh().sum(), [p.layers[0]!.W], { order: 2 });
 * }));
 * ```
 *
 * @module
 */
export { checkGrads, GradCheckError } from './checkGrads.js';
export type { CheckGradsOptions, GradCheckMode, GradCheckResult } from './checkGrads.js';
export {
  DEFAULT_EPS, assertAllClose, centralDifference, compare, flatten, maxAbsDiff, numericalGrad, numericalJvp, relErr, toFloat64, unflatten,
} from './numeric.js';
export type { AllCloseOptions, Comparison, FiniteDifferenceOptions, Numeric } from './numeric.js';
export { arb } from './arbitraries.js';
export type { BroadcastShapesOptions, MLPParams, MLPParamsOptions, ShapeOptions, TensorOptions } from './arbitraries.js';

/**
 * @metagrad/autograd: reverse-mode autodiff with stop-gradient and derivatives of any order.
 * Tensors and creation, every op in function form, the tape (gradients), and the pytree transforms.
 *
 * @module index
 */
export { Tensor, tensor, zeros, ones, full, scalar, randn, rand, eye, arange } from './tensor.js';
export type { DType, Data, Nested, TensorLike } from './tensor.js';
export {
  add, sub, mul, div, pow, neg, exp, log, tanh, sigmoid, softplus, sqrt, square, abs, sign,
  minimum, maximum, clip, where, greater, greaterEqual, less, lessEqual, equal, notEqual,
  sum, mean, max, logSumExp, reshape, transpose, broadcastTo, expandDims, squeeze, slice, index,
  concat, stack, gather, cumsum, astype, matmul, matmulT, logSoftmax, softmax, stopGradient, sumTo,
} from './ops.js';
export { gradients, grad, valueAndGrad, vjp, hvp, jvp, customVjp, jacobian, hessian, treeLeaves, treeUnflatten, treeMap } from './autodiff.js';
export { vmap, BatchTracer } from './batching.js';
export { jit } from './jit.js';
export type { Jitted, JitOptions } from './jit.js';
export type { Params, GradientsOptions, GradOptions, JacobianOptions } from './autodiff.js';
export { noGrad, enableGrad, isGradEnabled, checkFinite, setCheckFinite, isCheckFinite } from './graph.js';
export type { Node } from './graph.js';
export type { Primitive } from './primitives.js';
export { Rng } from './random.js';
export { setBackend, backendReport, cpuKernel, GPUJS_MIN_FLOPS } from './kernels/backend.js';
export { setCpuThreads, cpuThreads } from './kernels/wasm/index.js';
export type { BackendSetting, BackendReport, GpuInfo, GpuMode } from './kernels/backend.js';

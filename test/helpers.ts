/**
 * Shared test helpers: thin adapters over `@metagrad/autograd/testing`, the library the repo's own
 * tests use like any user would. Its `assertAllClose` is the one closeness check, and its
 * Richardson-extrapolated central differences in float64 are the independent reference every
 * derivative in this repo is checked against; the signatures below are the ones the tests were written
 * with (a tolerance argument, flat Float64Array results).
 */
import { existsSync } from 'node:fs';
import { expect } from 'vitest';
import type { Tensor } from '@metagrad/autograd';
import { assertAllClose, centralDifference, flatten, unflatten, type Numeric } from '@metagrad/autograd/testing';

export { flatten, unflatten, relErr, maxAbsDiff } from '@metagrad/autograd/testing';

/**
 * Asserts a ≈ b: equal shapes (for two tensors) and max|a − b| ≤ atol + tol · max|b|
 * (`assertAllClose` with rtol = tol). `atol` (default 0) is for derivatives that are exactly zero where
 * finite differences return noise.
 */
export function allClose(a: Numeric, b: Numeric, tol = 1e-6, what = '', atol = 0): void {
  assertAllClose(a, b, { rtol: tol, atol, what: what || 'allClose' });
}

/**
 * Central differences of a scalar function of several tensors along every coordinate of their
 * concatenation: ∂f/∂(flat x)ᵢ (Richardson-extrapolated, step h, default the library's 1e-4).
 */
export function fdGrad(f: (xs: Tensor[]) => number, xs: readonly Tensor[], h?: number): Float64Array {
  const x0 = flatten(xs);
  const g = new Float64Array(x0.length);
  const e = new Float64Array(x0.length);
  for (let i = 0; i < x0.length; i++) {
    e[i] = 1;
    g[i] = centralDifference((x) => f(unflatten(x, xs)), x0, e, { eps: h })[0]!;
    e[i] = 0;
  }
  return g;
}

/** The central difference of a vector function of several tensors along a flat direction v (Richardson-extrapolated, step h). */
export function fdDirectional(F: (xs: Tensor[]) => Float64Array, xs: readonly Tensor[], v: Float64Array, h?: number): Float64Array {
  return centralDifference((x) => F(unflatten(x, xs)), flatten(xs), v, { eps: h });
}

/** Asserts that `fn` throws an error whose message matches `re`. */
export function expectThrows(fn: () => unknown, re: RegExp): void {
  expect(fn).toThrow(re);
}

/**
 * Points gpu.js's webgpu mode at Chromium's SwiftShader Vulkan driver when Chromium is installed and the
 * caller chose no driver (METAGRAD_VULKAN_ICD), so the webgpu tests run on any machine with Chromium, as
 * in CI. Returns whether the webgpu tests must run: METAGRAD_EXPECT_WEBGPU set (CI), or SwiftShader found.
 */
export function webgpuForTests(): boolean {
  const icd = '/usr/lib/chromium/vk_swiftshader_icd.json';
  if (!process.env['METAGRAD_VULKAN_ICD'] && existsSync(icd)) process.env['METAGRAD_VULKAN_ICD'] = 'swiftshader';
  return Boolean(process.env['METAGRAD_EXPECT_WEBGPU']) || process.env['METAGRAD_VULKAN_ICD'] !== undefined;
}

/**
 * A memory estimate of a training configuration, checked before anything is allocated, so that absurd
 * sizes (a meta-batch of 10⁸ tasks, hidden layers of 10⁵ units, a horizon of 10⁹ steps) end in one
 * message naming the setting and the estimate instead of a V8 out-of-memory abort. The estimate is
 * deliberately rough (within a small factor of what a run holds at its peak): the policy with its
 * per-task copies, gradients and optimizer state, and every sampling round's trajectories with the
 * tensors built from them. Loss evaluation runs in task chunks of bounded size and is not counted.
 */
import { ENV_DIMS, gaussianMLPParamCount } from '@metagrad/envs';
import { ConfigError } from '../settings.js';
import type { TrainConfig } from './config.js';

/** Bytes per float64. */
const F64 = 8;
/** The most elements of one typed array (V8's limit). */
export const MAX_ARRAY_ELEMENTS = 2 ** 32;

/** One part of a memory estimate. */
export interface MemoryPart {
  /** What it holds, in words. */
  what: string;
  /** Estimated bytes. */
  bytes: number;
  /** The settings it grows with. */
  settings: string[];
}

/** What a configuration needs at its peak, roughly. */
export interface MemoryEstimate {
  /** Σ parts. */
  bytes: number;
  /** The policy (parameters, per-task copies, gradients, optimizer state) and the samples. */
  parts: MemoryPart[];
  /** The largest single array (a sampling round's observations, or one weight matrix's per-task copies). */
  largestArray: {
    /** What it holds, with the sizes that make it. */
    what: string;
    /** Its number of elements. */
    elements: number;
    /** The settings it grows with. */
    settings: string[];
  };
}

/** Human-readable bytes: "12.3 GB". */
export function formatBytes(b: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];
  let u = 0;
  while (b >= 1000 && u < units.length - 1) {
    b /= 1000;
    u++;
  }
  return `${b >= 100 || u === 0 ? b.toFixed(0) : b.toPrecision(3)} ${units[u]}`;
}

/** The memory estimate of `config` (see the module comment). */
export function estimateMemory(config: TrainConfig): MemoryEstimate {
  const dims = ENV_DIMS[config.env as keyof typeof ENV_DIMS] ?? { obsDim: 1, actDim: 1 };
  const { obsDim, actDim } = dims;
  const K = config.metaBatchSize, R = config.rolloutsPerTask, H = config.horizon, S = config.numInnerGradSteps;
  const P = gaussianMLPParamCount(obsDim, actDim, config.hidden);
  // θ, its gradient, Adam's two moments and TRPO's vectors (~12 copies), plus the K per-task copies θ'_τ of
  // every inner step and their gradients (2·K·(S + 1) copies)
  const policy = P * F64 * (12 + 2 * K * (S + 1));
  // per round: observations, actions and ~10 per-step scalars (rewards, masks, returns, advantages, …),
  // held raw and as tensors (≈3×); the nominal K·R·H steps ('steps' sampling on a task that terminates
  // keeps a little more: the paths finished by the stop time, packed into rows)
  const perStep = obsDim + actDim + 10;
  const samples = (S + 1) * K * R * H * perStep * F64 * 3;
  const sizes = [obsDim, ...config.hidden, actDim];
  let widest = 0;
  for (let i = 0; i + 1 < sizes.length; i++) widest = Math.max(widest, sizes[i]! * sizes[i + 1]!);
  const roundObs = K * R * H * (obsDim + 1);
  const largestArray = roundObs >= widest * K
    ? { what: `one sampling round's observations (metaBatchSize ${K} × rolloutsPerTask ${R} × horizon ${H} × ${obsDim + 1})`, elements: roundObs, settings: ['metaBatchSize', 'rolloutsPerTask', 'horizon'] }
    : { what: `the per-task copies of the widest weight matrix (hidden ${config.hidden.join(',')}, × metaBatchSize ${K})`, elements: widest * K, settings: ['hidden', 'metaBatchSize'] };
  return {
    bytes: policy + samples,
    parts: [
      { what: `the policy (${P.toLocaleString('en-US')} parameters) with its per-task copies, gradients and optimizer state`, bytes: policy, settings: ['hidden', 'metaBatchSize'] },
      { what: `the samples (${(S + 1)} rounds × ${(K * R * H).toLocaleString('en-US')} steps)`, bytes: samples, settings: ['metaBatchSize', 'rolloutsPerTask', 'horizon', 'numInnerGradSteps'] },
    ],
    largestArray,
  };
}

/** This machine's memory in bytes (Infinity outside Node). */
function machineMemory(): number {
  const os = (globalThis as { process?: { getBuiltinModule?(id: string): unknown } }).process?.getBuiltinModule?.('node:os') as { totalmem(): number } | undefined;
  return os ? os.totalmem() : Infinity;
}

/**
 * Throws a ConfigError, naming the settings and the estimate, when `config` cannot fit: its estimate
 * above `limitBytes` (default: 80 % of this machine's memory), or one array above V8's limit.
 */
export function checkMemory(config: TrainConfig, limitBytes = 0.8 * machineMemory()): MemoryEstimate {
  const e = estimateMemory(config);
  const a = e.largestArray;
  if (a.elements > MAX_ARRAY_ELEMENTS)
    throw new ConfigError(`${a.what} would be ${a.elements.toExponential(2)} numbers, more than the ${MAX_ARRAY_ELEMENTS.toExponential(2)} one array can hold; lower ${a.settings.join(', ')}`);
  if (e.bytes > limitBytes) {
    const big = [...e.parts].sort((x, y) => y.bytes - x.bytes)[0]!;
    throw new ConfigError(
      `this configuration needs about ${formatBytes(e.bytes)} of memory, more than the ${formatBytes(limitBytes)} available (80 % of this machine's); ` +
      `most of it is ${big.what}, ${formatBytes(big.bytes)}: lower ${big.settings.join(', ')}`,
    );
  }
  return e;
}

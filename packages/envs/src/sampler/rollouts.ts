/**
 * The vectorized executor shared by the serial and the worker sampler: it steps a block of
 * environments — one per (task, rollout) — in lock step, with one batched policy call per time step
 * over the environments still running, and writes padded batch-major arrays.
 */
import type { Rng } from '@metagrad/autograd';
import { type SimMessages, drainSimMessages } from '../mujoco/runtime.js';
import type { MetaEnv } from '../core/types.js';
import { flatDim } from '../core/types.js';
import type { BatchedPolicy } from './policy.js';

/** Trajectories of a block of environments, batch-major and padded to the horizon with zeros. */
export interface RolloutBlock {
  /** [n, H, obsDim] the observation each action was taken in. */
  obs: Float64Array;
  /** [n, H, actDim] the actions as the policy produced them (before the env's clipping). */
  actions: Float64Array;
  /** [n, H] */
  rewards: Float64Array;
  /** [n, H] 1 for steps that happened, 0 for padding. */
  mask: Uint8Array;
  /** [n, H] 1 at the step where the env ended the episode (termination or divergence). */
  dones: Uint8Array;
  /** [n] number of steps taken. */
  lengths: Int32Array;
  /** [n, obsDim] the observation after the last step. */
  finalObs: Float64Array;
  /** [n, H] per info key. */
  infos: Record<string, Float64Array>;
  /** Divergences: the block-local trajectory index and the env's message. */
  divergences: {
    /** The block-local trajectory index. */
    traj: number;
    /** The env's message (names the env and the cause). */
    message: string;
  }[];
  /** What the simulator printed while this block ran (MuJoCo's warnings), captured instead of printed. */
  simMessages: SimMessages;
}

/**
 * Runs `tasks.length` environments (clones of `template`), environment e with task tasks[e] and Rng
 * rngs[e] (its reset noise, its stochastic transitions and its policy noise), for at most `horizon`
 * steps each.
 */
export function runRollouts<Task>(template: MetaEnv<Task>, tasks: readonly Task[], rngs: readonly Rng[], horizon: number, policy: BatchedPolicy): RolloutBlock {
  const n = tasks.length;
  if (rngs.length !== n) throw new Error(`sampler: ${n} tasks but ${rngs.length} Rngs`);
  const obsDim = flatDim(template.observationSpace);
  const actDim = flatDim(template.actionSpace);
  const discreteActions = template.actionSpace.kind === 'discrete';
  const H = horizon;
  const block: RolloutBlock = {
    obs: new Float64Array(n * H * obsDim),
    actions: new Float64Array(n * H * actDim),
    rewards: new Float64Array(n * H),
    mask: new Uint8Array(n * H),
    dones: new Uint8Array(n * H),
    lengths: new Int32Array(n),
    finalObs: new Float64Array(n * obsDim),
    infos: Object.fromEntries(template.infoKeys.map((k) => [k, new Float64Array(n * H)])),
    divergences: [],
    simMessages: { count: 0, first: null },
  };
  drainSimMessages(); // messages from before this block belong to someone else
  const infoKeys = template.infoKeys;
  const infoArrays = infoKeys.map((k) => block.infos[k]!);
  const envs: MetaEnv<Task>[] = [];
  const current: Float64Array[] = [];
  for (let e = 0; e < n; e++) {
    const env = template.clone();
    env.setTask(tasks[e]!);
    envs.push(env);
    current.push(env.reset(rngs[e]!));
  }
  let active = Array.from({ length: n }, (_, e) => e);
  const obsBatch = new Float64Array(n * obsDim);
  const actBatch = new Float64Array(n * actDim);
  const activeRngs: Rng[] = [];
  const action = new Float64Array(actDim);
  for (let t = 0; t < H && active.length > 0; t++) {
    const m = active.length;
    activeRngs.length = m;
    for (let k = 0; k < m; k++) {
      const e = active[k]!;
      obsBatch.set(current[e]!, k * obsDim);
      activeRngs[k] = rngs[e]!;
    }
    policy(obsBatch, m, activeRngs, actBatch);
    const still: number[] = [];
    for (let k = 0; k < m; k++) {
      const e = active[k]!;
      const i = e * H + t;
      const a = actBatch.subarray(k * actDim, (k + 1) * actDim);
      block.obs.set(current[e]!, i * obsDim);
      block.actions.set(a, i * actDim);
      action.set(a);
      const r = envs[e]!.step(discreteActions ? action[0]! : action);
      block.rewards[i] = r.reward;
      block.mask[i] = 1;
      for (let j = 0; j < infoKeys.length; j++) infoArrays[j]![i] = r.info[infoKeys[j]!] ?? 0;
      current[e] = r.obs;
      block.lengths[e] = t + 1;
      if (r.diverged) block.divergences.push({ traj: e, message: r.diverged });
      if (r.done) block.dones[i] = 1;
      else still.push(e);
    }
    active = still;
  }
  for (let e = 0; e < n; e++) block.finalObs.set(current[e]!, e * obsDim);
  block.simMessages = drainSimMessages();
  return block;
}

/**
 * Meta-batch sampling (the reference's MetaSampler): rolloutsPerTask trajectories for each task of
 * the meta-batch, at most `horizon` steps each. Environment e = task·rolloutsPerTask + rollout gets
 * its own Rng, forked from the caller's in that fixed order, so the serial and the worker sampler
 * return the same trajectories bit for bit for the same seed.
 *
 * Unlike the reference (which keeps stepping and resets finished environments until it has
 * tasks·rollouts·horizon samples), each (task, rollout) is exactly one episode; steps after a
 * termination are padding (mask 0).
 */
import type { Rng } from '@metagrad/autograd';
import type { SimMessages } from '../mujoco/runtime.js';
import type { MetaEnv } from '../core/types.js';
import { flatDim } from '../core/types.js';
import { batchedPolicy, checkPolicySpec } from './policy.js';
import type { BatchedPolicy, PolicySpec } from './policy.js';
import { runRollouts } from './rollouts.js';
import type { RolloutBlock } from './rollouts.js';

/** What to sample. */
export interface SampleOptions<Task> {
  /** The meta-batch: one entry per task (from env.sampleTasks). */
  readonly tasks: readonly Task[];
  /** Trajectories per task. */
  readonly rolloutsPerTask: number;
  /** A policy descriptor, or (serial sampler only) a batched policy function. */
  readonly policy: PolicySpec | BatchedPolicy;
  /** Source of every random draw; advanced by one fork per environment. */
  readonly rng: Rng;
  /** Maximum steps per trajectory. Default: the env's horizon. */
  readonly horizon?: number;
}

/**
 * A sampled meta-batch, batch-major: trajectory j = task·rolloutsPerTask + rollout; arrays [nTraj, H, ·]
 * padded with zeros after each trajectory's last step (mask 0).
 */
export interface SampleBatch {
  /** Number of tasks in the meta-batch. */
  readonly nTasks: number;
  /** Trajectories per task. */
  readonly rolloutsPerTask: number;
  /** nTasks · rolloutsPerTask. */
  readonly nTraj: number;
  /** H: the padded trajectory length. */
  readonly horizon: number;
  /** Length of a flat observation (1 for a discrete space). */
  readonly obsDim: number;
  /** Length of a flat action (1 for a discrete space). */
  readonly actDim: number;
  /** [nTraj, H, obsDim] the observation each action was taken in. */
  readonly obs: Float64Array;
  /** [nTraj, H, actDim] the policy's actions. */
  readonly actions: Float64Array;
  /** [nTraj, H] */
  readonly rewards: Float64Array;
  /** [nTraj, H] 1 for real steps, 0 for padding. */
  readonly mask: Uint8Array;
  /** [nTraj, H] 1 where the env ended the episode (termination or divergence). */
  readonly dones: Uint8Array;
  /** [nTraj] steps per trajectory. */
  readonly lengths: Int32Array;
  /** [nTraj] index into `tasks` of each trajectory. */
  readonly taskIndex: Int32Array;
  /** [nTraj, obsDim] observation after the last step. */
  readonly finalObs: Float64Array;
  /** Per info key (env.infoKeys), [nTraj, H]. */
  readonly infos: Readonly<Record<string, Float64Array>>;
  /** Trajectories whose simulation diverged (ended early, reported, reward 0 at that step). */
  readonly divergences: readonly {
    /** The trajectory's index. */
    traj: number;
    /** The env's message (names the env and the cause). */
    message: string;
  }[];
  /** What the simulator printed while sampling (MuJoCo's warnings: counted, the first kept), never written to the process's streams. */
  readonly simMessages: SimMessages;
  /** Total environment steps (Σ lengths). */
  readonly envSteps: number;
}

/** What the sampler needs to know about an env (also reported by worker threads). */
export interface EnvShape {
  /** The env's registry name. */
  readonly name: string;
  /** Length of a flat observation (flatDim of the observation space). */
  readonly obsDim: number;
  /** Length of a flat action (flatDim of the action space). */
  readonly actDim: number;
  /** The env's horizon. */
  readonly horizon: number;
  /** The env's info keys. */
  readonly infoKeys: readonly string[];
}

/** The EnvShape of an env. */
export function envShape(env: MetaEnv<unknown>): EnvShape {
  return { name: env.name, obsDim: flatDim(env.observationSpace), actDim: flatDim(env.actionSpace), horizon: env.horizon, infoKeys: [...env.infoKeys] };
}

/** Throws unless the options are usable with the env; returns the horizon. */
export function checkSampleOptions<Task>(env: EnvShape, opts: SampleOptions<Task>, serial: boolean): number {
  if (!opts || typeof opts !== 'object') throw new Error('sampler: options { tasks, rolloutsPerTask, policy, rng } are required');
  if (!Array.isArray(opts.tasks) || opts.tasks.length === 0) throw new Error('sampler: tasks must be a non-empty array (from env.sampleTasks)');
  const R = opts.rolloutsPerTask;
  if (!Number.isInteger(R) || R < 1) throw new Error(`sampler: rolloutsPerTask must be a positive integer, got ${R}`);
  const H = opts.horizon ?? env.horizon;
  if (!Number.isInteger(H) || H < 1) throw new Error(`sampler: horizon must be a positive integer, got ${H}`);
  if (!opts.rng || typeof opts.rng.fork !== 'function') throw new Error('sampler: rng must be an Rng from @metagrad/autograd');
  if (typeof opts.policy === 'function') {
    if (!serial) throw new Error('sampler: the worker sampler needs a policy spec (kind + parameters), not a function');
  } else checkPolicySpec(opts.policy, env.obsDim, env.actDim);
  return H;
}

/** One Rng per environment, forked from `rng` in environment order. */
export function forkEnvRngs(rng: Rng, nEnvs: number): Rng[] {
  return Array.from({ length: nEnvs }, () => rng.fork());
}

/** The task of each environment: tasks[⌊e / R⌋]. */
export function envTasks<Task>(tasks: readonly Task[], R: number): Task[] {
  return tasks.flatMap((t) => new Array<Task>(R).fill(t));
}

/** A SampleBatch while it is being filled. */
export type MutableBatch = SampleBatch & {
  divergences: { traj: number; message: string }[];
  simMessages: SimMessages;
  envSteps: number;
  infos: Record<string, Float64Array>;
};

/** Adds `b`'s count to `a` and keeps the first message. */
export function addSimMessages(a: SimMessages, b: SimMessages): SimMessages {
  return { count: a.count + b.count, first: a.first ?? b.first };
}

/** An empty batch of the given sizes (blocks are copied in by `writeBlock`). */
export function allocateBatch(env: EnvShape, nTasks: number, R: number, H: number): MutableBatch {
  const nTraj = nTasks * R;
  const { obsDim, actDim } = env;
  const taskIndex = new Int32Array(nTraj);
  for (let j = 0; j < nTraj; j++) taskIndex[j] = Math.floor(j / R);
  return {
    nTasks, rolloutsPerTask: R, nTraj, horizon: H, obsDim, actDim,
    obs: new Float64Array(nTraj * H * obsDim),
    actions: new Float64Array(nTraj * H * actDim),
    rewards: new Float64Array(nTraj * H),
    mask: new Uint8Array(nTraj * H),
    dones: new Uint8Array(nTraj * H),
    lengths: new Int32Array(nTraj),
    taskIndex,
    finalObs: new Float64Array(nTraj * obsDim),
    infos: Object.fromEntries(env.infoKeys.map((k) => [k, new Float64Array(nTraj * H)])),
    divergences: [],
    simMessages: { count: 0, first: null },
    envSteps: 0,
  };
}

/** Copies a block of trajectories starting at trajectory `start` into the batch. */
export function writeBlock(batch: MutableBatch, block: RolloutBlock, start: number): void {
  const { horizon: H, obsDim, actDim } = batch;
  batch.obs.set(block.obs, start * H * obsDim);
  batch.actions.set(block.actions, start * H * actDim);
  batch.rewards.set(block.rewards, start * H);
  batch.mask.set(block.mask, start * H);
  batch.dones.set(block.dones, start * H);
  batch.lengths.set(block.lengths, start);
  batch.finalObs.set(block.finalObs, start * obsDim);
  for (const k of Object.keys(batch.infos)) batch.infos[k]!.set(block.infos[k]!, start * H);
  for (const d of block.divergences) batch.divergences.push({ traj: d.traj + start, message: d.message });
  batch.simMessages = addSimMessages(batch.simMessages, block.simMessages);
  for (let j = 0; j < block.lengths.length; j++) batch.envSteps += block.lengths[j]!;
}

/**
 * Samples rolloutsPerTask trajectories per task in this thread: all tasks·rollouts environments step
 * together, one batched policy call per time step.
 */
export function sampleMetaBatch<Task>(env: MetaEnv<Task>, opts: SampleOptions<Task>): SampleBatch {
  const shape = envShape(env as MetaEnv<unknown>);
  const H = checkSampleOptions(shape, opts, true);
  const R = opts.rolloutsPerTask;
  const nEnvs = opts.tasks.length * R;
  const rngs = forkEnvRngs(opts.rng, nEnvs);
  const policy = typeof opts.policy === 'function' ? opts.policy : batchedPolicy(opts.policy);
  const batch = allocateBatch(shape, opts.tasks.length, R, H);
  writeBlock(batch, runRollouts(env, envTasks(opts.tasks, R), rngs, H, policy), 0);
  batch.divergences.sort((a, b) => a.traj - b.traj);
  return batch;
}

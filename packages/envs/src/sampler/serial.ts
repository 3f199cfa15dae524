/**
 * Meta-batch sampling (the reference's MetaSampler): for each task of the meta-batch, rolloutsPerTask
 * environments, stepped as rollouts.ts describes — by default the reference's way ('steps': reset and
 * continue until the finished paths hold tasks·rollouts·horizon steps, unfinished paths dropped, the
 * nominal tasks·rollouts·horizon steps counted), or one episode each ('episodes'). Environment
 * e = task·rolloutsPerTask + rollout gets its own Rng, forked from the caller's in that fixed order, so
 * the serial and the worker sampler return the same batch bit for bit for the same seed.
 */
import type { Rng } from '@metagrad/autograd';
import type { SimMessages } from '../mujoco/runtime.js';
import type { MetaEnv } from '../core/types.js';
import { flatDim } from '../core/types.js';
import { batchedPolicy, checkPolicySpec } from './policy.js';
import type { BatchedPolicy, PolicySpec } from './policy.js';
import { runRollouts, samplingModes } from './rollouts.js';
import type { RolloutBlock, SamplingMode } from './rollouts.js';

/** What to sample. */
export interface SampleOptions<Task> {
  /** The meta-batch: one entry per task (from env.sampleTasks). */
  readonly tasks: readonly Task[];
  /** Environments per task: the trajectories per task in 'episodes' mode; in 'steps' mode the batch holds rolloutsPerTask·horizon steps per task on average. */
  readonly rolloutsPerTask: number;
  /**
   * A policy descriptor, or (serial sampler only) a batched policy function; or an array of them, one
   * per task (each task's adapted policy θ'_τ).
   */
  readonly policy: PolicySpec | BatchedPolicy | readonly (PolicySpec | BatchedPolicy)[];
  /**
   * Source of every random draw, advanced by one fork per environment in environment order; or an
   * array of Rngs, one per task, each forked once per environment of its task.
   */
  readonly rng: Rng | readonly Rng[];
  /** Maximum steps per trajectory. Default: the env's horizon. */
  readonly horizon?: number;
  /** 'steps' (default: the reference's sampling) or 'episodes' (one episode per environment); see rollouts.ts. */
  readonly mode?: SamplingMode;
}

/**
 * A sampled meta-batch. Steps are stored in rows of `horizon` steps, `rowsPerTask` rows per task
 * (task k owns rows k·rowsPerTask …), arrays [nRows, horizon, ·] with zeros where no step is (mask 0).
 * A path (trajectory) occupies consecutive steps of one row, from flat step index pathStart[j] for
 * lengths[j] steps. In 'episodes' mode every row holds one path: path j is row j, from column 0. In
 * 'steps' mode a task's paths are packed end to end into its rows (a path never crosses a row end).
 */
export interface SampleBatch {
  /** How the batch was sampled. */
  readonly mode: SamplingMode;
  /** Number of tasks in the meta-batch. */
  readonly nTasks: number;
  /** Environments per task (the requested rollouts). */
  readonly rolloutsPerTask: number;
  /** Rows of `horizon` steps per task (rolloutsPerTask in 'episodes' mode). */
  readonly rowsPerTask: number;
  /** nTasks · rowsPerTask. */
  readonly nRows: number;
  /** H: the length of a row, and the longest a path can be. */
  readonly horizon: number;
  /** Length of a flat observation (1 for a discrete space). */
  readonly obsDim: number;
  /** Length of a flat action (1 for a discrete space). */
  readonly actDim: number;
  /** [nRows, H, obsDim] the observation each action was taken in. */
  readonly obs: Float64Array;
  /** [nRows, H, actDim] the policy's actions. */
  readonly actions: Float64Array;
  /** [nRows, H] */
  readonly rewards: Float64Array;
  /** [nRows, H] 1 for real steps, 0 for padding. */
  readonly mask: Uint8Array;
  /** [nRows, H] 1 where the env ended the episode (termination or divergence). */
  readonly dones: Uint8Array;
  /** Per info key (env.infoKeys), [nRows, H]. */
  readonly infos: Readonly<Record<string, Float64Array>>;
  /** Number of paths (trajectories), in task order. */
  readonly nTraj: number;
  /** [nTraj] flat step index (row·H + column) of each path's first step. */
  readonly pathStart: Int32Array;
  /** [nTraj] steps per path. */
  readonly lengths: Int32Array;
  /** [nTraj] index into `tasks` of each path. */
  readonly taskIndex: Int32Array;
  /** [nTraj, obsDim] observation after each path's last step. */
  readonly finalObs: Float64Array;
  /** Paths whose simulation diverged (ended early, reported, reward 0 at that step). */
  readonly divergences: readonly {
    /** The path's index. */
    traj: number;
    /** The env's message (names the env and the cause). */
    message: string;
  }[];
  /** What the simulator printed while sampling (MuJoCo's warnings: counted, the first kept), never written to the process's streams. */
  readonly simMessages: SimMessages;
  /** Environment steps counted: the nominal tasks·rollouts·horizon in 'steps' mode (the reference's count), Σ lengths in 'episodes' mode. */
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

/** Throws unless the options are usable with the env; returns the horizon and the mode. */
export function checkSampleOptions<Task>(env: EnvShape, opts: SampleOptions<Task>, serial: boolean): { H: number; mode: SamplingMode } {
  if (!opts || typeof opts !== 'object') throw new Error('sampler: options { tasks, rolloutsPerTask, policy, rng } are required');
  if (!Array.isArray(opts.tasks) || opts.tasks.length === 0) throw new Error('sampler: tasks must be a non-empty array (from env.sampleTasks)');
  const K = opts.tasks.length;
  const R = opts.rolloutsPerTask;
  if (!Number.isInteger(R) || R < 1) throw new Error(`sampler: rolloutsPerTask must be a positive integer, got ${R}`);
  const H = opts.horizon ?? env.horizon;
  if (!Number.isInteger(H) || H < 1) throw new Error(`sampler: horizon must be a positive integer, got ${H}`);
  const mode = opts.mode ?? 'steps';
  if (!samplingModes.includes(mode)) throw new Error(`sampler: mode must be one of ${samplingModes.join(', ')}, got ${String(mode)}`);
  const rngs = Array.isArray(opts.rng) ? (opts.rng as readonly Rng[]) : [opts.rng as Rng];
  if (Array.isArray(opts.rng) && rngs.length !== K) throw new Error(`sampler: rng is an array of ${rngs.length} Rngs but there are ${K} tasks (one Rng per task, or one Rng)`);
  if (rngs.some((r) => !r || typeof r.fork !== 'function')) throw new Error('sampler: rng must be an Rng from @metagrad/autograd (or one per task)');
  const policies = Array.isArray(opts.policy) ? (opts.policy as readonly (PolicySpec | BatchedPolicy)[]) : [opts.policy as PolicySpec | BatchedPolicy];
  if (Array.isArray(opts.policy) && policies.length !== K) throw new Error(`sampler: policy is an array of ${policies.length} policies but there are ${K} tasks (one policy per task, or one policy)`);
  for (const p of policies) {
    if (typeof p === 'function') {
      if (!serial) throw new Error('sampler: the worker sampler needs a policy spec (kind + parameters), not a function');
    } else checkPolicySpec(p, env.obsDim, env.actDim);
  }
  return { H, mode };
}

/** One Rng per environment: forked from `rng` in environment order, or R from each task's Rng in task order. */
export function forkEnvRngs(rng: Rng | readonly Rng[], nEnvs: number): Rng[] {
  if (!Array.isArray(rng)) return Array.from({ length: nEnvs }, () => (rng as Rng).fork());
  const perTask = rng as readonly Rng[];
  const R = nEnvs / perTask.length;
  return perTask.flatMap((r) => Array.from({ length: R }, () => r.fork()));
}

/** The policies of a sampling call and each environment's index into them. */
export function envPolicies<P>(policy: P | readonly P[], nTasks: number, R: number): { policies: P[]; policyOf: Int32Array } {
  const policies = Array.isArray(policy) ? [...(policy as readonly P[])] : [policy as P];
  const policyOf = new Int32Array(nTasks * R);
  if (policies.length > 1) for (let e = 0; e < policyOf.length; e++) policyOf[e] = Math.floor(e / R);
  return { policies, policyOf };
}

/** The task of each environment: tasks[⌊e / R⌋]. */
export function envTasks<Task>(tasks: readonly Task[], R: number): Task[] {
  return tasks.flatMap((t) => new Array<Task>(R).fill(t));
}

/** Adds `b`'s count to `a` and keeps the first message. */
export function addSimMessages(a: SimMessages, b: SimMessages): SimMessages {
  return { count: a.count + b.count, first: a.first ?? b.first };
}

/**
 * The batch from the blocks of a sampling call (each block: the finished paths of environments
 * [first, first + its environments), see RolloutStreams.collect), laid out as SampleBatch describes.
 */
export function assembleBatch(env: EnvShape, mode: SamplingMode, nTasks: number, R: number, H: number, blocks: readonly { first: number; block: RolloutBlock }[]): SampleBatch {
  const { obsDim, actDim } = env;
  // every path: its block, its step offset in the block, its global environment
  const paths: { b: RolloutBlock; j: number; offset: number; env: number }[] = [];
  for (const { first, block } of [...blocks].sort((x, y) => x.first - y.first)) {
    let offset = 0;
    for (let j = 0; j < block.lengths.length; j++) {
      paths.push({ b: block, j, offset, env: first + block.env[j]! });
      offset += block.lengths[j]!;
    }
  }
  // rows: one path per row ('episodes'), or a task's paths end to end ('steps')
  const place = new Int32Array(paths.length); // task-local flat step index
  let rowsPerTask = 1;
  for (let p = 0, k = 0; k < nTasks; k++) {
    let row = 0, col = 0, first = true;
    for (; p < paths.length && Math.floor(paths[p]!.env / R) === k; p++) {
      const L = paths[p]!.b.lengths[paths[p]!.j]!;
      if (!first && (mode === 'episodes' || col + L > H)) {
        row++;
        col = 0;
      }
      first = false;
      place[p] = row * H + col;
      col += L;
    }
    rowsPerTask = Math.max(rowsPerTask, row + 1);
  }
  const nRows = nTasks * rowsPerTask, size = nRows * H;
  const batch = {
    mode, nTasks, rolloutsPerTask: R, rowsPerTask, nRows, horizon: H, obsDim, actDim,
    obs: new Float64Array(size * obsDim), actions: new Float64Array(size * actDim), rewards: new Float64Array(size),
    mask: new Uint8Array(size), dones: new Uint8Array(size),
    infos: Object.fromEntries(env.infoKeys.map((k) => [k, new Float64Array(size)])) as Record<string, Float64Array>,
    nTraj: paths.length, pathStart: new Int32Array(paths.length), lengths: new Int32Array(paths.length), taskIndex: new Int32Array(paths.length),
    finalObs: new Float64Array(paths.length * obsDim),
    divergences: [] as { traj: number; message: string }[],
    simMessages: blocks.reduce<SimMessages>((m, b) => addSimMessages(m, b.block.simMessages), { count: 0, first: null }),
    envSteps: 0,
  };
  const divergence = new Map<RolloutBlock, Map<number, string>>(blocks.map(({ block }) => [block, new Map(block.divergences.map((d) => [d.traj, d.message]))]));
  paths.forEach(({ b, j, offset, env: e }, p) => {
    const k = Math.floor(e / R), L = b.lengths[j]!;
    const at = k * rowsPerTask * H + place[p]!;
    batch.pathStart[p] = at;
    batch.lengths[p] = L;
    batch.taskIndex[p] = k;
    batch.obs.set(b.obs.subarray(offset * obsDim, (offset + L) * obsDim), at * obsDim);
    batch.actions.set(b.actions.subarray(offset * actDim, (offset + L) * actDim), at * actDim);
    batch.rewards.set(b.rewards.subarray(offset, offset + L), at);
    batch.dones.set(b.dones.subarray(offset, offset + L), at);
    batch.mask.fill(1, at, at + L);
    for (const key of env.infoKeys) batch.infos[key]!.set(b.infos[key]!.subarray(offset, offset + L), at);
    batch.finalObs.set(b.finalObs.subarray(j * obsDim, (j + 1) * obsDim), p * obsDim);
    const message = divergence.get(b)!.get(j);
    if (message !== undefined) batch.divergences.push({ traj: p, message });
    batch.envSteps += L;
  });
  if (mode === 'steps') batch.envSteps = nTasks * R * H;
  return batch;
}

/**
 * Samples the meta-batch in this thread: all tasks·rollouts environments step together, one batched
 * policy call per time step and policy.
 */
export function sampleMetaBatch<Task>(env: MetaEnv<Task>, opts: SampleOptions<Task>): SampleBatch {
  const shape = envShape(env as MetaEnv<unknown>);
  const { H, mode } = checkSampleOptions(shape, opts, true);
  const R = opts.rolloutsPerTask, K = opts.tasks.length;
  const rngs = forkEnvRngs(opts.rng, K * R);
  const { policies, policyOf } = envPolicies(opts.policy, K, R);
  const fns = policies.map((p) => (typeof p === 'function' ? p : batchedPolicy(p)));
  const block = runRollouts(env, envTasks(opts.tasks, R), rngs, H, fns, { mode, policyOf });
  return assembleBatch(shape, mode, K, R, H, [{ first: 0, block }]);
}

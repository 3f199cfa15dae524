/**
 * Sampling a meta-batch in which every task has its own policy (the adapted θ'_τ): one sampler call per
 * task, each with its own Rng, merged into one SampleBatch (trajectory j = task·R + rollout). The serial
 * sampler runs in this thread; the worker sampler runs the per-task calls concurrently on worker threads
 * and returns the same arrays bit for bit.
 */
import type { Rng } from '@metagrad/autograd';
import {
  type EnvOptions, type GaussianMLPSpec, type MetaEnv, type SampleBatch, type SimMessages, WorkerSampler, addSimMessages, sampleMetaBatch,
} from '@metagrad/envs';

/** Samples R rollouts of H steps for each task with that task's policy and Rng. */
export interface TaskSampler {
  /**
   * Rollouts of tasks[k] with policies[k] and rngs[k] for every k, merged in task order (trajectory
   * j = k·rolloutsPerTask + rollout).
   */
  sample(tasks: readonly unknown[], policies: readonly GaussianMLPSpec[], rngs: readonly Rng[], rolloutsPerTask: number, horizon: number): Promise<SampleBatch>;
  /** Releases the sampler's workers (a no-op for the serial sampler). */
  close(): Promise<void>;
}

/** Concatenates per-task batches (same horizon and dimensions) in order. */
export function concatBatches(parts: readonly SampleBatch[]): SampleBatch {
  const first = parts[0]!;
  const { horizon: H, obsDim, actDim, rolloutsPerTask: R } = first;
  const nTraj = parts.reduce((s, b) => s + b.nTraj, 0);
  const nTasks = parts.reduce((s, b) => s + b.nTasks, 0);
  const obs = new Float64Array(nTraj * H * obsDim), actions = new Float64Array(nTraj * H * actDim);
  const rewards = new Float64Array(nTraj * H), mask = new Uint8Array(nTraj * H), dones = new Uint8Array(nTraj * H);
  const lengths = new Int32Array(nTraj), taskIndex = new Int32Array(nTraj), finalObs = new Float64Array(nTraj * obsDim);
  const infos: Record<string, Float64Array> = Object.fromEntries(Object.keys(first.infos).map((k) => [k, new Float64Array(nTraj * H)]));
  const divergences: { traj: number; message: string }[] = [];
  let j = 0, k = 0, envSteps = 0;
  let simMessages: SimMessages = { count: 0, first: null };
  for (const b of parts) {
    obs.set(b.obs, j * H * obsDim);
    actions.set(b.actions, j * H * actDim);
    rewards.set(b.rewards, j * H);
    mask.set(b.mask, j * H);
    dones.set(b.dones, j * H);
    lengths.set(b.lengths, j);
    for (let i = 0; i < b.nTraj; i++) taskIndex[j + i] = k + b.taskIndex[i]!;
    finalObs.set(b.finalObs, j * obsDim);
    for (const key of Object.keys(infos)) infos[key]!.set(b.infos[key]!, j * H);
    for (const d of b.divergences) divergences.push({ traj: d.traj + j, message: d.message });
    simMessages = addSimMessages(simMessages, b.simMessages);
    envSteps += b.envSteps;
    j += b.nTraj;
    k += b.nTasks;
  }
  return { nTasks, rolloutsPerTask: R, nTraj, horizon: H, obsDim, actDim, obs, actions, rewards, mask, dones, lengths, taskIndex, finalObs, infos, divergences, simMessages, envSteps };
}

/** The serial sampler: sampleMetaBatch per task in this thread. */
export function serialTaskSampler(env: MetaEnv): TaskSampler {
  return {
    async sample(tasks, policies, rngs, rolloutsPerTask, horizon) {
      const parts = tasks.map((task, k) => sampleMetaBatch(env, { tasks: [task], rolloutsPerTask, policy: policies[k]!, rng: rngs[k]!, horizon }));
      return concatBatches(parts);
    },
    async close() {},
  };
}

/** The worker sampler: the per-task calls run concurrently on `workers` threads (the same arrays as serial). */
export async function workerTaskSampler(envName: string, envOptions: EnvOptions, workers: number): Promise<TaskSampler> {
  const ws = await WorkerSampler.create({ env: envName, envOptions, workers });
  return {
    async sample(tasks, policies, rngs, rolloutsPerTask, horizon) {
      const parts = await Promise.all(tasks.map((task, k) => ws.sample({ tasks: [task], rolloutsPerTask, policy: policies[k]!, rng: rngs[k]!, horizon })));
      return concatBatches(parts);
    },
    close: () => ws.close(),
  };
}

/**
 * Sampling a meta-batch in which every task has its own policy (the adapted θ'_τ) and Rng: one sampler
 * call over all tasks (so 'steps' mode stops every environment of the round at the same time, as the
 * reference's sampler does). The serial sampler runs in this thread; the worker sampler on worker
 * threads, returning the same arrays bit for bit.
 */
import type { Rng } from '@metagrad/autograd';
import {
  type EnvOptions, type GaussianMLPSpec, type MetaEnv, type SampleBatch, type SamplingMode, WorkerSampler, sampleMetaBatch,
} from '@metagrad/envs';

/** Samples a round of the meta-batch, each task with its own policy and Rng. */
export interface TaskSampler {
  /**
   * Samples tasks[k] with policies[k] and rngs[k] for every k: rolloutsPerTask environments per task,
   * `horizon` steps per episode at most, in `mode` (see @metagrad/envs's sampleMetaBatch).
   */
  sample(tasks: readonly unknown[], policies: readonly GaussianMLPSpec[], rngs: readonly Rng[], rolloutsPerTask: number, horizon: number, mode: SamplingMode): Promise<SampleBatch>;
  /** Releases the sampler's workers (a no-op for the serial sampler). */
  close(): Promise<void>;
}

/** The serial sampler: sampleMetaBatch in this thread. */
export function serialTaskSampler(env: MetaEnv): TaskSampler {
  return {
    async sample(tasks, policies, rngs, rolloutsPerTask, horizon, mode) {
      return sampleMetaBatch(env, { tasks, rolloutsPerTask, policy: policies, rng: rngs, horizon, mode });
    },
    async close() {},
  };
}

/** The worker sampler on `workers` threads (the same arrays as serial). */
export async function workerTaskSampler(envName: string, envOptions: EnvOptions, workers: number): Promise<TaskSampler> {
  const ws = await WorkerSampler.create({ env: envName, envOptions, workers });
  return {
    sample: (tasks, policies, rngs, rolloutsPerTask, horizon, mode) => ws.sample({ tasks, rolloutsPerTask, policy: policies, rng: rngs, horizon, mode }),
    close: () => ws.close(),
  };
}

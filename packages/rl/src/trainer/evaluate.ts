/**
 * Meta-testing a trained run: the checkpoint's θ adapted on freshly sampled tasks by exactly the code
 * path training uses (adaptation.ts sampleAndAdapt: the same inner objective, step size, number of inner
 * steps, rollouts per task and horizon), reporting the average return before and after each inner step.
 */
import { noGrad } from '@metagrad/autograd';
import { EVALUATION_ITERATION, iterationRng, sampleAndAdapt, setupRun } from './adaptation.js';
import { type Checkpoint, type TrainHooks, checkCheckpoint } from './metaTrainer.js';
import { type TrainConfig, resolveConfig } from './config.js';

/** The observations of one task's rollouts at every adaptation step. */
export interface TaskTrajectories {
  /** The task (as env.sampleTasks drew it). */
  task: unknown;
  /**
   * steps[k][rollout][t]: the observation at time t of that rollout in round k (0 = pre-update), for
   * t = 0 … length (the last entry is the observation after the final step).
   */
  steps: number[][][][];
}

/** What evaluate returns. */
export interface EvaluationResult {
  /** Average undiscounted return at inner step 0 (pre-update) … numInnerGradSteps (post-update). */
  returns: number[];
  /** perTask[τ][k]: task τ's average return at step k. */
  perTask: number[][];
  /** The sampled tasks. */
  tasks: unknown[];
  /** Per task, the observations of every rollout at every step (with keepTrajectories). */
  trajectories?: TaskTrajectories[];
}

/**
 * Meta-tests `checkpoint` (of a run of `config`) on `tasks` (default: the run's metaBatchSize) freshly
 * sampled tasks. The randomness is a stream reserved for evaluation, seeded by `seed` (default: the
 * run's seed), so evaluation tasks differ from every training iteration's and repeat for the same seed.
 */
export async function evaluate(
  config: TrainConfig, checkpoint: Checkpoint, opts: { tasks?: number; seed?: number; keepTrajectories?: boolean; hooks?: TrainHooks } = {},
): Promise<EvaluationResult> {
  config = resolveConfig(config);
  const ckpt = checkCheckpoint(checkpoint, config);
  const nTasks = opts.tasks ?? config.metaBatchSize;
  if (!Number.isInteger(nTasks) || nTasks < 1) throw new Error(`evaluate: tasks must be a positive integer, got ${nTasks}`);
  const seed = opts.seed ?? config.seed;
  if (!Number.isInteger(seed) || seed < 0 || seed >= 2 ** 32) throw new Error(`evaluate: seed must be an integer in [0, 2^32), got ${seed}`);
  const setup = await setupRun(config);
  try {
    if (ckpt.params.length !== setup.policy.numParams) throw new Error(`evaluate: the checkpoint has ${ckpt.params.length} parameters, the policy ${setup.policy.numParams}`);
    const theta = Float64Array.from(ckpt.params);
    const ad = await sampleAndAdapt(setup, theta, iterationRng(seed, EVALUATION_ITERATION), { nTasks, hooks: opts.hooks });
    const result: EvaluationResult = { returns: ad.returns, perTask: ad.perTask, tasks: ad.tasks };
    if (opts.keepTrajectories) {
      result.trajectories = noGrad(() => ad.tasks.map((task, t) => ({
        task,
        steps: ad.rounds.map((b) => {
          const d = b.obsDim;
          const own = Array.from(b.taskIndex.keys()).filter((j) => b.taskIndex[j] === t);
          return own.map((j) => {
            const path: number[][] = [];
            for (let s = b.pathStart[j]!; s < b.pathStart[j]! + b.lengths[j]!; s++) path.push(Array.from(b.obs.subarray(s * d, (s + 1) * d)));
            path.push(Array.from(b.finalObs.subarray(j * d, (j + 1) * d)));
            return path;
          });
        }),
      })));
    }
    return result;
  } finally {
    await setup.close();
  }
}

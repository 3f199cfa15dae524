/** The tiny training setting the trainer and run-directory tests share. */
import { type AlgoName, type IterationRecord, type TrainConfig, resolveConfig } from '@metagrad/rl';

/** point-corner (dense reward) at 4 tasks × 4 rollouts × 20 steps, hidden [16], 2 iterations, seed 7. */
export function tiny(algo: AlgoName, extra: Partial<TrainConfig> = {}): TrainConfig {
  return resolveConfig({
    algo, env: 'point-corner', iterations: 2, metaBatchSize: 4, rolloutsPerTask: 4, horizon: 20, hidden: [16], envOptions: { reward: 'dense' }, seed: 7, ...extra,
  });
}

/** A record without its timings (the part that must repeat exactly). */
export const numbers = (r: IterationRecord): Omit<IterationRecord, 'timings'> => {
  const { timings: _t, ...rest } = r;
  return rest;
};


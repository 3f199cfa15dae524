/** The decomposition panel's MDP presets (S, A ≤ 3, H ≤ 6) and their starting θ; the adaptation panel's setting. */
import { randomTabular, type TabularSpec } from '@metagrad/rl/tabular';

/** A preset: the MDP and the θ [S, A] it starts at. */
export interface Preset {
  name: string;
  note: string;
  make(): { mdp: TabularSpec; theta: number[] };
}

const random = (seed: number, S: number, A: number, H: number) => (): { mdp: TabularSpec; theta: number[] } => {
  const { mdp, theta } = randomTabular(seed, S, A, H);
  return { mdp, theta: Array.from(theta.data) };
};

export const PRESETS: readonly Preset[] = [
  { name: 'random 3×2, H 4 (seed 3)', note: 'a random MDP with random rewards (the browser test\'s)', make: random(3, 3, 2, 4) },
  {
    name: 'H1 and H2 nearly cancel (seed 98)',
    note: '‖H1 + H2‖ is 0.09 % of ‖H1‖ + ‖H2‖ at the starting θ: LVC\'s expected Hessian H1 + H2 is almost 0, so its bias is about 100 %',
    make: random(98, 2, 2, 3),
  },
  {
    name: 'two-state chain, H 5',
    note: 'action 1 moves right and pays 1 in the right state; action 0 stays. Deterministic, so all the randomness is the policy\'s',
    make: () => ({
      mdp: {
        S: 2, A: 2, H: 5, init: [1, 0],
        P: [[[1, 0], [0, 1]], [[1, 0], [0, 1]]],
        R: [[0, 0], [0, 1]],
      },
      theta: [0, 0, 0, 0],
    }),
  },
  { name: 'random 3×3, H 3 (seed 7)', note: 'the largest state and action counts', make: random(7, 3, 3, 3) },
];

/** The adaptation panel's training setting besides its inputs: the CLI demo's (`metagrad demo`). */
export const ADAPT_BASE = { horizon: 50, hidden: [32, 32], numInnerGradSteps: 3, metaLr: 5e-3, numPrompSteps: 20, learnStd: false };
/** The algorithms the adaptation panel offers. */
export const ADAPT_ALGOS = ['promp', 'maml-trpo', 'e-maml-trpo', 'e-maml-vpg', 'lvc-vpg', 'dice-vpg'] as const;
/** The evaluation after training: fresh tasks and the seed of evaluate()'s stream. */
export const EVAL = { evalTasks: 20, evalSeed: 99 };

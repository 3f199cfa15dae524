/**
 * @metagrad/envs/tabular: finite MDPs (S states, A actions, horizon H) as a MetaEnv and as the
 * specification the exact analysis of @metagrad/rl/tabular reads. Plain TypeScript: no MuJoCo, no Node
 * module, so it bundles for the browser.
 *
 * @module
 */
export { TabularMDP, TabularMetaEnv, validateTabularMDP, sameMDP } from './mdp.js';
export type { TabularMDPSpec, TabularEnvOptions } from './mdp.js';
export type { MetaEnv, Space, BoxSpace, DiscreteSpace, StepResult, EnvInfo } from '../core/types.js';
export { boxSpace, discreteSpace, flatDim } from '../core/types.js';
export { EnvError } from '../core/errors.js';

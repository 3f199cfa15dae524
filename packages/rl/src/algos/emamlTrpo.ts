/**
 * E-MAML-TRPO (Al-Shedivat et al. 2018, Stadie et al. 2018; the paper's formulation II, Eq. 2, 19–22, 31):
 * MAML-TRPO's post-update surrogate plus the pre-update credit term mean_τ ⊥R̃(τ′_τ) · E[log π_θ(τ)], which
 * treats the update as part of the environment (RL on π_θ with the post-update return as reward).
 * The inner objective defaults to the reference's 'log-likelihood' (e-maml_run_mujoco.py).
 */
import type { AlgoSettings } from './common.js';
import { MamlTrpo } from './mamlTrpo.js';

/** E-MAML-TRPO: MamlTrpo with the formulation-II term. */
export class EMamlTrpo extends MamlTrpo {
  constructor(s: AlgoSettings) {
    super(s, true);
  }
}

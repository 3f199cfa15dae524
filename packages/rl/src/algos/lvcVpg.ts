/**
 * LVC-VPG (the paper's Sec. 4.1 ablation): the inner step on the low variance curvature objective
 * J^LVC (Eq. 5) — the Hessian estimate H1 + H2, without DiCE's high-variance H12 terms — and a vanilla
 * policy-gradient outer step on the post-update surrogate mean_τ Σ_t log π_θ'(a_t|s_t) A_t. As in the
 * reference (VPGMAML with the likelihood-ratio inner type), LVC is written as J^LR = π_θ/π_θo · A, which
 * has LVC's derivatives of every order at θ = θo, where the inner step is taken.
 */
import { type AlgoSettings, outerPolicyGradient } from './common.js';
import { VpgMetaAlgorithm } from './vpg.js';

/** LVC-VPG: inner LVC, outer VPG (one Adam step). */
export class LvcVpg extends VpgMetaAlgorithm {
  constructor(s: AlgoSettings) {
    super('lvc-vpg', s, (_adapted, post, batch) => outerPolicyGradient(post, batch.steps[batch.steps.length - 1]!));
  }
}

/**
 * DiCE-VPG (the paper's Sec. 4.2 / Fig. 3 comparison): the inner step on the DiCE objective (Eq. 57),
 * Σ_t □(Σ_{t'≤t} log π_θ(a_t'|s_t')) a_t with a_t = γ^t r_t − b(t) (a time baseline, normalized per task)
 * — unbiased Hessian, high variance — and a vanilla policy-gradient outer step on mean_τ Σ_t log π_θ'(a_t|s_t) A_t
 * with GAE advantages (the reference's VPG_DICEMAML; it only got DiCE to work with VPG).
 */
import { type AlgoSettings, outerPolicyGradient } from './common.js';
import { VpgMetaAlgorithm } from './vpg.js';

/** DiCE-VPG: inner DiCE, outer VPG (one Adam step). */
export class DiceVpg extends VpgMetaAlgorithm {
  constructor(s: AlgoSettings) {
    super('dice-vpg', s, (_adapted, post, batch) => outerPolicyGradient(post, batch.steps[batch.steps.length - 1]!));
  }
}

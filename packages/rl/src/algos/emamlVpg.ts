/**
 * E-MAML-VPG (formulation II, Eq. 2, 31, with a vanilla policy-gradient outer step): the post-update
 * surrogate mean_τ Σ_t log π_θ'(a_t|s_t) A_t plus the pre-update credit term mean_τ ⊥R̃(τ′_τ) E[log π_θ(τ)],
 * one Adam step per meta-batch (the reference's VPGMAML with exploration; inner 'log-likelihood').
 */
import { type AlgoSettings, formulationIIMetaTerm, outerPolicyGradient } from './common.js';
import { VpgMetaAlgorithm } from './vpg.js';

/** E-MAML-VPG: inner log-likelihood surrogate, outer VPG + formulation-II term (one Adam step). */
export class EMamlVpg extends VpgMetaAlgorithm {
  constructor(s: AlgoSettings) {
    super('e-maml-vpg', s, (adapted, e, batch) => {
      const post = batch.steps[batch.steps.length - 1]!;
      return outerPolicyGradient(e, post).add(formulationIIMetaTerm(adapted.evals[0]!, batch.steps[0]!, post));
    });
  }
}

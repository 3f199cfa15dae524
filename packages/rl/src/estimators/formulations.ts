/**
 * The two meta-learning formulations' gradient terms for one pre-/post-update trajectory pair (τ, τ′),
 * as Section 1 and Appendix A of the paper write them (Eq. 1–3, 28–31):
 *   ∇J_post     = (I + α R(τ) ∇²log π_θ(τ)) ∇θ′ log π_θ′(τ′) R(τ′)                 (Eq. 28)
 *   ∇J_pre^I    = α ∇θ log π_θ(τ) (∇θ log π_θ(τ) R(τ))ᵀ (∇θ′ log π_θ′(τ′) R(τ′))   (Eq. 3, 30)
 *   ∇J_pre^II   = α ∇θ log π_θ(τ) R(τ′)                                             (Eq. 2, 31)
 * with θ′ = θ + α ∇θ log π_θ(τ) R(τ), the one-trajectory inner step.
 */
import { type Tensor, grad, hvp, noGrad } from '@metagrad/autograd';

/** The gradient terms of Eq. 1–3 for one trajectory pair, each shaped like θ. */
export interface FormulationTerms {
  /** θ′ = θ + α ∇θ log π_θ(τ) R(τ), the inner step. */
  thetaPrime: Tensor;
  /** ∇J_post (Eq. 28), shared by both formulations. */
  post: Tensor;
  /** ∇J_pre^I (Eq. 3): credit by the inner product of pre- and post-update policy gradients. */
  preI: Tensor;
  /** ∇J_pre^II (Eq. 2): credit by the post-update return alone (E-MAML). */
  preII: Tensor;
}

/**
 * The terms of Eq. 1–3 at θ. `logProbPre(θ)` = log π_θ(τ), `logProbPost(θ′)` = log π_θ′(τ′) (scalars,
 * differentiable); R(τ) and R(τ′) are the two trajectories' returns.
 */
export function formulationTerms(
  logProbPre: (theta: Tensor) => Tensor, logProbPost: (theta: Tensor) => Tensor,
  returnPre: number, returnPost: number, theta: Tensor, alpha: number,
): FormulationTerms {
  return noGrad(() => {
    const gPre = grad(logProbPre)(theta); // ∇θ log π_θ(τ)
    const thetaPrime = theta.add(gPre.mul(alpha * returnPre));
    const gOuter = grad(logProbPost)(thetaPrime).mul(returnPost); // ∇θ′ log π_θ′(τ′) R(τ′)
    const post = gOuter.add(hvp(logProbPre, theta, gOuter).mul(alpha * returnPre));
    const inner = gPre.mul(returnPre).mul(gOuter).sum(); // (∇J_inner)ᵀ ∇J_outer
    return { thetaPrime, post, preI: gPre.mul(inner.mul(alpha)), preII: gPre.mul(alpha * returnPost) };
  });
}

/**
 * The algorithms' settings, defined once (../settings.ts): the type, default, check, help text and CLI
 * flag of each. The defaults are the ProMP reference's (run_scripts/pro-mp_run_mujoco.py and the MAML /
 * E-MAML scripts; TRPO's from its conjugate-gradient optimizer). The trainer's settings extend these.
 */
import { type SettingsOf, boolean, integer, number, oneOf, sameResults } from '../settings.js';

/** The algorithms of the paper's Sec. 4 (Fig. 2, 3): ProMP and its baselines and ablations. */
export type AlgoName = 'promp' | 'maml-trpo' | 'e-maml-trpo' | 'e-maml-vpg' | 'lvc-vpg' | 'dice-vpg';

/** Every AlgoName, in a fixed order. */
export const algoNames: readonly AlgoName[] = Object.freeze(['promp', 'maml-trpo', 'e-maml-trpo', 'e-maml-vpg', 'lvc-vpg', 'dice-vpg'] as const);

/**
 * The inner (adaptation) objective J^inner, each a per-task step average:
 * - 'likelihood-ratio': J^LR (Eq. 6), Σ_t π_θ/π_θo · A_t. Its derivatives of every order at θ = θo (where
 *   inner steps are taken from freshly sampled data) are those of the LVC estimator (Eq. 5); away from θo
 *   it stays a consistent function of θ (what ProMP's several meta-steps need). ProMP's and LVC-VPG's.
 * - 'log-likelihood': Σ_t log π_θ · A_t, the MAML / E-MAML reference's surrogate (the right gradient, a
 *   Hessian without the ∇log π ∇log πᵀ term: no pre-update credit assignment).
 * - 'dice': DiCE (Eq. 57) on baselined, discounted rewards a_t: Σ_t exp(Σ_{t'≤t} log π_θ − log π_θo) a_t,
 *   the magic box □(Σ log π_θ) with the sampling policy's log-likelihoods in place of ⊥: the same value
 *   and derivatives of every order at θ = θo, and a consistent function of θ elsewhere (so line searches
 *   and after-update losses measure the meta-objective whose gradient was taken).
 */
export type InnerObjective = 'likelihood-ratio' | 'log-likelihood' | 'dice';

/** Every InnerObjective. */
export const innerObjectives: readonly InnerObjective[] = Object.freeze(['likelihood-ratio', 'log-likelihood', 'dice'] as const);

/** The default inner objective of each algorithm (the reference's run scripts). */
export const defaultInnerObjective = {
  /** ProMP: J^LR (Eq. 6), LVC's derivatives at θo. */
  promp: 'likelihood-ratio',
  /** MAML-TRPO: the reference's log-likelihood surrogate (maml_run_mujoco.py). */
  'maml-trpo': 'log-likelihood',
  /** E-MAML-TRPO: the log-likelihood surrogate (e-maml_run_mujoco.py). */
  'e-maml-trpo': 'log-likelihood',
  /** E-MAML-VPG: the log-likelihood surrogate. */
  'e-maml-vpg': 'log-likelihood',
  /** LVC-VPG: J^LR, i.e. LVC (Eq. 5) at θo. */
  'lvc-vpg': 'likelihood-ratio',
  /** DiCE-VPG: DiCE (Eq. 57). */
  'dice-vpg': 'dice',
} as const satisfies Record<AlgoName, InnerObjective>;

/** Every setting of the meta-algorithms (Algorithm 1's inner step, ProMP's outer steps, TRPO's). */
export const ALGO_SETTINGS = {
  /** Inner (adaptation) step size α of θ′ = θ + α∇J^inner (Eq. 12); default 0.1. */
  innerLr: number({ default: 0.1, above: 0, help: 'inner (adaptation) step size α, θ′ = θ + α∇J^inner (Eq. 12)', flag: 'inner-lr' }),
  /** Inner adaptation steps per task (S); default 1. */
  numInnerGradSteps: integer({ default: 1, help: 'inner adaptation steps per task', flag: 'inner-steps' }),
  /** The inner objective J^inner; default: the algorithm's own ({@link defaultInnerObjective}). */
  innerObjective: oneOf(innerObjectives, {
    help: "the inner objective J^inner: likelihood-ratio (J^LR, Eq. 6 = LVC at θo), log-likelihood (the MAML surrogate) or dice (Eq. 57); default: the algorithm's own",
    flag: 'inner-objective',
  }),
  /** Hold the inner gradient constant in meta-gradients (first-order ablation); default false. */
  firstOrder: boolean({ default: false, help: 'hold the inner gradient constant in meta-gradients (first-order ablation)', flag: 'first-order' }),
  /** Outer Adam step size β (ProMP and the VPG algorithms); default 1e-3. */
  metaLr: number({ default: 1e-3, above: 0, help: 'outer Adam step size β (ProMP and the VPG algorithms)', flag: 'meta-lr' }),
  /** ProMP: outer Adam steps per sampled meta-batch; default 5. */
  numPrompSteps: integer({ default: 5, help: 'ProMP: outer optimization steps per sampled meta-batch', flag: 'promp-steps' }),
  /** ProMP: clip range ε of J^CLIP (Eq. 7), in (0, 1); default 0.3. */
  clipEps: number({ default: 0.3, above: 0, below: 1, help: 'ProMP: clip range ε of J^CLIP (Eq. 7)', flag: 'clip-eps' }),
  /** ProMP: initial (or fixed) inner KL penalty η (Eq. 7); default 5e-4. */
  initInnerKLPenalty: number({ default: 5e-4, min: 0, help: 'ProMP: initial (or fixed) inner KL penalty η (Eq. 7)', flag: 'inner-kl-penalty' }),
  /** ProMP: adapt η toward targetInnerStep after every batch; default false. */
  adaptiveInnerKLPenalty: boolean({ default: false, help: 'ProMP: adapt η toward targetInnerStep after every batch', flag: 'adaptive-inner-kl-penalty' }),
  /** ProMP: the inner KL the adaptive penalty aims for; default 0.01. */
  targetInnerStep: number({ default: 0.01, above: 0, help: 'ProMP: the inner KL that the adaptive penalty aims for', flag: 'target-inner-step' }),
  /** TRPO: KL bound δ of the outer step; default 0.01. */
  trpoStepSize: number({ default: 0.01, above: 0, help: 'TRPO: KL bound δ of the outer step', flag: 'trpo-step-size' }),
  /** TRPO: conjugate-gradient iterations; default 10. */
  cgIters: integer({ default: 10, help: 'TRPO: conjugate-gradient iterations', flag: 'cg-iters' }),
  /** TRPO: damping λ added to the KL Hessian, (H + λI); default 0. */
  cgDamping: number({ default: 0, min: 0, help: 'TRPO: damping added to the KL Hessian in conjugate gradient', flag: 'cg-damping' }),
  /** TRPO: step shrink factor of the line search, in (0, 1); default 0.8. */
  backtrackRatio: number({ default: 0.8, above: 0, below: 1, help: 'TRPO: step shrink factor of the line search', flag: 'backtrack-ratio' }),
  /** TRPO: line-search steps before the update is rejected; default 15. */
  maxBacktracks: integer({ default: 15, help: 'TRPO: line-search steps before the update is rejected', flag: 'max-backtracks' }),
  /**
   * Compile the outer steps' gradients (ProMP, VPG) and TRPO's Hessian-vector products with the engine's
   * jit: the same bits as eager, faster; default true (`--no-jit` runs them eagerly).
   */
  jit: sameResults(boolean({ default: true, help: "compile the outer steps' gradients and TRPO's Hessian-vector products with jit (the same bits as eager, faster); --no-jit runs them eagerly", flag: 'no-jit', sets: false })),
};

/** The algorithms' configuration: one field per ALGO_SETTINGS entry. */
export type AlgoConfig = SettingsOf<typeof ALGO_SETTINGS>;

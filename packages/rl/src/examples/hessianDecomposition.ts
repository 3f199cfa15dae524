/**
 * Example: the exact Hessian decomposition ∇²J = H1 + H2 + H12 + H12ᵀ (Eq. 35–38) on a two-state MDP, and
 * what each estimator's Hessian recovers in expectation: DiCE all of it (unbiased), LVC H1 + H2 (Eq. 73–74),
 * at the price of DiCE's higher variance.
 *
 *   node packages/rl/dist/examples/hessianDecomposition.js
 */
import { tensor, add, transpose, type Tensor } from '@metagrad/autograd';
import { exactAnalysis, type TabularSpec } from '../tabular/exact.js';

/** Frobenius norm. */
const norm = (t: Tensor): number => Math.sqrt(t.square().sum().item());

/** Runs the example and returns its rows (also printed). */
export function hessianDecompositionExample(log: (...a: unknown[]) => void = console.log): Record<string, number | string>[] {
  // two states, two actions, horizon 3: action 1 in state 0 pays now; action 0 moves to state 1, which pays more later
  const mdp: TabularSpec = {
    S: 2, A: 2, H: 3,
    init: [1, 0],
    P: [[[0.2, 0.8], [0.9, 0.1]], [[0.5, 0.5], [0.1, 0.9]]],
    R: [[0, 0.5], [1, 0.2]],
  };
  const theta = tensor([[0.3, -0.2], [0.1, 0.4]]);
  const x = exactAnalysis(mdp, theta);
  const decomposition = add(add(x.H1, x.H2), add(x.H12, transpose(x.H12)));
  const rel = (a: Tensor, b: Tensor): number => norm(a.sub(b)) / norm(b);
  const rows = [
    { quantity: 'J(θ)', value: +x.J.toFixed(6) },
    { quantity: '‖∇²J‖ (autodiff of the DP)', value: +norm(x.hessian).toFixed(6) },
    { quantity: '‖H1‖  (Eq. 36)', value: +norm(x.H1).toFixed(6) },
    { quantity: '‖H2‖  (Eq. 37)', value: +norm(x.H2).toFixed(6) },
    { quantity: '‖H12‖ (Eq. 38)', value: +norm(x.H12).toFixed(6) },
    { quantity: '‖H1+H2+H12+H12ᵀ − ∇²J‖ / ‖∇²J‖', value: rel(decomposition, x.hessian).toExponential(2) },
    { quantity: '‖E[∇²J^DiCE] − ∇²J‖ / ‖∇²J‖  (unbiased)', value: rel(x.diceHessianMean, x.hessian).toExponential(2) },
    { quantity: '‖E[∇²J^LVC] − (H1+H2)‖ / ‖H1+H2‖', value: rel(x.lvcHessianMean, add(x.H1, x.H2)).toExponential(2) },
    { quantity: 'LVC bias ‖E[∇²J^LVC] − ∇²J‖ / ‖∇²J‖', value: +rel(x.lvcHessianMean, x.hessian).toFixed(4) },
    { quantity: 'Σ Var(∇²J^DiCE) / Σ Var(∇²J^LVC), one trajectory', value: +(x.diceHessianVar.sum().item() / x.lvcHessianVar.sum().item()).toFixed(3) },
  ];
  log(`Exact Hessian decomposition on a ${mdp.S}-state, ${mdp.A}-action MDP, horizon ${mdp.H} (${x.trajectories} trajectories enumerated):`);
  log(rows.map((r) => `  ${String(r.quantity).padEnd(52)} ${r.value}`).join('\n'));
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) hessianDecompositionExample();

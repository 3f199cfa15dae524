/**
 * pow's derivative conventions at 0 (PyTorch's, FunctionsManual.cpp pow_backward_self / pow_backward_exponent):
 *   ∂(aᵇ)/∂a = b·aᵇ⁻¹, taken as 0 where b = 0 (aᵇ ≡ 1), so d/dx x⁰ = 0 at x = 0 too;
 *   ∂(aᵇ)/∂b = aᵇ·log a, taken as 0 where a = 0 and b ≥ 0 (the limit as a → 0⁺); −∞ where a = 0, b < 0.
 * Both were NaN at 0 before (0·0⁻¹ = 0·∞ and 0·log 0), and so was every derivative of xᵏ at 0 past the k-th
 * (xᵏ's k+1-th derivative multiplies by 0·x⁻¹). The rule is written with masks in differentiable ops, so it
 * stays exact at higher orders: checked to third order at and away from 0, by hand and by finite differences.
 */
import { describe, it, expect } from 'vitest';
import * as ag from '@metagrad/autograd';
import { type Tensor, grad, gradients, hessian, tensor } from '@metagrad/autograd';
import { allClose, fdGrad } from '../helpers.js';

/** The n-th elementwise derivative of Σ f(x) (f acts elementwise, so every derivative is diagonal). */
function nthDerivative(f: (x: Tensor) => Tensor, n: number): (x: Tensor) => Tensor {
  let s = (x: Tensor): Tensor => f(x).sum();
  for (let k = 1; k < n; k++) {
    const prev = s;
    s = (x: Tensor): Tensor => grad(prev)(x).sum();
  }
  return (x) => grad(s)(x);
}

/**
 * Orders 1–3 of a scalar function of a flat vector against central finite differences: the gradient, every
 * Hessian row (double backward vs differences of the gradient) and ∇ΣH (triple backward vs differences of ΣH).
 */
function checkOrders(f: (q: Tensor) => Tensor, q0: Tensor, what: string): void {
  allClose(grad(f)(q0), fdGrad((xs) => f(xs[0]!).item(), [q0]), 1e-8, `${what}: gradient`, 1e-9);
  const H = hessian(f)(q0);
  for (let i = 0; i < q0.size; i++)
    allClose(H.index(i), fdGrad((xs) => grad(f)(xs[0]!).data[i]!, [q0]), 1e-7, `${what}: Hessian row ${i}`, 1e-8);
  const sumH = (q: Tensor): Tensor => {
    const [g] = gradients(f(q), [q], { createGraph: true });
    const [h] = gradients(g!.sum(), [q], { createGraph: true });
    return h!.sum();
  };
  const t3 = grad(sumH)(q0);
  expect(t3.data.every(Number.isFinite), `${what}: third derivative finite`).toBe(true);
  allClose(t3, fdGrad((xs) => sumH(xs[0]!).item(), [q0]), 1e-6, `${what}: third derivative`, 1e-7);
}

/** The values as plain numbers, −0 read as 0 (a zero derivative may come out as −0). */
const vals = (t: Tensor): number[] => Array.from(t.data, (v) => v + 0);

const fallingFactorial = (k: number, n: number): number => {
  let r = 1;
  for (let i = 0; i < n; i++) r *= k - i;
  return r;
};
/** dⁿ/dxⁿ xᵏ = k(k−1)…(k−n+1)·xᵏ⁻ⁿ (0 once n > k for integer k ≥ 0), with 0⁰ = 1. */
const powDerivative = (x: number, k: number, n: number): number => {
  const c = fallingFactorial(k, n);
  return c === 0 ? 0 : c * x ** (k - n);
};

describe('pow: derivatives at 0 follow PyTorch and are exact at higher orders', () => {
  it('d/dx x⁰ = 0 everywhere, at x = 0 included (was NaN), to third order', () => {
    for (const n of [1, 2, 3]) {
      const d = nthDerivative((x) => x.pow(0), n)(tensor([0, 1.5, -2]));
      expect(vals(d), `order ${n}`).toEqual([0, 0, 0]);
    }
    // with a tensor exponent and a scalar base too
    const [ga] = gradients(ag.pow(tensor(0), tensor([0, 0])).sum(), [tensor(0)], { allowUnused: true });
    expect(ga!.item()).toBe(0);
  });

  it('d/db 0ᵇ = 0 for b ≥ 0 (was NaN) and −∞ for b < 0; aᵇ·log a elsewhere', () => {
    const db = (a: number[], b: number[]): number[] => grad((t: Tensor) => ag.pow(tensor(a), t).sum())(tensor(b)).toArray() as unknown as number[];
    expect(Array.from(db([0, 0, 0, 0], [2, 0.5, 0, -1]))).toEqual([0, 0, 0, -Infinity]);
    allClose(db([2, 0.5], [3, -1.5]), [8 * Math.log(2), 0.5 ** -1.5 * Math.log(0.5)], 1e-14);
    // second and third derivatives in b at a = 0 are 0 (the masked term has no b-dependence); away from 0 aᵇ(log a)ⁿ
    for (const n of [2, 3]) {
      const at0 = nthDerivative((t) => ag.pow(tensor([0, 0]), t), n)(tensor([2, 0]));
      expect(vals(at0), `order ${n} at a = 0`).toEqual([0, 0]);
      const away = nthDerivative((t) => ag.pow(tensor([2, 0.5]), t), n)(tensor([3, -1.5]));
      allClose(away, [8 * Math.log(2) ** n, 0.5 ** -1.5 * Math.log(0.5) ** n], 1e-13, `order ${n} away from 0`);
    }
  });

  it('xᵏ for k = 0…4: derivatives of orders 1–3 at 0 and at 1.5 against the hand values', () => {
    const ks = [0, 1, 2, 3, 4];
    const b = tensor(ks);
    for (const x0 of [0, 1.5, -0.7]) {
      for (const n of [1, 2, 3]) {
        const got = nthDerivative((x) => x.pow(b), n)(tensor(ks.map(() => x0)));
        const want = ks.map((k) => powDerivative(x0, k, n));
        allClose(got, want, 1e-13, `order ${n} at x = ${x0}`);
        expect(got.data.every(Number.isFinite), `order ${n} at x = ${x0} finite`).toBe(true);
      }
    }
    // a scalar exponent takes the same path: the third derivative of x² at 0 was NaN (0·x⁻¹)
    expect(vals(nthDerivative((x) => x.pow(2), 3)(tensor([0, 1])))).toEqual([0, 0]);
    expect(vals(nthDerivative((x) => x.pow(3), 3)(tensor([0, 1])))).toEqual([6, 6]);
  });

  it('the full Hessian over (a, b) and a third derivative against finite differences, at and away from 0', () => {
    const w = tensor([1, -2, 0.5, 3]);
    // away from 0, a and b both differentiated: aᵇ's derivatives in b need a > 0
    const fab = (q: Tensor): Tensor => ag.pow(q.slice([0], [4]), q.slice([4])).mul(w).sum();
    checkOrders(fab, tensor([0.7, 1.3, 2, 0.4, -0.5, 2, 1, 0]), 'a, b away from 0');
    // at a = 0 (a differentiated, b fixed): finite differences step to a = ±h, where xᵏ is smooth for integer k
    const b = tensor([0, 2, 3, 4]);
    checkOrders((a: Tensor) => ag.pow(a, b).mul(w).sum(), tensor([0, 0, 0, 0]), 'a at 0');
    checkOrders((a: Tensor) => ag.pow(a, b).mul(w).sum(), tensor([0, 0.3, 0, -1.2]), 'a at and away from 0');
    // the mixed derivative ∂²(aᵇ)/∂a∂b = aᵇ⁻¹(1 + b·log a) → 0 as a → 0⁺ for b > 1; by hand at a = 0
    const mixed = grad((t: Tensor) => grad((a: Tensor) => ag.pow(a, t).sum())(tensor([0, 0])).sum())(tensor([2, 3.5]));
    expect(vals(mixed)).toEqual([0, 0]);
  });
});

/** grad, valueAndGrad, jacobian and hessian with JAX's argnums and hasAux, against hand-derived values. */
import { describe, it, expect } from 'vitest';
import { type Tensor, grad, hessian, jacobian, tensor, valueAndGrad } from '@metagrad/autograd';
import { allClose } from '../helpers.js';

// f(x, y, s) = Σ x²·y + s·Σ y : ∂x = 2xy, ∂y = x² + s, ∂s = Σ y; ∂²/∂x² = diag(2y), ∂²/∂x∂y = diag(2x), ∂²/∂y² = 0
const f = (x: Tensor, y: Tensor, s: Tensor): Tensor => x.square().mul(y).sum().add(s.mul(y.sum()));
const x = tensor([1, -2, 3]), y = tensor([0.5, 2, -1]), s = tensor(4);

describe('argnums and hasAux', () => {
  it('grad with one argument number, several, and negative ones', () => {
    allClose(grad(f, { argnums: 1 })(x, y, s) as Tensor, tensor([5, 8, 13]), 1e-15, '∂y');
    const [gx, gs] = grad(f, { argnums: [0, -1] })(x, y, s) as Tensor[];
    allClose(gx!, tensor([1, -8, -6]), 1e-15, '∂x');
    allClose(gs!, tensor(1.5), 1e-15, '∂s');
    allClose(grad(f, {})(x, y, s) as Tensor, tensor([1, -8, -6]), 1e-15, 'argnums defaults to 0');
  });

  it('hasAux passes the aux through, undifferentiated', () => {
    const g = (a: Tensor) => [a.square().sum(), { norm: a.abs().sum(), tag: 'aux' }];
    const [grads, aux] = grad(g, { hasAux: true })(x) as [Tensor, { norm: Tensor; tag: string }];
    allClose(grads, x.mul(2), 1e-15, 'gradient');
    expect(aux.tag).toBe('aux');
    allClose(aux.norm, tensor(6), 0, 'aux value');
    const [[value, aux2], g2] = valueAndGrad(g, { hasAux: true, argnums: [0] })(x) as [[Tensor, unknown], Tensor[]];
    allClose(value, tensor(14), 0, 'value');
    expect((aux2 as { tag: string }).tag).toBe('aux');
    allClose(g2[0]!, x.mul(2), 1e-15, 'gradient as a tuple');
  });

  it('jacobian and hessian take argnums: one block, or every block', () => {
    const J = jacobian((a: Tensor, b: Tensor) => a.mul(b), { argnums: 1 })(x, y) as Tensor;
    allClose(J, tensor([[1, 0, 0], [0, -2, 0], [0, 0, 3]]), 0, 'J in b');
    const Hyy = hessian(f, { argnums: 1 })(x, y, s) as Tensor;
    allClose(Hyy, tensor([[0, 0, 0], [0, 0, 0], [0, 0, 0]]), 0, 'H in y');
    const H = hessian(f, { argnums: [0, 1] })(x, y, s) as Tensor[][];
    allClose(H[0]![0]!, tensor([[1, 0, 0], [0, 4, 0], [0, 0, -2]]), 1e-15, 'H xx = diag(2y)');
    allClose(H[0]![1]!, tensor([[2, 0, 0], [0, -4, 0], [0, 0, 6]]), 1e-15, 'H xy = diag(2x)');
    allClose(H[1]![0]!, tensor([[2, 0, 0], [0, -4, 0], [0, 0, 6]]), 1e-15, 'H yx');
  });

  it('bad options name the problem', () => {
    expect(() => grad(f, { argnums: 3 })(x, y, s)).toThrow('grad: argnums 3 is out of range for 3 arguments');
    expect(() => grad(f, { argnums: [] })(x, y, s)).toThrow('grad: argnums must name at least one argument');
    expect(() => grad((a: Tensor) => a.sum(), { hasAux: true })(x)).toThrow('grad: with hasAux the function must return [scalar, aux], got object');
    expect(() => hessian(f, { argnums: 1.5 })(x, y, s)).toThrow('hessian: argnums 1.5 is out of range for 3 arguments');
  });
});

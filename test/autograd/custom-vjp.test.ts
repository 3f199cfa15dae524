/**
 * customVjp: a user-written derivative replaces the engine's. Its rule is differentiated again for higher
 * orders (written in the engine's ops) and transposed for forward mode; a rule with a wrong shape fails
 * naming the function and the input.
 */
import { describe, it, expect } from 'vitest';
import { Rng, type Tensor, customVjp, grad, hessian, hvp, jvp, randn, tensor } from '@metagrad/autograd';
import { allClose } from '../helpers.js';

/** x ↦ Σ x³ with its rule written by hand: ∂ = 3x²·g (the engine never sees the cube's own derivative). */
const cube = customVjp((x: Tensor) => x.pow(3), (g, _y, x) => [g.mul(x.square()).mul(3)], 'cube');

describe('customVjp', () => {
  const x = randn([4], new Rng(3));
  const v = randn([4], new Rng(4));
  it('value from f, gradient from the rule', () => {
    allClose(cube(x), x.pow(3), 1e-15, 'value');
    allClose(grad((z: Tensor) => cube(z).sum())(x), x.square().mul(3), 1e-14, 'gradient');
  });

  it('the rule is differentiated again: Hessian 6x on the diagonal, third derivative 6', () => {
    const H = hessian((z: Tensor) => cube(z).sum())(x);
    const want = new Float64Array(16);
    for (let i = 0; i < 4; i++) want[i * 5] = 6 * x.toArray()[i]!;
    allClose(H.toArray() as Float64Array, want, 1e-13, 'hessian');
    const third = grad((z: Tensor) => hvp((w: Tensor) => cube(w).sum(), z, v).sum())(x);
    allClose(third, v.mul(6), 1e-13, 'third derivative');
  });

  it('forward mode is the rule transposed: jvp = 3x²·t, and jvp of grad = H·v', () => {
    const [y, t] = jvp((z: Tensor) => cube(z), x, v);
    allClose(y, x.pow(3), 1e-15, 'value');
    allClose(t, x.square().mul(3).mul(v), 1e-14, 'tangent');
    allClose(jvp(grad((z: Tensor) => cube(z).sum()), x, v)[1], x.mul(6).mul(v), 1e-13, 'forward over reverse');
  });

  it('a custom rule really replaces the derivative (a deliberately different rule is used)', () => {
    const straightThrough = customVjp((z: Tensor) => z.sign(), (g) => [g], 'straightThrough');
    allClose(grad((z: Tensor) => straightThrough(z).mul(tensor([1, 2, 3, 4])).sum())(x), tensor([1, 2, 3, 4]), 0, 'straight-through');
  });

  it('a rule with a wrong shape or count fails naming the function and the input', () => {
    const bad = customVjp((a: Tensor, b: Tensor) => a.mul(b).sum(), (g, _y, a) => [g.mul(a), g], 'dotProduct');
    expect(() => grad((z: Tensor) => bad(z, x))(x)).toThrow('customVjp(dotProduct): the rule returned a cotangent of shape [] for input 1 of shape [4]');
    const few = customVjp((a: Tensor) => a.sum(), () => [], 'few');
    expect(() => grad((z: Tensor) => few(z))(x)).toThrow('customVjp(few): the rule must return an array of 1 cotangents (one per input, null for zero), got 0');
    expect(() => cube(3 as unknown as Tensor)).toThrow('customVjp(cube): argument 0 must be a Tensor, got number');
  });
});

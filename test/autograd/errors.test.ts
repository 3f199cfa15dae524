/** Every error DESIGN.md lists is raised with a message a user can act on. */
import { describe, it, expect } from 'vitest';
import * as ag from '@metagrad/autograd';
import { checkFinite, gradients, grad, tensor, zeros } from '@metagrad/autograd';

describe('clear errors', () => {
  it('shape mismatch names the op and both shapes', () => {
    expect(() => ag.add(zeros([2, 3]), zeros([4]))).toThrow('add: shapes [2, 3] and [4] cannot be broadcast together');
    expect(() => zeros([2, 3]).mul(zeros([3, 2]))).toThrow('mul: shapes [2, 3] and [3, 2] cannot be broadcast together');
    expect(() => zeros([2, 3]).matmul(zeros([2, 3]))).toThrow('matmul: inner dimensions differ: [2, 3] · [2, 3] (3 vs 2)');
    expect(() => zeros([2, 3]).reshape([4])).toThrow('reshape: cannot reshape [2, 3] (6 elements) to [4]');
    expect(() => ag.concat([zeros([2, 3]), zeros([3, 2])], 0)).toThrow('concat: shapes [2, 3], [3, 2] differ outside axis 0');
    expect(() => zeros([2]).sum(1)).toThrow('sum: axis 1 is out of range for a tensor of rank 1');
  });

  it('the gradient of a non-scalar output needs gradOutputs', () => {
    const x = tensor([1, 2]);
    expect(() => gradients(x.exp(), [x])).toThrow('gradients: output 0 has shape [2]; the gradient of a non-scalar output needs gradOutputs');
    expect(() => gradients(x.exp(), [x], { gradOutputs: [tensor([1, 2, 3])] })).toThrow('gradOutputs[0] must be a Tensor of shape [2], got [3]');
    expect(() => grad((t: ag.Tensor) => t.exp())(x)).toThrow('grad: the function must return a scalar (size-1) tensor, got shape [2]');
  });

  it('an input the output does not depend on throws unless allowUnused', () => {
    const x = tensor([1, 2]), y = tensor([3]);
    expect(() => gradients(x.sum(), [x, y])).toThrow('gradients: input 1 (shape [1]) is not used to compute the outputs; pass allowUnused: true to get zeros');
    const [, gy] = gradients(x.sum(), [x, y], { allowUnused: true });
    expect(gy!.toNested()).toEqual([0]);
  });

  it('mixing dtypes throws', () => {
    const a = tensor([1, 2]), b = tensor([1, 2], undefined, { dtype: 'float32' });
    expect(() => a.add(b)).toThrow("add: dtype mismatch: float64 vs float32; convert one with .astype('float64')");
    expect(() => ag.concat([a, b])).toThrow('concat: dtype mismatch: float64 vs float32');
    expect(() => tensor([[1, 2]]).matmul(tensor([[1], [2]], undefined, { dtype: 'float32' }))).toThrow('matmul: dtype mismatch');
    expect(a.add(b.astype('float64')).dtype).toBe('float64');
  });

  it('NaN or Infinity under checkFinite names the op', () => {
    const x = tensor([-1, 4]);
    expect(x.log().data[0]).toBeNaN(); // off by default: IEEE semantics
    expect(() => checkFinite(() => x.log())).toThrow('checkFinite: log produced NaN at flat index 0 of its output [2] (inputs [2])');
    expect(() => checkFinite(() => tensor([0]).log())).toThrow('checkFinite: log produced -Infinity');
    // also in the backward pass: d sqrt at 0 is infinite
    expect(() => checkFinite(() => grad((t: ag.Tensor) => t.sqrt().sum())(tensor([0, 1])))).toThrow(/checkFinite: div produced Infinity/);
  });

  it('ragged nested arrays and data/shape length mismatches throw', () => {
    expect(() => tensor([[1, 2], [3]])).toThrow('tensor: ragged nested array: expected length 2 at [1], found length 1');
    expect(() => tensor([[1, 2], 3] as never)).toThrow('tensor: ragged nested array: expected an array of length 2 at [1], found a number');
    expect(() => tensor([1, [2]] as never)).toThrow('tensor: ragged nested array: expected a number at [1], found an array');
    expect(() => tensor([1, 2, 3], [2, 2])).toThrow('tensor: data has 3 elements but shape [2, 2] needs 4');
    expect(() => tensor(new Float64Array(5), [2, 3])).toThrow('tensor: data has 5 elements but shape [2, 3] needs 6');
    expect(() => zeros([2, -1])).toThrow('zeros: shape must be an array of non-negative integers, got [2,-1]');
  });

  it('other misuse', () => {
    expect(() => tensor([1, 2]).item()).toThrow('item(): tensor has shape [2] (2 elements); item() needs exactly one');
    expect(() => tensor([[1, 2]]).gather([0, 5], 1)).toThrow('gather: indices of shape [2] must have the rank of x [1, 2]');
    expect(() => tensor([[1, 2]]).gather(tensor([[0, 5]]), 1)).toThrow('gather: index 5 is out of range for axis 1 of length 2');
    expect(() => tensor([1]).clip(1, 0)).toThrow('clip: lo (1) must be ≤ hi (0)');
    expect(() => ag.add('x' as never, tensor([1]))).toThrow('add: expected a Tensor or a number, got string');
  });
});

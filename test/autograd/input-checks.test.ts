/**
 * Issue #13 "Nothing lost, nothing stuck": every constructor and op checks its arguments, and an error names
 * the function, the argument and what is allowed. Before these checks, zeros([2], { dtype: 'int32' }) gave
 * float32, eye(-1) a tensor of shape [-1, -1], slice([1.5], [3.5]) NaNs and huge shapes Node's bare
 * "Invalid typed array length".
 */
import { describe, it, expect } from 'vitest';
import * as ag from '@metagrad/autograd';
import { Rng, arange, eye, full, ones, rand, randn, scalar, tensor, zeros } from '@metagrad/autograd';

const bad = (v: unknown): never => v as never;

describe('constructors check dtype, shape and numeric arguments', () => {
  it('an unknown dtype throws in every constructor (zeros gave float32 for int32)', () => {
    const opts = { dtype: bad('int32') };
    const msg = (fn: string): string => `${fn}: unknown dtype 'int32' (use 'float64' or 'float32')`;
    expect(() => zeros([2], opts)).toThrow(msg('zeros'));
    expect(() => ones([2], opts)).toThrow(msg('ones'));
    expect(() => full([2], 3, opts)).toThrow(msg('full'));
    expect(() => scalar(3, opts)).toThrow(msg('scalar'));
    expect(() => randn([2], 0, opts)).toThrow(msg('randn'));
    expect(() => rand([2], 0, 0, 1, opts)).toThrow(msg('rand'));
    expect(() => eye(2, opts)).toThrow(msg('eye'));
    expect(() => arange(3, undefined, 1, opts)).toThrow(msg('arange'));
    expect(() => tensor([1, 2], undefined, opts)).toThrow(msg('tensor'));
    // options that are not an object (a dtype passed where the options go) no longer fall back to float64
    expect(() => zeros([2], bad('float32'))).toThrow("zeros: options must be an object such as { dtype: 'float32' }, got 'float32'");
    expect(zeros([2], { dtype: 'float32' }).dtype).toBe('float32');
    expect(eye(2, { dtype: 'float32' }).dtype).toBe('float32');
  });

  it('shapes must be arrays of non-negative integers; the error names the bad dimension', () => {
    expect(() => zeros([2, -1])).toThrow('zeros: shape must be an array of non-negative integers, got [2,-1] (dimension 1 is -1)');
    expect(() => ones([2, 1.5])).toThrow('ones: shape must be an array of non-negative integers, got [2,1.5] (dimension 1 is 1.5)');
    expect(() => full([NaN], 0)).toThrow('full: shape must be an array of non-negative integers, got [null] (dimension 0 is NaN)');
    expect(() => randn([3, bad('2')])).toThrow(`randn: shape must be an array of non-negative integers, got [3,"2"] (dimension 1 is '2')`);
    expect(() => rand(bad(3))).toThrow('rand: shape must be an array of non-negative integers, got 3');
    expect(() => tensor([1, 2, 3, 4], [2, -2])).toThrow('tensor: shape must be an array of non-negative integers, got [2,-2] (dimension 1 is -2)');
    expect(() => ag.broadcastTo(tensor([1]), [1.5])).toThrow('broadcastTo: shape must be an array of non-negative integers, got [1.5] (dimension 0 is 1.5)');
    expect(zeros([0, 3]).size).toBe(0);
  });

  it('numeric arguments are checked: eye, arange, rand, full, scalar, the rng', () => {
    expect(() => eye(-1)).toThrow('eye: n must be a non-negative integer, got -1'); // was a tensor of shape [-1, -1]
    expect(() => eye(2.5)).toThrow('eye: n must be a non-negative integer, got 2.5');
    expect(() => arange(0, 5, 0)).toThrow('arange: step must be a non-zero finite number, got 0');
    expect(() => arange(0, 5, NaN)).toThrow('arange: step must be a non-zero finite number, got NaN'); // was an empty tensor
    expect(() => arange(0, 5, Infinity)).toThrow('arange: step must be a non-zero finite number, got Infinity');
    expect(() => arange(Infinity)).toThrow('arange: stop must be a finite number, got Infinity');
    expect(() => arange(NaN, 3)).toThrow('arange: start must be a finite number, got NaN');
    expect(() => arange(0, bad('3'))).toThrow("arange: stop must be a finite number, got '3'");
    expect(() => rand([2], 0, 1, 0)).toThrow('rand: lo (1) must be ≤ hi (0)'); // was samples in (0, 1]
    expect(() => rand([2], 0, 0, Infinity)).toThrow('rand: hi must be a finite number, got Infinity');
    expect(() => rand([2], 0, NaN, 1)).toThrow('rand: lo must be a finite number, got NaN');
    expect(() => full([2], bad('1'))).toThrow("full: value must be a number, got '1'"); // was ['1', '1'] coerced to [1, 1]
    expect(() => full([2], bad(undefined))).toThrow('full: value must be a number, got undefined'); // was NaNs
    expect(() => scalar(bad(null))).toThrow('scalar: value must be a number, got null');
    expect(() => randn([2], bad('seed'))).toThrow("randn: rng must be an Rng or a finite number (a seed), got 'seed'");
    expect(() => rand([2], NaN)).toThrow('rand: rng must be an Rng or a finite number (a seed), got NaN');
    expect(() => new Rng(Infinity)).toThrow('Rng: seed must be a finite number, got Infinity');
    // what stays allowed: NaN/±Infinity fill values, lo = hi, a negative step, an Rng object
    expect(full([1], -Infinity).data[0]).toBe(-Infinity);
    expect(rand([2], new Rng(1), 3, 3).toNested()).toEqual([3, 3]);
    expect(arange(3, 0, -1).toNested()).toEqual([3, 2, 1]);
    expect(eye(0).shape).toEqual([0, 0]);
  });
});

describe('op arguments must be integers in range', () => {
  const x = tensor([1, 2, 3, 4]);
  const m = tensor([[1, 2, 3], [4, 5, 6]]);

  it('slice: starts and ends must be integers (1.5 gave NaNs)', () => {
    expect(() => x.slice([1.5], [3.5])).toThrow('slice: starts[0] must be an integer, got 1.5');
    expect(() => x.slice([1], [3.5])).toThrow('slice: ends[0] must be an integer or undefined, got 3.5');
    expect(() => m.slice([0, NaN])).toThrow('slice: starts[1] must be an integer, got NaN');
    expect(() => x.slice([0], [1, 2])).toThrow('slice: 2 ends for a tensor of rank 1');
    expect(() => x.slice(bad(1))).toThrow('slice: starts must be an array of integers, got 1');
    // NumPy semantics stay: negative entries count from the end, bounds are clamped
    expect(x.slice([-3], [10]).toNested()).toEqual([2, 3, 4]);
    expect(m.slice([0, 1], [undefined, -1]).toNested()).toEqual([[2], [5]]);
  });

  it('index: i must be an integer in range', () => {
    expect(() => x.index(1.5)).toThrow('index: i must be an integer, got 1.5');
    expect(() => x.index(4)).toThrow('index: 4 is out of range for axis 0 of length 4 (allowed: -4 to 3)');
    expect(() => x.index(bad('1'))).toThrow("index: i must be an integer, got '1'");
    expect(x.index(-1).item()).toBe(4);
  });

  it('gather: indices must be integers in range, checked before the int32 conversion', () => {
    // 2³² wrapped to 0 in the Int32Array: a tensor index of 4294967296 silently read element 0
    expect(() => x.gather(tensor([2 ** 32]), 0)).toThrow('gather: index 4294967296 is out of range for axis 0 of length 4');
    expect(() => x.gather([2 ** 32], 0)).toThrow('gather: index 4294967296 is out of range for axis 0 of length 4');
    expect(() => x.gather([0.5], 0)).toThrow('gather: indices must be integers, found 0.5 at flat index 0');
    expect(() => x.gather(tensor([1, NaN]), 0)).toThrow('gather: indices must be integers, found NaN at flat index 1');
    expect(() => x.gather([-1], 0)).toThrow('gather: index -1 is out of range for axis 0 of length 4');
    expect(() => x.gather(bad('01'), 0)).toThrow("gather: indices must be a Tensor, an array of integers or an Int32Array, got '01'");
    expect(() => x.gather([0], 0.5)).toThrow('gather: axis must be an integer, got 0.5');
    expect(x.gather([3, 0], 0).toNested()).toEqual([4, 1]);
  });

  it('reshape sizes: integers ≥ 0, at most one −1', () => {
    expect(() => x.reshape([2.5, -1])).toThrow('reshape: shape[0] must be a non-negative integer or -1 (inferred), got 2.5 in [2.5, -1]');
    expect(() => x.reshape([-1, -1])).toThrow('reshape: only one entry of [-1, -1] may be -1');
    expect(() => x.reshape([-2, -2])).toThrow('reshape: shape[0] must be a non-negative integer or -1 (inferred), got -2 in [-2, -2]');
    expect(() => x.reshape(bad(4))).toThrow('reshape: shape must be an array of integers, got 4');
    expect(() => x.reshape([3])).toThrow('reshape: cannot reshape [4] (4 elements) to [3]');
    expect(x.reshape([2, -1]).shape).toEqual([2, 2]);
  });

  it('axes: expandDims, squeeze, transpose perm, concat, stack, cumsum, sum, mean, max, logSumExp, softmax', () => {
    expect(() => x.expandDims(0.5)).toThrow('expandDims: axis must be an integer, got 0.5');
    expect(() => x.expandDims(2)).toThrow('expandDims: axis 2 is out of range for a tensor of rank 2 (allowed: -2 to 1)');
    expect(() => m.squeeze(bad('0'))).toThrow("squeeze: axis must be an integer, got '0'");
    expect(() => m.transpose([0, 1.5])).toThrow('transpose: perm[1] must be an integer, got 1.5');
    expect(() => m.transpose([0, 2])).toThrow('transpose: perm[1] 2 is out of range for a tensor of rank 2 (allowed: -2 to 1)');
    expect(() => m.transpose([0, 0])).toThrow('transpose: [0,0] is not a permutation of 2 axes');
    expect(() => m.transpose(bad(1))).toThrow('transpose: perm must be an array of axes, got 1');
    expect(() => ag.concat([m, m], 2)).toThrow('concat: axis 2 is out of range for a tensor of rank 2 (allowed: -2 to 1)');
    expect(() => ag.concat([m, m], 0.5)).toThrow('concat: axis must be an integer, got 0.5');
    expect(() => ag.stack([m, m], 3)).toThrow('stack: axis 3 is out of range for a tensor of rank 3 (allowed: -3 to 2)');
    expect(() => ag.stack([m, m.T])).toThrow('stack: shapes [2, 3], [3, 2] differ; stack needs equal shapes');
    expect(() => m.cumsum(1.5)).toThrow('cumsum: axis must be an integer, got 1.5');
    expect(() => m.cumsum(bad(undefined))).toThrow('cumsum: axis must be an integer, got undefined');
    expect(() => m.sum(2)).toThrow('sum: axis 2 is out of range for a tensor of rank 2 (allowed: -2 to 1)');
    expect(() => m.sum([0, 0.5])).toThrow('sum: axis must be an integer, got 0.5');
    expect(() => m.sum(bad('0'))).toThrow("sum: axis must be an integer, an array of integers or undefined (all axes), got '0'");
    expect(() => m.mean(bad(null))).toThrow('mean: axis must be an integer, an array of integers or undefined (all axes), got null');
    expect(() => m.max(-3)).toThrow('max: axis -3 is out of range for a tensor of rank 2 (allowed: -2 to 1)');
    expect(() => m.logSumExp(NaN)).toThrow('logSumExp: axis must be an integer, got NaN');
    expect(() => m.softmax(2)).toThrow('softmax: axis 2 is out of range for a tensor of rank 2 (allowed: -2 to 1)');
    expect(() => m.logSoftmax(0.5)).toThrow('logSoftmax: axis must be an integer, got 0.5');
  });
});

describe('allocation failures name the op, the dtype, the shape and the size', () => {
  // 1e10 elements is past the longest typed array Node 20 allows (2³²), and 80 GB is past this machine's
  // memory on newer engines: either way the error is the engine's, reworded and prefixed.
  const prefix = (fn: string, dtype = 'float64', shape = '[100000, 100000]', size = '1e10 elements, 80 GB') =>
    new RegExp(`^${fn}: cannot allocate a ${dtype} tensor of shape ${shape.replace(/[[\]]/g, '\\$&')} \\(${size}\\): ` +
      '(more elements than this JavaScript engine allows in one typed array|out of memory) \\(RangeError: ');

  it('constructors', () => {
    expect(() => zeros([100000, 100000])).toThrow(prefix('zeros'));
    expect(() => ones([100000, 100000], { dtype: 'float32' })).toThrow(prefix('ones', 'float32', undefined, '1e10 elements, 40 GB'));
    expect(() => randn([100000, 100000])).toThrow(prefix('randn'));
    expect(() => eye(100000)).toThrow(prefix('eye'));
    expect(() => arange(1e10)).toThrow(prefix('arange', 'float64', '[10000000000]'));
  });

  it('ops: the output of a broadcast, a matmul, a broadcastTo', () => {
    const a = zeros([100000, 1]), b = zeros([1, 100000]);
    expect(() => a.add(b)).toThrow(prefix('add'));
    expect(() => a.matmul(b)).toThrow(prefix('matmul'));
    expect(() => a.broadcastTo([100000, 100000])).toThrow(prefix('broadcastTo'));
  });

  it('counts past 2^53 or past what an ArrayBuffer can address are refused before allocating', () => {
    expect(() => zeros([2 ** 30, 2 ** 30, 2 ** 30])).toThrow(
      'zeros: cannot allocate a float64 tensor of shape [1073741824, 1073741824, 1073741824] (1.24e27 elements, 9.9e27 B): the element count must be a non-negative integer below 2^53',
    );
    expect(() => zeros([2 ** 26, 2 ** 26])).toThrow(
      'zeros: cannot allocate a float64 tensor of shape [67108864, 67108864] (4.5e15 elements, 36 PB): more than 2^53 − 1 bytes, the most an ArrayBuffer can hold',
    );
  });
});

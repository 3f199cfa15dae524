/**
 * Reverse mode. `gradients` walks the recorded graph from the outputs back to the inputs in reverse
 * creation order (a tensor's inputs are always older than it: an iterative topological order, no
 * recursion), calling each primitive's VJP. With `createGraph` the backward pass is itself recorded,
 * so its results can be differentiated again, to any order.
 */
import { type TangentScope, enableGrad, isGradEnabled, noGrad, tangentScopes, withTangentScopes } from './graph.js';
import { apply, rules, type Primitive, type Rule } from './primitives.js';
import { Tensor, ones, zeros } from './tensor.js';
import { add, concat } from './ops.js';
import { fmtShape, shapeEq } from './shape.js';
import { jitOutputs } from './trace.js';

/** Options of {@link gradients}. */
export interface GradientsOptions {
  /** Cotangents of the outputs (same shapes); required for non-scalar outputs. */
  gradOutputs?: Tensor[];
  /** Record the backward pass so the gradients can be differentiated again. Default false. */
  createGraph?: boolean;
  /** Return zeros for inputs the outputs do not depend on, instead of throwing. Default false. */
  allowUnused?: boolean;
}

/**
 * Σᵢ gradOutputsᵢ · ∂outputsᵢ/∂inputs for each input: vector-Jacobian products by reverse mode.
 * Any tensor may be an input, leaf or intermediate.
 */
export function gradients(outputs: Tensor | Tensor[], inputs: Tensor[], opts: GradientsOptions = {}): Tensor[] {
  const outs = Array.isArray(outputs) ? outputs : [outputs];
  if (outs.length === 0) throw new Error('gradients: no outputs given');
  outs.forEach((o, i) => {
    if (!(o instanceof Tensor)) throw new Error(`gradients: output ${i} is not a Tensor`);
  });
  if (!Array.isArray(inputs)) throw new Error('gradients: inputs must be an array of tensors');
  inputs.forEach((x, i) => {
    if (!(x instanceof Tensor)) throw new Error(`gradients: input ${i} is not a Tensor`);
  });
  const seeds: Tensor[] = outs.map((o, i) => {
    const go = opts.gradOutputs?.[i];
    if (go === undefined) {
      if (o.size !== 1)
        throw new Error(`gradients: output ${i} has shape ${fmtShape(o.shape)}; the gradient of a non-scalar output needs gradOutputs (a cotangent of that shape)`);
      return ones(o.shape, { dtype: o.dtype });
    }
    if (!(go instanceof Tensor) || !shapeEq(go.shape, o.shape))
      throw new Error(`gradients: gradOutputs[${i}] must be a Tensor of shape ${fmtShape(o.shape)}, got ${go instanceof Tensor ? fmtShape(go.shape) : typeof go}`);
    if (go.dtype !== o.dtype) throw new Error(`gradients: gradOutputs[${i}] is ${go.dtype} but output ${i} is ${o.dtype}`);
    return go;
  });
  if (opts.gradOutputs && opts.gradOutputs.length !== outs.length)
    throw new Error(`gradients: ${opts.gradOutputs.length} gradOutputs for ${outs.length} outputs`);
  outs.forEach((o, i) => {
    if (jitOutputs.has(o) && !inputs.includes(o))
      throw new Error(`gradients: output ${i} was returned by a jit-compiled function, whose outputs are constants (no graph); take the derivative inside it, e.g. jit(grad(f))`);
  });

  // 1. every tensor reachable backwards from the outputs
  const seen = new Set<Tensor>();
  const stack: Tensor[] = [...outs];
  while (stack.length) {
    const t = stack.pop()!;
    if (seen.has(t)) continue;
    seen.add(t);
    if (t.node) for (const x of t.node.inputs) if (!seen.has(x)) stack.push(x);
  }
  const order = [...seen].sort((a, b) => a.id - b.id);
  // 2. which of them depend on an input (only those get cotangents)
  const inputSet = new Set(inputs);
  const relevant = new Set<Tensor>();
  for (const t of order) if (inputSet.has(t) || (t.node && t.node.inputs.some((x) => relevant.has(x)))) relevant.add(t);

  const run = (): Tensor[] => {
    const grads = new Map<Tensor, Tensor>();
    const accumulate = (t: Tensor, g: Tensor): void => {
      const prev = grads.get(t);
      grads.set(t, prev ? add(prev, g) : g);
    };
    outs.forEach((o, i) => {
      if (relevant.has(o)) accumulate(o, seeds[i]!);
    });
    // 3. reverse creation order: every consumer of t is processed before t
    for (let i = order.length - 1; i >= 0; i--) {
      const t = order[i]!;
      const node = t.node;
      if (!node || !relevant.has(t)) continue;
      const g = grads.get(t);
      if (!g) continue;
      if (!inputSet.has(t)) grads.delete(t);
      const needs = node.inputs.map((x) => relevant.has(x));
      const rule = rules[node.prim] as Rule<Primitive>;
      const gs = rule.vjp(g, t, node.inputs, node.params, needs);
      for (let j = 0; j < node.inputs.length; j++) {
        const gj = gs[j];
        if (needs[j] && gj) {
          if (!shapeEq(gj.shape, node.inputs[j]!.shape))
            throw new Error(`gradients: internal error: ${node.prim} returned a cotangent of shape ${fmtShape(gj.shape)} for an input of shape ${fmtShape(node.inputs[j]!.shape)}`);
          accumulate(node.inputs[j]!, gj);
        }
      }
    }
    return inputs.map((x, i) => {
      const g = grads.get(x);
      if (g) return g;
      if (!opts.allowUnused)
        throw new Error(
          `gradients: input ${i} (shape ${fmtShape(x.shape)}) is not used to compute the outputs; pass allowUnused: true to get zeros`,
        );
      return zeros(x.shape, { dtype: x.dtype });
    });
  };
  return opts.createGraph ? enableGrad(run) : noGrad(run);
}

// ---------- pytrees ----------

/** A pytree of tensors: a tensor, an array of pytrees, or an object of named pytrees. */
export type Params = Tensor | readonly Params[] | { readonly [name: string]: Params };

/** The leaves of a pytree in a fixed order (arrays in order, objects by key insertion order). */
export function treeLeaves(p: Params): Tensor[] {
  const out: Tensor[] = [];
  const rec = (q: Params, path: string): void => {
    if (q instanceof Tensor) out.push(q);
    else if (Array.isArray(q)) q.forEach((c, i) => rec(c as Params, `${path}[${i}]`));
    else if (q !== null && typeof q === 'object') for (const k of Object.keys(q)) rec((q as { [k: string]: Params })[k]!, `${path}.${k}`);
    else throw new Error(`pytree: expected a Tensor, array or object at ${path || 'the root'}, found ${q === null ? 'null' : typeof q}`);
  };
  rec(p, '');
  return out;
}

/** Rebuilds a pytree of `like`'s structure from leaves in treeLeaves order. */
export function treeUnflatten<P extends Params>(like: P, leaves: readonly Tensor[]): P {
  let i = 0;
  const rec = (q: Params): Params => {
    if (q instanceof Tensor) return leaves[i++]!;
    if (Array.isArray(q)) return q.map((c) => rec(c as Params));
    const o: { [k: string]: Params } = {};
    for (const k of Object.keys(q)) o[k] = rec((q as { [k: string]: Params })[k]!);
    return o;
  };
  const r = rec(like) as P;
  if (i !== leaves.length) throw new Error(`pytree: ${leaves.length} leaves for a structure of ${i}`);
  return r;
}

/** Applies f to every leaf (or to matching leaves of several trees of the same structure). */
export function treeMap<P extends Params>(f: (...xs: Tensor[]) => Tensor, tree: P, ...rest: Params[]): P {
  const a = treeLeaves(tree);
  const others = rest.map((r, j) => {
    const l = treeLeaves(r);
    if (l.length !== a.length) throw new Error(`treeMap: tree ${j + 1} has ${l.length} leaves, the first has ${a.length}`);
    return l;
  });
  return treeUnflatten(tree, a.map((x, i) => f(x, ...others.map((o) => o[i]!))));
}

function scalarOut(fn: string, out: unknown): Tensor {
  if (!(out instanceof Tensor)) throw new Error(`${fn}: the function must return a Tensor, got ${typeof out}`);
  if (out.size !== 1) throw new Error(`${fn}: the function must return a scalar (size-1) tensor, got shape ${fmtShape(out.shape)}`);
  return out;
}

// ---------- transforms ----------
// Transforms always record the function and the backward pass, and the result stays differentiable
// unless the call happens inside noGrad. So they nest to any order (grad of grad, grad of hvp, ...).

/** Options of {@link grad} and {@link valueAndGrad}, as in JAX. */
export interface GradOptions {
  /** Which arguments to differentiate: an index, or several (then the gradient is a tuple). Default 0. */
  argnums?: number | readonly number[];
  /** f returns [scalar, aux]: aux is passed through, not differentiated. Default false. */
  hasAux?: boolean;
}

/** The argument indices of `argnums` for a call with `n` arguments (negative counts from the end). */
function argIndices(fn: string, argnums: number | readonly number[] | undefined, n: number): number[] {
  const list = argnums === undefined ? [0] : typeof argnums === 'number' ? [argnums] : [...argnums];
  if (list.length === 0) throw new Error(`${fn}: argnums must name at least one argument`);
  return list.map((a) => {
    if (!Number.isInteger(a) || a < -n || a >= n) throw new Error(`${fn}: argnums ${String(a)} is out of range for ${n} argument${n === 1 ? '' : 's'}`);
    return a < 0 ? a + n : a;
  });
}

/** The scalar output and the aux of f's result. */
function splitAux(fn: string, res: unknown, hasAux: boolean): [Tensor, unknown] {
  if (!hasAux) return [scalarOut(fn, res), undefined];
  if (!Array.isArray(res) || res.length !== 2) throw new Error(`${fn}: with hasAux the function must return [scalar, aux], got ${Array.isArray(res) ? `an array of ${res.length}` : typeof res}`);
  return [scalarOut(fn, res[0]), res[1]];
}

/**
 * f and its gradient: p ↦ [f(p), ∇f(p)], the gradient with p's pytree structure (zeros for unused
 * leaves). With options (JAX's): `argnums` picks the arguments of a multi-argument f (an index: that
 * argument's gradient; an array: a tuple of them); `hasAux`: f returns [scalar, aux] and the result is
 * [[value, aux], gradient].
 */
export function valueAndGrad<P extends Params>(f: (p: P) => Tensor): (p: P) => [Tensor, P];
export function valueAndGrad<A extends Params[]>(f: (...args: A) => unknown, opts: GradOptions): (...args: A) => [Tensor | [Tensor, unknown], Params | Params[]];
export function valueAndGrad(f: (...args: Params[]) => unknown, opts: GradOptions = {}): (...args: Params[]) => [Tensor | [Tensor, unknown], Params | Params[]] {
  const fn = 'grad';
  return (...args: Params[]) => {
    const idx = argIndices(fn, opts.argnums, args.length);
    const outer = isGradEnabled();
    const leaves = idx.map((i) => treeLeaves(args[i]!));
    return enableGrad(() => {
      const [out, aux] = splitAux(fn, f(...args), opts.hasAux === true);
      const gs = gradients(out, leaves.flat(), { createGraph: outer, allowUnused: true });
      let k = 0;
      const perArg = idx.map((i, j) => treeUnflatten(args[i]!, gs.slice(k, (k += leaves[j]!.length))));
      const g = typeof opts.argnums === 'object' ? perArg : perArg[0]!;
      return [opts.hasAux ? [out, aux] : out, g];
    });
  };
}

/**
 * The gradient of a scalar function: p ↦ ∇f(p), with p's pytree structure. With options: `argnums`
 * (which arguments; an array gives a tuple) and `hasAux` (f returns [scalar, aux]; the result is
 * [gradient, aux]), as in JAX.
 */
export function grad<P extends Params>(f: (p: P) => Tensor): (p: P) => P;
export function grad<A extends Params[]>(f: (...args: A) => unknown, opts: GradOptions): (...args: A) => Params | Params[] | [Params | Params[], unknown];
export function grad(f: (...args: Params[]) => unknown, opts: GradOptions = {}): (...args: Params[]) => Params | Params[] | [Params | Params[], unknown] {
  const vg = valueAndGrad(f, opts);
  return (...args: Params[]) => {
    const [v, g] = vg(...args);
    return opts.hasAux ? [g, (v as [Tensor, unknown])[1]] : g;
  };
}

/** f(p) and its vector-Jacobian product: [f(p), ct ↦ ctᵀ ∂f/∂p] (ct has f(p)'s shape). */
export function vjp<P extends Params>(f: (p: P) => Tensor, p: P): [Tensor, (cotangent: Tensor) => P] {
  const outer = isGradEnabled();
  const leaves = treeLeaves(p);
  const out = enableGrad(() => f(p));
  if (!(out instanceof Tensor)) throw new Error('vjp: the function must return a Tensor');
  return [
    out,
    (ct: Tensor) => treeUnflatten(p, gradients(out, leaves, { gradOutputs: [ct], createGraph: outer, allowUnused: true })),
  ];
}

/** Hessian-vector product ∇²f(p)·v by double backward (v has p's structure). */
export function hvp<P extends Params>(f: (p: P) => Tensor, p: P, v: P): P {
  const outer = isGradEnabled();
  const leaves = treeLeaves(p);
  const vs = treeLeaves(v);
  if (vs.length !== leaves.length) throw new Error(`hvp: v has ${vs.length} leaves but p has ${leaves.length}`);
  vs.forEach((t, i) => {
    if (!shapeEq(t.shape, leaves[i]!.shape)) throw new Error(`hvp: leaf ${i} of v has shape ${fmtShape(t.shape)} but p's has ${fmtShape(leaves[i]!.shape)}`);
  });
  return enableGrad(() => {
    const out = scalarOut('hvp', f(p));
    const g = gradients(out, leaves, { createGraph: true, allowUnused: true });
    // ∇(∇f · v) = ∇²f · v: the gradient of g with cotangent v (leaves g does not depend on give zeros)
    // (a gradient with no graph node is constant: when no gradient has one, f is at most linear and H·v = 0)
    const used = g.map((gi) => gi.node !== null);
    if (!used.some((u) => u)) return treeUnflatten(p, leaves.map((x) => zeros(x.shape, { dtype: x.dtype })));
    const hv = gradients(
      g.filter((_, i) => used[i]),
      leaves,
      { gradOutputs: vs.filter((_, i) => used[i]), createGraph: outer, allowUnused: true },
    );
    return treeUnflatten(p, hv);
  });
}

/**
 * Forward mode: [f(primals), J·tangents], the output and its directional derivative along `tangents`
 * (a pytree of primals' structure, shapes and dtypes), with the output's structure. Every primitive's
 * JVP rule runs alongside its forward pass, written in differentiable ops, so the result is exact to
 * any order and composes with every transform: jvp of jvp, grad of jvp, jvp of grad (a Hessian-vector
 * product, forward over reverse). Cost: about two to three forward passes. Only the arguments are
 * perturbed: a tensor f closes over is a constant, even if it is also passed in.
 */
export function jvp<P extends Params, O extends Params>(f: (p: P) => O, primals: P, tangents: P): [O, O] {
  const xs = treeLeaves(primals);
  const ts = treeLeaves(tangents);
  if (ts.length !== xs.length) throw new Error(`jvp: tangents have ${ts.length} leaves but primals have ${xs.length}`);
  ts.forEach((t, i) => {
    const x = xs[i]!;
    if (!shapeEq(t.shape, x.shape)) throw new Error(`jvp: tangent leaf ${i} has shape ${fmtShape(t.shape)} but its primal has ${fmtShape(x.shape)}`);
    if (t.dtype !== x.dtype) throw new Error(`jvp: tangent leaf ${i} is ${t.dtype} but its primal is ${x.dtype}`);
  });
  // fresh aliases of the primals carry the tangents (made outside the new scope, so outer scopes see them)
  const aliases = xs.map((x) => apply('reshape', [x], { shape: [...x.shape] }));
  const scope: TangentScope = { tangents: new Map() };
  return withTangentScopes([...tangentScopes(), scope], () => {
    aliases.forEach((a, i) => scope.tangents.set(a, ts[i]!));
    const out = f(treeUnflatten(primals, aliases));
    const outLeaves = treeLeaves(out);
    const tangentsOut = outLeaves.map((y) => scope.tangents.get(y) ?? zeros(y.shape, { dtype: y.dtype }));
    return [out, treeUnflatten(out, tangentsOut)];
  });
}

/**
 * A function with a derivative you write: `customVjp(f, rule)(...xs)` has f's value, and reverse mode
 * takes the inputs' cotangents from `rule(g, y, ...xs)` (g: the output's cotangent, y = f(...xs); return
 * one cotangent per input, with its shape, or null for zero) instead of differentiating f. The rule is
 * written in the engine's ops, so it is differentiated in turn when a higher order is asked for; forward
 * mode uses its transpose. A rule returning a wrong shape fails naming the function and the input.
 */
export function customVjp(
  f: (...xs: Tensor[]) => Tensor,
  rule: (g: Tensor, y: Tensor, ...xs: Tensor[]) => (Tensor | null)[],
  name: string = f.name || 'anonymous',
): (...xs: Tensor[]) => Tensor {
  if (typeof f !== 'function' || typeof rule !== 'function') throw new Error('customVjp: needs a function and its VJP rule');
  return (...xs: Tensor[]) => {
    xs.forEach((x, i) => {
      if (!(x instanceof Tensor)) throw new Error(`customVjp(${name}): argument ${i} must be a Tensor, got ${x === null ? 'null' : typeof x}`);
    });
    return apply('custom', xs, { name, f, rule });
  };
}

/** Options of {@link jacobian} and {@link hessian}: which Tensor arguments to differentiate (as in JAX). */
export interface JacobianOptions {
  /** An index (one result), or several (a tuple of results; for hessian, a tuple of tuples). Default 0. */
  argnums?: number | readonly number[];
}

/**
 * The Jacobian of f at x, shape [...f(x).shape, ...x.shape], by one reverse pass per output element.
 * With `argnums`, f takes several Tensor arguments and the Jacobian is taken with respect to the one
 * named (or, for an array, one Jacobian per argument named).
 */
export function jacobian(f: (x: Tensor) => Tensor): (x: Tensor) => Tensor;
export function jacobian(f: (...xs: Tensor[]) => Tensor, opts: JacobianOptions): (...xs: Tensor[]) => Tensor | Tensor[];
export function jacobian(f: (...xs: Tensor[]) => Tensor, opts: JacobianOptions = {}): (...xs: Tensor[]) => Tensor | Tensor[] {
  return (...xs: Tensor[]) => {
    xs.forEach((x, i) => {
      if (!(x instanceof Tensor)) throw new Error(`jacobian: argument ${i} must be a Tensor`);
    });
    const idx = argIndices('jacobian', opts.argnums, xs.length);
    const wrt = idx.map((i) => xs[i]!);
    const outer = isGradEnabled();
    const out = enableGrad(() => {
      const y = f(...xs);
      if (!(y instanceof Tensor)) throw new Error('jacobian: the function must return a Tensor');
      const rows: Tensor[][] = wrt.map(() => []);
      for (let i = 0; i < y.size; i++) {
        const e = zeros(y.shape, { dtype: y.dtype });
        e.data[i] = 1;
        const rs = gradients(y, wrt, { gradOutputs: [e], createGraph: outer, allowUnused: true });
        rs.forEach((r, j) => rows[j]!.push(r.reshape([1, ...wrt[j]!.shape])));
      }
      return wrt.map((x, j) => {
        const flat = rows[j]!.length ? concat(rows[j]!, 0) : zeros([0, ...x.shape], { dtype: x.dtype });
        return flat.reshape([...y.shape, ...x.shape]);
      });
    });
    return typeof opts.argnums === 'object' ? out : out[0]!;
  };
}

/**
 * The Hessian of a scalar f at x, shape [...x.shape, ...x.shape] ([n, n] for a flat x of size n). With
 * `argnums`, f takes several Tensor arguments: an index gives that argument's Hessian; an array gives the
 * blocks H[i][j] = ∂²f/∂xᵢ∂xⱼ, shape [...xᵢ.shape, ...xⱼ.shape].
 */
export function hessian(f: (x: Tensor) => Tensor): (x: Tensor) => Tensor;
export function hessian(f: (...xs: Tensor[]) => Tensor, opts: JacobianOptions): (...xs: Tensor[]) => Tensor | Tensor[][];
export function hessian(f: (...xs: Tensor[]) => Tensor, opts: JacobianOptions = {}): (...xs: Tensor[]) => Tensor | Tensor[][] {
  return (...xs: Tensor[]) => {
    const idx = argIndices('hessian', opts.argnums, xs.length);
    const block = (i: number, j: number): Tensor =>
      jacobian((...ys: Tensor[]) => grad(f, { argnums: i })(...ys) as Tensor, { argnums: j })(...xs) as Tensor;
    return typeof opts.argnums === 'object' ? idx.map((i) => idx.map((j) => block(i, j))) : block(idx[0]!, idx[0]!);
  };
}

/**
 * The jax-js peer process (see protocol.ts): the benchmark's objectives in @jax-js/jax on its wasm device
 * (the CPU backend; single-threaded in Node, which has no global `Worker`), with jax's own transforms: grad of
 * grad through the inner step, lax.stopGradient for ⊥. Variant `jit` (default) wraps each timed call in
 * jit() (kernel fusion; the inputs are arguments, not closed-over constants, so nothing is folded at
 * compile time); variant `eager` runs the same function op by op.
 *
 * What jax-js 0.1.25 does here, found by this suite (the check reports it; nothing is hidden):
 * - float64 works, but the wasm backend evaluates exp, tanh and log of a float64 array in float32
 *   (f64 → f32 → f64 around a float32 approximation), so float64 answers are float32-accurate (~1e-7).
 * - float32 second derivatives are wrong on the wasm device whenever a layer's output width is a multiple
 *   of 4 (its f32x4 SIMD kernels): the same code on jax-js's interpreted 'cpu' device, or in float64, agrees
 *   with metagrad. A minimal case: d/dW1 ⟨∇_W1 Σ((X·W1·W2)²), V⟩, X 4×3, W1 3×4, W2 4×4, is off by ~100%.
 * - Node 20 has no Float16Array, which jax-js tests with `instanceof` when it builds an array from a
 *   Float64Array; an empty placeholder class is installed (no float16 data is ever made).
 * jax-js frees arrays by reference counting: each function consumes its array arguments, `.ref` keeps one.
 *
 *   node bench/dist/peers/jaxjs.js --data d.json --ref r.json --dtype float64 --works meta_grad --out o.json [--variant eager]
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { numpy } from '@jax-js/jax';
import { type Leaf, type PeerImpl, type Work, LEAVES, runPeer } from './protocol.js';

(globalThis as { Float16Array?: unknown }).Float16Array ??= class Float16Array {};
const { grad, init, defaultDevice, jit, lax, numpy: np, tree } = await import('@jax-js/jax');

type Arr = numpy.Array;
type Params = { [K in Leaf]: Arr };
type Batch = { obs: Arr; act: Arr; adv: Arr };
type PostBatch = Batch & { logpOld: Arr };

const version = (JSON.parse(readFileSync(fileURLToPath(new URL('../package.json', import.meta.resolve('@jax-js/jax'))), 'utf8')) as { version: string }).version;
const refs = <T extends object>(t: T): T => tree.map((x: Arr) => x.ref, t as never) as T;

await runPeer(async (data, args): Promise<PeerImpl> => {
  await init('wasm');
  defaultDevice('wasm');
  const dtype = args.dtype === 'float64' ? np.float64 : np.float32;
  const leaf = (l: { shape: number[]; data: number[] }): Arr =>
    np.array(args.dtype === 'float64' ? Float64Array.from(l.data) : Float32Array.from(l.data), { shape: l.shape, dtype });
  const params = Object.fromEntries(LEAVES.map((k) => [k, leaf(data.params[k])])) as Params;
  const v = Object.fromEntries(LEAVES.map((k) => [k, leaf(data.v[k])])) as Params;
  const pre: Batch = { obs: leaf(data.pre.obs), act: leaf(data.pre.act), adv: leaf(data.pre.adv) };
  const post: PostBatch = { obs: leaf(data.post.obs), act: leaf(data.post.act), adv: leaf(data.post.adv), logpOld: leaf(data.post.logpOld) };
  const logNorm = data.params.W3.shape[1]! * 0.5 * Math.log(2 * Math.PI);

  // Objectives: the parameters are consumed, the batches borrowed (.ref).
  const logp = (p: Params, obs: Arr, act: Arr): Arr => {
    const h1 = np.tanh(np.matmul(obs.ref, p.W1).add(p.b1));
    const h2 = np.tanh(np.matmul(h1, p.W2).add(p.b2));
    const z = act.ref.sub(np.matmul(h2, p.W3).add(p.b3)).div(np.exp(p.logStd.ref));
    return np.sum(np.square(z), 1).mul(-0.5).sub(np.sum(p.logStd)).sub(logNorm);
  };
  const lvc = (p: Params, b: Batch): Arr => {
    const lp = logp(p, b.obs, b.act);
    return np.mean(np.exp(lp.ref.sub(lax.stopGradient(lp))).mul(b.adv.ref));
  };
  const lr = (p: Params, b: PostBatch): Arr => np.mean(np.exp(logp(p, b.obs, b.act).sub(b.logpOld.ref)).mul(b.adv.ref));
  const gradLvc = (p: Params, b: Batch): Params => grad((q: Params) => lvc(q, b))(p) as Params;
  const innerSteps = (p: Params, b: Batch): Params => {
    for (let i = 0; i < data.steps; i++) {
      const g = gradLvc(refs(p), b);
      p = Object.fromEntries(LEAVES.map((k) => [k, p[k].add(g[k].mul(data.alpha))])) as Params;
    }
    return p;
  };
  const bodies: Record<Work, (p: Params, pre: Batch, post: PostBatch, v: Params) => Params> = {
    inner_grad: (p, b) => gradLvc(p, b),
    meta_grad: (p, b, c) => grad((q: Params) => lr(innerSteps(q, b), c))(p) as Params,
    hvp: (p, b, _c, u) => grad((q: Params) => {
      const g = gradLvc(q, b);
      return LEAVES.map((k) => np.sum(g[k].mul(u[k].ref))).reduce((s, t) => s.add(t));
    })(p) as Params,
  };
  /** A work as a function that consumes all its arguments (so jit and eager see the same ownership). */
  const owned = (body: (typeof bodies)[Work]) => (p: Params, b: Batch, c: PostBatch, u: Params): Params => {
    const out = body(p, b, c, u);
    tree.dispose([b, c, u] as never);
    return out;
  };
  const call = (work: Work) => {
    const f = args.variant === 'eager' ? owned(bodies[work]) : jit(owned(bodies[work]) as never) as unknown as ReturnType<typeof owned>;
    // dataSync waits for the lazily evaluated result, copies it out and releases it.
    const run = (): Record<Leaf, ArrayLike<number>> => {
      const g = f(refs(params), refs(pre), refs(post), refs(v));
      return Object.fromEntries(LEAVES.map((k) => [k, g[k].dataSync()])) as Record<Leaf, ArrayLike<number>>;
    };
    return { answer: run, timed: run };
  };
  const f32Bug = 'jax-js wasm float32 second derivatives are wrong when a layer width is a multiple of 4 (see jaxjs.ts)';
  return {
    peer: 'jax-js', version,
    info: {
      device: 'wasm', mode: args.variant ?? 'jit',
      ...(args.dtype === 'float64' ? { note: 'float64 arrays, but exp/tanh/log are evaluated in float32 on the wasm device' } : {}),
    },
    calls: { inner_grad: call('inner_grad'), meta_grad: call('meta_grad'), hvp: call('hvp') },
    explain: args.dtype === 'float32' ? { meta_grad: f32Bug, hvp: f32Bug } : {},
  };
});

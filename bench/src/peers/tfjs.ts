/**
 * The TF.js peer process (see protocol.ts): the benchmark's objectives in @tensorflow/tfjs-core on the wasm
 * backend (@tensorflow/tfjs-backend-wasm, its SIMD binary from node_modules; single-threaded, as the wasm
 * backend always is in Node). float32 only: TF.js has no float64 dtype.
 *
 * Two TF.js facts shape this file:
 * - tfjs-core's Node entry (dist/tf-core.node.js) registers no gradients; they are registered only by its
 *   ESM file dist/register_all_gradients.js, written for bundlers (extensionless imports). So each process
 *   first bundles core + gradients + wasm backend into one CommonJS file with esbuild (a root
 *   devDependency; ~0.3 s, offline), which also keeps a single copy of the engine.
 * - TF.js gets second derivatives wrong through ops whose gradient reads the op's saved *output* (exp,
 *   tanh): the saved copy is recorded on the tape before the op itself, so the outer backward pass never
 *   reaches it and silently drops those terms (d²/dx² Σ tanh(x) even throws "Cannot compute gradient").
 *   Variant `builtin` uses tf.exp/tf.tanh and is checked to show it; the default variant `custom-grad`
 *   wraps them in tf.customGrad with a gradient recomputed from the saved *input*, which is correct.
 *
 *   node bench/dist/peers/tfjs.js --data d.json --ref r.json --dtype float32 --works meta_grad --out o.json [--variant builtin]
 */
import { buildSync } from 'esbuild';
import { rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as TF from '@tensorflow/tfjs-core';
import { type Leaf, type PeerImpl, type Work, LEAVES, runPeer } from './protocol.js';

type Tensor = TF.Tensor;
type CustomGradFunc = Parameters<typeof TF.customGrad>[0];
type TFModule = typeof TF & { setWasmPaths(prefix: string): void; getThreadsCount(): number };

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const require = createRequire(import.meta.url);

/** tfjs-core with its gradients and the wasm backend, bundled into one CommonJS module (see the header). */
function loadTfjs(): TFModule {
  const file = path.join(os.tmpdir(), `metagrad-peers-tfjs-${process.pid}.cjs`);
  buildSync({
    stdin: {
      contents: `export * from '@tensorflow/tfjs-core';
        import '@tensorflow/tfjs-core/dist/register_all_gradients';
        export { setWasmPaths, getThreadsCount } from '@tensorflow/tfjs-backend-wasm';`,
      resolveDir: ROOT, loader: 'js',
    },
    bundle: true, platform: 'node', format: 'cjs', mainFields: ['module', 'main'], outfile: file, logLevel: 'error',
  });
  try {
    return require(file) as TFModule;
  } finally {
    rmSync(file, { force: true });
  }
}

await runPeer(async (data, args): Promise<PeerImpl> => {
  const tf = loadTfjs();
  // The .wasm binaries next to the backend's Node entry, read from disk: nothing is fetched.
  tf.setWasmPaths(`${path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm'))}/`);
  await tf.setBackend('wasm');
  await tf.ready();
  const info = { backend: tf.getBackend(), simd: Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')), wasm_threads: tf.getThreadsCount() };
  const version = `tfjs-core ${tf.version_core}, tfjs-backend-wasm ${(require('@tensorflow/tfjs-backend-wasm/package.json') as { version: string }).version}`;
  if (args.dtype !== 'float32') return { peer: 'tfjs', version, info, calls: {}, explain: Object.fromEntries(args.works.map((w) => [w, 'TF.js has no float64 dtype'])) };

  const leaf = (l: { shape: number[]; data: number[] }): Tensor => tf.tensor(Float32Array.from(l.data), l.shape, 'float32');
  const params = LEAVES.map((k) => leaf(data.params[k]));
  const v = LEAVES.map((k) => leaf(data.v[k]));
  const pre = { obs: leaf(data.pre.obs), act: leaf(data.pre.act), adv: leaf(data.pre.adv) };
  const post = { obs: leaf(data.post.obs), act: leaf(data.post.act), adv: leaf(data.post.adv), logpOld: leaf(data.post.logpOld) };
  const actDim = data.params.W3.shape[1]!;

  type Unary = (x: Tensor) => Tensor;
  /** f with the gradient dy·df(x) recomputed from the saved input x (correct at every order). */
  const fromInput = (f: Unary, df: Unary): Unary => tf.customGrad(((x: Tensor, save: TF.GradSaveFunc) => {
    save([x]);
    return { value: f(x), gradFunc: (dy: Tensor, [x0]: Tensor[]) => tf.mul(dy, df(x0!)) };
  }) as unknown as CustomGradFunc) as Unary;
  const builtin = args.variant === 'builtin';
  const exp: Unary = builtin ? tf.exp : fromInput(tf.exp, tf.exp);
  const tanh: Unary = builtin ? tf.tanh : fromInput(tf.tanh, (x) => tf.sub(1, tf.square(tf.tanh(x))));
  const stopGradient = tf.customGrad(((x: Tensor) => ({ value: tf.clone(x), gradFunc: (dy: Tensor) => tf.zerosLike(dy) })) as unknown as CustomGradFunc) as Unary;

  /** log π_θ(a|o) per sample, as policy.ts computes it. */
  const logp = ([W1, b1, W2, b2, W3, b3, logStd]: Tensor[], obs: Tensor, act: Tensor): Tensor => {
    const h1 = tanh(tf.add(tf.matMul(obs, W1!), b1!));
    const h2 = tanh(tf.add(tf.matMul(h1, W2!), b2!));
    const z = tf.div(tf.sub(act, tf.add(tf.matMul(h2, W3!), b3!)), exp(logStd!));
    return tf.sub(tf.sub(tf.mul(tf.sum(tf.square(z), 1), -0.5), tf.sum(logStd!)), actDim * 0.5 * Math.log(2 * Math.PI));
  };
  const lvc = (p: Tensor[]): Tensor => {
    const lp = logp(p, pre.obs, pre.act);
    return tf.mean(tf.mul(exp(tf.sub(lp, stopGradient(lp))), pre.adv));
  };
  const lr = (p: Tensor[]): Tensor => tf.mean(tf.mul(exp(tf.sub(logp(p, post.obs, post.act), post.logpOld)), post.adv));
  const gradLvc = (p: Tensor[]): Tensor[] => tf.grads((...q: Tensor[]) => lvc(q))(p);
  const innerSteps = (p: Tensor[]): Tensor[] => {
    for (let i = 0; i < data.steps; i++) {
      const g = gradLvc(p);
      p = p.map((w, j) => tf.add(w, tf.mul(g[j]!, data.alpha)));
    }
    return p;
  };
  const works: Record<Work, () => Tensor[]> = {
    inner_grad: () => gradLvc(params),
    meta_grad: () => tf.grads((...p: Tensor[]) => lr(innerSteps(p)))(params),
    hvp: () => tf.grads((...p: Tensor[]) => tf.addN(gradLvc(p).map((g, j) => tf.sum(tf.mul(g, v[j]!)))))(params),
  };
  /** Runs a work in a tidy scope and reads the gradient out (disposing it). */
  const run = (f: () => Tensor[]): Record<Leaf, Float32Array> => {
    const g = tf.tidy(f);
    const out = Object.fromEntries(LEAVES.map((k, j) => [k, g[j]!.dataSync() as Float32Array])) as Record<Leaf, Float32Array>;
    tf.dispose(g);
    return out;
  };
  const call = (f: () => Tensor[]) => ({ answer: () => run(f), timed: () => run(f) });
  const whyWrong = builtin ? 'TF.js drops second-order terms through exp/tanh, whose gradients read their saved outputs (see tfjs.ts)' : undefined;
  return {
    peer: builtin ? 'tfjs (built-in exp/tanh)' : 'tfjs', version, info,
    calls: { inner_grad: call(works.inner_grad), meta_grad: call(works.meta_grad), hvp: call(works.hvp) },
    explain: whyWrong ? { meta_grad: whyWrong, hvp: whyWrong } : {},
  };
});

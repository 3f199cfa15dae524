/**
 * Per-example gradients: the gradient of the benchmark policy's log-likelihood log π_θ(a_i|o_i) for each
 * of N = 2000 samples (the (20 → 64 → 64 → 6) tanh-MLP Gaussian policy of the autodiff benchmark), by
 * `vmap(grad)` in one call, and by a loop of N `grad` calls; checked equal (float64, to 1e-12 relative)
 * before timing. Medians of a few passes each, both measured in this process moments apart.
 *
 *   npx tsc -b && node bench/dist/per-example.js [--n 2000] [--passes 5]
 *
 * Writes bench/results/per-example.json.
 */
import { type Tensor, grad, noGrad, tensor, vmap } from '@metagrad/autograd';
import { BATCH, type PolicyParams, gaussianLogProb, initPolicy, makeBatches } from './policy.js';
import { type BenchResult, machine, median, sig, writeResults } from './results.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1]! : fallback;
}

const N = Number(arg('n', String(BATCH)));
const PASSES = Math.max(1, Number(arg('passes', '5')));

const params = initPolicy(1, 'float64');
const { pre } = makeBatches(params, 2, N, 'float64');
const obsDim = pre.obs.shape[1]!, actDim = pre.act.shape[1]!;

/** log π_θ(a|o) of one sample: o [obsDim], a [actDim]. */
const logp = (p: PolicyParams, o: Tensor, a: Tensor): Tensor => gaussianLogProb(p, o.reshape([1, obsDim]), a.reshape([1, actDim])).sum();
const keys = Object.keys(params) as (keyof PolicyParams)[];

/** Every sample's gradient as one [N, …] tensor per parameter: vmap of grad. */
const viaVmap = (): PolicyParams => noGrad(() => vmap((o: Tensor, a: Tensor) => grad((p: PolicyParams) => logp(p, o, a))(params))(pre.obs, pre.act));

/** The same by a loop of N grad calls, stacked. */
function viaLoop(): Float64Array[] {
  const obs = pre.obs.toArray(), act = pre.act.toArray();
  const out = keys.map((k) => new Float64Array(N * params[k].size));
  for (let i = 0; i < N; i++) {
    const o = tensor(obs.subarray(i * obsDim, (i + 1) * obsDim) as Float64Array, [obsDim]);
    const a = tensor(act.subarray(i * actDim, (i + 1) * actDim) as Float64Array, [actDim]);
    const g = noGrad(() => grad((p: PolicyParams) => logp(p, o, a))(params));
    keys.forEach((k, j) => out[j]!.set(g[k].toArray(), i * params[k].size));
  }
  return out;
}

function relErr(a: Float64Array, b: Float64Array): number {
  let num = 0, den = 0;
  for (let i = 0; i < a.length; i++) {
    num = Math.max(num, Math.abs(a[i]! - b[i]!));
    den = Math.max(den, Math.abs(b[i]!));
  }
  return num / (den || 1);
}

function time(fn: () => unknown): number[] {
  const ms: number[] = [];
  for (let i = 0; i < PASSES; i++) {
    const t0 = performance.now();
    fn();
    ms.push(performance.now() - t0);
  }
  return ms;
}

const v = viaVmap();
const l = viaLoop();
const err = Math.max(...keys.map((k, j) => relErr(v[k].toArray() as Float64Array, l[j]!)));
console.log(`per-example gradients of log π over N = ${N} samples: vmap(grad) vs a loop of grad calls, max relative difference ${err.toExponential(2)}`);
if (!(err <= 1e-12)) throw new Error(`vmap(grad) and the loop differ by ${err} (> 1e-12)`);
viaVmap(); // warm-up
/**
 * The memory floor: allocating the N per-example gradients (fresh float64 arrays, as each pass returns
 * new ones) and writing every entry once, with nothing computed. Neither way can beat it, so it bounds
 * the speed-up at loop / floor on this machine.
 */
function floor(): number {
  let s = 0;
  for (const k of keys) {
    const out = new Float64Array(N * params[k].size);
    for (let i = 0; i < out.length; i++) out[i] = i;
    s += out[out.length - 1]!;
  }
  return s;
}
const tv = time(viaVmap);
const tl = time(viaLoop);
const tf = time(floor);
const mv = median(tv), ml = median(tl), mf = median(tf);
const mb = keys.reduce((s, k) => s + N * params[k].size * 8, 0) / 2 ** 20;
console.table([
  { work: 'vmap(grad)', 'median ms': sig(mv), 'min ms': sig(Math.min(...tv)) },
  { work: `loop of ${N} grad calls`, 'median ms': sig(ml), 'min ms': sig(Math.min(...tl)) },
  { work: `memory floor: write ${mb.toFixed(0)} MB of fresh float64`, 'median ms': sig(mf), 'min ms': sig(Math.min(...tf)) },
]);
console.log(`speed-up of vmap(grad) over the loop: ${(ml / mv).toFixed(1)}× (target ≥ 10×); vmap(grad) / memory floor = ${(mv / mf).toFixed(2)}, so no method can exceed ${(ml / mf).toFixed(1)}× here`);
const date = new Date().toISOString();
const row = (work: string, ms: number[]): BenchResult => ({
  suite: 'per-example', work, dtype: 'float64', backend: 'cpu', mode: null, median_ms: sig(median(ms)), gflops: null, steps_per_s: null,
  rel_err: sig(err, 3), machine: machine(), date, samples: N, passes: PASSES, min_ms: sig(Math.min(...ms)),
});
const path = writeResults('per-example', [
  row('per_example_grad_vmap', tv), row('per_example_grad_loop', tl), row('per_example_memory_floor', tf),
  { ...row('per_example_grad_speedup', tv), median_ms: null, speedup: sig(ml / mv, 3) },
]);
console.log(`wrote ${path}`);

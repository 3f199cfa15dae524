/**
 * The metagrad peer process (see protocol.ts): the benchmark's own calls, `workloadFromData(data, dtype)`
 * from workloads.ts, on the cpu backend, eager (variant `eager`) or compiled with `jit` (variant `jit`),
 * on the matmul threads the driver sets (METAGRAD_THREADS = the spec's threads), one dtype per process (as autodiff.bench.ts does:
 * once V8 has run the shared kernels on both Float64Array and Float32Array they stay polymorphic and slower).
 * With k > 1 inner steps (the scaling runs) meta_grad is scaled.ts's k-step meta-gradient.
 *
 *   node bench/dist/peers/metagrad.js --data d.json --ref r.json --dtype float64 --works meta_grad --out o.json
 */
import { readFileSync } from 'node:fs';
import { backendReport, jit, setBackend } from '@metagrad/autograd';
import { type Batch, type PolicyParams, type PostBatch, ALPHA } from '../policy.js';
import { workloadFromData } from '../workloads.js';
import { type Leaf, LEAVES, runPeer } from './protocol.js';
import { metaGradSteps } from './scaled.js';

setBackend('cpu');

const leaves = (p: PolicyParams): Record<Leaf, ArrayLike<number>> =>
  Object.fromEntries(LEAVES.map((k) => [k, p[k].data])) as unknown as Record<Leaf, ArrayLike<number>>;

const version = (JSON.parse(readFileSync(new URL('../../../packages/autograd/package.json', import.meta.url), 'utf8')) as { version: string }).version;

await runPeer(async (data, args) => {
  const w = workloadFromData(data, args.dtype);
  const compiled = args.variant === 'jit';
  const stepsJ = jit((p: PolicyParams, pre: Batch, post: PostBatch, steps: number, alpha: number) => metaGradSteps(p, pre, post, steps, alpha));
  const meta = data.steps === 1 && data.alpha === ALPHA
    ? compiled ? () => w.metaGradJit() : () => w.metaGrad()
    : compiled ? () => stepsJ(w.params, w.pre, w.post, data.steps, data.alpha) : () => metaGradSteps(w.params, w.pre, w.post, data.steps, data.alpha);
  const call = (f: () => PolicyParams) => ({ answer: () => leaves(f()), timed: f });
  return {
    peer: 'metagrad', version,
    info: { backend: 'cpu', matmul_threads: backendReport().cpuThreads, jit: compiled },
    calls: {
      inner_grad: call(compiled ? () => w.innerGradJit() : () => w.innerGrad()), meta_grad: call(meta),
      hvp: call(compiled ? () => w.hvpJit() : () => w.hvp()),
    },
  };
});

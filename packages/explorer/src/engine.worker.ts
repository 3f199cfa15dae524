/**
 * The engine's Web Worker: every computation of the page runs here, so the page stays responsive.
 * - analyze: exactAnalysis (autodiff over every trajectory, the reference) up to (S·A)^H = 8,000
 *   trajectories (≤ 0.2 s), exactSummary above (the same numbers to 1e-10, fast enough for a slider up to
 *   531,441), plus the identity residual, LVC's and DiCE's Hessian bias and the per-trajectory variance ratio;
 * - variance: the Fig. 3 experiment on the tabular MDP (gradientVarianceExperiment), with progress;
 * - engine: gpu.js in this browser (installGpujs; its mode, renderer, and why) and float32 matmuls on
 *   the wasm cpu backend and on gpu.js, timed, with the largest relative difference between them;
 * - train / evaluate: the trainer (`train`, `evaluate` of @metagrad/rl, the CLI's code path) on a point
 *   task in this worker, and the CLI's trajectory panel of the evaluation (the paper's Fig. 4 style).
 */
import { type GpuInfo, type Tensor, backendReport, cpuKernel, noGrad, setBackend, tensor } from '@metagrad/autograd';
import { installGpujs } from '@metagrad/autograd/gpujs';
import { exactAnalysis, exactSummary, gradientVarianceExperiment } from '@metagrad/rl/tabular';
import { type Checkpoint, type ConfigInput, evaluate, resolveConfig, train } from '@metagrad/rl';
import { panelFromEvaluation } from '../../cli/src/report/exploration.js';
import type { Adaptation, Analysis, EngineReport, Reply, Request, VarianceRow } from './protocol.js';

const post = (r: Reply): void => (self as unknown as Worker).postMessage(r);
const norm = (t: Tensor): number => Math.sqrt(Array.from(t.data).reduce((s, x) => s + x * x, 0));

/** Up to this many trajectories ((S·A)^H) the panel runs exactAnalysis itself; above, exactSummary. */
const EXACT_ANALYSIS_LIMIT = 8000;

function analyze(req: Extract<Request, { type: 'analyze' }>): Analysis {
  const t0 = performance.now();
  const { S, A } = req.mdp;
  const theta = tensor(Float64Array.from(req.theta), [S, A]);
  const method = (S * A) ** req.mdp.H <= EXACT_ANALYSIS_LIMIT ? 'exactAnalysis' : 'exactSummary';
  const x = method === 'exactAnalysis' ? exactAnalysis(req.mdp, theta) : exactSummary(req.mdp, theta);
  return noGrad(() => {
    const h = norm(x.hessian) || 1;
    const sum = x.H1.add(x.H2).add(x.H12).add(x.H12.T);
    const total = (t: Tensor): number => Array.from(t.data).reduce((s, v) => s + v, 0);
    const flat = (t: Tensor): number[] => Array.from(t.data);
    return {
      S, A, J: x.J, grad: flat(x.grad), hessian: flat(x.hessian), H1: flat(x.H1), H2: flat(x.H2), H12: flat(x.H12),
      diceHessianMean: flat(x.diceHessianMean), lvcHessianMean: flat(x.lvcHessianMean),
      residual: norm(sum.sub(x.hessian)) / h,
      lvcBias: norm(x.lvcHessianMean.sub(x.hessian)) / h,
      diceBias: norm(x.diceHessianMean.sub(x.hessian)) / h,
      varianceRatio: total(x.diceHessianVar) / total(x.lvcHessianVar),
      trajectories: x.trajectories,
      method,
      ms: performance.now() - t0,
    };
  });
}

function variance(req: Extract<Request, { type: 'variance' }>): VarianceRow[] {
  const { S, A } = req.mdp;
  const theta = tensor(Float64Array.from(req.theta), [S, A]);
  let last = 0;
  const res = gradientVarianceExperiment(req.mdp, theta, {
    alpha: req.alpha, batchSizes: req.batchSizes, nPost: req.nPost, repeats: req.repeats, seed: req.seed,
    onProgress: (done, total) => {
      const now = performance.now();
      if (now - last > 50 || done === total) {
        last = now;
        post({ id: req.id, type: 'progress', done, total });
      }
    },
  });
  return res.map((r) => ({ estimator: r.estimator, nPre: r.nPre, relStd: r.relStd }));
}

/**
 * Milliseconds per call of f: calls in a row until at least 50 ms have passed (a worker's clock ticks in
 * 0.1 ms or coarser), `batches` such runs, the median of their per-call times.
 */
function timeIt(f: () => void, batches: number): number {
  const per: number[] = [];
  for (let b = 0; b < batches; b++) {
    const t0 = performance.now();
    let calls = 0, t = t0;
    do {
      f();
      calls++;
      t = performance.now();
    } while (t - t0 < 50);
    per.push((t - t0) / calls);
  }
  per.sort((a, c) => a - c);
  return per[Math.floor(per.length / 2)]!;
}

function engine(req: Extract<Request, { type: 'engine' }>): EngineReport {
  let info: GpuInfo | null = null, failure = '';
  try {
    info = installGpujs().gpujs;
  } catch (e) {
    failure = e instanceof Error ? e.message : String(e);
  }
  const report = backendReport();
  const rows: EngineReport['rows'] = [];
  req.sizes.forEach((n, i) => {
    const a = Float32Array.from({ length: n * n }, (_, k) => (((k * 37 + 11) % 101) - 50) / 50);
    const b = Float32Array.from({ length: n * n }, (_, k) => (((k * 53 + 7) % 97) - 48) / 48);
    const A = tensor(a, [n, n], { dtype: 'float32' }), B = tensor(b, [n, n], { dtype: 'float32' });
    const flops = 2 * n ** 3;
    const reps = n <= 1024 ? 3 : 1;
    setBackend('cpu');
    const cpuOut = noGrad(() => A.matmul(B)).data;
    const cpuMs = timeIt(() => noGrad(() => A.matmul(B)), reps);
    let gpujsMs: number | null = null, maxRelDiff: number | null = null;
    if (info?.available) {
      setBackend('gpujs');
      const gOut = noGrad(() => A.matmul(B)).data; // compiles the kernel
      gpujsMs = timeIt(() => noGrad(() => A.matmul(B)), reps);
      let scale = 0, diff = 0;
      for (let k = 0; k < cpuOut.length; k++) {
        scale = Math.max(scale, Math.abs(cpuOut[k]!));
        diff = Math.max(diff, Math.abs(cpuOut[k]! - gOut[k]!));
      }
      maxRelDiff = diff / (scale || 1);
      setBackend('auto');
    }
    rows.push({ n, cpuMs, gpujsMs, maxRelDiff, cpuGflops: flops / cpuMs / 1e6, gpujsGflops: gpujsMs === null ? null : flops / gpujsMs / 1e6 });
    post({ id: req.id, type: 'progress', done: i + 1, total: req.sizes.length });
  });
  return {
    mode: info?.mode ?? 'none', isGpu: info?.isGpu ?? false, software: info?.software ?? false, renderer: info?.renderer ?? null,
    reason: info?.reason ?? `gpu.js did not load: ${failure}`, float32: report.float32, cpuKernel: cpuKernel(), rows,
  };
}

/** The point envs this panel draws (2-D positions first in the observation). */
const POINT_ENVS = ['point-corner', 'point-momentum', 'point-goal'];

/** Trains (type 'train') or takes a dropped run's checkpoint (type 'evaluate'), then evaluates on fresh tasks. */
async function adapt(req: Extract<Request, { type: 'train' | 'evaluate' }>): Promise<Adaptation> {
  const t0 = performance.now();
  const config = resolveConfig({ ...req.config, workers: 1 } as ConfigInput);
  if (!POINT_ENVS.includes(config.env)) throw new Error(`the adaptation panel draws the point tasks (${POINT_ENVS.join(', ')}); this run is on ${config.env}`);
  const records: Adaptation['records'] = [];
  let checkpoint: Checkpoint;
  if (req.type === 'train') {
    const res = await train(config, {
      hooks: {
        onIteration: (r) => {
          records.push({ iteration: r.iteration, envSteps: r.envSteps, pre: r.returns[0]!, post: r.returns.at(-1)! });
          post({ id: req.id, type: 'progress', done: r.iteration + 1, total: config.iterations, text: `iteration ${r.iteration + 1}: return ${r.returns[0]!.toFixed(2)} → ${r.returns.at(-1)!.toFixed(2)}` });
        },
      },
    });
    checkpoint = res.checkpoint!;
  } else checkpoint = req.checkpoint as Checkpoint;
  post({ id: req.id, type: 'progress', done: 0, total: 1, text: `evaluating on ${req.evalTasks} fresh tasks…` });
  const res = await evaluate(config, checkpoint, { tasks: req.evalTasks, seed: req.evalSeed, keepTrajectories: true });
  return {
    records, evalReturns: res.returns, panel: panelFromEvaluation(res, config.algo, 8, 'median').panel,
    config: config as unknown as Record<string, unknown>, seconds: (performance.now() - t0) / 1000,
  };
}

self.onmessage = async (e: MessageEvent<Request>) => {
  const req = e.data;
  try {
    const result = req.type === 'analyze' ? analyze(req) : req.type === 'variance' ? variance(req) : req.type === 'engine' ? engine(req) : await adapt(req);
    post({ id: req.id, type: 'result', result });
  } catch (err) {
    post({ id: req.id, type: 'error', message: err instanceof Error ? err.message : String(err) });
  }
};

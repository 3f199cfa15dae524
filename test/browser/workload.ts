/**
 * The computations of the browser test, written once and run twice: in Node (vitest, the packages'
 * TypeScript sources) and in headless Chromium (the esbuild bundle of the built packages, page.ts).
 * Everything the libraries provide comes in through `libs`, so this module imports nothing at run time
 * and both sides run exactly this code. Results are plain numbers and arrays (JSON through Playwright).
 */
import type * as Autograd from '@metagrad/autograd';
import type * as Gpujs from '@metagrad/autograd/gpujs';
import type * as Estimators from '@metagrad/rl/estimators';
import type * as Tabular from '@metagrad/rl/tabular';

/** The public entry points the workload uses, as imported by the caller. */
export interface Libs {
  autograd: typeof Autograd;
  estimators: typeof Estimators;
  tabular: typeof Tabular;
}

/** The float64 numbers compared element by element between Node and the browser. */
export interface Float64Numbers {
  /** DiCE objective of the Gaussian MLP policy at θ. */
  value: number;
  /** ∇θ of it, flat in the policy's treeLeaves order. */
  grad: number[];
  /** ∇²θ·v by double backward, flat in the same order. */
  hvp: number[];
  /**
   * randomTabular(3, 3, 2, 4)'s MDP and θ, flat (init, P, R, θ): its simplexes use Math.log, so they may
   * differ in the last bit between engines; compared separately from the analysis.
   */
  tabularInputs: number[];
  /** exactAnalysis of that MDP at θ: J and flat gradient / Hessian blocks. */
  exact: {
    J: number;
    grad: number[];
    hessian: number[];
    H1: number[];
    H2: number[];
    H12: number[];
    diceHessianMean: number[];
    lvcHessianMean: number[];
  };
}

const N = 4; // trajectories
const T = 5; // steps
const OBS = 3;
const ACT = 2;

/**
 * (a) the HVP of a nontrivial float64 objective: the DiCE surrogate (Eq. 57, all orders of the magic box)
 * of a tanh-MLP Gaussian policy (3 → 8 → 8 → 2, learned log-std) on a fixed batch, plus half the LVC
 * surrogate, at fixed parameters θ and direction v; (b) exactAnalysis of a fixed tabular MDP.
 */
export function float64Workload({ autograd, estimators, tabular }: Libs): Float64Numbers {
  const { Rng, rand, tensor, grad, hvp } = autograd;
  const { GaussianMLPPolicy, dice, lvc, rewardToGo } = estimators;
  const policy = new GaussianMLPPolicy({ obsDim: OBS, actDim: ACT, hidden: [8, 8], initLogStd: -0.3 });
  const rng = new Rng(2024);
  const theta = policy.init(rng);
  // Inputs from uniform draws only (rand: integer generator, one multiply-add): no Math.log/cos/exp,
  // whose last bit differs between Node 20's V8 and Chromium's, so both sides start from the same bits.
  // Nonzero biases so every block of the Hessian is exercised.
  theta.layers = theta.layers.map(({ W, b }) => ({ W, b: rand(b.shape, rng, -0.3, 0.3) }));
  const obs = rand([N, T, OBS], rng, -2, 2);
  const actions = rand([N, T, ACT], rng, -1.5, 1.5);
  const rewards = rand([N, T], rng, -1, 1);
  const mask = tensor(Array.from({ length: N }, (_, n) => Array.from({ length: T }, (_, t) => (t < T - (n % 2) ? 1 : 0))));
  const steps = { mask };
  const returns = rewardToGo(rewards, mask);
  const v = policy.unflatten(Float64Array.from({ length: policy.numParams }, () => rng.uniformIn(-1, 1)));

  type P = ReturnType<typeof policy.init>;
  const f = (p: P): Autograd.Tensor => {
    const logp = policy.logProb(p, obs, actions); // [N, T]
    return dice(logp, rewards, steps).add(lvc(logp, returns, steps).mul(0.5));
  };
  const value = f(theta).item();
  const g = grad(f)(theta);
  const h = hvp(f, theta, v);

  const { mdp, theta: tabTheta } = tabular.randomTabular(3, 3, 2, 4);
  const x = tabular.exactAnalysis(mdp, tabTheta);
  const flat = (t: Autograd.Tensor): number[] => Array.from(t.data);
  return {
    value,
    grad: Array.from(policy.flatten(g)),
    hvp: Array.from(policy.flatten(h)),
    tabularInputs: [
      ...Array.from(mdp.init),
      ...Array.from(mdp.P).flatMap((ps) => Array.from(ps).flatMap((p) => Array.from(p))),
      ...Array.from(mdp.R).flatMap((r) => Array.from(r)),
      ...Array.from(tabTheta.data),
    ],
    exact: {
      J: x.J,
      grad: flat(x.grad),
      hessian: flat(x.hessian),
      H1: flat(x.H1),
      H2: flat(x.H2),
      H12: flat(x.H12),
      diceHessianMean: flat(x.diceHessianMean),
      lvcHessianMean: flat(x.lvcHessianMean),
    },
  };
}

/** Matmul sizes: [M×K]·[K×N] in float32. */
export const MM = { m: 64, k: 48, n: 40 } as const;

/** The matmul operands: deterministic values in [−1, 1] from integer arithmetic (no Math.sin etc.). */
export function matmulOperands(): { a: Float32Array; b: Float32Array } {
  const { m, k, n } = MM;
  const a = Float32Array.from({ length: m * k }, (_, i) => (((i * 37 + 11) % 101) - 50) / 50);
  const b = Float32Array.from({ length: k * n }, (_, i) => (((i * 53 + 7) % 97) - 48) / 48);
  return { a, b };
}

/** A·B in float32 on the matmul backend now set (setBackend), as a plain array. */
export function matmulNow(autograd: typeof Autograd): number[] {
  const { m, k, n } = MM;
  const { a, b } = matmulOperands();
  const A = autograd.tensor(a, [m, k], { dtype: 'float32' });
  const B = autograd.tensor(b, [k, n], { dtype: 'float32' });
  return Array.from(A.matmul(B).data);
}

/** What the gpu.js part of the page returns. */
export interface GpujsNumbers {
  info: Autograd.GpuInfo;
  /** backendReport().float32 while setBackend('gpujs') was live. */
  float32Report: string;
  gpujs: number[];
  cpu: number[];
  cpuKernel: string;
}

/** (c) installGpujs(), gpujsInfo(), and the same float32 product with setBackend('gpujs') and 'cpu'. */
export function gpujsWorkload(autograd: typeof Autograd, gpujs: typeof Gpujs): GpujsNumbers {
  gpujs.installGpujs();
  const info = gpujs.gpujsInfo();
  const report = autograd.setBackend('gpujs');
  const onGpujs = matmulNow(autograd);
  autograd.setBackend('cpu');
  const onCpu = matmulNow(autograd);
  autograd.setBackend('auto');
  return { info, float32Report: report.float32, gpujs: onGpujs, cpu: onCpu, cpuKernel: autograd.cpuKernel() };
}

/**
 * Value, gradient and Hessian-vector product of a float32 tanh MLP objective (all three matmuls of each
 * derivative order on the matmul backend now set), flat: [value, ∇W1, ∇W2, HVP W1, HVP W2].
 * Inputs from integer arithmetic, so both sides build the same bits.
 */
export function float32Objective(autograd: typeof Autograd): number[] {
  const f32 = { dtype: 'float32' as const };
  const fill = (n: number, a: number, c: number, s: number): Float32Array => Float32Array.from({ length: n }, (_, i) => ((((i * a + c) % 89) - 44) / 44) * s);
  const X = autograd.tensor(fill(37 * 7, 31, 5, 1), [37, 7], f32);
  const p = { W1: autograd.tensor(fill(7 * 33, 17, 3, 0.3), [7, 33], f32), W2: autograd.tensor(fill(33 * 5, 13, 9, 0.3), [33, 5], f32) };
  const v = { W1: autograd.tensor(fill(7 * 33, 23, 1, 1), [7, 33], f32), W2: autograd.tensor(fill(33 * 5, 29, 4, 1), [33, 5], f32) };
  const f = (q: typeof p): Autograd.Tensor => X.matmul(q.W1).tanh().matmul(q.W2).tanh().square().sum();
  const g = autograd.grad(f)(p);
  const h = autograd.hvp(f, p, v);
  return [f(p), g.W1, g.W2, h.W1, h.W2].flatMap((t) => Array.from(t.data));
}

/** What the engine's Web Worker of the webgpu page test returns (or the error that stopped it). */
export interface WebgpuNumbers {
  error?: string;
  crossOriginIsolated: boolean;
  info: Autograd.GpuInfo;
  float32Report: string;
  matmul: { webgpu: number[]; cpu: number[] };
  objective: { webgpu: number[]; cpu: number[] };
}

/** In the engine's worker: the matmul and the objective on webgpu (served by the page) and on cpu. */
export function webgpuWorkload(autograd: typeof Autograd, gpujs: typeof Gpujs): WebgpuNumbers {
  const info = gpujs.installGpujs({ mode: 'webgpu' }).gpujs!;
  const report = autograd.setBackend('gpujs');
  const onGpu = { matmul: matmulNow(autograd), objective: float32Objective(autograd) };
  autograd.setBackend('cpu');
  const onCpu = { matmul: matmulNow(autograd), objective: float32Objective(autograd) };
  autograd.setBackend('auto');
  return {
    crossOriginIsolated: (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true, info, float32Report: report.float32,
    matmul: { webgpu: onGpu.matmul, cpu: onCpu.matmul }, objective: { webgpu: onGpu.objective, cpu: onCpu.objective },
  };
}

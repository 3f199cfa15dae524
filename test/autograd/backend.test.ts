/**
 * The gpujs backend inside the graph: a float32 MLP's value, gradient and Hessian-vector product with
 * every matmul on gpu.js equal the cpu backend's within float32 tolerance, in every gpu.js mode this
 * machine has (cpu and webasm always; headlessgl under xvfb-run, as CI runs it; webgpu on a Vulkan
 * driver, in CI Chromium's SwiftShader).
 */
import { describe, it, expect, afterAll } from 'vitest';
import { Rng, type Tensor, backendReport, cpuKernel, grad, hvp, randn, setBackend } from '@metagrad/autograd';
import { disposeGpujs, gpujsInfo, installGpujs, probeWebgpu, setGpujsMode } from '@metagrad/autograd/gpujs';
import { allClose, webgpuForTests } from '../helpers.js';

type P = { W1: Tensor; W2: Tensor };
const rng = new Rng(5);
const f32 = { dtype: 'float32' as const };
const p: P = { W1: randn([7, 33], rng, f32).mul(0.3), W2: randn([33, 5], rng, f32).mul(0.3) };
const X = randn([2, 19, 7], rng, f32); // batched input: the batch axis broadcasts against 2-D weights
const v: P = { W1: randn([7, 33], rng, f32), W2: randn([33, 5], rng, f32) };
const f = (q: P): Tensor => X.matmul(q.W1).tanh().matmul(q.W2).tanh().square().sum();

function run(): Tensor[] {
  const g = grad(f)(p);
  const h = hvp(f, p, v);
  return [f(p), g.W1, g.W2, h.W1, h.W2];
}

const mustWebgpu = webgpuForTests();
installGpujs();
const headless = process.env.METAGRAD_EXPECT_MODE === 'headlessgl';
/** Why headlessgl cannot run in this process (no `gl` build, or no X display), or null when it can. */
const noHeadless = ((): string | null => {
  const info = gpujsInfo(); // 'auto' picks headlessgl first when it works
  if (info.mode === 'headlessgl') return null;
  const m = /headlessgl: [^;]*/.exec(info.reason);
  return m ? m[0] : 'headlessgl not available';
})();
const modes = ['cpu', 'webasm', ...(headless || noHeadless === null ? ['headlessgl'] : []), ...(mustWebgpu ? ['webgpu'] : [])];

describe('gpujs backend in the graph', () => {
  afterAll(() => {
    setBackend('auto');
    disposeGpujs();
  });

  const reference = (() => {
    setBackend('cpu');
    return run();
  })();

  for (const mode of modes)
    it(`value, gradient and HVP through gpu.js matmuls (${mode} mode) equal the cpu backend's`, () => {
      setGpujsMode(mode);
      const report = setBackend('gpujs');
      expect(report.gpujs!.mode).toBe(mode);
      expect(report.float32).toContain(`gpujs in mode ${mode}`);
      const got = run();
      setBackend('cpu');
      got.forEach((t, i) => allClose(t, reference[i]!, 2e-4, `output ${i}`));
    });

  it('float64 stays on cpu whatever the setting', () => {
    setGpujsMode('cpu');
    expect(setBackend('gpujs').float64).toBe('cpu');
    const x = randn([3, 3], 1);
    expect(x.matmul(x).dtype).toBe('float64');
    setBackend('cpu');
  });

  it('auto never calls software a GPU, and the report says which mode ran and why', () => {
    setBackend('auto');
    const r = backendReport();
    const info = gpujsInfo();
    if (!info.isGpu || info.software) expect(r.float32).toMatch(/^cpu \(gpu.js has no hardware GPU here/);
    expect(info.reason.length).toBeGreaterThan(10);
    if (info.mode === 'webasm' || info.mode === 'cpu') expect(info.isGpu).toBe(false);
  });

  it('forcing an unavailable backend or mode throws naming what is missing', () => {
    expect(() => setBackend('cuda' as never)).toThrow("setBackend: unknown backend 'cuda' (use 'auto', 'cpu' or 'gpujs')");
    if (noHeadless !== null)
      expect(() => setGpujsMode('headlessgl')).toThrow(/headlessgl: (the optional native package gl is not loadable|gl loaded but no GL context \(DISPLAY is unset|gl loaded but creating a GL context failed)/);
  });

  it('webgpu: the probe asks Dawn for an adapter and every report says what answered; without one the mode is refused with that reason', async () => {
    const probe = await probeWebgpu();
    expect(probe.reason).toMatch(/^webgpu[: ]/);
    setGpujsMode('cpu');
    expect(gpujsInfo().reason).toContain(probe.reason);
    if (probe.adapter === null) {
      expect(mustWebgpu).toBe(false);
      expect(probe.reason).toMatch(/no adapter answered|not installed|no Vulkan loader|did not/);
      expect(() => setGpujsMode('webgpu')).toThrow(probe.reason);
    } else {
      expect(probe.reason).toContain(probe.adapter);
      expect(setGpujsMode('webgpu').reason).toContain(probe.reason);
    }
  }, 40_000);

  it.runIf(mustWebgpu)("auto passes over a software webgpu adapter (SwiftShader) and says so; forced, the report names it", () => {
    setGpujsMode('auto');
    const info = gpujsInfo();
    expect(info.mode).not.toBe('webgpu');
    expect(info.reason).toMatch(/webgpu \((SwiftShader|lavapipe|.*), software\)/);
    setGpujsMode('webgpu');
    const r = setBackend('gpujs');
    expect(r.float32).toBe('gpujs in mode webgpu (forced), which computes on the CPU');
    expect(r.gpujs!.reason).toMatch(/^webgpu \(SwiftShader, software\)|^webgpu \(/);
    setBackend('auto');
    expect(backendReport().float32).toMatch(/^cpu \(gpu.js has no hardware GPU here: webgpu, software\)/);
  });

  it('the cpu backend runs the wasm SIMD matmul kernels on Node 20 and says so', () => {
    expect(cpuKernel()).toBe('wasm-simd');
    expect(backendReport().cpuKernel).toBe('wasm-simd');
  });

  it.skipIf(noHeadless !== null && !headless)(`headlessgl runs where gl and a display are present (CI runs it under xvfb-run)${noHeadless && !headless ? ` — skipped here: ${noHeadless}` : ''}`, () => {
    const info = setGpujsMode('headlessgl');
    expect(info.mode).toBe('headlessgl');
    expect(info.available).toBe(true);
  });
});

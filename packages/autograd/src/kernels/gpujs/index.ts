/**
 * float32 matmul on gpu.js 2.24 (the forward/backward forms op(A)·op(B), batched), plus an honest
 * account of which gpu.js backend is live.
 *
 * gpu.js 2.24's backends ("modes") are webgpu (WGSL compute shaders; in Node through Dawn, the optional
 * `webgpu` package, on a Vulkan driver), headlessgl (Node, needs the optional native `gl` package and an
 * X display, e.g. xvfb-run), webgl2 / webgl (browsers only), webasm (generated WebAssembly, SIMD,
 * synchronous) and cpu (generated JavaScript). gpu.js's webgpu kernels are asynchronous; here they run
 * in a worker thread that the synchronous matmul blocks on (./webgpu.ts).
 *
 * 'auto' picks webgpu when its adapter is a hardware GPU, else gpu.js's own order: the first supported
 * of headlessgl, webgl2, webgl, webasm, else cpu. headless-gl never reaches a server's GPU (GLX
 * through Xvfb is Mesa's llvmpipe, on the CPU); WebGPU on a Vulkan driver is the route to one.
 * `gpujsInfo()` always says which mode runs and whether it is software (`software: true`, and the
 * renderer or adapter by name).
 */
import * as gpujs from 'gpu.js';
import type { GPU as GpuClass, IKernelRunShortcut, IGPUKernelSettings, Input as InputClass } from 'gpu.js';
import type { GpuInfo, GpuMode } from '../backend.js';
import { envSetting } from '../../settings.js';
import { browserGlRenderer, loadGl, glDriverDescription, nodeProcess } from './probe.js';
import { glMatmulSource, packASource, packBSource, scalarMatmulSource, webgpuMatmulSource } from './sources.js';
import { type WebgpuPort, adapterText, runWebgpu, serveWebgpuWith, startWebgpu, stopWebgpu, webgpuLine, webgpuState } from './webgpu.js';

export { connectWebgpu, type WebgpuPort } from './webgpu.js';

export type { GpuInfo, GpuMode };

/** The gpu.js module namespace. */
type GpuJs = typeof gpujs;

const ALL_MODES: readonly GpuMode[] = ['headlessgl', 'webgl2', 'webgl', 'webgpu', 'webasm', 'cpu'];
const AUTO_ORDER: readonly GpuMode[] = ['headlessgl', 'webgl2', 'webgl', 'webasm', 'cpu'];
const GL_MODES: readonly GpuMode[] = ['headlessgl', 'webgl2', 'webgl'];
/** The modes that compute through a GPU API (on a GPU, or a software one such as SwiftShader or llvmpipe). */
const GPU_MODES: readonly GpuMode[] = ['webgpu', ...GL_MODES];
/** Most compiled (shape, flags) plans kept alive per process; the least recently used is destroyed. */
const MAX_PLANS = 24;
/** Largest flat index a float32 index expression represents exactly. */
const EXACT_F32_INDEX = 2 ** 24;

interface Plan {
  run(a: Float32Array, b: Float32Array, out: Float32Array): void;
  destroy(): void;
}

/** What gpu.js's textures have at runtime but its typings leave out. */
interface RawTexture {
  renderRawOutput(): Float32Array;
}
/** The run shortcut's live kernel (gpu.js swaps it on fallback). */
interface LiveKernel {
  constructor: { name: string; mode?: string };
  fallbackReason?: string;
}
/** Fields of GPU that exist at runtime but are not in gpu.js's typings. */
interface GpuInternals {
  kernels?: Array<{ destroy(removeCanvasReferences?: boolean): void }>;
  context: unknown;
  Kernel: { destroyContext?: (context: unknown) => void } | null;
}

/** The requested mode; null until read from METAGRAD_GPUJS_MODE (default 'auto') at first use. */
let requestedMode: string | null = null;
const requested = (): string => (requestedMode ??= envSetting('METAGRAD_GPUJS_MODE') ?? 'auto');
/** The live mode; `gpu` is null for webgpu, whose gpu.js instance lives in the worker thread. */
let live: { mode: GpuMode; gpu: GpuClass | null } | null = null;
const gpus = new Map<GpuMode, GpuClass>();
const plans = new Map<string, Plan>();

const inNode = (): boolean => nodeProcess()?.getBuiltinModule !== undefined;

/** Why `mode` cannot run here, or null when it can. */
function whyNot(g: GpuJs, mode: GpuMode): string | null {
  switch (mode) {
    case 'cpu':
      return null;
    case 'webasm':
      return g.GPU.isWebAssemblySupported ? null : 'webasm: WebAssembly is not available in this runtime';
    case 'webgpu':
      try {
        startWebgpu();
        return null;
      } catch (e) {
        return e instanceof Error ? e.message : String(e);
      }
    case 'webgl':
    case 'webgl2':
      if (mode === 'webgl' ? g.GPU.isWebGLSupported : g.GPU.isWebGL2Supported) return null;
      return inNode()
        ? `${mode}: browser-only (no WebGL canvas in Node; Node's GL backend is headlessgl)`
        : `${mode}: this browser gives no ${mode === 'webgl' ? 'WebGL' : 'WebGL2'} context`;
    case 'headlessgl': {
      if (g.GPU.isHeadlessGLSupported) return null;
      if (!inNode()) return 'headlessgl: Node only (browsers run webgl2 or webgl)';
      const gl = loadGl();
      if (!gl.ok) return `headlessgl: the optional native package gl is not loadable (${gl.error})`;
      const display = envSetting('DISPLAY');
      return display
        ? `headlessgl: gl loaded but creating a GL context failed on DISPLAY=${display}`
        : 'headlessgl: gl loaded but no GL context (DISPLAY is unset; run under `xvfb-run -a`)';
    }
  }
}

function describe(g: GpuJs, mode: GpuMode): GpuInfo {
  const isGpu = GPU_MODES.includes(mode);
  const parts: string[] = [];
  let renderer: string | null = null;
  let software = !isGpu;
  if (mode === 'webgpu') {
    const adapter = startWebgpu(); // the running worker's, or a restarted one's if its thread died; throws why not
    renderer = adapterText(adapter);
    software = adapter.software;
    parts.push(`${webgpuLine()}; ${adapter.via.startsWith('Dawn') ? 'kernels run in a worker thread, the matmul blocks on it' : 'kernels run on the page, this worker blocks on it'}`);
  } else if (mode === 'headlessgl') {
    const driver = glDriverDescription();
    renderer = driver.renderer;
    software = driver.software;
    parts.push(`headlessgl: gl loaded, DISPLAY=${envSetting('DISPLAY') ?? '(unset)'}, renderer ${renderer}`);
  } else if (isGpu) {
    const gl = browserGlRenderer(mode === 'webgl' ? 'webgl' : 'webgl2');
    renderer = gl?.renderer ?? null;
    software = gl?.software ?? false;
    parts.push(`${mode}: WebGL context available${gl ? `, renderer ${gl.renderer}${gl.software ? ' (a software rasterizer on the CPU)' : ''}` : ''}`);
  } else {
    const what = mode === 'webasm' ? ` (WebAssembly${wasmSimd(g) ? ' SIMD' : ', no SIMD'}, single thread)` : ' (gpu.js-generated JavaScript)';
    parts.push(`${mode}${what}`);
    const before = AUTO_ORDER.slice(0, AUTO_ORDER.indexOf(mode));
    const usable = before.filter((m) => whyNot(g, m) === null);
    if (usable.length > 0) parts.push(`also available: ${usable.join(', ')}`);
    if (before.includes('headlessgl') && !usable.includes('headlessgl')) parts.push(whyNot(g, 'headlessgl')!);
  }
  if (mode !== 'webgpu') parts.push(webgpuLine());
  if (requested() !== 'auto') parts.push(`requested mode '${requested()}'`);
  return { available: true, mode, isGpu, software, renderer, reason: parts.join('; ') };
}

function wasmSimd(g: GpuJs): boolean {
  const k = g.WebAssemblyKernel as unknown as { isSIMDSupported?: boolean };
  return k.isSIMDSupported === true;
}

/** Whether webgpu starts here on a hardware adapter (what 'auto' asks; a software adapter's worker stays idle). */
function hardwareWebgpu(g: GpuJs): boolean {
  return whyNot(g, 'webgpu') === null && !webgpuState().adapter!.software;
}

/** Picks the mode for `want` ('auto', 'gpu' or a mode name); throws naming what is missing. */
function resolveMode(g: GpuJs, want: string): GpuMode {
  if (want === 'auto') {
    if (hardwareWebgpu(g)) return 'webgpu';
    for (const m of AUTO_ORDER) if (whyNot(g, m) === null) return m;
  }
  if (want === 'gpu') {
    for (const m of GPU_MODES) if (whyNot(g, m) === null) return m;
    throw new Error(`gpu.js mode "gpu" is not available: ${GPU_MODES.map((m) => whyNot(g, m)).join('; ')}`);
  }
  if (!(ALL_MODES as readonly string[]).includes(want)) {
    throw new Error(`unknown gpu.js mode "${want}"; gpu.js 2.24 modes are ${ALL_MODES.join(', ')} (or 'auto', 'gpu')`);
  }
  const mode = want as GpuMode;
  const why = whyNot(g, mode);
  if (why !== null) throw new Error(`gpu.js mode "${mode}" is not available: ${why}`);
  return mode;
}

/** Makes `mode` live: its gpu.js instance, made once (none here for webgpu: the worker has its own). */
function makeLive(g: GpuJs, mode: GpuMode): { mode: GpuMode; gpu: GpuClass | null } {
  let gpu = gpus.get(mode) ?? null;
  if (!gpu && mode !== 'webgpu') {
    gpu = new g.GPU({ mode });
    gpus.set(mode, gpu);
  }
  return (live = { mode, gpu });
}

function activate(): { mode: GpuMode; gpu: GpuClass | null } {
  return live ?? makeLive(gpujs, resolveMode(gpujs, requested()));
}

/**
 * Which gpu.js mode is live and why, e.g. "headlessgl: gl loaded, DISPLAY=:99, renderer Mesa
 * swrast_dri.so (llvmpipe, software rasterizer on the CPU); webgpu: no navigator.gpu ..." or
 * "webasm (WebAssembly SIMD, single thread); headlessgl: gl loaded but no GL context (DISPLAY is
 * unset; ...)". Resolves the mode on first call (METAGRAD_GPUJS_MODE, default 'auto'). Never throws.
 */
export function gpujsInfo(): GpuInfo {
  try {
    const { mode } = activate();
    return describe(gpujs, mode);
  } catch (e) {
    return { available: false, mode: null, isGpu: false, software: false, renderer: null, reason: e instanceof Error ? e.message : String(e) };
  }
}

/**
 * Forces a gpu.js mode ('webgpu' | 'headlessgl' | 'webgl2' | 'webgl' | 'webasm' | 'cpu'), 'gpu' (the
 * first available GPU-API backend, webgpu first) or 'auto'. Throws an Error naming what is missing when
 * the mode cannot run here (e.g. the webgpu package or a Vulkan driver missing, `gl` not loadable, no X
 * display); the previous mode then stays live. Returns the new {@link gpujsInfo}.
 */
export function setGpujsMode(mode: string): GpuInfo {
  const g = gpujs;
  const resolved = resolveMode(g, mode);
  requestedMode = mode;
  makeLive(g, resolved);
  return describe(g, resolved);
}

/**
 * out[m×n] = op(A)·op(B) in float32, row-major, for `batch` matrices laid out consecutively.
 * op is the transpose when the flag is set: A is stored [k×m] when transA (else [m×k]), B is stored
 * [n×k] when transB (else [k×n]). Kernels are compiled once per (mode, shape, flags) and cached
 * (at most 24 plans, least recently used destroyed). Runs on the live mode (see {@link gpujsInfo});
 * throws if gpu.js is missing, on bad sizes, or if gpu.js silently fell back to its cpu backend.
 */
export function matmulGpujs(
  a: Float32Array, b: Float32Array, out: Float32Array,
  batch: number, m: number, k: number, n: number, transA: boolean, transB: boolean,
): void {
  for (const [name, v] of [['batch', batch], ['m', m], ['k', k], ['n', n]] as const) {
    if (!Number.isInteger(v) || v < 0) throw new RangeError(`matmulGpujs: ${name} must be a non-negative integer, got ${v}`);
  }
  const lenA = batch * m * k;
  const lenB = batch * k * n;
  const lenC = batch * m * n;
  if (a.length < lenA) throw new RangeError(`matmulGpujs: a has ${a.length} elements, needs ${lenA} (batch ${batch} × ${m}×${k})`);
  if (b.length < lenB) throw new RangeError(`matmulGpujs: b has ${b.length} elements, needs ${lenB} (batch ${batch} × ${k}×${n})`);
  if (out.length < lenC) throw new RangeError(`matmulGpujs: out has ${out.length} elements, needs ${lenC} (batch ${batch} × ${m}×${n})`);
  if (lenC === 0) return;
  if (k === 0) {
    out.fill(0, 0, lenC);
    return;
  }
  const { mode, gpu } = activate();
  const key = `${mode}|${batch}|${m}|${k}|${n}|${transA ? 1 : 0}${transB ? 1 : 0}`;
  let plan = plans.get(key);
  if (plan) {
    plans.delete(key); // re-insert: Map order is the LRU order
  } else {
    const g = gpujs;
    plan = mode === 'webgpu'
      ? webgpuPlan(key, batch, m, k, n, transA, transB)
      : GL_MODES.includes(mode)
        ? glPlan(g, gpu!, mode, batch, m, k, n, transA, transB)
        : scalarPlan(g, gpu!, mode, batch, m, k, n, transA, transB);
    while (plans.size >= MAX_PLANS) {
      const oldest = plans.keys().next().value as string;
      plans.get(oldest)?.destroy();
      plans.delete(oldest);
    }
  }
  plans.set(key, plan);
  plan.run(
    a.length === lenA ? a : a.subarray(0, lenA),
    b.length === lenB ? b : b.subarray(0, lenB),
    out,
  );
}

/**
 * Browser, on the page: serves the page's WebGPU (navigator.gpu) and gpu.js's webgpu kernels to an engine
 * running in a Web Worker, which calls `connectWebgpu(port)` with the other end of the channel and then
 * `setGpujsMode('webgpu')`. The page must be cross-origin isolated (SharedArrayBuffer).
 *
 * ```ts
 * // page
 * const { port1, port2 } = new MessageChannel();
 * serveWebgpu(port1);
 * worker.postMessage({ port: port2 }, [port2]);
 * // worker
 * onmessage = (e) => { connectWebgpu(e.data.port); installGpujs({ mode: 'webgpu' }); setBackend('gpujs'); ... };
 * ```
 */
export function serveWebgpu(port: WebgpuPort): void {
  serveWebgpuWith(port, gpujs);
}

/**
 * Destroys every cached kernel, every gpu.js instance and its GL context, synchronously. Afterwards
 * the next call starts afresh in the requested mode.
 */
export function disposeGpujs(): void {
  plans.clear(); // their kernels belong to the GPU instances torn down below
  for (const gpu of gpus.values()) {
    const internals = gpu as unknown as GpuInternals;
    try {
      for (const kernel of (internals.kernels ?? []).slice()) kernel.destroy(true);
      if (internals.context && internals.Kernel?.destroyContext) internals.Kernel.destroyContext(internals.context);
    } catch {
      // teardown is best effort: a context that is already gone has nothing left to free
    }
  }
  gpus.clear();
  stopWebgpu();
  live = null;
}

function liveKernel(run: IKernelRunShortcut): LiveKernel {
  return (run as unknown as { kernel: LiveKernel }).kernel;
}

/** Throws when gpu.js swapped a kernel for its cpu fallback (it only console.warns about that). */
function checkNoFallback(mode: GpuMode, runs: IKernelRunShortcut[]): void {
  for (const run of runs) {
    const kernel = liveKernel(run);
    if (kernel.constructor.name === 'CPUKernel' && mode !== 'cpu') {
      throw new Error(`gpu.js fell back from ${mode} to its cpu backend${kernel.fallbackReason ? ` (${kernel.fallbackReason})` : ''}`);
    }
  }
}

function newInput(g: GpuJs, value: Float32Array, size: [number, number] | [number, number, number]): InputClass {
  return new g.Input(value as unknown as number[], size);
}

/** Texels of k per GL loop iteration (METAGRAD_GPUJS_UNROLL overrides, for benchmarking). */
function glUnroll(): number {
  const u = Number(envSetting('METAGRAD_GPUJS_UNROLL') ?? 2);
  return Number.isInteger(u) && u >= 1 && u <= 8 ? u : 2;
}

/** gpu.js reads loopMaxIterations from kernel settings; its typings only list it on functions. */
type KernelSettings = IGPUKernelSettings & { loopMaxIterations?: number };

/**
 * precision 'single' (float textures, float32 readback); tactic 'precision' = highp in GLSL (lowp/mediump
 * from 'speed'/'balanced' would lose digits on real GPUs and measured no faster on llvmpipe);
 * fixIntegerDivisionAccuracy left at gpu.js's default (applied only where the driver needs it).
 */
function settings(extra: KernelSettings): IGPUKernelSettings {
  return { precision: 'single', tactic: 'precision', ...extra };
}

/**
 * GL plan: pack op(A) and op(B) into k-contiguous vec4 textures (kept on the GPU: pipeline mode),
 * run the 2×2-blocked kernel into a texture, read it back once (one readPixels) and scatter.
 */
function glPlan(g: GpuJs, gpu: GpuClass, mode: GpuMode, batch: number, m: number, k: number, n: number, transA: boolean, transB: boolean): Plan {
  const unroll = glUnroll();
  const Q = unroll * Math.ceil(k / (4 * unroll)); // texels along k, a multiple of the unroll factor
  const Mp = m + (m & 1);
  const Np = n + (n & 1);
  const packA = gpu.createKernel(packASource(transA), settings({ pipeline: true, output: [Q, Mp, batch], constants: { M: m, K: k } }));
  const packB = gpu.createKernel(packBSource(transB), settings({ pipeline: true, output: [Q, Np, batch], constants: { N: n, K: k } }));
  const mm = gpu.createKernel(glMatmulSource(unroll), settings({
    pipeline: true, output: [Np / 2, Mp / 2, batch], constants: { Q }, loopMaxIterations: Q,
  }));
  const runs = [packA, packB, mm];
  const sizeA: [number, number, number] = transA ? [m, k, batch] : [k, m, batch];
  const sizeB: [number, number, number] = transB ? [k, n, batch] : [n, k, batch];
  let checked = false;
  return {
    run(a, b, out) {
      const ta = packA(newInput(g, a, sizeA));
      const tb = packB(newInput(g, b, sizeB));
      const tc = mm(ta, tb) as unknown as RawTexture;
      if (!checked) {
        checkNoFallback(mode, runs);
        checked = true;
      }
      scatterBlocks(tc.renderRawOutput(), out, batch, m, n);
    },
    destroy() {
      for (const run of runs) run.destroy();
    },
  };
}

/**
 * Writes the 2×2-block kernels' output (texel (z, y, x) = [C(2y,2x), C(2y,2x+1), C(2y+1,2x),
 * C(2y+1,2x+1)], ⌈n/2⌉ texels per row, ⌈m/2⌉ rows per slice) into row-major C, dropping the padding
 * row and column of odd m and n.
 */
function scatterBlocks(raw: Float32Array, out: Float32Array, batch: number, m: number, n: number): void {
  const W = (n + 1) >> 1;
  const H = (m + 1) >> 1;
  const oddN = (n & 1) === 1;
  const oddM = (m & 1) === 1;
  for (let z = 0; z < batch; z++) {
    const zo = z * m * n;
    for (let y = 0; y < H; y++) {
      const lastRow = oddM && y === H - 1;
      const o0 = zo + 2 * y * n;
      const o1 = o0 + n;
      let p = ((z * H + y) * W) * 4;
      for (let x = 0; x < W; x++, p += 4) {
        const c = 2 * x;
        const lastCol = oddN && x === W - 1;
        out[o0 + c] = raw[p]!;
        if (!lastCol) out[o0 + c + 1] = raw[p + 1]!;
        if (!lastRow) {
          out[o1 + c] = raw[p + 2]!;
          if (!lastCol) out[o1 + c + 1] = raw[p + 3]!;
        }
      }
    }
  }
}

/**
 * webgpu plan: the 2×2-block WGSL kernel reads A and B as stored (no packing pass); the worker thread
 * compiles it on first use of `key` and runs it; the blocks are scattered here.
 */
function webgpuPlan(key: string, batch: number, m: number, k: number, n: number, transA: boolean, transB: boolean): Plan {
  const W = (n + 1) >> 1;
  const H = (m + 1) >> 1;
  const job = {
    key, source: webgpuMatmulSource(transA, transB), output: [W, H, batch], constants: { M: m, K: k, N: n },
    sizeA: transA ? [m, k, batch] : [k, m, batch], sizeB: transB ? [k, n, batch] : [n, k, batch], lenOut: 4 * W * H * batch,
  };
  return {
    run(a, b, out) {
      scatterBlocks(runWebgpu(job, a, b), out, batch, m, n);
    },
    destroy() {
      // the worker keeps its own least-recently-used set of kernels
    },
  };
}

/** Copies the row-major [rows×cols] matrix src into dst as its [cols×rows] transpose. */
function transposeInto(src: Float32Array, dst: Float32Array, rows: number, cols: number): Float32Array {
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    for (let c = 0; c < cols; c++) dst[c * rows + r] = src[o + c]!;
  }
  return dst;
}

/**
 * webasm / cpu plan: one 2-D kernel, called once per batch slice on subarray views. The cpu backend
 * runs the kernel as plain JS, one output at a time, so it gets A as [m×k] and B as [n×k] (transposed
 * here, O(k·(m+n)) per slice) and walks both contiguously; the webasm backend vectorizes across output
 * columns, where B's natural [k×n] layout is the contiguous one, so it reads the inputs as they are.
 */
function scalarPlan(g: GpuJs, gpu: GpuClass, mode: GpuMode, batch: number, m: number, k: number, n: number, transA: boolean, transB: boolean): Plan {
  const canonical = mode === 'cpu';
  const tA = canonical ? false : transA;
  const tB = canonical ? true : transB;
  const scratchA = canonical && transA ? new Float32Array(m * k) : null;
  const scratchB = canonical && !transB ? new Float32Array(k * n) : null;
  // flat indices are computed in float32 on webasm: exact only below 2^24 (JS numbers on cpu).
  const flat = canonical || Math.max(m * k, k * n) < EXACT_F32_INDEX;
  const mm = gpu.createKernel(scalarMatmulSource(tA, tB, flat), settings({
    output: [n, m], constants: { M: m, K: k, N: n, K4: k - (k % 4) }, loopMaxIterations: k,
  }));
  const sizeA: [number, number] = tA ? [m, k] : [k, m];
  const sizeB: [number, number] = tB ? [k, n] : [n, k];
  let checked = false;
  return {
    run(a, b, out) {
      for (let z = 0; z < batch; z++) {
        let az = a.subarray(z * m * k, (z + 1) * m * k);
        let bz = b.subarray(z * k * n, (z + 1) * k * n);
        if (scratchA) az = transposeInto(az, scratchA, k, m);
        if (scratchB) bz = transposeInto(bz, scratchB, k, n);
        const rows = (flat ? mm(az, bz) : mm(newInput(g, az, sizeA), newInput(g, bz, sizeB))) as Float32Array[];
        if (!checked) {
          checkNoFallback(mode, [mm]);
          checked = true;
        }
        for (let r = 0; r < m; r++) out.set(rows[r]!, (z * m + r) * n);
      }
    },
    destroy() {
      mm.destroy();
    },
  };
}
